"""The CONTRACT command line: `canvass orgs create`, `users create`, `demo`; bad input exits non-zero."""
from sqlalchemy import func, select

from canvass.auth.models import User
from canvass.orgs.models import Organization


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
    from canvass.canvassing.models import Campaign
    from canvass.geo.models import Boundary, Household
    from canvass.turfs.models import Assignment, Turf

    count = lambda model: db_session.execute(select(func.count()).select_from(model)).scalar_one()  # noqa: E731
    assert count(Boundary) == 18  # ward 33 and its 17 precincts, shipped with the package
    assert count(Household) == 500 and count(Turf) >= 4 and count(Campaign) == 1
    assert count(Assignment) == 1  # the demo canvasser has a walk list on first sign-in
    again = run(app, "demo", "--if-empty")
    assert again.exit_code == 0 and "not seeded" in again.output
