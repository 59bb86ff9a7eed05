"""Teams and team leases in the service layer: one access rule, membership following live leases, expiry."""
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from canvass.errors import Conflict, Forbidden, NotFound, ValidationFailed
from canvass.operations import accounts
from canvass.turfs import lease_views, leases, teams
from canvass.turfs.leases import Stint
from canvass.turfs.models import Assignment, AssignmentMember, TurfEvent
from tests.factories import make_campaign, make_household, make_org, make_team, make_turf, make_user, tenant_row

NOW = lambda: datetime.now(UTC)  # noqa: E731
SKEW = timedelta(minutes=5)


@pytest.fixture
def crew(db_session):
    org = make_org(db_session)
    lead = make_user(db_session, org=org, roles=["field_lead"])
    ana, ben, cy = (make_user(db_session, org=org, roles=["canvasser"], name=n) for n in ("Ana", "Ben", "Cy"))
    team = make_team(db_session, org=org, members=[ana, ben])
    campaign = make_campaign(db_session, org=org)
    turfs = [make_turf(db_session, org=org, households=[make_household(db_session, org=org)]) for _ in range(2)]
    return type("Crew", (), dict(org=org, lead=lead, ana=ana, ben=ben, cy=cy, team=team, campaign=campaign,
                                 turfs=turfs))


def lease(session, crew, turf, **kwargs):
    """Lease `turf` to the crew's team, unless a canvasser_id or team_id says otherwise."""
    holder = {} if {"canvasser_id", "team_id"} & set(kwargs) else {"team_id": crew.team.id}
    return leases.assign_turf(session, organization_id=crew.org.id, turf_id=turf.id, campaign_id=crew.campaign.id,
                              actor_id=crew.lead.id, default_lease_hours=72, **holder, **kwargs)


def holds(session, crew, view, user):
    return lease_views.holds_assignment(session, organization_id=crew.org.id, assignment_id=view.id, user_id=user.id)


def test_a_stretch_covers_from_joining_to_leaving_with_the_lease_ends_for_nulls():
    t = NOW()
    whole = Stint(None, None)
    assert whole.covers(t - timedelta(days=300), skew=SKEW) and whole.covers(t + timedelta(days=300), skew=SKEW)
    later = Stint(t, None)
    assert not later.covers(t - timedelta(minutes=6), skew=SKEW) and later.covers(t - timedelta(minutes=4), skew=SKEW)
    left = Stint(None, t)
    assert left.covers(t + timedelta(minutes=4), skew=SKEW) and not left.covers(t + timedelta(minutes=6), skew=SKEW)


def test_one_rule_for_single_and_team_leases(db_session, crew):
    single = lease(db_session, crew, crew.turfs[0], canvasser_id=crew.cy.id)
    team = lease(db_session, crew, crew.turfs[1])
    assert (single.canvasser, single.team) == ({"id": crew.cy.id, "name": "Cy"}, None)
    assert (team.canvasser, team.team) == (None, {"id": crew.team.id, "name": crew.team.name})
    assert [holds(db_session, crew, single, u) for u in (crew.ana, crew.ben, crew.cy)] == [False, False, True]
    assert [holds(db_session, crew, team, u) for u in (crew.ana, crew.ben, crew.cy)] == [True, True, False]
    rows = db_session.execute(select(AssignmentMember.assignment_id, AssignmentMember.user_id, AssignmentMember.joined_at,
                                     AssignmentMember.left_at).order_by(AssignmentMember.id)).all()
    assert rows == [(single.id, crew.cy.id, None, None), (team.id, crew.ana.id, None, None),
                    (team.id, crew.ben.id, None, None)]


@pytest.mark.parametrize("holder, error, code", [
    ({"canvasser_id": 1, "team_id": 1}, ValidationFailed, "validation_failed"),
    ({"canvasser_id": None, "team_id": None}, ValidationFailed, "validation_failed"),
    ({"team_id": 987654321}, NotFound, "team_not_found"),
])
def test_a_lease_needs_exactly_one_known_holder(db_session, crew, holder, error, code):
    with pytest.raises(error) as caught:
        lease(db_session, crew, crew.turfs[0], **holder)
    assert caught.value.code == code


def test_deactivated_members_are_left_off_a_new_lease(db_session, crew):
    crew.ben.is_active = False
    db_session.flush()
    view = lease(db_session, crew, crew.turfs[0])
    assert view.members == [{"id": crew.ana.id, "name": "Ana"}]


def test_a_membership_change_reaches_every_live_lease_of_the_team_and_no_other(db_session, crew):
    first, second = lease(db_session, crew, crew.turfs[0]), lease(db_session, crew, crew.turfs[1])
    ended_turf = make_turf(db_session, org=crew.org, households=[make_household(db_session, org=crew.org)])
    ended = lease(db_session, crew, ended_turf)
    leases.release_turf(db_session, organization_id=crew.org.id, turf_id=ended_turf.id, actor_id=crew.lead.id)
    teams.set_team_members(db_session, organization_id=crew.org.id, team_id=crew.team.id, actor_id=crew.lead.id,
                           member_ids=[crew.ben.id, crew.cy.id], reason="Ana moved")
    for view in (first, second):
        assert [holds(db_session, crew, view, u) for u in (crew.ana, crew.ben, crew.cy)] == [False, True, True]
    assert [holds(db_session, crew, ended, u) for u in (crew.ana, crew.ben, crew.cy)] == [True, True, False]
    events = db_session.execute(select(TurfEvent.assignment_id, TurfEvent.actor_user_id, TurfEvent.reason,
                                       TurfEvent.details)
                                .where(TurfEvent.action == "members_changed").order_by(TurfEvent.assignment_id)).all()
    assert events == [(view.id, crew.lead.id, "Ana moved", {"team_id": crew.team.id, "joined": [crew.cy.id],
                                                            "left": [crew.ana.id]}) for view in (first, second)]
    assert [v.id for v in lease_views.list_my_assignments(db_session, organization_id=crew.org.id, user_id=crew.cy.id)] \
        == [first.id, second.id]


def test_a_team_lease_is_extended_and_expires_like_any_other(db_session, crew):
    view = lease(db_session, crew, crew.turfs[0], lease_hours=1)
    extended = leases.extend_lease(db_session, organization_id=crew.org.id, assignment_id=view.id,
                                   actor_id=crew.lead.id, lease_hours=2)
    assert extended.leased_until > view.leased_until and extended.team == view.team
    overdue = tenant_row(db_session, Assignment, view.id)
    overdue.leased_at, overdue.leased_until = NOW() - timedelta(hours=3), NOW() - timedelta(minutes=1)
    db_session.flush()
    assert leases.expire_leases(db_session) == 1
    entry = lease_views.list_turf_history(db_session, organization_id=crew.org.id, turf_id=crew.turfs[0].id)[-1]
    assert entry.action == "expired" and entry.details["team_id"] == crew.team.id and "canvasser_id" not in entry.details
    assert lease_views.list_my_assignments(db_session, organization_id=crew.org.id, user_id=crew.ana.id) == []
    # The team is free to archive once its lease has ended.
    archived = teams.update_team(db_session, organization_id=crew.org.id, team_id=crew.team.id, actor_id=None,
                                 status="archived")
    assert archived.status == "archived" and archived.live_assignments == []


def test_a_member_may_not_release_the_teams_lease_but_a_single_canvasser_may_release_theirs(db_session, crew):
    team_view = lease(db_session, crew, crew.turfs[0])
    single = lease(db_session, crew, crew.turfs[1], canvasser_id=crew.cy.id)
    with pytest.raises(Forbidden) as caught:
        leases.release_assignment(db_session, organization_id=crew.org.id, assignment_id=team_view.id,
                                  actor_id=crew.ana.id, actor_roles=["canvasser"])
    assert caught.value.code == "cannot_release_team_lease"
    with pytest.raises(NotFound):
        leases.release_assignment(db_session, organization_id=crew.org.id, assignment_id=team_view.id,
                                  actor_id=crew.cy.id, actor_roles=["canvasser"])
    assert leases.release_assignment(db_session, organization_id=crew.org.id, assignment_id=single.id,
                                     actor_id=crew.cy.id, actor_roles=["canvasser"]).status == "released"


def test_removing_someone_not_on_the_team_and_changing_an_archived_team_are_refused(db_session, crew):
    with pytest.raises(NotFound) as caught:
        teams.remove_team_member(db_session, organization_id=crew.org.id, team_id=crew.team.id, actor_id=None,
                                 user_id=crew.cy.id)
    assert caught.value.code == "team_member_not_found"
    teams.update_team(db_session, organization_id=crew.org.id, team_id=crew.team.id, actor_id=None, status="archived")
    with pytest.raises(Conflict) as caught:
        teams.add_team_member(db_session, organization_id=crew.org.id, team_id=crew.team.id, actor_id=None,
                              user_id=crew.cy.id)
    assert caught.value.code == "team_archived"


def test_a_team_has_at_most_max_members(db_session, crew, monkeypatch):
    monkeypatch.setattr(teams, "MAX_TEAM_MEMBERS", 2)
    with pytest.raises(ValidationFailed) as caught:
        teams.add_team_member(db_session, organization_id=crew.org.id, team_id=crew.team.id, actor_id=None,
                              user_id=crew.cy.id)
    assert caught.value.code == "team_full"


@pytest.mark.parametrize("change", [{"is_active": False}, {"roles": ["field_lead"]}])
def test_someone_who_can_no_longer_canvass_leaves_every_team_and_its_live_lease(db_session, crew, change):
    other_team = make_team(db_session, org=crew.org, members=[crew.ana, crew.cy])
    view = lease(db_session, crew, crew.turfs[0])
    accounts.update_user(db_session, organization_id=crew.org.id, user_id=crew.ana.id, actor=crew.lead, **change)
    assert not holds(db_session, crew, view, crew.ana) and holds(db_session, crew, view, crew.ben)
    for team in (crew.team, other_team):
        members = {m["id"] for m in teams.get_team(db_session, organization_id=crew.org.id, team_id=team.id).members}
        assert crew.ana.id not in members
    stint = db_session.execute(select(AssignmentMember.left_at).where(AssignmentMember.assignment_id == view.id,
                                                                      AssignmentMember.user_id == crew.ana.id)).scalar_one()
    assert stint is not None  # her offline work from before still counts
    event = db_session.execute(select(TurfEvent).where(TurfEvent.turf_id == crew.turfs[0].id)
                               .order_by(TurfEvent.id.desc()).limit(1)).scalar_one()
    assert event.details["left"] == [crew.ana.id]


def test_the_walk_lists_sql_form_of_the_access_rule_agrees_with_holds_assignment(db_session, crew):
    from canvass.errors import NotFound as WalkListNotFound
    from canvass.turfs.walklist import build_walklist

    single = lease(db_session, crew, crew.turfs[0], canvasser_id=crew.cy.id)
    team = lease(db_session, crew, crew.turfs[1])
    teams.remove_team_member(db_session, organization_id=crew.org.id, team_id=crew.team.id, actor_id=crew.lead.id,
                             user_id=crew.ben.id)

    def reads(view, user):
        try:
            build_walklist(db_session, organization_id=crew.org.id, assignment_id=view.id, viewer_id=user.id,
                           viewer_roles=["canvasser"])
            return True
        except WalkListNotFound:
            return False

    for view in (single, team):
        expected = [holds(db_session, crew, view, u) for u in (crew.ana, crew.ben, crew.cy)]
        assert [reads(view, u) for u in (crew.ana, crew.ben, crew.cy)] == expected
    assert [holds(db_session, crew, team, u) for u in (crew.ana, crew.ben, crew.cy)] == [True, False, False]
