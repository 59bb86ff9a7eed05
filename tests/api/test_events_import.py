"""`canvass pipeline import-attendance` and `canvass pipeline rebuild`: one-line errors, non-zero exits."""
from datetime import timedelta

from sqlalchemy import func, select

from canvass.db import utcnow
from canvass.pipeline.models import EventAttendance, PipelinePerson
from tests.canvass.pipeline.builders import event, resident
from tests.factories import make_org


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def attendance_count(session):
    return session.execute(select(func.count()).select_from(EventAttendance)).scalar_one()


def test_import_attendance_then_rebuild_makes_members(app, db_session, tmp_path):
    org = make_org(db_session, slug="ward33-wf")
    people = [resident(db_session, org, email=f"m{n}@example.org") for n in range(2)]
    now = utcnow()
    meetings = [event(db_session, org=org, starts_at=now - timedelta(days=days)) for days in (60, 30)]
    sheet = tmp_path / "sign-in.csv"
    sheet.write_text(
        "event_id,event_external_id,event_title,event_kind,event_starts_at,email,status\n"
        + "\n".join(f"{m.id},,,,,{p.email},attended" for m in meetings for p in people) + "\n"
        + "".join(f",LAST-WEEK,Tenant meeting,meeting,{(now - timedelta(days=7)).isoformat()},{p.email},attended\n"
                  for p in people)
        + ",,,,,nobody@example.org,attended\n",
        encoding="utf-8")
    result = run(app, "pipeline", "import-attendance", "--org", "ward33-wf", str(sheet))
    assert result.exit_code == 0, result.output
    assert "7 row(s): 6 created, 0 updated, 0 unchanged, 1 skipped, 1 event(s) created" in result.output
    assert "line 8: no event: give event_id or event_external_id" in result.output
    assert attendance_count(db_session) == 6

    result = run(app, "pipeline", "rebuild", "--org", "ward33-wf")
    assert result.exit_code == 0, result.output
    assert "2 people recomputed (full)" in result.output
    assert {db_session.get(PipelinePerson, (org.id, p.id)).stage for p in people} == {"member"}


def test_bad_files_and_arguments_exit_non_zero_with_one_line_and_change_nothing(app, db_session, tmp_path):
    make_org(db_session, slug="ward35")
    unknown_columns = tmp_path / "columns.csv"
    unknown_columns.write_text("event,person\n1,2\n", encoding="utf-8")
    binary = tmp_path / "photo.csv"
    binary.write_bytes(b"\xff\xd8\xff\xe0 not text")
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    cases = [
        ("pipeline", "import-attendance", "--org", "ward35", str(unknown_columns)),
        ("pipeline", "import-attendance", "--org", "ward35", str(binary)),
        ("pipeline", "import-attendance", "--org", "ward35", str(empty)),
        ("pipeline", "import-attendance", "--org", "ward35", str(tmp_path / "missing.csv")),
        ("pipeline", "import-attendance", "--org", "no-such-org", str(unknown_columns)),
        ("pipeline", "rebuild", "--org", "no-such-org"),
        ("pipeline", "import-attendance", "--org", "ward35"),
    ]
    for args in cases:
        result = run(app, *args)
        assert result.exit_code != 0, (args, result.output)
        assert result.output.strip().count("\n") == 0 or args[-1] == "ward35", (args, result.output)
        assert "Traceback" not in result.output
    assert attendance_count(db_session) == 0
