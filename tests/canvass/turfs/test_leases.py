"""Leases: assign, extend, release, reassign, complete, expire; and the history of every change."""
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from canvass.errors import Conflict, NotFound, ValidationFailed
from canvass.turfs import lease_views, leases
from canvass.turfs.models import Assignment, Turf, TurfEvent
from tests.conftest import run_jobs
from tests.factories import make_assignment, make_campaign, make_household, make_org, make_turf, make_user, tenant_row

NOW = lambda: datetime.now(UTC)  # noqa: E731


@pytest.fixture
def field(db_session):
    org = make_org(db_session)
    lead = make_user(db_session, org=org, roles=["field_lead"], name="Luis Lead")
    canvasser = make_user(db_session, org=org, roles=["canvasser"], name="Carmen")
    other = make_user(db_session, org=org, roles=["canvasser"], name="Deshawn")
    campaign = make_campaign(db_session, org=org)
    turf = make_turf(db_session, org=org, households=[make_household(db_session, org=org) for _ in range(3)])
    return type("Field", (), dict(org=org, lead=lead, canvasser=canvasser, other=other, campaign=campaign, turf=turf))


def assign(session, field, **kwargs):
    args = dict(organization_id=field.org.id, turf_id=field.turf.id, canvasser_id=field.canvasser.id,
                campaign_id=field.campaign.id, actor_id=field.lead.id, default_lease_hours=72)
    return leases.assign_turf(session, **{**args, **kwargs})


def history(session, turf):
    return [(e.action, e.from_status, e.to_status)
            for e in lease_views.list_turf_history(session, organization_id=turf.organization_id, turf_id=turf.id)]


def test_assigning_checks_the_turf_out_for_the_default_lease_and_records_it(db_session, field):
    view = assign(db_session, field, reason="Saturday shift")
    assert view.status == "active" and view.canvasser == {"id": field.canvasser.id, "name": "Carmen"}
    assert timedelta(hours=71, minutes=59) < view.leased_until - NOW() <= timedelta(hours=72)
    db_session.refresh(field.turf)
    assert field.turf.status == "checked_out"
    entry = lease_views.list_turf_history(db_session, organization_id=field.org.id, turf_id=field.turf.id)[-1]
    assert (entry.action, entry.from_status, entry.to_status, entry.reason) == ("assigned", "ready", "checked_out", "Saturday shift")
    assert entry.actor == {"id": field.lead.id, "name": "Luis Lead"} and entry.assignment_id == view.id
    assert entry.details["canvasser_id"] == field.canvasser.id


def test_a_checked_out_turf_cannot_be_assigned_again(db_session, field):
    assign(db_session, field)
    with pytest.raises(Conflict) as caught:
        assign(db_session, field, canvasser_id=field.other.id)
    assert caught.value.code == "turf_already_assigned"


@pytest.mark.parametrize("status, code", [("archived", "turf_not_assignable"), ("completed", "turf_not_assignable")])
def test_archived_or_completed_turfs_are_not_assignable(db_session, field, status, code):
    field.turf.status = status
    db_session.flush()
    with pytest.raises(Conflict) as caught:
        assign(db_session, field)
    assert caught.value.code == code


def test_lease_times_are_checked(db_session, field):
    cases = [
        (dict(leased_until=NOW() - timedelta(minutes=1)), "lease_in_past"),
        (dict(leased_until=NOW() + timedelta(days=61)), "lease_too_long"),
        (dict(lease_hours=0), "validation_failed"),
        (dict(lease_hours=2000), "validation_failed"),
        (dict(lease_hours=5, leased_until=NOW() + timedelta(hours=5)), "validation_failed"),
        (dict(leased_until=datetime.now() + timedelta(hours=5)), "validation_failed"),
    ]
    for kwargs, code in cases:
        with pytest.raises(ValidationFailed) as caught:
            assign(db_session, field, **kwargs)
        assert caught.value.code == code, kwargs
    db_session.refresh(field.turf)
    assert field.turf.status == "ready"
    assert db_session.execute(select(Assignment).where(Assignment.turf_id == field.turf.id)).first() is None


def test_who_and_what_is_assigned_must_be_of_the_organization_and_fit(db_session, field):
    stranger_org = make_org(db_session)
    stranger = make_user(db_session, org=stranger_org, roles=["canvasser"])
    foreign_campaign = make_campaign(db_session, org=stranger_org)
    organizer = make_user(db_session, org=field.org, roles=["organizer"])
    gone = make_user(db_session, org=field.org, roles=["canvasser"], is_active=False)
    archived = make_campaign(db_session, org=field.org)
    archived.status = "archived"
    foreign_turf = make_turf(db_session, org=stranger_org)
    cases = [
        (dict(canvasser_id=stranger.id), NotFound, "canvasser_not_found"),
        (dict(campaign_id=foreign_campaign.id), NotFound, "campaign_not_found"),
        (dict(turf_id=foreign_turf.id), NotFound, "turf_not_found"),
        (dict(canvasser_id=organizer.id), ValidationFailed, "not_a_canvasser"),
        (dict(canvasser_id=gone.id), ValidationFailed, "canvasser_inactive"),
        (dict(campaign_id=archived.id), Conflict, "campaign_archived"),
    ]
    for kwargs, error, code in cases:
        with pytest.raises(error) as caught:
            assign(db_session, field, **kwargs)
        assert caught.value.code == code, kwargs


def test_extending_moves_the_end_later_only(db_session, field):
    view = assign(db_session, field, lease_hours=24)
    longer = leases.extend_lease(db_session, organization_id=field.org.id, assignment_id=view.id, actor_id=field.lead.id,
                                 lease_hours=48, reason="rain day")
    assert longer.leased_until > view.leased_until
    with pytest.raises(ValidationFailed) as caught:
        leases.extend_lease(db_session, organization_id=field.org.id, turf_id=field.turf.id, actor_id=field.lead.id,
                            lease_hours=2)
    assert caught.value.code == "lease_not_extended"
    assert history(db_session, field.turf)[-1] == ("extended", "checked_out", "checked_out")


def test_releasing_frees_the_turf_once(db_session, field):
    view = assign(db_session, field)
    released = leases.release_turf(db_session, organization_id=field.org.id, turf_id=field.turf.id,
                                   actor_id=field.lead.id, reason="sick")
    assert released.status == "released" and released.ended_at is not None
    db_session.refresh(field.turf)
    assert field.turf.status == "ready"
    with pytest.raises(Conflict) as caught:
        leases.release_assignment(db_session, organization_id=field.org.id, assignment_id=view.id, actor_id=field.lead.id,
                                  actor_roles=["field_lead"])
    assert caught.value.code == "assignment_not_active"
    with pytest.raises(Conflict) as caught:
        leases.release_turf(db_session, organization_id=field.org.id, turf_id=field.turf.id, actor_id=field.lead.id)
    assert caught.value.code == "turf_not_assigned"
    with pytest.raises(Conflict) as caught:
        leases.extend_lease(db_session, organization_id=field.org.id, assignment_id=view.id, actor_id=None, lease_hours=9)
    assert caught.value.code == "assignment_not_active"


def test_a_canvasser_may_hand_back_only_their_own_lease(db_session, field):
    view = assign(db_session, field)
    with pytest.raises(NotFound):
        leases.release_assignment(db_session, organization_id=field.org.id, assignment_id=view.id,
                                  actor_id=field.other.id, actor_roles=["canvasser"])
    handed_back = leases.release_assignment(db_session, organization_id=field.org.id, assignment_id=view.id,
                                            actor_id=field.canvasser.id, actor_roles=["canvasser"])
    assert handed_back.status == "released"


def test_reassigning_hands_the_turf_over_in_one_step(db_session, field):
    first = assign(db_session, field)
    second = leases.reassign_turf(db_session, organization_id=field.org.id, turf_id=field.turf.id,
                                  canvasser_id=field.other.id, actor_id=field.lead.id, default_lease_hours=72,
                                  reason="Carmen is out")
    assert second.id != first.id and second.canvasser["id"] == field.other.id
    assert second.leased_until == first.leased_until  # keeps the lease unless a new one is given
    old = tenant_row(db_session, Assignment, first.id)
    assert old.status == "released"
    db_session.refresh(field.turf)
    assert field.turf.status == "checked_out"
    event = lease_views.list_turf_history(db_session, organization_id=field.org.id, turf_id=field.turf.id)[-1]
    assert event.action == "reassigned" and event.details["from_canvasser_id"] == field.canvasser.id


def test_reassigning_a_free_turf_assigns_it_and_needs_a_campaign(db_session, field):
    with pytest.raises(ValidationFailed, match="campaign_id is required"):
        leases.reassign_turf(db_session, organization_id=field.org.id, turf_id=field.turf.id,
                             canvasser_id=field.other.id, actor_id=None, default_lease_hours=72)
    view = leases.reassign_turf(db_session, organization_id=field.org.id, turf_id=field.turf.id,
                                canvasser_id=field.other.id, campaign_id=field.campaign.id, actor_id=None,
                                default_lease_hours=72)
    assert view.status == "active"


def test_turf_states_move_only_along_allowed_transitions(db_session, field):
    assign(db_session, field)
    with pytest.raises(Conflict) as caught:
        leases.change_turf_status(db_session, organization_id=field.org.id, turf_id=field.turf.id, status="archived",
                                  actor_id=None)
    assert caught.value.code == "turf_checked_out"
    leases.change_turf_status(db_session, organization_id=field.org.id, turf_id=field.turf.id, status="completed",
                              actor_id=field.lead.id, reason="all doors knocked")
    assignment = db_session.execute(select(Assignment).where(Assignment.turf_id == field.turf.id)).scalar_one()
    assert assignment.status == "completed"
    leases.change_turf_status(db_session, organization_id=field.org.id, turf_id=field.turf.id, status="archived",
                              actor_id=None)
    leases.change_turf_status(db_session, organization_id=field.org.id, turf_id=field.turf.id, status="ready",
                              actor_id=None)
    with pytest.raises(ValidationFailed):
        leases.change_turf_status(db_session, organization_id=field.org.id, turf_id=field.turf.id,
                                  status="checked_out", actor_id=None)
    assert history(db_session, field.turf) == [
        ("assigned", "ready", "checked_out"),
        ("completed", "checked_out", "completed"),
        ("archived", "completed", "archived"),
        ("reopened", "archived", "ready"),
    ]


def test_expiry_ends_only_leases_past_their_time(db_session, field):
    overdue = make_assignment(db_session, org=field.org, turf=field.turf, canvasser=field.canvasser,
                              campaign=field.campaign, leased_at=NOW() - timedelta(hours=80),
                              leased_until=NOW() - timedelta(minutes=5))
    live_turf = make_turf(db_session, org=field.org)
    live = make_assignment(db_session, org=field.org, turf=live_turf, canvasser=field.other, campaign=field.campaign)
    assert leases.expire_leases(db_session) == 1
    db_session.expire_all()
    assert (tenant_row(db_session, Assignment, overdue.id).status, tenant_row(db_session, Turf, field.turf.id).status) == ("expired", "ready")
    assert (tenant_row(db_session, Assignment, live.id).status, tenant_row(db_session, Turf, live_turf.id).status) == ("active", "checked_out")
    entry = lease_views.list_turf_history(db_session, organization_id=field.org.id, turf_id=field.turf.id)[-1]
    assert (entry.action, entry.actor, entry.reason) == ("expired", None, "lease expired")
    assert leases.expire_leases(db_session) == 0


def test_the_cron_job_expires_leases(db_session, field, worker_runtime):
    from workers.cron_schedule import SCHEDULE
    from workers.jobs import JOBS

    make_assignment(db_session, org=field.org, turf=field.turf, canvasser=field.canvasser, campaign=field.campaign,
                    leased_at=NOW() - timedelta(hours=3), leased_until=NOW() - timedelta(hours=1))
    db_session.commit()
    assert "expire_leases" in dict(SCHEDULE)
    worker_runtime.get_queue().enqueue(JOBS["expire_leases"])
    run_jobs(worker_runtime)
    db_session.expire_all()
    assert tenant_row(db_session, Turf, field.turf.id).status == "ready"
    assert db_session.execute(select(TurfEvent.action).where(TurfEvent.turf_id == field.turf.id)).scalars().all() == ["expired"]


def test_my_assignments_are_the_live_ones_only(db_session, field):
    live = assign(db_session, field)
    old_turf = make_turf(db_session, org=field.org)
    make_assignment(db_session, org=field.org, turf=old_turf, canvasser=field.canvasser, campaign=field.campaign,
                    leased_at=NOW() - timedelta(hours=5), leased_until=NOW() - timedelta(hours=1))
    make_assignment(db_session, org=field.org, turf=make_turf(db_session, org=field.org), canvasser=field.other,
                    campaign=field.campaign)
    mine = lease_views.list_my_assignments(db_session, organization_id=field.org.id, user_id=field.canvasser.id)
    assert [v.id for v in mine] == [live.id]
    assert mine[0].turf == {"id": field.turf.id, "name": field.turf.name, "ward": None, "door_count": 3}
