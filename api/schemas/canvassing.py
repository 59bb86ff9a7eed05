from __future__ import annotations

from geoalchemy2.shape import to_shape
from marshmallow import INCLUDE, Schema, fields, post_dump, validate

from api.schemas.common import id_field, query_id_field
from canvass.campaigns.models import (
    CAMPAIGN_KINDS,
    PHONE_RESULT_CODES,
    PLEDGE_TYPES,
    QUESTION_KINDS,
    RESULT_CODES,
)
from canvass.campaigns.services import CAMPAIGN_STATUSES, MAX_CHOICES, MAX_QUESTIONS
from canvass.canvassing.conflicts import CONFLICT_STATUSES
from canvass.canvassing.followups import FOLLOW_UP_OUTCOMES, FOLLOW_UP_STATUSES
from canvass.canvassing.integrity import FLAGS
from canvass.canvassing.validation import MAX_NOTES, item_json_schema


class StrictBoolean(fields.Boolean):
    """JSON true/false only (marshmallow's Boolean also takes "yes", "on", 1...)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


# --- campaigns -------------------------------------------------------------------------


class QuestionIn(Schema):
    prompt = fields.String(required=True, validate=validate.Length(min=1, max=500))
    kind = fields.String(required=True, validate=validate.OneOf(QUESTION_KINDS))
    choices = fields.List(
        fields.String(validate=validate.Length(min=1, max=200)), allow_none=True,
        validate=validate.Length(max=MAX_CHOICES), metadata={"description": "choice questions only"},
    )


class QuestionTranslationIn(Schema):
    prompt = fields.String(required=True, validate=validate.Length(min=1, max=500))
    choices = fields.List(fields.String(validate=validate.Length(min=1, max=200)), allow_none=True,
                          validate=validate.Length(max=MAX_CHOICES), metadata={"description": "choice questions only, in order"})


class CampaignTranslationIn(Schema):
    script = fields.String(validate=validate.Length(max=20000))
    questions = fields.List(fields.Nested(QuestionTranslationIn), validate=validate.Length(max=MAX_QUESTIONS),
                            metadata={"description": "every question, in the campaign's order"})


def _translations_field(description: str):
    return fields.Dict(
        keys=fields.String(validate=validate.Length(max=40)), values=fields.Nested(CampaignTranslationIn),
        metadata={"description": description},
    )


class CampaignSettings(Schema):
    recontact_refused = StrictBoolean(
        metadata={"description": "keep households whose latest result is `refused` on walk lists (default false)"}
    )


def _code_list(codes, what):
    return fields.List(
        fields.String(validate=validate.OneOf(list(codes))),
        metadata={"description": f"{what}; omitted: all of {', '.join(codes)}"},
    )


class CampaignCreate(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(required=True, validate=validate.OneOf(CAMPAIGN_KINDS))
    script = fields.String(load_default="", validate=validate.Length(max=20000))
    description = fields.String(load_default="", validate=validate.Length(max=5000))
    questions = fields.List(fields.Nested(QuestionIn), load_default=list, validate=validate.Length(max=MAX_QUESTIONS))
    result_codes = _code_list(RESULT_CODES, "door result codes canvassers may log")
    phone_result_codes = _code_list(PHONE_RESULT_CODES, "phone result codes follow-up calls may log")
    pledge_types = _code_list(PLEDGE_TYPES, "pledge types the campaign collects (may be empty)")
    settings = fields.Nested(CampaignSettings)
    translations = _translations_field(
        "the script and questions in other languages, by BCP 47 tag: {\"es\": {script, questions: [{prompt, choices?}]}}"
    )


class CampaignUpdate(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    script = fields.String(validate=validate.Length(max=20000))
    description = fields.String(validate=validate.Length(max=5000))
    status = fields.String(validate=validate.OneOf(CAMPAIGN_STATUSES))
    questions = fields.List(
        fields.Nested(QuestionIn), validate=validate.Length(max=MAX_QUESTIONS),
        metadata={"description": "replaces every question; refused (409) once contacts have answered"},
    )
    result_codes = _code_list(RESULT_CODES, "door result codes canvassers may log")
    phone_result_codes = _code_list(PHONE_RESULT_CODES, "phone result codes follow-up calls may log")
    pledge_types = _code_list(PLEDGE_TYPES, "pledge types the campaign collects (may be empty)")
    settings = fields.Nested(CampaignSettings, metadata={"description": "merged into the current settings"})
    translations = _translations_field("replaces every translation ({} drops them)")


class CampaignListArgs(Schema):
    status = fields.String(validate=validate.OneOf(CAMPAIGN_STATUSES))


class QuestionOut(Schema):
    id = fields.Integer()
    position = fields.Integer()
    prompt = fields.String()
    kind = fields.String()
    choices = fields.List(fields.String(), allow_none=True)


class CampaignOut(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    description = fields.String()
    script = fields.String()
    status = fields.String()
    questions = fields.List(fields.Nested(QuestionOut))
    result_codes = fields.List(fields.String())
    phone_result_codes = fields.List(fields.String())
    pledge_types = fields.List(fields.String())
    settings = fields.Dict()
    translations = fields.Dict(metadata={"description": "{tag: {script?, questions?: [{prompt, choices?}]}}"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


# --- field uploads -----------------------------------------------------------------------
# Items are checked one by one in the domain (one bad item must not sink the batch), so
# here they are raw JSON values documented by the domain's own item schema.


def _items(kind: str, description: str):
    return fields.List(fields.Raw(allow_none=True, metadata=item_json_schema(kind)), metadata={"description": description})


class SyncBody(Schema):
    device_id = fields.String(allow_none=True, validate=validate.Length(max=200))
    contacts = _items("contact", "door attempts and conversations")
    pledges = _items("pledge", "pledge cards")


class PaperPledgeBatch(Schema):
    pledges = _items("paper_pledge", "paper pledge cards as typed in (source `paper`)")


class RawItem(Schema):
    """A single upload item, passed whole to the domain (which rejects unknown fields)."""

    class Meta:
        unknown = INCLUDE


class ItemError(Schema):
    code = fields.String()
    message = fields.String()
    details = fields.Dict()


class ItemResultOut(Schema):
    client_id = fields.String(allow_none=True, metadata={"description": "as sent (null when it was not a string)"})
    kind = fields.String(metadata={"description": "contact | pledge"})
    status = fields.String(metadata={"description": "created | duplicate | rejected"})
    id = fields.Integer(metadata={"description": "the stored item's id (created, duplicate)"})
    error = fields.Nested(ItemError, metadata={"description": "why it was rejected"})
    contact_details = fields.String(metadata={
        "description": "pledge cards with a phone or e-mail, when created: updated | unchanged | kept_newer "
                       "(an older card: the person's newer detail stays; the card's is kept in their history) | "
                       "not_consented (stored on the card only). See docs/canvassing.md"})
    conflict = fields.Boolean(metadata={
        "description": "contacts, when created: true when it conflicts with another canvasser's result for the "
                       "same door (stored and flagged `conflict`; a lead resolves it)"})

    @post_dump
    def _omit_empty(self, data, **kwargs):
        for key in ("id", "error", "contact_details", "conflict"):
            if data.get(key) is None:
                data.pop(key, None)
        return data


class SyncOut(Schema):
    results = fields.List(fields.Nested(ItemResultOut))


# --- reading contacts and pledges ---------------------------------------------------------


class LocationOut(Schema):
    lat = fields.Float()
    lon = fields.Float()
    accuracy_m = fields.Float(allow_none=True)


class ContactOut(Schema):
    id = fields.Integer()
    client_id = fields.String()
    campaign_id = fields.Integer()
    assignment_id = fields.Integer(allow_none=True)
    canvasser_id = fields.Integer(allow_none=True)
    household_id = fields.Integer()
    person_id = fields.Integer(allow_none=True)
    device_id = fields.String(allow_none=True)
    occurred_at = fields.DateTime()
    received_at = fields.DateTime()
    result = fields.Function(lambda c: c.result_code or "canvassed", metadata={"description": "a result code or canvassed"})
    result_code = fields.String(allow_none=True)
    responses = fields.List(fields.Dict(), allow_none=True)
    notes = fields.String(allow_none=True)
    do_not_contact = fields.Boolean()
    location = fields.Method("_location", allow_none=True)
    flags = fields.List(fields.String())
    conflict_with_id = fields.Integer(allow_none=True, metadata={
        "description": "flagged `conflict`: the contact whose result this one conflicts with"})
    conflict_resolved_at = fields.DateTime(allow_none=True)
    superseded_at = fields.DateTime(allow_none=True, metadata={
        "description": "a lead kept the other result of a conflict: kept, but no longer the door's result"})

    def _location(self, contact):
        if contact.location is None:
            return None
        point = to_shape(contact.location)
        return LocationOut().dump({"lat": point.y, "lon": point.x, "accuracy_m": contact.accuracy_m})


class FlaggedContactArgs(Schema):
    flag = fields.String(validate=validate.OneOf(FLAGS))
    canvasser_id = query_id_field()
    campaign_id = query_id_field()
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    cursor = query_id_field(metadata={"description": "next_cursor of the previous page"})


class FlaggedContactOut(Schema):
    contact = fields.Nested(ContactOut)
    canvasser_name = fields.String(allow_none=True)
    address = fields.String()
    distance_m = fields.Float(allow_none=True, metadata={"description": "from the door's building, metres"})


class FlaggedContactPage(Schema):
    data = fields.List(fields.Nested(FlaggedContactOut))
    next_cursor = fields.Integer(allow_none=True)


class ConflictArgs(Schema):
    status = fields.String(load_default="open", validate=validate.OneOf(CONFLICT_STATUSES))
    campaign_id = query_id_field()
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    cursor = query_id_field(metadata={"description": "next_cursor of the previous page"})


class ConflictOut(Schema):
    id = fields.Integer(metadata={"description": "the conflict: its later-arriving (flagged) contact's id"})
    status = fields.String(metadata={"description": "open | resolved"})
    address = fields.String()
    contact = fields.Nested(ContactOut, metadata={"description": "the later-arriving, flagged contact"})
    recorded_by = fields.String(allow_none=True, metadata={"description": "its canvasser's name"})
    conflicts_with = fields.Nested(ContactOut, metadata={"description": "the earlier result it conflicts with"})
    conflicts_with_recorded_by = fields.String(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    resolved_by_id = fields.Integer(allow_none=True)


class ConflictPage(Schema):
    data = fields.List(fields.Nested(ConflictOut))
    next_cursor = fields.Integer(allow_none=True)


class ConflictResolutionIn(Schema):
    keep_contact_id = id_field(required=True, metadata={"description": "one of the conflict's two contacts"})


class ConflictResolutionOut(Schema):
    id = fields.Integer()
    kept_contact_id = fields.Integer()
    superseded_contact_id = fields.Integer()
    resolved_at = fields.DateTime()


class PledgeOut(Schema):
    id = fields.Integer()
    client_id = fields.String()
    pledge_type = fields.String()
    source = fields.String()
    person_id = fields.Integer()
    household_id = fields.Integer(allow_none=True)
    campaign_id = fields.Integer(allow_none=True)
    assignment_id = fields.Integer(allow_none=True)
    canvasser_id = fields.Integer(allow_none=True)
    occurred_at = fields.DateTime()
    received_at = fields.DateTime()
    consent_to_contact = fields.Boolean()
    phone = fields.String(allow_none=True, metadata={"description": "as written on the card (normalized), consent or not"})
    email = fields.String(allow_none=True, metadata={"description": "as written on the card (normalized), consent or not"})
    notes = fields.String(allow_none=True)
    follow_up_status = fields.String(metadata={"description": " | ".join(FOLLOW_UP_STATUSES)})
    follow_up_attempts = fields.Integer()
    next_follow_up_at = fields.DateTime(allow_none=True)
    last_follow_up_at = fields.DateTime(allow_none=True)


# --- follow-ups ---------------------------------------------------------------------------


class FollowUpArgs(Schema):
    due_before = fields.AwareDateTime(metadata={"description": "default: now"})
    campaign_id = query_id_field()
    pledge_type = fields.String(validate=validate.OneOf(list(PLEDGE_TYPES)))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    cursor = fields.String(validate=validate.Length(max=100), metadata={"description": "next_cursor of the previous page"})


class FollowUpPerson(Schema):
    id = fields.Integer()
    first_name = fields.String()
    last_name = fields.String()
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    household_id = fields.Integer(allow_none=True)


class FollowUpOut(Schema):
    pledge = fields.Nested(PledgeOut)
    person = fields.Nested(FollowUpPerson)


class FollowUpPage(Schema):
    data = fields.List(fields.Nested(FollowUpOut))
    next_cursor = fields.String(allow_none=True)


class FollowUpAttemptIn(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(FOLLOW_UP_OUTCOMES))
    notes = fields.String(allow_none=True, validate=validate.Length(max=MAX_NOTES))
    do_not_contact = StrictBoolean(load_default=False, metadata={"description": "the person asked not to be contacted"})
