"""`canvass import boundaries|households` and `canvass turfs cut` (CONTRACT flags); bad input: one line, non-zero."""
import pytest
from sqlalchemy import func, select

from canvass.geo.models import Boundary, Building, Household
from canvass.people.models import Person
from canvass.turfs.models import Turf
from tests.data import CHICAGO
from tests.factories import make_org


def run(app, *args):
    return app.test_cli_runner().invoke(args=[str(a) for a in args])


def counts(session):
    return tuple(session.execute(select(func.count()).select_from(model)).scalar_one()
                 for model in (Boundary, Building, Household, Person, Turf))


@pytest.fixture
def org(db_session):
    return make_org(db_session, slug="ward47-ipo")


def test_a_lead_stands_up_a_ward_from_the_command_line(app, db_session, org, tmp_path):
    result = run(app, "import", "boundaries", "--org", org.slug, "--level", "ward", CHICAGO / "wards_2023.geojson",
                 "--name-field", "ward")
    assert result.exit_code == 0, result.output
    assert "50 ward(s): 50 created, 0 updated, 0 unchanged" in result.output
    result = run(app, "import", "boundaries", "--org", org.slug, "--level", "precinct",
                 CHICAGO / "precincts_2023.geojson", "--name-field", "FIRST_prec", "--parent-field", "FIRST_ward")
    assert result.exit_code == 0, result.output
    assert "1291 precinct(s): 1291 created" in result.output and "repaired feature 1032" in result.output

    csv_file = tmp_path / "ward47.csv"
    csv_file.write_text(
        "address,unit,city,state,zip,latitude,longitude,external_id,first_name,last_name\n"
        + "".join(f"{4000 + 2 * i} N Lincoln Ave,{u},Chicago,IL,60618,{41.953 + i * 0.0002:.6f},-87.6835,"
                  f"v{i}{u},Ana,Diaz{i}\n" for i in range(60) for u in ("1", "2"))
        + "4999 N Lincoln Ave,,Chicago,IL,60625,north,-87.68,x1,Bad,Row\n"
    )
    result = run(app, "import", "households", "--org", org.slug, csv_file)
    assert result.exit_code == 0, result.output
    assert "imported 120 of 121 row(s), skipped 1" in result.output
    assert "line 122: latitude 'north' is not a number (skipped)" in result.output
    assert "households 120 new of 120" in result.output
    # Imported again: what an earlier import applied is not read again; the bad row is, and is reported.
    result = run(app, "import", "households", "--org", org.slug, csv_file)
    assert result.exit_code == 0, result.output
    unchanged = int(result.output.split(" unchanged since an earlier import")[0].rsplit(", ", 1)[1])
    assert 0 < unchanged < 121 and "line 122: latitude 'north' is not a number (skipped)" in result.output
    assert "households 0 new" in result.output and "people 0 new, 0 updated" in result.output

    result = run(app, "turfs", "cut", "--org", org.slug, "--ward", "47", "--doors", 40)
    assert result.exit_code == 0, result.output
    assert "3 turf(s) of" in result.output and "100% within 15%" in result.output
    assert db_session.execute(select(func.sum(Turf.door_count)).where(Turf.organization_id == org.id)).scalar_one() == 120


def test_the_household_import_shows_progress_on_stderr(app, org, tmp_path):
    csv_file = tmp_path / "tiny.csv"
    csv_file.write_text("address,latitude,longitude\n1 N State St,41.882,-87.628\n")
    result = app.test_cli_runner().invoke(args=["import", "households", "--org", org.slug, str(csv_file)])
    assert result.exit_code == 0
    assert "reading" in result.stderr and "writing buildings" in result.stderr
    assert "imported 1 of 1 row(s)" in result.stdout and "reading" not in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (("import", "boundaries", "--org", "nobody", "--level", "ward", CHICAGO / "wards_2023.geojson",
          "--name-field", "ward"), "no organization with slug 'nobody'"),
        (("import", "boundaries", "--org", "ward47-ipo", "--level", "ward", "missing.geojson", "--name-field", "ward"),
         "No such file or directory: missing.geojson"),
        (("import", "boundaries", "--org", "ward47-ipo", "--level", "ward", CHICAGO / "buildings.csv",
          "--name-field", "ward"), "is not valid JSON"),
        (("import", "boundaries", "--org", "ward47-ipo", "--level", "ward", CHICAGO / "wards_2023.geojson",
          "--name-field", "alderman"), "property 'alderman' is missing"),
        (("import", "boundaries", "--org", "ward47-ipo", "--level", "precinct", CHICAGO / "precincts_2023.geojson",
          "--name-field", "FIRST_prec", "--parent-field", "FIRST_ward"), "ward '1' is not imported"),
        (("import", "households", "--org", "ward47-ipo", CHICAGO / "wards_2023.geojson"), "missing required column"),
        (("import", "households", "--org", "ward47-ipo", "nowhere.csv"), "No such file or directory"),
        (("turfs", "cut", "--org", "ward47-ipo", "--ward", "47", "--doors", 0), "target_doors must be"),
        (("turfs", "cut", "--org", "ward47-ipo", "--ward", "47", "--doors", 1_000_000), "target_doors must be"),
        (("turfs", "cut", "--org", "ward47-ipo", "--ward", "47", "--doors", 100), "no ward named '47'"),
        (("turfs", "cut", "--org", "ward47-ipo", "--doors", 100), "name a ward, or a list of precincts"),
    ],
)
def test_bad_input_exits_non_zero_with_one_line_and_changes_nothing(app, db_session, org, args, message):
    before = counts(db_session)
    result = run(app, *args)
    assert result.exit_code == 1, result.output
    assert message in result.output and "Traceback" not in result.output
    assert result.output.strip().count("\n") == 0, result.output
    assert counts(db_session) == before


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "the file is empty"),
        (b"address,latitude,longitude\n", "the file has a header but no rows"),
        ("address,latitude,longitude\n1 N State St,41.88,-87.62\n".encode("utf-16"), "UTF-16"),
        (b"address,latitude,longitude\n,41.88,-87.62\n", "none of the 1 row(s) could be imported; line 2: missing address"),
    ],
)
def test_an_unreadable_household_file_is_one_line_and_writes_nothing(app, db_session, org, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    before = counts(db_session)
    result = run(app, "import", "households", "--org", org.slug, path)
    assert result.exit_code == 1 and message in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("Error: ")
    assert counts(db_session) == before
