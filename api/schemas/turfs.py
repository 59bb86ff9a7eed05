from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.schemas.common import id_field, query_id_field
from api.schemas.geo import GEOJSON_DESCRIPTION, GeoJSONGeometry
from canvass.turfs.cutting import MAX_TARGET_DOORS
from canvass.turfs.leases import MAX_LEASE_HOURS, MAX_REASON_LENGTH
from canvass.turfs.models import TURF_STATUSES

REASON = fields.String(validate=validate.Length(max=MAX_REASON_LENGTH), metadata={"description": "why (kept in the history)"})


# --- turfs ------------------------------------------------------------------------


class TurfListArgs(Schema):
    ward = fields.String(validate=validate.Length(min=1, max=200), metadata={"description": "the ward's name, e.g. 33"})
    status = fields.String(validate=validate.OneOf(TURF_STATUSES),
                           metadata={"description": "omitted: every status but archived"})
    cut_id = query_id_field()
    campaign_id = query_id_field(
                                 metadata={"description": "count progress for this campaign's contacts only"})


class TurfCreate(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    geometry = fields.Dict(required=True, metadata={"description": "a GeoJSON Polygon or MultiPolygon"})
    ward = fields.String(validate=validate.Length(min=1, max=200),
                         metadata={"description": "omitted: the ward most of its doors are in"})


class TurfUpdate(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    status = fields.String(validate=validate.OneOf(("ready", "completed", "archived")),
                           metadata={"description": "complete, archive or reopen (ready); assign to check out"})
    reason = REASON


class Progress(Schema):
    doors = fields.Integer(attribute="door_count")
    knocked = fields.Integer(metadata={"description": "doors with a contact since the turf was made"})
    contacted = fields.Integer(metadata={"description": "doors with a conversation since the turf was made"})


class ActiveAssignmentRef(Schema):
    id = fields.Integer()
    canvasser_id = fields.Integer(allow_none=True, metadata={"description": "null: the turf is leased to a team"})
    canvasser_name = fields.String(allow_none=True)
    team_id = fields.Integer(allow_none=True, metadata={"description": "null: leased to one canvasser"})
    team_name = fields.String(allow_none=True)
    campaign_id = fields.Integer()
    leased_until = fields.DateTime()


class TurfOverlap(Schema):
    id = fields.Integer()
    name = fields.String()
    status = fields.String(metadata={"description": "ready | checked_out | completed (archived turfs are left out)"})
    shared_doors = fields.Integer(metadata={"description": "doors (households) on both turfs"})


class TurfProperties(Schema):
    name = fields.String()
    ward = fields.String(allow_none=True)
    door_count = fields.Integer()
    building_count = fields.Integer()
    status = fields.String()
    origin = fields.String(metadata={"description": "drawn | cut"})
    cut_id = fields.Integer(allow_none=True)
    progress = fields.Function(lambda turf: Progress().dump(turf))
    assignment = fields.Nested(ActiveAssignmentRef, allow_none=True)
    overlaps = fields.List(fields.Nested(TurfOverlap), metadata={
        "description": "other turfs (not archived) sharing doors with this one, e.g. a drawn turf over a cut one. "
                       "A door is leased for a campaign on one turf at a time: leasing one of two overlapping "
                       "turfs for a campaign refuses the other (409 doors_already_leased)"})
    updated_at = fields.DateTime()


class TurfFeatureOut(Schema):
    type = fields.Constant("Feature")
    id = fields.Integer()
    geometry = GeoJSONGeometry(metadata={"description": GEOJSON_DESCRIPTION})
    properties = fields.Function(lambda turf: TurfProperties().dump(turf))


class TurfCollectionOut(Schema):
    type = fields.Constant("FeatureCollection")
    features = fields.List(fields.Nested(TurfFeatureOut))


# --- cuts ---------------------------------------------------------------------------


class CutCreate(Schema):
    ward = fields.String(validate=validate.Length(min=1, max=200))
    precincts = fields.List(
        fields.String(validate=validate.Length(min=1, max=200)), validate=validate.Length(min=1, max=200),
        metadata={"description": "precinct labels WARD-PRECINCT, e.g. [\"33-12\", \"33-13\"]"},
    )
    target_doors = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_TARGET_DOORS))

    @validates_schema
    def _ward_or_precincts(self, data, **kwargs):
        if ("ward" in data) == ("precincts" in data):
            raise ValidationError("give a ward or a list of precincts", field_name="ward")


class CutOut(Schema):
    id = fields.Integer(attribute="cut.id")
    ward = fields.String(allow_none=True)
    target_doors = fields.Integer(attribute="cut.target_doors")
    parameters = fields.Dict(attribute="cut.parameters")
    quality = fields.Dict(attribute="cut.quality", metadata={
        "description": "balance (min/max/mean doors, share within 15%), compactness (Polsby-Popper), "
                       "walking distance (mean/total route metres), split block faces and precincts"})
    created_at = fields.DateTime(attribute="cut.created_at")
    turfs = fields.Function(lambda view: TurfCollectionOut().dump({"features": view.turfs}))


# --- assignments --------------------------------------------------------------------


class LeaseFields(Schema):
    lease_hours = fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_LEASE_HOURS))
    leased_until = fields.AwareDateTime(metadata={"description": "ISO 8601 with an offset"})
    reason = REASON

    @validates_schema
    def _one_lease(self, data, **kwargs):
        if "lease_hours" in data and "leased_until" in data:
            raise ValidationError("give lease_hours or leased_until, not both", field_name="leased_until")


HOLDER = "give exactly one of canvasser_id and team_id"


class AssignmentCreate(LeaseFields):
    # Exactly one of the two is checked by the service, whose message says so.
    canvasser_id = id_field(metadata={"description": f"lease to one canvasser ({HOLDER})"})
    team_id = id_field(metadata={"description": f"lease to a team: each member may walk it ({HOLDER})"})
    campaign_id = id_field(required=True)


class AssignmentReplace(LeaseFields):
    canvasser_id = id_field(metadata={"description": f"hand the turf to one canvasser ({HOLDER})"})
    team_id = id_field(metadata={"description": f"hand the turf to a team ({HOLDER})"})
    campaign_id = id_field(metadata={"description": "omitted: the current assignment's campaign"})


class AssignmentExtend(LeaseFields):
    @validates_schema
    def _some_lease(self, data, **kwargs):
        if "lease_hours" not in data and "leased_until" not in data:
            raise ValidationError("give lease_hours or leased_until", field_name="leased_until")


class ReasonArgs(Schema):
    reason = REASON


class TurfRef(Schema):
    id = fields.Integer()
    name = fields.String()
    ward = fields.String(allow_none=True)
    door_count = fields.Integer()


class NamedRef(Schema):
    id = fields.Integer()
    name = fields.String()


class AssignmentOut(Schema):
    id = fields.Integer()
    status = fields.String(metadata={"description": "active | released | expired | completed"})
    leased_at = fields.DateTime()
    leased_until = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    turf = fields.Nested(TurfRef)
    campaign = fields.Nested(NamedRef)
    canvasser = fields.Nested(NamedRef, allow_none=True, metadata={"description": "null: leased to a team"})
    team = fields.Nested(NamedRef, allow_none=True, metadata={"description": "null: leased to one canvasser"})
    members = fields.List(fields.Nested(NamedRef), metadata={
        "description": "who is on the lease now (an ended lease: at its end): the canvasser, or the team's members"})


class ActorRef(Schema):
    id = fields.Integer()
    name = fields.String()


class TurfEventOut(Schema):
    id = fields.Integer()
    action = fields.String(metadata={"description": "created, assigned, reassigned, extended, members_changed, "
                                                    "released, expired, completed, archived, reopened, renamed"})
    from_status = fields.String(allow_none=True)
    to_status = fields.String(allow_none=True)
    assignment_id = fields.Integer(allow_none=True)
    actor = fields.Nested(ActorRef, allow_none=True, metadata={"description": "null: the system (lease expiry)"})
    reason = fields.String(allow_none=True)
    details = fields.Dict()
    created_at = fields.DateTime()


# --- walk list (documentation of the phone's document; the view sends prebuilt JSON) ----


class _Address(Schema):
    line1 = fields.String()
    unit = fields.String()
    city = fields.String()
    state = fields.String()
    zip = fields.String()


class _Location(Schema):
    lat = fields.Float()
    lon = fields.Float()


class _Resident(Schema):
    id = fields.Integer()
    first_name = fields.String()
    last_name = fields.String()
    language = fields.String(allow_none=True, metadata={"description": "preferred language (BCP 47), or null"})


class _Stop(Schema):
    seq = fields.Integer(metadata={"description": "position in walking order"})
    household_id = fields.Integer()
    address = fields.Nested(_Address)
    location = fields.Nested(_Location)
    people = fields.List(fields.Nested(_Resident))
    languages = fields.List(fields.String(), metadata={
        "description": "the residents' preferred languages (BCP 47), most spoken first; [] when unknown"})
    last_result = fields.String(allow_none=True, metadata={
        "description": "latest result in this campaign: a result code, `canvassed`, or null"})


class _CodeLabel(Schema):
    code = fields.String()
    label = fields.String()


class _Question(Schema):
    id = fields.Integer()
    prompt = fields.String()
    kind = fields.String()
    choices = fields.Raw(allow_none=True)


class _WalkCampaign(Schema):
    id = fields.Integer()
    name = fields.String()
    script = fields.String()
    questions = fields.List(fields.Nested(_Question))
    result_codes = fields.List(fields.Nested(_CodeLabel))
    pledge_types = fields.List(fields.Nested(_CodeLabel))
    translations = fields.Dict(keys=fields.String(), values=fields.Dict(), metadata={
        "description": "the script and questions by language tag: {tag: {script?, questions?: [{prompt, choices?}]}}"})


class _WalkTurf(Schema):
    id = fields.Integer()
    name = fields.String()
    ward = fields.String(allow_none=True)
    geometry = fields.Dict(metadata={"description": GEOJSON_DESCRIPTION})


class WalkListOut(Schema):
    assignment_id = fields.Integer()
    status = fields.String()
    leased_until = fields.DateTime()
    turf = fields.Nested(_WalkTurf)
    campaign = fields.Nested(_WalkCampaign)
    stops = fields.List(fields.Nested(_Stop))


# --- paper walk lists: entry codes ----------------------------------------------------


class EntryCodeArgs(Schema):
    assignment_id = query_id_field(metadata={
        "description": "the assignment number printed on the sheet: the answer's `assignment` is that lease "
                       "(422 entry_code_not_on_assignment if the door is not on its turf)"})
    sheet = fields.UUID(metadata={
        "description": "the sheet id printed on the sheet: the answer then carries `client_id`, the contact's "
                       "client_id for POST /v1/sync, the same however often the row is keyed in"})


class _EntryTurf(Schema):
    id = fields.Integer()
    name = fields.String()
    status = fields.String()


class EntryCodeOut(Schema):
    code = fields.String(metadata={"description": "the code as printed (upper case, no separators)"})
    household_id = fields.Integer()
    address = fields.Nested(_Address)
    location = fields.Nested(_Location)
    people = fields.List(fields.Nested(_Resident), metadata={"description": "current residents"})
    turfs = fields.List(fields.Nested(_EntryTurf), metadata={"description": "turfs (not archived) holding the door"})
    assignment = fields.Nested(AssignmentOut, allow_none=True, metadata={
        "description": "the lease the sheet was printed for: `?assignment_id=`, else the door's one live lease "
                       "(null when it has none or several, e.g. one per campaign)"})
    assignments = fields.List(fields.Nested(AssignmentOut), metadata={
        "description": "leases of the turfs holding the door, live first, then latest first (at most 20)"})
    client_id = fields.UUID(metadata={"description": "with `?sheet=`: the client_id for this row's contact"})
