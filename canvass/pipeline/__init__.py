"""The member pipeline. Public: `membership` (the rule, a person's standing explained), `rollup`
(`refresh_pipeline`), `runs` (when it last ran; people to recompute), `events`, `dues`,
`imports` (attendance and dues CSVs), `rules` (membership and vote eligibility as versioned AND/OR
trees of explained conditions), `standing` (each person's standing over time under every rule
version: the rollup's islands and stored spells), `votes`, `funnels`, `stages`, `models`. Asking for a run goes
through canvass.jobs, so the areas below never import this one."""
