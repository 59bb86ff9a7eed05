"""Schemas of the member pipeline: events, attendance, dues, membership, funnels, votes."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import id_field, query_id_field
from canvass.pipeline.dues import MAX_EXTERNAL_ID, MAX_NOTE
from canvass.pipeline.events import MAX_TITLE
from canvass.pipeline.membership import LEADER_FIELDS, RULE_FIELDS
from canvass.pipeline.models import (
    ATTENDANCE_STATUSES,
    DUES_METHODS,
    EVENT_KINDS,
    EVENT_STATUSES,
    STAGES,
    VOTE_SCOPES,
)

_id = id_field
_query_id = query_id_field


def _rule_int(bounds, **kwargs):
    default, minimum, maximum = bounds
    return fields.Integer(strict=True, validate=validate.Range(min=minimum, max=maximum),
                          metadata={"description": f"default {default}"}, **kwargs)


class PageArgs(Schema):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    cursor = _query_id(metadata={"description": "next_cursor of the previous page"})


# --- events ------------------------------------------------------------------------------


class EventCreate(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(EVENT_KINDS))
    title = fields.String(required=True, validate=validate.Length(min=1, max=MAX_TITLE))
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(allow_none=True)
    location = fields.String(load_default="", validate=validate.Length(max=500))
    ward_id = _id(allow_none=True)
    campaign_id = _id(allow_none=True)
    led_by_person_id = _id(allow_none=True, metadata={"description": "who led it (a route to leadership)"})
    external_id = fields.String(allow_none=True, validate=validate.Length(min=1, max=MAX_EXTERNAL_ID))


class EventUpdate(Schema):
    kind = fields.String(validate=validate.OneOf(EVENT_KINDS))
    title = fields.String(validate=validate.Length(min=1, max=MAX_TITLE))
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime(allow_none=True)
    location = fields.String(validate=validate.Length(max=500))
    ward_id = _id(allow_none=True)
    campaign_id = _id(allow_none=True)
    led_by_person_id = _id(allow_none=True)
    status = fields.String(validate=validate.OneOf(EVENT_STATUSES),
                           metadata={"description": "cancelled: its attendance stops counting"})


class EventListArgs(PageArgs):
    starts_from = fields.AwareDateTime(data_key="from")
    starts_to = fields.AwareDateTime(data_key="to")
    kind = fields.String(validate=validate.OneOf(EVENT_KINDS))


class AttendanceCountsOut(Schema):
    signed_up = fields.Integer()
    attended = fields.Integer()
    no_show = fields.Integer()
    cancelled = fields.Integer()


class EventOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    title = fields.String()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime(allow_none=True)
    location = fields.String()
    ward_id = fields.Integer(allow_none=True)
    campaign_id = fields.Integer(allow_none=True)
    led_by_person_id = fields.Integer(allow_none=True)
    status = fields.String()
    external_id = fields.String(allow_none=True)
    created_at = fields.DateTime()
    attendance = fields.Nested(AttendanceCountsOut)


class EventPage(Schema):
    data = fields.List(fields.Nested(EventOut))
    next_cursor = fields.Integer(allow_none=True)


class AttendanceRecord(Schema):
    person_id = _id(required=True)
    status = fields.String(required=True, validate=validate.OneOf(ATTENDANCE_STATUSES))


class AttendanceBatch(Schema):
    records = fields.List(fields.Nested(AttendanceRecord), required=True,
                          metadata={"description": "at most 500; upserted by (event, person)"})


class AttendanceResultOut(Schema):
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()


class AttendanceOut(Schema):
    person_id = fields.Integer()
    status = fields.String()
    source = fields.String()
    recorded_by_id = fields.Integer(allow_none=True)
    updated_at = fields.DateTime()


# --- dues ---------------------------------------------------------------------------------


class DuesCreate(Schema):
    person_id = _id(required=True)
    amount_cents = fields.Integer(required=True, strict=True, metadata={"description": "positive, in cents"})
    paid_on = fields.Date(required=True)
    method = fields.String(required=True, validate=validate.OneOf(DUES_METHODS))
    period_start = fields.Date(required=True, metadata={"description": "first day the payment covers"})
    period_end = fields.Date(required=True, metadata={"description": "last day the payment covers"})
    external_id = fields.String(allow_none=True, validate=validate.Length(min=1, max=MAX_EXTERNAL_ID),
                                metadata={"description": "a receipt or check number: recorded once"})
    note = fields.String(allow_none=True, validate=validate.Length(max=MAX_NOTE))


class DuesVoid(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=MAX_NOTE))


class DuesListArgs(PageArgs):
    person_id = _query_id()


class DuesOut(Schema):
    id = fields.Integer()
    person_id = fields.Integer()
    amount_cents = fields.Integer()
    paid_on = fields.Date()
    method = fields.String()
    period_start = fields.Date()
    period_end = fields.Date()
    external_id = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    source = fields.String()
    recorded_by_id = fields.Integer(allow_none=True)
    voided_at = fields.DateTime(allow_none=True)
    void_reason = fields.String(allow_none=True)
    created_at = fields.DateTime()


class DuesPage(Schema):
    data = fields.List(fields.Nested(DuesOut))
    next_cursor = fields.Integer(allow_none=True)


# --- membership -----------------------------------------------------------------------


class LeaderRule(Schema):
    events_led = _rule_int(LEADER_FIELDS["events_led"])
    pledges_collected = _rule_int(LEADER_FIELDS["pledges_collected"])


class RuleUpdate(Schema):
    dues_monthly_cents = _rule_int(RULE_FIELDS["dues_monthly_cents"])
    grace_days = _rule_int(RULE_FIELDS["grace_days"])
    events_required = _rule_int(RULE_FIELDS["events_required"])
    window_months = _rule_int(RULE_FIELDS["window_months"])
    leader = fields.Nested(LeaderRule, metadata={"description": "0 switches a criterion off"})


class RuleOut(Schema):
    dues_monthly_cents = fields.Integer()
    grace_days = fields.Integer()
    events_required = fields.Integer()
    window_months = fields.Integer()
    leader = fields.Nested(LeaderRule)


class MembershipPeriodOut(Schema):
    status = fields.String()
    since = fields.DateTime()
    until = fields.DateTime(allow_none=True)
    reasons = fields.List(fields.String())
    details = fields.List(fields.Dict())


class StandingSpellOut(Schema):
    since = fields.DateTime()
    until = fields.DateTime(allow_none=True, metadata={"description": "null: still a member under this version"})


class StandingVersionOut(Schema):
    version = fields.Integer(metadata={"description": "the membership rule version (0: the settings' rule)"})
    effective_from = fields.DateTime()
    note = fields.String()
    spells = fields.List(fields.Nested(StandingSpellOut),
                         metadata={"description": "member spells under this version, inside the span it was in force"})


class MembershipOut(Schema):
    person_id = fields.Integer()
    status = fields.String(metadata={"description": "member, lapsed or not_member"})
    since = fields.DateTime(allow_none=True)
    good_until = fields.DateTime(allow_none=True, metadata={"description": "when it lapses if nothing new happens"})
    reasons = fields.List(fields.String())
    details = fields.List(fields.Dict())
    stage = fields.String()
    rule = fields.Nested(RuleOut)
    history = fields.List(fields.Nested(MembershipPeriodOut))
    evaluated_at = fields.DateTime(allow_none=True)
    first_joined_at = fields.DateTime(allow_none=True, metadata={"description": "the start of the first member spell"})
    current_spell_since = fields.DateTime(allow_none=True, metadata={"description": "the start of the current spell"})
    lapses = fields.List(fields.Nested(lambda: LapseOut()), metadata={"description": "every lapse, oldest first"})
    standing_history = fields.List(fields.Nested(StandingVersionOut), metadata={
        "description": "member spells under each membership rule version, oldest version first"})


class LapseOut(Schema):
    since = fields.DateTime()
    until = fields.DateTime(allow_none=True)


_TREE_DOC = ("an AND/OR tree: a group {op: and|or, rules: [...]} or a condition {kind, params}; kinds: "
             "dues_current, dues_continuous, events_in_window, recent_events, lives_in_ward, member_for, "
             "endorsed, admin_override (and, in a vote's rule, membership); see docs/pipeline.md")


class RuleTreeUpdate(Schema):
    tree = fields.Dict(required=True, metadata={"description": _TREE_DOC})
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class RuleVersionOut(Schema):
    version = fields.Integer(metadata={"description": "0: the organization's settings, no version stored yet"})
    tree = fields.Dict()
    effective_from = fields.DateTime()
    note = fields.String()
    created_by_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime(allow_none=True)
    warnings = fields.List(fields.String(), metadata={"description": "e.g. nobody meets the rule as of today"})


class EvaluationArgs(Schema):
    as_of = fields.Date(metadata={"description": "the local day (its last moment); default today"})


class EvaluationOut(Schema):
    person_id = fields.Integer()
    as_of = fields.Date()
    evaluated_at = fields.DateTime()
    version = fields.Integer(metadata={"description": "the rule version in force at that moment"})
    met = fields.Boolean()
    tree = fields.Dict(metadata={"description": "the rule, each node with met and text (words)"})
    standing_history = fields.List(fields.Nested(StandingVersionOut), metadata={
        "description": "member spells under each membership rule version (as last rolled up), oldest version first"})


class AttestationCreate(Schema):
    role = fields.String(validate=validate.Length(min=1, max=32),
                         metadata={"description": "endorsements: the endorser's role (default: their first)"})
    reason = fields.String(load_default="", validate=validate.Length(max=2000))
    expires_at = fields.AwareDateTime(allow_none=True)


class AttestationOut(Schema):
    id = fields.Integer()
    person_id = fields.Integer()
    kind = fields.String(metadata={"description": "endorsement or override"})
    role = fields.String(allow_none=True)
    reason = fields.String()
    starts_at = fields.DateTime()
    expires_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    recorded_by_id = fields.Integer(allow_none=True)


class TransitionOut(Schema):
    from_stage = fields.String(data_key="from")
    to_stage = fields.String(data_key="to")
    occurred_at = fields.DateTime()
    cause = fields.String()
    cause_id = fields.Integer(allow_none=True)


class PipelineOut(Schema):
    person_id = fields.Integer()
    stage = fields.String()
    stage_since = fields.DateTime(allow_none=True)
    ward_id = fields.Integer(allow_none=True)
    campaign_id = fields.Integer(allow_none=True)
    reached = fields.Dict(keys=fields.String(), values=fields.DateTime(allow_none=True))
    transitions = fields.List(fields.Nested(TransitionOut))


class UserLink(Schema):
    user_id = _id(required=True)


class UserLinkOut(Schema):
    person_id = fields.Integer()
    user_id = fields.Integer(allow_none=True)


# --- funnels ---------------------------------------------------------------------------


class FunnelArgs(Schema):
    ward = fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "ward name, e.g. 33"})
    campaign_id = _query_id()
    date_from = fields.Date(data_key="from", metadata={"description": "default: 29 days before `to`"})
    date_to = fields.Date(data_key="to", metadata={"description": "default: today (the organization's time zone)"})


class FunnelStageOut(Schema):
    stage = fields.String(validate=validate.OneOf(STAGES))
    current = fields.Integer(metadata={"description": "people at this stage now"})
    reached = fields.Integer(metadata={"description": "people who first reached it in the range"})
    advanced = fields.Integer(metadata={"description": "people who moved beyond it in the range"})
    conversion_to_next = fields.Float(allow_none=True)
    avg_days_in_stage = fields.Float(allow_none=True)


class FunnelDayOut(Schema):
    day = fields.Date()
    reached = fields.Dict(keys=fields.String(), values=fields.Integer())


class FunnelWardOut(Schema):
    id = fields.Integer()
    name = fields.String()


class FunnelOut(Schema):
    ward = fields.Nested(FunnelWardOut, allow_none=True)
    campaign_id = fields.Integer(allow_none=True)
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")
    timezone = fields.String()
    stages = fields.List(fields.Nested(FunnelStageOut))
    days = fields.List(fields.Nested(FunnelDayOut))
    refreshed_at = fields.DateTime(allow_none=True)


class SupportQuestion(Schema):
    question_id = _id(required=True)


class SupportQuestionOut(Schema):
    campaign_id = fields.Integer()
    question_id = fields.Integer()


class RebuildOut(Schema):
    status = fields.String()


# --- votes ------------------------------------------------------------------------------


class VoteCreate(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(load_default="", validate=validate.Length(max=5000))
    scope = fields.String(required=True, validate=validate.OneOf(VOTE_SCOPES))
    ward = fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "ward votes: its name"})
    options = fields.List(fields.String(validate=validate.Length(min=1, max=200)), required=True)
    cutoff_at = fields.AwareDateTime(required=True,
                                     metadata={"description": "members in good standing at this moment may vote"})
    opens_at = fields.AwareDateTime(required=True)
    closes_at = fields.AwareDateTime(required=True)
    quorum_percent = fields.Integer(load_default=50, strict=True, validate=validate.Range(min=0, max=100))
    eligibility_rule = fields.Dict(allow_none=True, metadata={
        "description": "the vote's own rule (" + _TREE_DOC + "); default: the membership rule"})


class VoteOptionOut(Schema):
    id = fields.Integer()
    position = fields.Integer()
    label = fields.String()


class MyBallotOut(Schema):
    eligible = fields.Boolean(allow_none=True)
    voted = fields.Boolean()


class VoteOut(Schema):
    id = fields.Integer(attribute="vote.id")
    title = fields.String(attribute="vote.title")
    description = fields.String(attribute="vote.description")
    scope = fields.String(attribute="vote.scope")
    ward_id = fields.Integer(attribute="vote.ward_id", allow_none=True)
    cutoff_at = fields.DateTime(attribute="vote.cutoff_at")
    opens_at = fields.DateTime(attribute="vote.opens_at")
    closes_at = fields.DateTime(attribute="vote.closes_at")
    quorum_percent = fields.Integer(attribute="vote.quorum_percent")
    status = fields.String(metadata={"description": "scheduled, open or closed"})
    eligible_count = fields.Integer(attribute="vote.eligible_count", allow_none=True,
                                    metadata={"description": "set when the vote opens"})
    ballots_cast = fields.Integer()
    options = fields.List(fields.Nested(VoteOptionOut))
    eligibility_rule = fields.Dict(attribute="vote.eligibility_rule", allow_none=True)
    mine = fields.Nested(MyBallotOut, allow_none=True,
                         metadata={"description": "the caller's own ballot, when their account is a member's"})


class VoteSummaryOut(Schema):
    id = fields.Integer()
    title = fields.String()
    scope = fields.String()
    ward_id = fields.Integer(allow_none=True)
    opens_at = fields.DateTime()
    closes_at = fields.DateTime()
    eligible_count = fields.Integer(allow_none=True)


class VotePage(Schema):
    data = fields.List(fields.Nested(VoteSummaryOut))
    next_cursor = fields.Integer(allow_none=True)


class BallotCreate(Schema):
    option_id = _id(required=True)


class VoteCloseIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500),
                           metadata={"description": "why the vote closes before its closes_at (audited)"})


class RecordedBallotCreate(Schema):
    option_id = _id(required=True)
    person_id = _id(required=True, metadata={"description": "the member voting at the meeting"})


class BallotOut(Schema):
    id = fields.Integer()
    vote_id = fields.Integer()
    person_id = fields.Integer()
    option_id = fields.Integer()
    method = fields.String()
    cast_at = fields.DateTime()


class EligibleOut(Schema):
    person_id = fields.Integer()
    first_name = fields.String()
    last_name = fields.String()
    voted = fields.Boolean()
    reasons = fields.List(fields.Dict())


class OptionResultOut(Schema):
    id = fields.Integer()
    label = fields.String()
    votes = fields.Integer()


class VoteResultsOut(Schema):
    vote_id = fields.Integer()
    options = fields.List(fields.Nested(OptionResultOut))
    ballots_cast = fields.Integer()
    eligible = fields.Integer()
    turnout = fields.Float(allow_none=True)
    quorum_percent = fields.Integer()
    quorum_met = fields.Boolean()


class ExcludedOut(Schema):
    person_id = fields.Integer()
    first_name = fields.String()
    last_name = fields.String()
    reasons = fields.List(fields.String(), metadata={"description": "the conditions that kept them out, in words"})
    evaluation = fields.Dict(metadata={"description": "the vote's rule, each node met or not, at the cutoff"})
