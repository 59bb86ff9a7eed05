#!/usr/bin/env bash
# `make lint` (and the first step of `make test`): ruff, the import-linter contracts (the order of
# canvass's areas, docs/architecture.md), mypy on canvass/, and the shell scripts. Expects the
# virtualenv on PATH (scripts/bootstrap.sh puts it there).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
echo "==> Lint: ruff" >&2
ruff check --quiet .
echo "==> Lint: import-linter" >&2
lint-imports --no-cache >/dev/null || lint-imports --no-cache
echo "==> Lint: mypy" >&2
mypy --no-error-summary
echo "==> Lint: shell scripts" >&2
for script in scripts/*.sh .ci/run; do bash -n "$script"; done
if command -v shellcheck >/dev/null 2>&1; then shellcheck -x -S warning -e SC1090,SC1091 scripts/*.sh .ci/run; fi
