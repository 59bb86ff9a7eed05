"""Operations that reach across areas (a user leaving their teams when deactivated, two records
of a person merged). They sit above every area they touch, so the areas themselves never import
one another upwards: auth knows nothing of teams, people nothing of contacts or the pipeline."""
