"""Door matching on a whole batch: rule order, merged people, several cards for one new person."""
from sqlalchemy import func, select

from canvass.people.matching import PersonRequest, match_or_create_people
from canvass.people.models import Person
from tests.factories import make_household, make_org, make_person, tenant_row


def people_count(session):
    return session.execute(select(func.count(Person.id))).scalar_one()


def match(session, org, *requests):
    return match_or_create_people(session, organization_id=org.id, requests=list(requests))


def test_name_matches_only_inside_the_household_and_never_a_merged_person(db_session):
    org = make_org(db_session)
    home, elsewhere = make_household(db_session, org=org), make_household(db_session, org=org)
    survivor = make_person(db_session, org=org, household=home, first_name="Ana", last_name="Ruiz")
    make_person(db_session, org=org, household=home, first_name="Ana", last_name="Ruiz", merged_into_id=survivor.id)
    before = people_count(db_session)
    (same, created_same), (other, created_other) = match(
        db_session, org,
        PersonRequest(household_id=home.id, first_name="ana", last_name="RUIZ"),
        PersonRequest(household_id=elsewhere.id, first_name="Ana", last_name="Ruiz"),
    )
    assert (same, created_same) == (survivor.id, False)
    assert created_other is True and other != survivor.id
    assert tenant_row(db_session, Person, other).household_id == elsewhere.id
    assert people_count(db_session) == before + 1


def test_phone_is_tried_before_email_and_both_stay_inside_the_organization(db_session):
    org, other_org = make_org(db_session), make_org(db_session)
    by_phone = make_person(db_session, org=org, phone="13125550161")
    make_person(db_session, org=org, email="x@example.org")
    make_person(db_session, org=other_org, phone="13125550162")
    results = match(
        db_session, org,
        PersonRequest(first_name="X", last_name="Y", phone="13125550161", email="x@example.org"),
        PersonRequest(first_name="Z", last_name="W", phone="13125550162"),
    )
    assert results[0] == (by_phone.id, False)
    assert results[1][1] is True  # the other organization's person is not a match
    # Matching only finds people: a card's details are applied once it is stored (people/details.py).
    assert tenant_row(db_session, Person, by_phone.id).email is None


def test_cards_for_one_new_person_share_them_and_merge_what_they_say(db_session):
    org = make_org(db_session)
    home = make_household(db_session, org=org)
    before = people_count(db_session)
    results = match(
        db_session, org,
        PersonRequest(household_id=home.id, first_name="Lee", last_name="Park", source="paper"),
        PersonRequest(household_id=home.id, first_name="LEE", last_name="park", phone="13125550171", source="paper"),
        PersonRequest(first_name="L", last_name="P", phone="13125550171", email="lee@example.org", source="paper"),
    )
    assert len({person_id for person_id, _ in results}) == 1
    assert all(created for _, created in results)
    person = tenant_row(db_session, Person, results[0][0])
    # The details are the cards' to apply once stored (consent, newest first: people/details.py).
    assert (person.phone, person.email, person.source, person.name_key) == (None, None, "paper", "lee park")
    assert people_count(db_session) == before + 1


def test_merge_moves_attendance_and_dues_to_the_survivor(db_session):
    from sqlalchemy import select

    from canvass.operations.people import merge_people
    from canvass.pipeline.models import DuesPayment, EventAttendance
    from tests.canvass.pipeline.builders import at, attended, dues, event
    from tests.factories import make_user

    org = make_org(db_session)
    organizer = make_user(db_session, org=org, roles=["organizer"])
    home = make_household(db_session, org=org)
    survivor = make_person(db_session, org=org, household=home, first_name="Ana", last_name="Ruiz")
    duplicate = make_person(db_session, org=org, household=home, first_name="Ana", last_name="Ruiz")
    meeting = event(db_session, org=org, starts_at=at("2026-10-01T18:00:00-05:00"))
    attended(db_session, person=duplicate, event_row=meeting)
    dues(db_session, person=duplicate, amount_cents=1000, paid_on="2026-10-01", period_start="2026-10-01",
         period_end="2026-10-31")
    merge_people(db_session, organization_id=org.id, person_id=duplicate.id, into_id=survivor.id, actor=organizer)
    owners = lambda model: set(db_session.execute(select(model.person_id).where(model.organization_id == org.id)).scalars())  # noqa: E731
    assert owners(EventAttendance) == {survivor.id}
    assert owners(DuesPayment) == {survivor.id}
