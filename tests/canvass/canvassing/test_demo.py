"""The demo campaign: questions, and the demo canvasser's first turf."""
from sqlalchemy import select

from canvass.canvassing.demo import seed_demo_campaign
from canvass.turfs.models import Assignment
from tests.factories import make_household, make_org, make_turf, make_user


def test_demo_campaign_leases_a_ready_turf_to_the_first_canvasser(db_session):
    org = make_org(db_session)
    make_user(db_session, org=org, roles=["organizer"])
    canvasser = make_user(db_session, org=org, roles=["canvasser"])
    make_user(db_session, org=org, roles=["canvasser"])
    make_turf(db_session, org=org, households=[], status="ready")  # empty: skipped
    turf = make_turf(db_session, org=org, households=[make_household(db_session, org=org)])
    lines = []
    campaign = seed_demo_campaign(db_session, organization_id=org.id, echo=lines.append)
    assert [q.kind for q in campaign.questions] == ["scale", "choice", "yes_no", "text"]
    assignment = db_session.execute(select(Assignment).where(Assignment.organization_id == org.id)).scalar_one()
    assert (assignment.turf_id, assignment.canvasser_id, assignment.campaign_id, assignment.status) == (
        turf.id, canvasser.id, campaign.id, "active",
    )
    assert len(lines) == 2


def test_demo_campaign_without_turfs_is_created_alone(db_session):
    org = make_org(db_session)
    lines = []
    campaign = seed_demo_campaign(db_session, organization_id=org.id, echo=lines.append)
    assert campaign.id and campaign.pledge_types == ["issue", "member", "volunteer"]
    assert db_session.execute(select(Assignment).where(Assignment.organization_id == org.id)).first() is None
    assert "no ready turf" in lines[-1]
