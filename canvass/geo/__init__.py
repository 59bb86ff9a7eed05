"""Where the doors are. Public: `boundaries` (ward and precinct import and lookup), `households`
(the household CSV import), `addresses` (parsing), `synthetic` (seeded households), `models`
(Boundary, Building, Household), `demo` (the demo ward's geography)."""
