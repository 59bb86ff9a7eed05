"""Ward funnels: per ward, campaign, day and stage; conversion and time in stage; read precomputed."""
from datetime import date

import pytest
from sqlalchemy import select

from canvass.errors import NotFound, ValidationFailed
from canvass.pipeline.funnels import get_funnel
from canvass.pipeline.models import FunnelDay
from tests.canvass.pipeline.builders import (
    at,
    attended,
    conversation,
    event,
    pledge,
    resident,
    rollup,
    support_campaign,
)
from tests.factories import make_boundary, make_household, make_org


@pytest.fixture
def ward_33(db_session):
    org = make_org(db_session)
    ward, other_ward = make_boundary(db_session, org=org, name="33"), make_boundary(db_session, org=org, name="35")
    campaign, support = support_campaign(db_session, org)
    other_campaign, other_support = support_campaign(db_session, org)

    def person_in(w):
        return resident(db_session, org, household=make_household(db_session, org=org, ward=w))

    # Ward 33, campaign 1: three conversations on Jan 3, two supporters, one pledges two days later.
    first, second, third = person_in(ward), person_in(ward), person_in(ward)
    conversation(db_session, person=first, campaign=campaign, question=support, answer=5, occurred_at=at("2026-01-03 10:00"))
    conversation(db_session, person=second, campaign=campaign, question=support, answer=4, occurred_at=at("2026-01-03 11:00"))
    conversation(db_session, person=third, campaign=campaign, question=support, answer=1, occurred_at=at("2026-01-03 12:00"))
    pledge(db_session, person=first, campaign=campaign, occurred_at=at("2026-01-05 10:00"))
    attended(db_session, person=first, event_row=event(db_session, org=org, starts_at=at("2026-01-08 18:00")))
    # Elsewhere: another ward, another campaign.
    conversation(db_session, person=person_in(other_ward), campaign=campaign, question=support, answer=5,
                 occurred_at=at("2026-01-03 10:00"))
    conversation(db_session, person=person_in(ward), campaign=other_campaign, question=other_support, answer=5,
                 occurred_at=at("2026-01-04 10:00"))
    rollup(db_session, org, at("2026-01-10"))
    return org, ward, campaign, other_campaign


def stage(funnel, name):
    return next(s for s in funnel["stages"] if s["stage"] == name)


def test_funnel_counts_people_per_stage_for_one_ward_and_campaign(db_session, ward_33):
    org, ward, campaign, _ = ward_33
    funnel = get_funnel(db_session, organization_id=org.id, ward="33", campaign_id=campaign.id,
                        date_from=date(2026, 1, 1), date_to=date(2026, 1, 31))
    assert [(s["stage"], s["reached"], s["current"]) for s in funnel["stages"]] == [
        ("contacted", 3, 1), ("supporter", 2, 1), ("pledged", 1, 0), ("volunteer", 1, 1), ("member", 0, 0),
        ("leader", 0, 0),
    ]
    assert stage(funnel, "contacted")["conversion_to_next"] == round(2 / 3, 4)
    assert stage(funnel, "supporter")["conversion_to_next"] == 0.5
    # The supporter who pledged did so two days after the conversation.
    assert stage(funnel, "supporter")["avg_days_in_stage"] == 2.0
    assert funnel["days"] == [
        {"day": date(2026, 1, 3), "reached": {"contacted": 3, "supporter": 2, "pledged": 0, "volunteer": 0,
                                              "member": 0, "leader": 0}},
        {"day": date(2026, 1, 5), "reached": {"contacted": 0, "supporter": 0, "pledged": 1, "volunteer": 0,
                                              "member": 0, "leader": 0}},
        {"day": date(2026, 1, 8), "reached": {"contacted": 0, "supporter": 0, "pledged": 0, "volunteer": 1,
                                              "member": 0, "leader": 0}},
    ]


def test_funnel_without_filters_covers_every_ward_and_campaign(db_session, ward_33):
    org, *_ = ward_33
    funnel = get_funnel(db_session, organization_id=org.id, date_from=date(2026, 1, 1), date_to=date(2026, 1, 31))
    assert stage(funnel, "contacted")["reached"] == 5
    assert funnel["ward"] is None and funnel["campaign_id"] is None


def test_funnel_days_outside_the_range_are_left_out(db_session, ward_33):
    org, ward, campaign, _ = ward_33
    funnel = get_funnel(db_session, organization_id=org.id, ward="33", campaign_id=campaign.id,
                        date_from=date(2026, 1, 4), date_to=date(2026, 1, 6))
    assert stage(funnel, "contacted")["reached"] == 0 and stage(funnel, "pledged")["reached"] == 1
    # "current" is today's count, whatever the range.
    assert stage(funnel, "volunteer")["current"] == 1


def test_funnel_rows_are_kept_per_ward_campaign_day_and_stage(db_session, ward_33):
    org, ward, campaign, _ = ward_33
    row = db_session.execute(select(FunnelDay).where(
        FunnelDay.organization_id == org.id, FunnelDay.ward_key == ward.id, FunnelDay.campaign_key == campaign.id,
        FunnelDay.day == date(2026, 1, 3), FunnelDay.stage == "contacted")).scalar_one()
    assert (row.reached, row.advanced) == (3, 2)


def test_funnel_refuses_unknown_wards_foreign_campaigns_and_backwards_ranges(db_session, ward_33):
    org, *_ = ward_33
    stranger = make_org(db_session)
    foreign_campaign, _ = support_campaign(db_session, stranger)
    with pytest.raises(NotFound) as caught:
        get_funnel(db_session, organization_id=org.id, ward="99")
    assert caught.value.code == "ward_not_found"
    with pytest.raises(NotFound):
        get_funnel(db_session, organization_id=org.id, campaign_id=foreign_campaign.id)
    with pytest.raises(ValidationFailed):
        get_funnel(db_session, organization_id=org.id, date_from=date(2026, 2, 1), date_to=date(2026, 1, 1))
    with pytest.raises(ValidationFailed):
        get_funnel(db_session, organization_id=org.id, date_from=date(2020, 1, 1), date_to=date(2026, 1, 1))
