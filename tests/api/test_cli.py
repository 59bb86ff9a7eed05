"""The CONTRACT command line: `canvass orgs create`, `users create`, `demo`; bad input exits non-zero."""
import os
import re
import subprocess
import sys

from sqlalchemy import func, select

from canvass.auth.models import User
from canvass.config import load_env_files
from canvass.geo.households import COLUMN_ALIASES
from canvass.orgs.models import Organization
from tests.conftest import REPO_ROOT


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_orgs_and_users_create_stand_an_organization_up(app, db_session):
    assert run(app, "orgs", "create", "coalition", "--name", "Citywide IPO Coalition").exit_code == 0
    result = run(app, "orgs", "create", "ward33-wf", "--name", "33rd Ward WF", "--parent", "coalition")
    assert result.exit_code == 0, result.output
    result = run(app, "users", "create", "--org", "ward33-wf", "--email", "lead@example.org", "--name", "Lead",
                 "--role", "field_lead", "--role", "canvasser", "--password", "a long password")
    assert result.exit_code == 0, result.output
    org = db_session.execute(select(Organization).where(Organization.slug == "ward33-wf")).scalar_one()
    assert org.parent_id is not None
    user = db_session.execute(select(User).where(User.email == "lead@example.org")).scalar_one()
    assert sorted(user.roles) == ["canvasser", "field_lead"]


def test_users_create_without_password_prints_a_generated_one(app, db_session):
    run(app, "orgs", "create", "ward1", "--name", "Ward 1")
    result = run(app, "users", "create", "--org", "ward1", "--email", "c@example.org", "--name", "C", "--role", "canvasser")
    assert result.exit_code == 0
    assert "password: " in result.output


def test_bad_cli_input_exits_non_zero_with_one_line_and_changes_nothing(app, db_session):
    count = lambda model: db_session.execute(select(func.count()).select_from(model)).scalar_one()  # noqa: E731
    before = (count(Organization), count(User))
    cases = [
        ("orgs", "create", "Bad Slug!", "--name", "x"),
        ("orgs", "create", "ok-slug", "--name", "x", "--parent", "no-such-parent"),
        ("users", "create", "--org", "no-such-org", "--email", "a@b.org", "--name", "A", "--role", "canvasser"),
        ("users", "create", "--org", "x", "--email", "a@b.org", "--name", "A", "--role", "mayor"),
    ]
    for args in cases:
        result = run(app, *args)
        assert result.exit_code != 0, args
        assert result.output.strip().count("\n") <= 3 and "Traceback" not in result.output
    run(app, "orgs", "create", "dup", "--name", "Dup")
    result = run(app, "orgs", "create", "dup", "--name", "Dup again")
    assert result.exit_code == 1 and "already exists" in result.output
    assert (count(Organization), count(User)) == (before[0] + 1, before[1])


def test_demo_seeds_once_with_if_empty(app, db_session):
    result = run(app, "demo", "--households", "500")
    assert result.exit_code == 0, result.output
    assert "admin@demo.canvass.test" in result.output
    from canvass.campaigns.models import Campaign
    from canvass.geo.models import Boundary, Household
    from canvass.turfs.models import Assignment, Turf

    count = lambda model: db_session.execute(select(func.count()).select_from(model)).scalar_one()  # noqa: E731
    assert count(Boundary) == 18  # ward 33 and its 17 precincts, shipped with the package
    assert count(Household) == 500 and count(Turf) >= 4 and count(Campaign) == 1
    assert count(Assignment) == 1  # the demo canvasser has a walk list on first sign-in
    from canvass.people.models import Person

    spoken = set(db_session.execute(select(Person.language).where(Person.language.is_not(None))).scalars())
    assert spoken == {"es", "pl", "zh-Hans"}  # the console's turf pages have languages to show
    assert set(db_session.execute(select(Campaign.translations)).scalar_one()) == {"es", "pl", "zh-Hans"}
    again = run(app, "demo", "--if-empty")
    assert again.exit_code == 0 and "not seeded" in again.output


# --- a newcomer's command line: help without a database, the embedded services' addresses read from a file ---


def canvass_command(*args, cwd, env_changes=None):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(env_changes or {})
    # Only the test's folder is searched for .env files: the checkout's own (after a `make run`) stays out.
    code = "import pathlib, sys; from api.cli import main; sys.exit(main(env_roots=[pathlib.Path.cwd()]))"
    return subprocess.run([sys.executable, "-c", code, *args],
                          cwd=cwd, env={**env, "PYTHONPATH": str(REPO_ROOT)}, capture_output=True, text=True,
                          timeout=60)


def test_help_runs_without_a_database(tmp_path):
    top = canvass_command("--help", cwd=tmp_path)
    assert top.returncode == 0, top.stderr
    for group in ("db", "orgs", "users", "import", "turfs", "pipeline", "demo"):
        assert f"  {group} " in top.stdout
    for group in ("db", "orgs", "users", "import", "turfs", "pipeline"):
        assert canvass_command(group, "--help", cwd=tmp_path).returncode == 0, group


def test_the_household_columns_are_in_the_import_help(tmp_path):
    result = canvass_command("import", "households", "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for column, aliases in COLUMN_ALIASES.items():
        assert re.search(rf"^\s+{column}\s+(required|optional)", result.stdout, re.M), column
        assert all(alias in result.stdout for alias in aliases)


def test_a_command_without_a_database_says_how_to_get_one_in_one_line(tmp_path):
    result = canvass_command("orgs", "create", "ward1", "--name", "Ward 1", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "make run" in result.stderr and "DATABASE_URL" in result.stderr


def test_the_command_reads_the_embedded_services_addresses_that_make_run_wrote(tmp_path):
    (tmp_path / ".data").mkdir()
    (tmp_path / ".data" / "embedded.env").write_text(
        f"# written by make run\nDATABASE_URL={os.environ['TEST_DATABASE_URL']}\nREDIS_URL={os.environ['TEST_REDIS_URL']}\n")
    result = canvass_command("routes", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "/v1/sync" in result.stdout


def test_the_environment_wins_over_env_which_wins_over_the_embedded_file(tmp_path):
    (tmp_path / ".data").mkdir()
    (tmp_path / ".env").write_text("export REDIS_URL='redis://from-dotenv/1'\n# DATABASE_URL=commented\nLOG_LEVEL=DEBUG\n")
    (tmp_path / ".data" / "embedded.env").write_text("DATABASE_URL=postgresql://embedded/db\nREDIS_URL=redis://embedded/0\n")
    environ = {"LOG_LEVEL": "WARNING"}
    read = load_env_files(environ, [tmp_path, tmp_path / "."])
    assert environ == {"LOG_LEVEL": "WARNING", "REDIS_URL": "redis://from-dotenv/1",
                       "DATABASE_URL": "postgresql://embedded/db"}
    assert read == [tmp_path / ".env", tmp_path / ".data" / "embedded.env"]
