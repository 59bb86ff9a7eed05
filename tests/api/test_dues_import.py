"""`canvass pipeline import-dues`: the treasurer's ledger, bad rows reported by line."""
from sqlalchemy import func, select

from canvass.pipeline.models import DuesPayment
from tests.canvass.pipeline.builders import resident
from tests.factories import make_org


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_import_dues_reports_bad_lines_and_reimports_without_duplicates(app, db_session, tmp_path):
    org = make_org(db_session, slug="ward33-wf")
    resident(db_session, org, external_id="M-1")
    ledger = tmp_path / "ledger.csv"
    # Saved by a spreadsheet: a byte-order mark, and a negative amount on line 3.
    ledger.write_text("\ufeffperson_external_id,amount,paid_on,method,period_start,period_end,external_id\n"
                      "M-1,120.00,2026-01-03,check,2026-01-01,2026-12-31,CHK-1\n"
                      "M-1,-5.00,2026-01-03,check,2026-01-01,2026-12-31,CHK-2\n", encoding="utf-8")
    result = run(app, "pipeline", "import-dues", "--org", "ward33-wf", str(ledger))
    assert result.exit_code == 0, result.output
    assert "2 row(s): 1 created, 0 updated, 0 unchanged, 1 skipped" in result.output
    assert "line 3: amount must be positive" in result.output
    again = run(app, "pipeline", "import-dues", "--org", "ward33-wf", str(ledger))
    assert "0 created, 0 updated, 1 unchanged" in again.output
    assert db_session.execute(select(func.count()).select_from(DuesPayment)).scalar_one() == 1


def test_a_ledger_without_the_needed_columns_is_refused(app, db_session, tmp_path):
    make_org(db_session, slug="ward35")
    ledger = tmp_path / "ledger.csv"
    ledger.write_text("person_id,amount\n1,10\n", encoding="utf-8")
    result = run(app, "pipeline", "import-dues", "--org", "ward35", str(ledger))
    assert result.exit_code == 1 and "the header needs one of: paid_on" in result.output
    assert db_session.execute(select(func.count()).select_from(DuesPayment)).scalar_one() == 0
