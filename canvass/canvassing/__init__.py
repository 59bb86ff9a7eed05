"""Field work at the door. Public to the HTTP layer and the areas above: `sync` (the idempotent
ingest of contacts and pledge cards: phones, single posts, paper), `conflicts` (two canvassers'
different results for one door), `followups`, `integrity` (flags), `records` (Contact, Pledge),
`validation`, `demo`. Internal to the ingest: `bulk` (set-based SQL), `checks` (what the database
must confirm), `outcomes` (what a result does to the door)."""
