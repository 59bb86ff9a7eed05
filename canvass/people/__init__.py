"""People. Public: `matching` (door matching of a whole batch, duplicates, an organizer's
corrections), `details` (the contact-detail history and the newest-consented rule), `models`.
A person's page and merging two records reach into other areas: canvass.operations.people."""
