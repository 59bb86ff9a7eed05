"""The ingest's statements compile whatever the import order: a module imported before every
model is mapped must not capture a column's type while it is still unknown."""
import subprocess
import sys

from tests.conftest import REPO_ROOT

CODE = """
import canvass.canvassing.sync  # first: before canvass.models maps every model
import canvass.models  # noqa: F401
from sqlalchemy.dialects import postgresql
from canvass.canvassing.bulk import _insert_statement
from canvass.canvassing.records import Contact, Pledge
for model in (Contact, Pledge):
    statement, _ = _insert_statement(model)
    print(len(str(statement.compile(dialect=postgresql.dialect()))))
"""


def test_the_insert_statements_compile_when_the_sync_is_imported_before_the_models():
    result = subprocess.run([sys.executable, "-c", CODE], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert all(int(n) > 100 for n in result.stdout.split())
