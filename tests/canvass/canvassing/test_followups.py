"""The follow-up plan: organization settings, with safe defaults."""
from datetime import UTC, datetime, timedelta

from canvass.canvassing.followups import FollowUpPlan, follow_up_plan, initial_follow_up


def test_the_default_plan_is_a_first_call_in_7_days_3_attempts_then_a_30_day_pause():
    assert follow_up_plan({}) == FollowUpPlan(first_call_days=7, retry_days=2, max_attempts=3, pause_days=30)


def test_the_organization_may_change_any_part_of_the_plan():
    settings = {"pledge_follow_up": {"first_call_days": 3, "max_attempts": 5}}
    assert follow_up_plan(settings) == FollowUpPlan(first_call_days=3, retry_days=2, max_attempts=5, pause_days=30)


def test_malformed_settings_fall_back_to_the_default_rather_than_refuse_cards(caplog):
    settings = {"pledge_follow_up": {"first_call_days": "soon", "max_attempts": 0, "pause_days": True,
                                     "retry_days": 9999}}
    assert follow_up_plan(settings) == FollowUpPlan()
    assert follow_up_plan({"pledge_follow_up": ["7 days"]}) == FollowUpPlan()
    assert "pledge_follow_up" in caplog.text


def test_a_new_card_is_due_after_the_first_call_delay_unless_there_is_no_consent():
    signed = datetime(2026, 11, 21, 20, 3, tzinfo=UTC)
    plan = FollowUpPlan(first_call_days=7)
    assert initial_follow_up(plan, occurred_at=signed, consent_to_contact=True) == ("pending", signed + timedelta(days=7))
    assert initial_follow_up(plan, occurred_at=signed, consent_to_contact=False) == ("no_consent", None)
