"""The docs tell the truth: every endpoint they name is served, every error code the code
raises is in docs/errors.md, and every code listed there is raised somewhere."""
from __future__ import annotations

import itertools
import re
from pathlib import Path

from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from canvass.geo.models import BOUNDARY_LEVELS

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
SOURCES = [p for folder in ("canvass", "api", "workers") for p in sorted((REPO_ROOT / folder).rglob("*.py"))]

METHOD_AND_PATH = re.compile(r"`((?:GET|POST|PUT|PATCH|DELETE)(?:/(?:GET|POST|PUT|PATCH|DELETE))*) (/v1/[^`\s?\[]*)")
README_PATH = re.compile(r"`(/v1/[^`\s?\[]*)`")
RAISED_CODE = re.compile(r"""\bcode=["']([a-z][a-z0-9_]*)["']""")
DOCUMENTED_CODE = re.compile(r"^\| `([a-z][a-z0-9_]*)` \|", re.M)


def _expand(path: str) -> list[str]:
    """`/v1/exports/{contacts,pledges}` -> both paths; a placeholder such as `{id}` becomes 1."""
    parts = [p.strip("{}").split(",") if p.startswith("{") and "," in p else [p]
             for p in re.split(r"(\{[^}]*\})", path)]
    return [re.sub(r"\{[^}]*\}", "1", "".join(choice)) for choice in itertools.product(*parts)]


def _served(app, path: str, method: str) -> bool:
    try:
        app.url_map.bind("localhost").match(path, method=method)
    except RequestRedirect:
        return True
    except HTTPException:  # NotFound, MethodNotAllowed
        return False
    return True


def test_every_endpoint_the_docs_name_is_served_with_that_method(app):
    missing = [
        f"{doc.name}: {method} {path}"
        for doc in DOCS
        for methods, path in METHOD_AND_PATH.findall(doc.read_text(encoding="utf-8"))
        for concrete in _expand(path)
        for method in methods.split("/")
        if not _served(app, concrete, method)
    ]
    assert missing == []


def test_every_path_in_the_readme_is_served(app):
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    missing = [path for raw in README_PATH.findall(text) for path in _expand(raw)
               if not any(_served(app, path, method) for method in ("GET", "POST", "PUT", "PATCH", "DELETE"))]
    assert missing == []


def _raised_codes() -> set[str]:
    codes = {code for path in SOURCES for code in RAISED_CODE.findall(path.read_text(encoding="utf-8"))}
    return codes | {f"{level}_not_found" for level in BOUNDARY_LEVELS}  # find_boundary: code=f"{level}_not_found"


def _documented_codes() -> set[str]:
    return set(DOCUMENTED_CODE.findall((REPO_ROOT / "docs" / "errors.md").read_text(encoding="utf-8")))


def test_every_error_code_the_code_raises_is_documented():
    assert sorted(_raised_codes() - _documented_codes()) == []


def test_every_documented_error_code_is_produced_somewhere():
    source = "\n".join(path.read_text(encoding="utf-8") for path in SOURCES)
    unknown = [code for code in sorted(_documented_codes() - _raised_codes()) if f'"{code}"' not in source]
    assert unknown == []


def test_the_path_expansion_reads_the_docs_notation():
    assert _expand("/v1/exports/{contacts,pledges}") == ["/v1/exports/contacts", "/v1/exports/pledges"]
    assert _expand("/v1/teams/{id}/members/{user_id}") == ["/v1/teams/1/members/1"]


def test_a_route_that_does_not_exist_is_caught(app):
    assert _served(app, "/v1/turfs/1/assignment", "POST")
    assert not _served(app, "/v1/dashboards/follow-ups", "GET")
    assert not _served(app, "/v1/me", "DELETE")


def test_the_readme_lists_every_household_column_and_alias():
    from canvass.geo.households import COLUMN_ALIASES

    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    missing = [alias for aliases in COLUMN_ALIASES.values() for alias in aliases if f"`{alias}`" not in text]
    assert missing == []
