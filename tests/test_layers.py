"""The layer rules of docs/architecture.md: the domain never imports the HTTP or queue edges, its
areas import only downwards (the import-linter contracts in pyproject.toml), and no module of the
domain hides an import inside a function (the way an import loop is usually dodged)."""
import ast
import re
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DOMAIN = REPO_ROOT / "canvass"
FORBIDDEN = re.compile(r"^\s*(from|import)\s+(flask|flask_\w+|marshmallow|webargs|rq|redis|api|workers)\b", re.M)


def test_domain_package_imports_no_web_or_queue_framework():
    offenders = [
        f"{path.relative_to(REPO_ROOT)}: {match.group(0).strip()}"
        for path in DOMAIN.rglob("*.py")
        for match in FORBIDDEN.finditer(path.read_text())
    ]
    assert offenders == []


def test_the_areas_import_only_downwards():
    code = ("import sys; from importlinter.cli import lint_imports; "
            "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_no_domain_module_imports_canvass_inside_a_function():
    hidden = []
    for path in sorted(DOMAIN.rglob("*.py")):
        for function in ast.walk(ast.parse(path.read_text())):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("canvass"):
                    hidden.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno} {ast.unparse(node)}")
                elif isinstance(node, ast.Import) and any(a.name.startswith("canvass") for a in node.names):
                    hidden.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno} {ast.unparse(node)}")
    assert hidden == []


def test_no_module_imports_another_areas_private_names():
    """An area's public surface is its modules' names without a leading underscore; a `_name`
    is the area's own business (canvass/<area>/__init__.py says which modules others use)."""
    reached_in = []
    for path in sorted([*DOMAIN.rglob("*.py"), *(REPO_ROOT / "api").rglob("*.py"), *(REPO_ROOT / "workers").rglob("*.py")]):
        parts = path.relative_to(REPO_ROOT).with_suffix("").parts
        own_area = ".".join(parts[:2])
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("canvass."):
                area = ".".join(node.module.split(".")[:2])
                reached_in += [f"{path.relative_to(REPO_ROOT)}:{node.lineno} {node.module}.{alias.name}"
                               for alias in node.names if alias.name.startswith("_") and area != own_area]
    assert reached_in == []
