from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.canvassing import ContactOut, PledgeOut, StrictBoolean
from api.schemas.common import id_field
from canvass.people.matching import DUPLICATE_REASONS


class PersonOut(Schema):
    id = fields.Integer()
    household_id = fields.Integer(allow_none=True)
    external_id = fields.String(allow_none=True)
    first_name = fields.String()
    last_name = fields.String()
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    language = fields.String(allow_none=True, metadata={"description": "preferred language, a BCP 47 tag (es, pl, zh-Hans)"})
    source = fields.String()
    residence_current = fields.Boolean()
    deceased = fields.Boolean()
    do_not_contact = fields.Boolean()
    merged_into_id = fields.Integer(allow_none=True, metadata={"description": "set once merged into that person"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class PersonContactDetailOut(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "phone | email"})
    value = fields.String()
    source = fields.String(metadata={"description": "card | on_file (before a card replaced it) | manual"})
    source_pledge_id = fields.Integer(allow_none=True)
    occurred_at = fields.DateTime(allow_none=True, metadata={"description": "when given; null: on file, date unknown"})
    consent = fields.Boolean()
    superseded_at = fields.DateTime(allow_none=True)
    preferred = fields.Function(lambda row: bool(row.consent and row.superseded_at is None), metadata={
        "description": "the person's preferred detail of its kind (people.phone / email)"})
    recorded_at = fields.DateTime()


class PersonDetailOut(Schema):
    person = fields.Nested(PersonOut)
    contact_details = fields.List(fields.Nested(PersonContactDetailOut), metadata={
        "description": "every phone and e-mail the person gave, newest first per kind"})
    contacts = fields.List(fields.Nested(ContactOut), metadata={"description": "the latest 50, newest first"})
    pledges = fields.List(fields.Nested(PledgeOut))


class PersonUpdate(Schema):
    do_not_contact = StrictBoolean(metadata={"description": "honoured everywhere: walk lists, follow-ups, exports"})
    phone = fields.String(validate=validate.Length(max=32), metadata={"description": "blank clears it"})
    email = fields.String(validate=validate.Length(max=254), metadata={"description": "blank clears it"})
    language = fields.String(validate=validate.Length(max=40), metadata={
        "description": "preferred language, a BCP 47 tag (es, pl, zh-Hans), normalized; blank clears it"})


class MergeIn(Schema):
    into_id = id_field(required=True,
                             metadata={"description": "the person who remains"})


class DuplicateArgs(Schema):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    cursor = fields.String(validate=validate.Regexp(r"^\d{1,18}_\d{1,18}$"),
                           metadata={"description": "next_cursor of the previous page"})


class DuplicatePairOut(Schema):
    first = fields.Nested(PersonOut)
    second = fields.Nested(PersonOut)
    reasons = fields.List(fields.String(), metadata={"description": " | ".join(DUPLICATE_REASONS)})


class DuplicatePage(Schema):
    data = fields.List(fields.Nested(DuplicatePairOut))
    next_cursor = fields.String(allow_none=True)


class ErasureOut(Schema):
    person_id = fields.Integer()
    contacts = fields.Integer(metadata={"description": "contacts kept for the counts, their notes and text answers erased"})
    pledges = fields.Integer(metadata={"description": "pledge cards kept for the counts, their phone, e-mail and notes erased"})
    attendance = fields.Integer(metadata={"description": "attendance records kept (the person is anonymous now)"})
    contact_details = fields.Integer(metadata={"description": "entries of the contact-detail history deleted"})
