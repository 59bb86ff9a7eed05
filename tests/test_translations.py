"""The message catalogs: every message the sources mark is translated in es, pl and zh (not empty,
not fuzzy, the same placeholders), and each committed .mo holds what its .po says.

The messages are extracted from the sources here, with babel.cfg, as `make messages` does: a string
marked in a template, a view or the canvasser app and not yet in a catalog fails this test.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "api" / "translations"
LOCALES = ("es", "pl", "zh")
# As scripts/messages.sh: the app's t("...") and lazy_gettext are keywords too.
KEYWORDS = {**DEFAULT_KEYWORDS, "t": None, "lazy_gettext": None}
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|\{(\w+)\}")


def _mapping():
    try:
        from babel.messages.frontend import parse_mapping_cfg
    except ImportError:  # Babel < 2.14
        from babel.messages.frontend import parse_mapping as parse_mapping_cfg
    with open(ROOT / "babel.cfg", encoding="utf-8") as cfg:
        return parse_mapping_cfg(cfg)


def extracted_messages() -> dict:
    """msgid (a tuple for plurals) -> the places it is marked, straight from the sources."""
    method_map, options_map = _mapping()
    found: dict = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True
    ):
        if isinstance(message, tuple):
            message = message[:2]  # singular and plural
        found.setdefault(message, []).append(f"{filename}:{lineno}")
    return found


def placeholders(text: str) -> set[str]:
    return {a or b for a, b in _PLACEHOLDER.findall(text)}


def catalog_problems(catalog: Catalog, messages: dict) -> list[str]:
    """Why `catalog` does not cover `messages`: missing, untranslated, fuzzy, or other placeholders."""
    problems = []
    for msgid, where in sorted(messages.items(), key=lambda item: str(item[0])):
        entry = catalog.get(msgid)
        label = f"{msgid!r} ({where[0]})"
        if entry is None:
            problems.append(f"missing: {label}")
            continue
        forms = _forms(entry.string)
        if entry.fuzzy:
            problems.append(f"fuzzy: {label}")
        if not forms or not all(forms):
            problems.append(f"untranslated: {label}")
            continue
        expected = set().union(*(placeholders(part) for part in (msgid if isinstance(msgid, tuple) else (msgid,))))
        for form in forms:
            # A plural form may leave out %(num)d (Chinese has one form; "one door" may spell the number out).
            got = placeholders(form)
            if got - expected or (expected - {"num"}) - got:
                problems.append(f"placeholders {sorted(got)} instead of {sorted(expected)}: {label} -> {form!r}")
    return problems


def read_catalog(locale: str) -> Catalog:
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po, locale=locale)


@pytest.fixture(scope="module")
def messages() -> dict:
    return extracted_messages()


def test_the_sources_mark_the_pages_and_views(messages):
    places = {where.split(":")[0] for wheres in messages.values() for where in wheres}
    assert len(messages) > 150
    assert {"api/templates/console/turfs.html", "api/templates/dashboard.html", "api/web/console.py"} <= places


def test_every_t_call_of_the_app_is_extracted(messages):
    # Babel's JavaScript lexer can miss a t("...") inside a template literal's ${...}: such a message would
    # never reach a catalog, and no other check here would notice.
    called = set()
    for script in Path("api/static/app").glob("*.js"):
        called |= set(re.findall(r'\bt\("((?:[^"\\]|\\.)*)"', script.read_text(encoding="utf-8")))
    assert called and called - set(messages) == set()


@pytest.mark.parametrize("locale", LOCALES)
def test_every_marked_message_is_translated(locale, messages):
    assert catalog_problems(read_catalog(locale), messages) == []


@pytest.mark.parametrize("locale", LOCALES)
def test_each_compiled_catalog_matches_its_po(locale):
    catalog = read_catalog(locale)
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo", "rb") as mo:
        compiled = read_mo(mo)
    # What pybabel compile writes: every translated, non-fuzzy message.
    expected = {_forms(m.id): _forms(m.string) for m in catalog if m.id and not m.fuzzy and all(_forms(m.string))}
    assert {_forms(m.id): _forms(m.string) for m in compiled if m.id} == expected, "run `make messages` to compile the catalogs"


def _forms(string) -> tuple:
    return tuple(string) if isinstance(string, list | tuple) else (string,)


def test_a_missing_an_empty_a_fuzzy_and_a_misnamed_message_are_each_reported():
    catalog = Catalog(locale="es")
    catalog.add("Doors", "")
    catalog.add("Turf %(name)s", "Zona %(nombre)s")
    catalog.add("Ward", "Distrito", flags=["fuzzy"])
    catalog.add(("%(num)d door", "%(num)d doors"), ("%(num)d puerta", "puertas"))
    marked = {"Doors": ["a:1"], "Turf %(name)s": ["a:2"], "Ward": ["a:3"], "Sign in": ["a:4"],
              ("%(num)d door", "%(num)d doors"): ["a:5"]}
    problems = catalog_problems(catalog, marked)
    assert [p.split(":")[0] for p in problems] == ["untranslated", "missing", "placeholders ['nombre'] instead of ['name']", "fuzzy"]


def test_placeholders_of_both_styles_are_compared():
    assert placeholders("%(name)s has {count} doors, %(num)d left") == {"name", "count", "num"}
