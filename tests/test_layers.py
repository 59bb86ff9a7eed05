"""The layer rule of STYLE.md: the domain never imports the HTTP or queue edges."""
import re
from pathlib import Path

FORBIDDEN = re.compile(r"^\s*(from|import)\s+(flask|flask_\w+|marshmallow|webargs|rq|redis|api|workers)\b", re.M)


def test_domain_package_imports_no_web_or_queue_framework():
    domain = Path(__file__).resolve().parent.parent / "canvass"
    offenders = [
        f"{path.relative_to(domain.parent)}: {match.group(0).strip()}"
        for path in domain.rglob("*.py")
        for match in FORBIDDEN.finditer(path.read_text())
    ]
    assert offenders == []
