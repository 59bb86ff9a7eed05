"""The console's roster: people found by every word of a query, only the organization's own, with their
membership as the rollup last computed it."""
from __future__ import annotations

from canvass.pipeline.models import PipelinePerson
from canvass.pipeline.roster import roster_of, search_roster
from tests.factories import make_org, make_person


def test_every_word_must_match_a_name_email_or_phone(db_session):
    org = make_org(db_session)
    maya = make_person(db_session, org=org, first_name="Maya", last_name="Okonkwo", email="maya@example.org",
                       phone="13125550100")
    make_person(db_session, org=org, first_name="Maya", last_name="Lopez")
    assert [e.person_id for e in search_roster(db_session, organization_id=org.id, query="maya okon")] == [maya.id]
    assert [e.person_id for e in search_roster(db_session, organization_id=org.id, query="555-0100")] == [maya.id]
    assert [e.person_id for e in search_roster(db_session, organization_id=org.id, query="MAYA@EXAMPLE")] == [maya.id]
    assert len(search_roster(db_session, organization_id=org.id, query="  ")) == 2


def test_like_wildcards_in_the_query_are_plain_characters(db_session):
    org = make_org(db_session)
    make_person(db_session, org=org, first_name="Ana", last_name="Ruiz")
    assert search_roster(db_session, organization_id=org.id, query="%") == []
    assert search_roster(db_session, organization_id=org.id, query="A_a") == []


def test_another_organizations_people_are_never_found(db_session):
    org, other = make_org(db_session), make_org(db_session)
    theirs = make_person(db_session, org=other, first_name="Zed", last_name="Stranger")
    assert search_roster(db_session, organization_id=org.id, query="stranger") == []
    assert roster_of(db_session, organization_id=org.id, person_ids=[theirs.id]) == {}


def test_membership_is_as_the_rollup_left_it(db_session):
    org = make_org(db_session)
    member = make_person(db_session, org=org, first_name="Mo", last_name="Member")
    never = make_person(db_session, org=org, first_name="Ne", last_name="Ver")
    db_session.add(PipelinePerson(organization_id=org.id, person_id=member.id, ward_key=0, campaign_key=0, stage="member",
                                  membership_status="member"))
    db_session.flush()
    found = roster_of(db_session, organization_id=org.id, person_ids=[member.id, never.id])
    assert found[member.id].membership_status == "member" and found[never.id].membership_status == "not_member"
    assert found[member.id].name == "Mo Member"
