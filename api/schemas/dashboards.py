from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import OrganizationRef, query_id_field
from canvass.dashboards.queries import ROSTER_STATUSES

# --- query arguments -----------------------------------------------------------------------


class ScopeArgs(Schema):
    ward = fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "ward name"})
    campaign_id = query_id_field()


class RangeArgs(Schema):
    date_from = fields.Date(data_key="from", metadata={"description": "first local day (default: 29 days before to)"})
    date_to = fields.Date(data_key="to", metadata={"description": "last local day (default: today)"})


class ActivityArgs(ScopeArgs, RangeArgs):
    pass


class LeaderboardArgs(ActivityArgs):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class RosterArgs(Schema):
    ward = fields.String(validate=validate.Length(min=1, max=100))
    status = fields.String(validate=validate.OneOf(ROSTER_STATUSES))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    cursor = query_id_field(
                            metadata={"description": "next_cursor of the previous page"})


class ExportArgs(ScopeArgs, RangeArgs):
    changed_since = fields.AwareDateTime(
        metadata={"description": "only rows added or changed since then (incremental sync); "
                                 "use the previous export's X-Next-Changed-Since"})


# --- responses -----------------------------------------------------------------------------


class CanvasserRef(Schema):
    id = fields.Integer(allow_none=True)
    name = fields.String(allow_none=True)


class TeamRef(Schema):
    id = fields.Integer()
    name = fields.String()


class TurfAssignmentOut(Schema):
    id = fields.Integer()
    leased_until = fields.DateTime()
    canvasser = fields.Nested(CanvasserRef, metadata={"description": "id and name null when leased to a team"})
    team = fields.Nested(TeamRef, allow_none=True, metadata={"description": "null: leased to one canvasser"})


class TurfProgressProperties(Schema):
    name = fields.String()
    ward = fields.String(allow_none=True)
    status = fields.String()
    door_count = fields.Integer()
    doors_knocked = fields.Integer(metadata={"description": "doors of the turf with at least one attempt"})
    doors_talked = fields.Integer(metadata={"description": "doors of the turf with a conversation"})
    attempts = fields.Integer()
    conversations = fields.Integer()
    pledges = fields.Integer()
    flagged = fields.Integer(metadata={"description": "contacts with integrity flags"})
    completion = fields.Float(allow_none=True, metadata={"description": "doors_knocked / door_count"})
    last_contact_at = fields.DateTime(allow_none=True)
    assignment = fields.Nested(TurfAssignmentOut, allow_none=True)


class TurfFeature(Schema):
    type = fields.String()
    id = fields.Integer()
    geometry = fields.Dict()
    properties = fields.Nested(TurfProgressProperties)


class TurfProgressOut(Schema):
    type = fields.String()
    features = fields.List(fields.Nested(TurfFeature))
    ward = fields.String(allow_none=True)
    campaign_id = fields.Integer(allow_none=True)
    refreshed_at = fields.DateTime(allow_none=True, metadata={"description": "when the rollup last ran"})


class Counters(Schema):
    attempts = fields.Integer()
    doors = fields.Integer(metadata={"description": "door visits: distinct doors per canvasser and day"})
    conversations = fields.Integer()
    pledges = fields.Integer()
    flagged = fields.Integer()


class DayOut(Counters):
    day = fields.Date()


class TotalsOut(Counters):
    conversation_rate = fields.Float(allow_none=True)


class SummaryOut(Schema):
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")
    timezone = fields.String()
    ward = fields.String(allow_none=True)
    campaign_id = fields.Integer(allow_none=True)
    totals = fields.Nested(TotalsOut)
    days = fields.List(fields.Nested(DayOut))
    refreshed_at = fields.DateTime(allow_none=True)


class LeaderOut(Counters):
    rank = fields.Integer()
    canvasser = fields.Nested(CanvasserRef)
    days_out = fields.Integer()
    flag_rate = fields.Float(allow_none=True)


class LeaderboardOut(Schema):
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")
    ward = fields.String(allow_none=True)
    campaign_id = fields.Integer(allow_none=True)
    data = fields.List(fields.Nested(LeaderOut))
    refreshed_at = fields.DateTime(allow_none=True)


class RosterPerson(Schema):
    id = fields.Integer()
    first_name = fields.String()
    last_name = fields.String()


class RosterEntry(Schema):
    person = fields.Nested(RosterPerson)
    ward = fields.String(allow_none=True)
    status = fields.String()
    stage = fields.String()
    may_vote = fields.Boolean(metadata={"description": "a member in good standing now"})
    since = fields.DateTime(allow_none=True)
    good_until = fields.DateTime(allow_none=True)
    reasons = fields.List(fields.String(), metadata={"description": "why: the dues or attendance behind the standing"})


class RosterPage(Schema):
    data = fields.List(fields.Nested(RosterEntry))
    next_cursor = fields.Integer(allow_none=True)


class AffiliateCounts(Counters):
    members = fields.Integer()
    stages = fields.Dict(keys=fields.String(), values=fields.Integer())


class AffiliateOut(AffiliateCounts):
    organization = fields.Nested(OrganizationRef)
    parent_id = fields.Integer()


class CoalitionTotals(Counters):
    members = fields.Integer()


class CoalitionOut(Schema):
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")
    totals = fields.Nested(CoalitionTotals)
    affiliates = fields.List(fields.Nested(AffiliateOut))


class AffiliateActivityOut(Schema):
    organization = fields.Nested(OrganizationRef)
    members = fields.Integer()
    stages = fields.Dict(keys=fields.String(), values=fields.Integer())
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")
    timezone = fields.String()
    totals = fields.Nested(TotalsOut)
    days = fields.List(fields.Nested(DayOut))
    refreshed_at = fields.DateTime(allow_none=True)

