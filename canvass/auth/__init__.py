"""Users, roles, passwords and bearer tokens. Public: `services` (create, get, update, deactivate
users; issue, authenticate, revoke tokens; `get_active_canvasser`), `models` (User, ApiToken),
`passwords`. A user leaving their teams when deactivated is canvass.operations.accounts' job."""
