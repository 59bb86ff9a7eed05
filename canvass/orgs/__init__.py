"""Organizations and coalitions. Public: `services` (create and look up organizations, their
time zone, the list of ids jobs walk), `models.Organization`. At the bottom with audit."""
