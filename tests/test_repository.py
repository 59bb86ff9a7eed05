"""The repository stands on its own: a bare `git clone` has everything its code, tests,
benchmarks and docs use. Nothing may read or link a folder beside the checkout."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SKIPPED_DIRS = {".git", ".venv", ".data", "node_modules", "__pycache__", ".pytest_cache", "build", "dist"}
TEXT_SUFFIXES = {".py", ".md", ".sh", ".cfg", ".toml", ".ini", ".txt", ".html", ".js", ".css", ".json", ".lua",
                 ".yml", ".yaml", ".mako", ""}

# Built from pieces so that this file does not match itself.
OUTSIDE = re.compile(
    "|".join([
        re.escape("..") + r"/shared\b",           # the sibling folder a developer's machine happens to have
        r"\bREPO_ROOT\.parent\b",                  # a path computed one level above the checkout
        r"\bCANVASS_" + r"SHARED_DATA\b",          # the old override pointing there
        r"(?<![\w.:/-])/" + r"work/",              # an absolute path of one machine
    ])
)
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")


def _files() -> list[Path]:
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, check=True, capture_output=True).stdout
        paths = [REPO_ROOT / name for name in listed.decode().split("\0") if name]
    except (OSError, subprocess.CalledProcessError):  # an unpacked tarball: walk the tree instead
        paths = [p for p in REPO_ROOT.rglob("*") if p.is_file() and not SKIPPED_DIRS & set(p.relative_to(REPO_ROOT).parts)]
    return [p for p in paths if p.suffix in TEXT_SUFFIXES and p.is_file() and p.stat().st_size < 2_000_000]


def test_no_file_refers_to_a_path_outside_the_repository():
    offenders = []
    for path in _files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                offenders.append(f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()[:120]}")
    assert offenders == []


def test_relative_links_in_the_docs_resolve_inside_the_repository():
    broken = []
    for path in _files():
        if path.suffix != ".md":
            continue
        for target in MARKDOWN_LINK.findall(path.read_text(encoding="utf-8")):
            if re.match(r"^[a-z]+:|^#|^/v1|^/", target):   # URLs, anchors, API paths
                continue
            resolved = (path.parent / target.split("#", 1)[0]).resolve()
            if not resolved.is_relative_to(REPO_ROOT) or not resolved.exists():
                broken.append(f"{path.relative_to(REPO_ROOT)} -> {target}")
    assert broken == []


def test_the_committed_chicago_data_is_complete():
    """Tests and benchmarks read these; a clone without them (e.g. a partial checkout) fails here first."""
    chicago = REPO_ROOT / "tests" / "data" / "chicago"
    expected = {"wards_2023.geojson": 50, "precincts_2023.geojson": 1291}
    for name, features in expected.items():
        assert (chicago / name).read_text().count('"Feature"') >= features, name
    assert (chicago / "buildings.csv").read_text().count("\n") == 3852 + 1
    assert (chicago / "residential_parcels.csv").read_text().count("\n") == 1500 + 1
