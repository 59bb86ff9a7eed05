#!/usr/bin/env bash
# `make messages`: extract every marked message (babel.cfg: templates, api/ Python, the canvasser app's
# t("...")), merge them into api/translations/{es,pl,zh}/LC_MESSAGES/messages.po (new ones empty, gone
# ones kept as obsolete #~ entries), and compile each .po to the messages.mo the server reads. Then
# translate the empty entries and run it again; tests/test_translations.py fails until none is left.
# Expects the virtualenv on PATH (scripts/bootstrap.sh puts it there).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
template=$(mktemp --suffix=.pot)
trap 'rm -f "$template"' EXIT
pybabel -q extract -F babel.cfg -k t -k lazy_gettext --no-wrap --sort-by-file --project canvass -o "$template" .
for locale in es pl zh; do
    if [[ -f api/translations/$locale/LC_MESSAGES/messages.po ]]; then
        pybabel -q update --no-wrap --no-fuzzy-matching --ignore-pot-creation-date -i "$template" -d api/translations -l "$locale"
    else
        pybabel -q init --no-wrap -i "$template" -d api/translations -l "$locale"
    fi
done
pybabel compile --statistics -d api/translations
