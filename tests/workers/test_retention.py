"""The retention purge (RETENTION_MONTHS, nightly cron): notes and contact details of people who never
became supporters go after N months without contact; supporters, pledgers and recent people keep theirs."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from canvass.audit.models import AuditEvent, SignInFailure
from canvass.audit.services import SIGN_IN_FAILURE_DAYS, purge_sign_in_failures, record_sign_in_failure
from canvass.canvassing.records import Contact
from canvass.operations.privacy import purge_stale_personal_data
from canvass.people.details import record_manual_details
from canvass.people.models import Person, PersonContactDetail
from tests.canvass.pipeline.builders import pledge
from tests.factories import make_campaign, make_household, make_org, make_person, tenant_row
from workers import privacy_jobs

NOW = datetime(2026, 12, 4, 5, 0, tzinfo=UTC)
LONG_AGO = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)  # 30 months before NOW
LAST_MONTH = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)


def _someone(session, org, campaign, *, name, contacted_at, known_since=LONG_AGO):
    person = make_person(session, org=org, household=make_household(session, org=org), first_name=name,
                         phone="13125550100", email=f"{name.lower()}@example.net")
    record_manual_details(session, organization_id=org.id, person_id=person.id,
                          changes={"phone": ["13125550100", "13125550101"]})
    session.execute(update(Person).where(Person.id == person.id).values(created_at=known_since))
    session.add(Contact(organization_id=org.id, client_id=uuid.uuid4(), campaign_id=campaign.id,
                        household_id=person.household_id, person_id=person.id, result_code="come_back",
                        notes=f"{name} talked about rent", occurred_at=contacted_at))
    session.flush()
    return person


def _kept(session, person) -> tuple:
    session.expire_all()
    row = tenant_row(session, Person, person.id)
    notes = session.execute(select(Contact.notes).where(Contact.person_id == person.id)).scalars().all()
    details = session.execute(select(func.count()).select_from(PersonContactDetail)
                              .where(PersonContactDetail.person_id == person.id)).scalar()
    return (row.first_name, row.phone is not None, row.email is not None, notes != [None], details > 0)


def test_purge_drops_notes_and_details_of_people_never_supporters_past_the_retention(db_session):
    org = make_org(db_session)
    campaign = make_campaign(db_session, org=org)
    stale = _someone(db_session, org, campaign, name="Stale", contacted_at=LONG_AGO)
    recent = _someone(db_session, org, campaign, name="Recent", contacted_at=LAST_MONTH)
    pledger = _someone(db_session, org, campaign, name="Pledger", contacted_at=LONG_AGO)
    pledge(db_session, person=pledger, occurred_at=LONG_AGO)

    purged = purge_stale_personal_data(db_session, organization_id=org.id, months=24, now=NOW)

    assert (purged.notes, purged.people, purged.contact_details) == (1, 1, 2)
    assert _kept(db_session, stale) == ("Stale", False, False, False, False)  # the name stays for the door
    assert _kept(db_session, recent) == ("Recent", True, True, True, True)
    assert _kept(db_session, pledger) == ("Pledger", True, True, True, True)
    audit = db_session.execute(select(AuditEvent).where(AuditEvent.action == "retention.purged")).scalar_one()
    assert audit.details == {"months": 24, "notes": 1, "people": 1, "contact_details": 2}
    again = purge_stale_personal_data(db_session, organization_id=org.id, months=24, now=NOW)
    assert (again.notes, again.people, again.contact_details) == (0, 0, 0)
    assert purge_stale_personal_data(db_session, organization_id=org.id, months=0, now=NOW).people == 0


def test_purge_drops_old_household_notes_unless_someone_at_that_door_is_kept(db_session):
    org = make_org(db_session)
    campaign = make_campaign(db_session, org=org)
    stale = _someone(db_session, org, campaign, name="Stale", contacted_at=LONG_AGO)
    recent = _someone(db_session, org, campaign, name="Recent", contacted_at=LAST_MONTH)

    def door_note(person, when, note):
        row = Contact(organization_id=org.id, client_id=uuid.uuid4(), campaign_id=campaign.id,
                      household_id=person.household_id, result_code="come_back", notes=note, occurred_at=when)
        db_session.add(row)
        db_session.flush()
        return row

    old_at_stale = door_note(stale, LONG_AGO, "the daughter answered, Stale was out")
    new_at_stale = door_note(stale, LAST_MONTH, "dog in the yard")
    old_at_recent = door_note(recent, LONG_AGO, "Recent's brother answered")

    purged = purge_stale_personal_data(db_session, organization_id=org.id, months=24, now=NOW)

    assert purged.notes == 2  # Stale's own contact and the old note at Stale's door
    db_session.expire_all()
    assert tenant_row(db_session, Contact, old_at_stale.id).notes is None
    assert tenant_row(db_session, Contact, new_at_stale.id).notes == "dog in the yard"  # inside the retention
    assert tenant_row(db_session, Contact, old_at_recent.id).notes == "Recent's brother answered"


def test_the_nightly_job_purges_every_organization(db_session, worker_runtime):
    org = make_org(db_session)
    stale = _someone(db_session, org, make_campaign(db_session, org=org), name="Gone",
                     contacted_at=datetime.now(UTC) - timedelta(days=3 * 365),
                     known_since=datetime.now(UTC) - timedelta(days=3 * 365))
    outcome = privacy_jobs.purge_stale_personal_data_all()
    assert outcome["failed"] == []
    assert _kept(db_session, stale) == ("Gone", False, False, False, False)


def _sign_in_failure(session, email, occurred_at):
    failure = record_sign_in_failure(session, email=email, reason="bad_credentials", ip_address="198.51.100.7")
    failure.occurred_at = occurred_at
    session.flush()
    return failure


def test_failed_sign_ins_of_unknown_emails_go_after_their_days(db_session):
    old = _sign_in_failure(db_session, "typo@example.org", NOW - timedelta(days=SIGN_IN_FAILURE_DAYS, seconds=1))
    kept = _sign_in_failure(db_session, "recent@example.org", NOW - timedelta(days=SIGN_IN_FAILURE_DAYS - 1))

    assert purge_sign_in_failures(db_session, now=NOW) == 1

    remaining = db_session.execute(select(SignInFailure.id)).scalars().all()
    assert old.id not in remaining and kept.id in remaining


def test_the_nightly_job_purges_old_failed_sign_ins(db_session, worker_runtime):
    long_ago = _sign_in_failure(db_session, "someone@example.org", datetime.now(UTC) - timedelta(days=365))
    outcome = privacy_jobs.purge_stale_personal_data_all()
    assert outcome["sign_in_failures"] >= 1
    assert db_session.execute(select(func.count()).select_from(SignInFailure)
                              .where(SignInFailure.id == long_ago.id)).scalar_one() == 0
