"""One organization with one of everything: the ids that tenancy and authorization sweeps try.

Shared by the tenant-isolation sweep and the authorization matrix, so an endpoint added later
needs its id here once.
"""
import uuid
from datetime import UTC, datetime

from canvass.canvassing.records import Contact, Pledge
from canvass.pipeline.models import MembershipAttestation
from canvass.turfs.entry_codes import encode_entry_code
from canvass.turfs.models import TurfCut
from tests.canvass.pipeline.builders import dues, event
from tests.factories import (
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


def org_with_one_of_everything(session, *, parent=None):
    """Org A (an affiliate of `parent`, if given) with one of everything; returns A and the ids to try."""
    org = make_org(session, parent=parent)
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
