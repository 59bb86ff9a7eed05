"""The activity rollup: what it counts, and that incremental runs agree with a full rebuild."""
from __future__ import annotations

import random
from datetime import date

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from canvass.canvassing import integrity
from canvass.canvassing.records import Contact
from canvass.dashboards.activity import FLAG_REACH, activity_snapshot, rebuild_activity, rollup_activity
from canvass.dashboards.models import ActivityDay, ActivityTurf, ActivityWatermark
from canvass.db import transaction
from canvass.jobs import request_activity_rollup
from tests.canvass.dashboards.fieldwork import add_contact, add_pledge, at, make_ward
from tests.conftest import run_jobs
from tests.factories import make_campaign, make_user


def daily(session, org_id):
    return {
        (row.day, row.canvasser_key, row.campaign_key): row
        for row in session.execute(select(ActivityDay).where(ActivityDay.organization_id == org_id)).scalars()
    }


def turf_row(session, ward, turf_index, campaign_key=0):
    return session.get(ActivityTurf, (ward.org.id, ward.turfs[turf_index].id, campaign_key))


def test_counts_attempts_doors_conversations_pledges_and_flags_per_day_and_canvasser(db_session):
    ward = make_ward(db_session)
    alice = ward.canvassers[0]
    add_contact(db_session, ward, door=0, when=at(20, 10))
    add_contact(db_session, ward, door=0, when=at(20, 11), talked=True)  # same door again: one door, two attempts
    add_contact(db_session, ward, door=1, when=at(20, 12), flags=["far_from_door"])
    add_contact(db_session, ward, door=2, when=at(21, 10), talked=True)
    add_pledge(db_session, ward, door=0, when=at(20, 11))

    result = rollup_activity(db_session, organization_id=ward.org.id)

    assert result.new_rows and result.cells > 0
    rows = daily(db_session, ward.org.id)
    day20 = rows[(date(2026, 11, 20), alice.id, ward.campaign.id)]
    assert (day20.attempts, day20.doors, day20.conversations, day20.pledges, day20.flagged) == (3, 2, 1, 1, 1)
    assert day20.ward_key == ward.ward.id
    day21 = rows[(date(2026, 11, 21), alice.id, ward.campaign.id)]
    assert (day21.attempts, day21.doors, day21.conversations, day21.pledges) == (1, 1, 1, 0)


def test_days_are_the_organizations_local_days(db_session):
    ward = make_ward(db_session)
    # 23:30 in Chicago is already the next day in UTC.
    add_contact(db_session, ward, when=at(20, 23, 30))
    rollup_activity(db_session, organization_id=ward.org.id)
    assert [key[0] for key in daily(db_session, ward.org.id)] == [date(2026, 11, 20)]


def test_turf_progress_counts_distinct_doors_of_the_turf_per_campaign_and_overall(db_session):
    ward = make_ward(db_session, doors_per_turf=4)
    other = make_campaign(db_session, org=ward.org, name="Ordinance")
    add_contact(db_session, ward, door=0, when=at(20, 10))
    add_contact(db_session, ward, door=0, when=at(20, 11), talked=True)
    add_contact(db_session, ward, door=1, when=at(20, 12), campaign=other, talked=True)
    add_pledge(db_session, ward, door=1, when=at(20, 12), campaign=None)
    add_pledge(db_session, ward, door=3, when=at(20, 12), with_household=False)  # counted at the person's door

    rollup_activity(db_session, organization_id=ward.org.id)

    overall = turf_row(db_session, ward, 0)
    assert (overall.doors_knocked, overall.doors_talked, overall.attempts, overall.conversations,
            overall.pledges) == (2, 2, 3, 2, 2)
    fall = turf_row(db_session, ward, 0, ward.campaign.id)
    assert (fall.doors_knocked, fall.doors_talked, fall.attempts, fall.pledges) == (1, 1, 2, 1)
    assert turf_row(db_session, ward, 0, other.id).doors_knocked == 1
    assert overall.last_contact_at == at(20, 12)
    assert turf_row(db_session, ward, 1) is None  # no work on the east turf yet


def test_a_second_run_without_new_rows_changes_nothing(db_session):
    ward = make_ward(db_session)
    add_contact(db_session, ward, when=at(20))
    rollup_activity(db_session, organization_id=ward.org.id)
    before = activity_snapshot(db_session, organization_id=ward.org.id)
    again = rollup_activity(db_session, organization_id=ward.org.id)
    assert not again.new_rows
    assert activity_snapshot(db_session, organization_id=ward.org.id) == before


def test_flags_added_later_to_earlier_contacts_are_picked_up_with_the_new_batch(db_session):
    ward = make_ward(db_session)
    early = add_contact(db_session, ward, door=0, when=at(20, 23, 50))
    rollup_activity(db_session, organization_id=ward.org.id)
    # The next batch (just after midnight) makes integrity flag the earlier contact too.
    add_contact(db_session, ward, door=1, when=at(21, 0, 20), flags=["too_fast"])
    db_session.execute(update(Contact).where(Contact.id == early.id).values(flags=["too_fast"]))
    rollup_activity(db_session, organization_id=ward.org.id)
    rows = daily(db_session, ward.org.id)
    alice = ward.canvassers[0].id
    assert rows[(date(2026, 11, 20), alice, ward.campaign.id)].flagged == 1
    assert turf_row(db_session, ward, 0).flagged == 2


def test_flag_reach_covers_the_integrity_run_window():
    assert FLAG_REACH >= integrity._RUN_WINDOW


def test_incremental_runs_agree_with_a_full_rebuild(db_session):
    ward = make_ward(db_session, doors_per_turf=5)
    stranger = make_user(db_session, org=ward.org, roles=["canvasser"])
    second = make_campaign(db_session, org=ward.org)
    rng = random.Random(7)
    for _batch in range(6):
        for _ in range(rng.randint(3, 9)):
            turf = rng.randrange(2)
            add_contact(
                db_session, ward, turf=turf, door=rng.randrange(5), when=at(18 + rng.randrange(4), rng.randrange(24)),
                talked=rng.random() < 0.4, flags=["too_fast"] if rng.random() < 0.2 else [],
                campaign=second if rng.random() < 0.3 else None,
                canvasser=rng.choice([None, stranger]) if rng.random() < 0.2 else None,
            )
        for _ in range(rng.randint(0, 3)):
            add_pledge(db_session, ward, turf=rng.randrange(2), door=rng.randrange(5), when=at(18 + rng.randrange(4)),
                       with_household=rng.random() < 0.7, campaign=rng.choice([..., None, second]),
                       canvasser=False if rng.random() < 0.2 else None)
        rollup_activity(db_session, organization_id=ward.org.id)
    incremental = activity_snapshot(db_session, organization_id=ward.org.id)
    assert incremental["activity_daily"] and incremental["activity_turfs"]

    rebuild_activity(db_session, organization_id=ward.org.id)
    assert activity_snapshot(db_session, organization_id=ward.org.id) == incremental


def test_rollups_stay_inside_their_organization(db_session):
    ours, theirs = make_ward(db_session), make_ward(db_session)
    add_contact(db_session, theirs, when=at(20))
    rollup_activity(db_session, organization_id=ours.org.id)
    assert activity_snapshot(db_session, organization_id=ours.org.id) == {"activity_daily": [], "activity_turfs": []}
    assert db_session.get(ActivityWatermark, ours.org.id).contacts_seen == 0


def test_requested_rollup_runs_as_a_job_after_commit(worker_runtime, db_session):
    ward = make_ward(db_session)
    add_contact(db_session, ward, when=at(20))
    with transaction(db_session) as session:
        request_activity_rollup(session, organization_id=ward.org.id)
    run_jobs(worker_runtime)
    assert daily(db_session, ward.org.id)


def test_cron_job_rolls_up_every_organization(worker_runtime, db_session):
    from workers.dashboard_jobs import rollup_activity_all

    first, second = make_ward(db_session), make_ward(db_session)
    add_contact(db_session, first, when=at(20))
    add_contact(db_session, second, when=at(21))
    rollup_activity_all()
    assert daily(db_session, first.org.id) and daily(db_session, second.org.id)


def test_rollup_and_rebuild_are_on_the_cron_schedule():
    from workers.cron_schedule import SCHEDULE

    names = [name for name, _ in SCHEDULE]
    assert "rollup_activity_all" in names and "rebuild_activity_all" in names


def test_rows_committed_out_of_id_order_are_counted(committing_app):
    """A sync that drew its ids before another committed, but commits after rollups ran."""
    from api.extensions import db
    from tests.factories import make_org

    with committing_app.app_context():
        engine = db.engine
    # Plain sessions on real connections: three transactions at once, as in production.
    with Session(bind=engine, expire_on_commit=False) as session, session.begin():
        ward = make_ward(session, org=make_org(session))
        org_id, ward_id = ward.org.id, ward.ward.id
        _ = ward.campaign.questions  # loaded while the session is open

    def rollup() -> None:
        with Session(bind=engine) as session, session.begin():
            rollup_activity(session, organization_id=org_id)

    with Session(bind=engine) as slow:
        slow.begin()
        early_id = add_contact(slow, ward, door=0, when=at(20, 10)).id  # a lower id, not committed yet
        with Session(bind=engine) as fast, fast.begin():
            late_id = add_contact(fast, ward, door=1, when=at(20, 11)).id
        assert early_id < late_id

        rollup()
        rollup()  # two runs while the slow sync is still open: its id is never declared done
        with Session(bind=engine) as session:
            mark = session.get(ActivityWatermark, org_id)
            assert mark.contacts_seen == late_id and mark.contacts_done < early_id
        slow.commit()

    rollup()
    with Session(bind=engine) as session:
        total = session.execute(text(
            "SELECT sum(attempts) FROM activity_daily WHERE organization_id = :org AND ward_key = :ward"
        ), {"org": org_id, "ward": ward_id}).scalar_one()
    assert total == 2
