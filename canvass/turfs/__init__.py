"""Turfs, leases and walk lists. Public: `services` (cut, draw, list turfs), `leases` (assign,
reassign, extend, release; who is on an assignment; one live lease per door and campaign),
`teams`, `walklist` (the phone's document and its versions), `paper` and `entry_codes` (the
printed sheet), `cutting` and `walk_order` (pure geometry), `models`."""
