"""A ballot racing an early close (real commits, separate connections): it waits for the close and is
refused, never counted after the vote closed."""
from datetime import timedelta

from sqlalchemy import func, select

from canvass.db import utcnow
from canvass.pipeline.models import Ballot
from canvass.pipeline.votes import close_vote, create_vote, link_user_to_person
from tests.canvass.pipeline.builders import dues, resident
from tests.concurrency import hold_while
from tests.factories import auth_header, make_org, make_user, tenant_row


def committed_vote(app):
    from api.extensions import db

    with app.app_context():
        session = db.session
        org = make_org(session)
        organizer = make_user(session, org=org, roles=["organizer"])
        member = resident(session, org, first_name="Member")
        today = utcnow().date()
        dues(session, person=member, amount_cents=12000, paid_on=str(today - timedelta(days=30)),
             period_start=str(today - timedelta(days=30)), period_end=str(today + timedelta(days=300)))
        account = make_user(session, org=org, roles=["canvasser"])
        link_user_to_person(session, organization_id=org.id, person_id=member.id, user_id=account.id)
        now = utcnow()
        vote = create_vote(session, organization_id=org.id, created_by_id=organizer.id, title="Endorse",
                           scope="organization", options=["Yes", "No"], cutoff_at=now - timedelta(days=1),
                           opens_at=now - timedelta(minutes=5), closes_at=now + timedelta(hours=2))
        ids = {"org": org.id, "vote": vote.id, "organizer": organizer.id, "member": auth_header(session, account)}
        session.commit()
        return ids


def test_a_ballot_racing_an_early_close_waits_and_is_refused(committing_app):
    from canvass.auth.models import User

    ids = committed_vote(committing_app)
    with committing_app.test_client() as client:
        options = client.get(f"/v1/votes/{ids['vote']}", headers=ids["member"]).get_json()["options"]

    def close_early(session):
        close_vote(session, organization_id=ids["org"], vote_id=ids["vote"],
                   actor=tenant_row(session, User, ids["organizer"]), reason="the meeting voted")

    def ballot():
        with committing_app.test_client() as client:
            response = client.post(f"/v1/votes/{ids['vote']}/ballot", headers=ids["member"],
                                   json={"option_id": options[0]["id"]})
            return response.status_code, response.get_json()

    _, (status, body) = hold_while(committing_app, close_early, ballot)
    assert (status, body["error"]["code"]) == (409, "vote_closed")
    from api.extensions import db

    with committing_app.app_context():
        assert db.session.execute(select(func.count()).select_from(Ballot)).scalar_one() == 0
