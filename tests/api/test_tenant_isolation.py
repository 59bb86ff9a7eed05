"""Another organization's ids answer 404 on every documented endpoint, and change nothing.

Walks the OpenAPI document, so endpoints added later are covered too: a path
parameter this test can't fill makes it fail, which is the cue to add it here.
"""
import re

from sqlalchemy import select

from canvass.auth.models import User
from canvass.campaigns.models import Campaign
from canvass.canvassing.records import Contact
from canvass.people.models import Person
from canvass.pipeline.models import MembershipAttestation
from canvass.turfs.models import Assignment, AssignmentMember, Team, TeamMember, Turf
from tests.api.world import org_with_one_of_everything
from tests.factories import auth_header, make_org, make_user

NOT_IDS = {"kind"}  # path parameters that are not ids (export kinds)


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
    org, ids = org_with_one_of_everything(db_session)
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
