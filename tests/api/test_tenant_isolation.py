"""Another organization's ids answer 404 on every documented endpoint, and change nothing.

Walks the OpenAPI document, so endpoints added later are covered too: a path
parameter this test can't fill makes it fail, which is the cue to add it here.
"""
import re
import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from canvass.auth.models import User
from canvass.campaigns.models import Campaign
from canvass.canvassing.records import Contact, Pledge
from canvass.people.models import Person
from canvass.pipeline.models import MembershipAttestation
from canvass.turfs.entry_codes import encode_entry_code
from canvass.turfs.models import Assignment, AssignmentMember, Team, TeamMember, Turf, TurfCut
from tests.canvass.pipeline.builders import dues, event
from tests.factories import (
    auth_header,
    make_assignment,
    make_boundary,
    make_campaign,
    make_household,
    make_org,
    make_person,
    make_team,
    make_turf,
    make_user,
)

NOT_IDS = {"kind"}  # path parameters that are not ids (export kinds)


def _their_ids(session):
    """Org A with one of everything; returns A and the ids an outsider will try."""
    org = make_org(session)
    ward = make_boundary(session, org=org, level="ward", name="33")
    household = make_household(session, org=org, ward=ward)
    person = make_person(session, org=org, household=household)
    canvasser = make_user(session, org=org, roles=["canvasser"])
    campaign = make_campaign(session, org=org)
    turf = make_turf(session, org=org, households=[household], ward=ward)
    assignment = make_assignment(session, org=org, turf=turf, canvasser=canvasser, campaign=campaign)
    team = make_team(session, org=org, members=[canvasser])
    make_assignment(session, org=org, turf=make_turf(session, org=org, households=[household]), team=team,
                    campaign=campaign)
    pledge = Pledge(organization_id=org.id, client_id=uuid.uuid4(), pledge_type="vote", person_id=person.id,
                    occurred_at=datetime.now(UTC), consent_to_contact=True)
    cut = TurfCut(organization_id=org.id, ward_id=ward.id, target_doors=100)
    # Two canvassers' results for one door: a conflict (named by its flagged contact's id).
    door = dict(organization_id=org.id, campaign_id=campaign.id, assignment_id=assignment.id,
                household_id=household.id, occurred_at=datetime.now(UTC))
    standing = Contact(client_id=uuid.uuid4(), result_code="refused", **door)
    session.add_all([pledge, cut, standing])
    session.flush()
    flagged = Contact(client_id=uuid.uuid4(), result_code="moved", conflict_with_id=standing.id, flags=["conflict"],
                      **door)
    session.add(flagged)
    session.flush()
    meeting = event(session, org=org, starts_at=datetime.now(UTC))
    payment = dues(session, person=person, amount_cents=1000, paid_on="2026-11-01", period_start="2026-11-01",
                   period_end="2026-11-30")
    endorsement = MembershipAttestation(organization_id=org.id, person_id=person.id, kind="endorsement",
                                        role="canvasser", starts_at=datetime.now(UTC), recorded_by_id=canvasser.id)
    session.add(endorsement)
    session.flush()
    return org, {
        "user_id": canvasser.id, "campaign_id": campaign.id, "pledge_id": pledge.id, "person_id": person.id,
        "boundary_id": ward.id, "turf_id": turf.id, "cut_id": cut.id, "assignment_id": assignment.id,
        "conflict_id": flagged.id, "event_id": meeting.id, "attestation_id": endorsement.id, "payment_id": payment.id, "affiliate_id": org.id, "team_id": team.id,
        # no vote exists in org A: an id that exists nowhere must answer exactly like a foreign one
        "vote_id": 2_000_000_000,
        # a paper walk list's entry code of org A's door
        "code": encode_entry_code(household.id),
    }


def _snapshot(session, org):
    def rows(query):
        return sorted(tuple(r) for r in session.execute(query).all())

    session.expire_all()
    return [
        rows(select(User.id, User.name, User.roles, User.is_active).where(User.organization_id == org.id)),
        rows(select(Campaign.id, Campaign.name, Campaign.status).where(Campaign.organization_id == org.id)),
        rows(select(Turf.id, Turf.name, Turf.status).where(Turf.organization_id == org.id)),
        rows(select(Assignment.id, Assignment.status, Assignment.leased_until).where(Assignment.organization_id == org.id)),
        rows(select(Person.id, Person.first_name, Person.merged_into_id).where(Person.organization_id == org.id)),
        rows(select(Team.id, Team.name, Team.status).where(Team.organization_id == org.id)),
        rows(select(Contact.id, Contact.superseded_at, Contact.conflict_resolved_at).where(Contact.organization_id == org.id)),
        rows(select(TeamMember.team_id, TeamMember.user_id).where(TeamMember.organization_id == org.id)),
        rows(select(AssignmentMember.assignment_id, AssignmentMember.user_id, AssignmentMember.left_at)
             .where(AssignmentMember.organization_id == org.id)),
        rows(select(MembershipAttestation.id, MembershipAttestation.revoked_at)
             .where(MembershipAttestation.organization_id == org.id)),
    ]


def test_an_outsider_with_every_role_gets_404_and_changes_nothing(client, db_session, clean_redis):
    org, ids = _their_ids(db_session)
    outsider = make_user(db_session, org=make_org(db_session), roles=["admin", "organizer", "field_lead", "canvasser"])
    headers = auth_header(db_session, outsider)
    before = _snapshot(db_session, org)
    spec = client.get("/v1/openapi.json").get_json()
    wrong, tried = [], 0
    for path, item in spec["paths"].items():
        params = [p for p in re.findall(r"\{(\w+)\}", path) if p not in NOT_IDS]
        if not params:
            continue
        missing = [p for p in params if p not in ids]
        assert not missing, f"add an id for {missing} ({path}) to this test"
        url = path
        for name in params:
            url = url.replace("{" + name + "}", str(ids[name]))
        for method in ("get", "post", "put", "patch", "delete"):
            if method not in item:
                continue
            response = client.open(url, method=method.upper(), json={}, headers=headers)
            tried += 1
            # Writes may fail validation before the lookup (422); nothing may succeed or hint
            # that the row exists (403/409).
            allowed = {404} if method == "get" else {404, 422}
            if response.status_code not in allowed:
                wrong.append(f"{method.upper()} {url}: {response.status_code}")
            response.close()
    assert wrong == []
    assert tried >= 48  # the document has 48 id-taking operations today; none was skipped
    assert _snapshot(db_session, org) == before
