"""The shape of what phones upload: a contact or a pledge card, checked one item at a time.

A sync carries up to 500 items and one bad item must not sink the others, so
items are not loaded by a schema library at the edge: each is checked here, in
microseconds, and a failure becomes that item's `validation_failed` rejection
(details: field -> messages, nested like marshmallow's). The same field specs
render the JSON Schema that documents the items in the OpenAPI document
(`item_json_schema`), so the format is declared once.

Only the shape is checked here; what needs the database (the campaign's result
codes and questions, the canvasser's turfs) is checked in canvassing/sync.py.
"""
from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from canvass.campaigns.models import PLEDGE_TYPES, RESULT_CODES, SCALE
from canvass.errors import ValidationFailed
from canvass.normalize import clean_email, clean_phone

MAX_ID = 2**63 - 1
# Phones whose battery died come back with clocks at 1970; nothing real predates the product.
EARLIEST_OCCURRED_AT = datetime.fromisoformat("2000-01-01T00:00:00+00:00")
MAX_NOTES = 2000
MAX_TEXT_ANSWER = 2000
MAX_RESPONSES = 100


class FieldError(Exception):
    """One field's problem; `messages` is a list, or a dict for nested objects and lists."""

    def __init__(self, messages):
        super().__init__(messages)
        self.messages = messages if isinstance(messages, (list, dict)) else [messages]


# --- value specs ------------------------------------------------------------------


class Spec:
    def parse(self, value):
        raise NotImplementedError

    def json_schema(self) -> dict:
        raise NotImplementedError


class Id(Spec):
    def parse(self, value):
        if isinstance(value, bool) or not isinstance(value, int):
            raise FieldError("Not a valid integer id.")
        if not 1 <= value <= MAX_ID:
            raise FieldError("Not a valid id (a positive integer).")
        return value

    def json_schema(self):
        return {"type": "integer", "minimum": 1}


class Uuid(Spec):
    def parse(self, value):
        if not isinstance(value, str) or len(value) > 64:
            raise FieldError("Not a valid UUID.")
        try:
            return uuid.UUID(value)
        except ValueError:
            raise FieldError("Not a valid UUID.") from None

    def json_schema(self):
        return {"type": "string", "format": "uuid"}


class AwareTime(Spec):
    def parse(self, value):
        if not isinstance(value, str) or len(value) > 64:
            raise FieldError("Not a valid ISO 8601 date-time.")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise FieldError("Not a valid ISO 8601 date-time.") from None
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            raise FieldError("Needs a UTC offset, e.g. 2026-11-21T14:03:00-06:00.")
        if parsed < EARLIEST_OCCURRED_AT:
            raise FieldError("Is before 2000: check the phone's clock.")
        return parsed

    def json_schema(self):
        return {"type": "string", "format": "date-time", "description": "ISO 8601 with an offset"}


class Text(Spec):
    def __init__(self, *, max_length: int, min_length: int = 0):
        self.max_length, self.min_length = max_length, min_length

    def parse(self, value):
        if not isinstance(value, str):
            raise FieldError("Not a valid string.")
        if len(value) > self.max_length:
            raise FieldError(f"Longer than {self.max_length} characters.")
        if len(value.strip()) < self.min_length:
            raise FieldError("Must not be blank.")
        return value

    def json_schema(self):
        return {"type": "string", "maxLength": self.max_length, **({"minLength": self.min_length} if self.min_length else {})}


class Bool(Spec):
    def parse(self, value):
        if not isinstance(value, bool):
            raise FieldError("Not a valid boolean.")
        return value

    def json_schema(self):
        return {"type": "boolean"}


class Number(Spec):
    def __init__(self, minimum: float, maximum: float):
        self.minimum, self.maximum = minimum, maximum

    def parse(self, value):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise FieldError("Not a valid number.")
        if not self.minimum <= value <= self.maximum:
            raise FieldError(f"Must be between {self.minimum} and {self.maximum}.")
        return float(value)

    def json_schema(self):
        return {"type": "number", "minimum": self.minimum, "maximum": self.maximum}


class OneOf(Spec):
    def __init__(self, options):
        self.options = tuple(options)

    def parse(self, value):
        if not isinstance(value, str) or value not in self.options:
            raise FieldError(f"Must be one of: {', '.join(self.options)}.")
        return value

    def json_schema(self):
        return {"type": "string", "enum": list(self.options)}


class Phone(Spec):
    def parse(self, value):
        if not isinstance(value, str) or len(value) > 32:
            raise FieldError("Not a valid phone number.")
        try:
            return clean_phone(value)
        except ValueError as error:
            raise FieldError(str(error)) from None

    def json_schema(self):
        return {"type": "string", "maxLength": 32, "example": "(312) 555-0100"}


class Email(Spec):
    def parse(self, value):
        if not isinstance(value, str):
            raise FieldError("Not a valid e-mail address.")
        try:
            return clean_email(value)
        except ValueError as error:
            raise FieldError(str(error)) from None

    def json_schema(self):
        return {"type": "string", "format": "email", "maxLength": 254}


class Answer(Spec):
    """A survey answer: checked against its question later (sync needs the campaign)."""

    def parse(self, value):
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # a 4.0 from a JavaScript client is the scale answer 4
        if not isinstance(value, (str, int, bool)):
            raise FieldError("Must be a string, an integer or a boolean.")
        if isinstance(value, str) and len(value) > MAX_TEXT_ANSWER:
            raise FieldError(f"Longer than {MAX_TEXT_ANSWER} characters.")
        return value

    def json_schema(self):
        return {"oneOf": [{"type": "string"}, {"type": "integer"}, {"type": "boolean"}],
                "description": "choice: one of the question's choices; scale: 1-5; yes_no: true/false; text: a string"}


@dataclass(frozen=True)
class Field:
    spec: Spec
    required: bool = False
    nullable: bool = False
    description: str | None = None


class Obj(Spec):
    """A JSON object with known fields; unknown fields are rejected."""

    def __init__(self, fields: Mapping[str, Field]):
        self.fields = dict(fields)

    def parse(self, value):
        if not isinstance(value, dict):
            raise FieldError("Not a valid object.")
        parsed, errors = {}, {}
        for name, field in self.fields.items():
            if name not in value:
                if field.required:
                    errors[name] = ["Missing data for required field."]
                else:
                    parsed[name] = None
                continue
            raw = value[name]
            if raw is None:
                if field.nullable and not field.required:
                    parsed[name] = None
                else:
                    errors[name] = ["Field may not be null."]
                continue
            try:
                parsed[name] = field.spec.parse(raw)
            except FieldError as error:
                errors[name] = error.messages
        for name in value:
            if name not in self.fields:
                errors[str(name)[:64]] = ["Unknown field."]
        if errors:
            raise FieldError(errors)
        return parsed

    def json_schema(self):
        properties = {}
        for name, field in self.fields.items():
            schema = dict(field.spec.json_schema())
            if field.nullable:
                schema["nullable"] = True
            if field.description:
                schema["description"] = field.description
            properties[name] = schema
        required = [name for name, field in self.fields.items() if field.required]
        return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


class ListOf(Spec):
    def __init__(self, item: Spec, *, max_items: int):
        self.item, self.max_items = item, max_items

    def parse(self, value):
        if not isinstance(value, list):
            raise FieldError("Not a valid list.")
        if len(value) > self.max_items:
            raise FieldError(f"At most {self.max_items} items.")
        parsed, errors = [], {}
        for index, each in enumerate(value):
            try:
                parsed.append(self.item.parse(each))
            except FieldError as error:
                errors[str(index)] = error.messages
        if errors:
            raise FieldError(errors)
        return parsed

    def json_schema(self):
        return {"type": "array", "items": self.item.json_schema(), "maxItems": self.max_items}


# --- the items -----------------------------------------------------------------------

LOCATION = Obj({
    "lat": Field(Number(-90, 90), required=True),
    "lon": Field(Number(-180, 180), required=True),
    "accuracy_m": Field(Number(0, 1_000_000), nullable=True, description="the phone's reported accuracy, metres"),
})
RESPONSE = Obj({
    "question_id": Field(Id(), required=True),
    "answer": Field(Answer(), required=True),
})
PERSON = Obj({
    "first_name": Field(Text(max_length=100, min_length=1), required=True),
    "last_name": Field(Text(max_length=100), required=True),
    "phone": Field(Phone(), nullable=True),
    "email": Field(Email(), nullable=True),
})

CONTACT = Obj({
    "client_id": Field(Uuid(), required=True, description="made on the phone; the same id again is a retry"),
    "assignment_id": Field(Id(), required=True),
    "household_id": Field(Id(), required=True),
    "person_id": Field(Id(), nullable=True),
    "occurred_at": Field(AwareTime(), required=True),
    "result_code": Field(OneOf(RESULT_CODES), nullable=True,
                         description="an unsuccessful attempt; give this or responses, not both"),
    "responses": Field(ListOf(RESPONSE, max_items=MAX_RESPONSES), nullable=True,
                       description="a conversation (result canvassed); give this or result_code, not both"),
    "notes": Field(Text(max_length=MAX_NOTES), nullable=True),
    "location": Field(LOCATION, nullable=True),
    "do_not_contact": Field(Bool(), nullable=True,
                            description="the resident asked not to be contacted again (the person, else the household)"),
})

_PLEDGE_FIELDS = {
    "client_id": Field(Uuid(), required=True, description="made on the phone; the same id again is a retry"),
    "assignment_id": Field(Id(), nullable=True),
    "household_id": Field(Id(), nullable=True),
    "person_id": Field(Id(), nullable=True, description="a known person; else `person` is matched or created"),
    "person": Field(PERSON, nullable=True),
    "pledge_type": Field(OneOf(PLEDGE_TYPES), required=True),
    "campaign_id": Field(Id(), nullable=True, description="defaults to the assignment's campaign"),
    "occurred_at": Field(AwareTime(), required=True),
    "consent_to_contact": Field(Bool(), required=True),
    "notes": Field(Text(max_length=MAX_NOTES), nullable=True),
}
PLEDGE = Obj({**_PLEDGE_FIELDS, "source": Field(OneOf(("door", "event")), nullable=True, description="default door")})
# Paper cards typed in by an organizer: the source is always `paper`.
PAPER_PLEDGE = Obj(_PLEDGE_FIELDS)


def item_json_schema(kind: str) -> dict:
    """JSON Schema of one uploaded item ("contact", "pledge" or "paper_pledge"), for the API document."""
    return {"contact": CONTACT, "pledge": PLEDGE, "paper_pledge": PAPER_PLEDGE}[kind].json_schema()


def _parse(spec: Obj, raw: Any) -> dict:
    try:
        return spec.parse(raw)
    except FieldError as error:
        details = error.messages if isinstance(error.messages, dict) else {"_item": error.messages}
        raise ValidationFailed("the item did not pass validation", details=details) from None


def parse_contact(raw: Any) -> dict:
    item = _parse(CONTACT, raw)
    if (item["result_code"] is None) == (item["responses"] is None):
        message = "Give exactly one of result_code (an unsuccessful attempt) or responses (a conversation)."
        raise ValidationFailed(message, details={"result_code": [message], "responses": [message]})
    item["do_not_contact"] = bool(item["do_not_contact"])
    return item


def parse_pledge(raw: Any, *, paper: bool = False) -> dict:
    item = _parse(PAPER_PLEDGE if paper else PLEDGE, raw)
    if item["person_id"] is None and item["person"] is None:
        message = "Give person_id (a known person) or person (first_name, last_name, phone, email)."
        raise ValidationFailed(message, details={"person": [message]})
    item["source"] = "paper" if paper else (item.get("source") or "door")
    return item


def echo_client_id(raw: Any) -> str | None:
    """What to call the item in its result: the client_id as sent, when it is a short string."""
    if isinstance(raw, dict):
        value = raw.get("client_id")
        if isinstance(value, str) and len(value) <= 64:
            return value
    return None


# --- answers against the campaign's questions ---------------------------------------

def check_answer(kind: str, choices, answer) -> str | None:
    """Why `answer` does not fit a question of this kind, or None when it does."""
    if kind == "choice":
        if not isinstance(answer, str) or answer not in (choices or []):
            return "Must be one of the question's choices."
    elif kind == "scale":
        if isinstance(answer, bool) or not isinstance(answer, int) or not SCALE[0] <= answer <= SCALE[1]:
            return f"Must be a whole number from {SCALE[0]} to {SCALE[1]}."
    elif kind == "yes_no":
        if not isinstance(answer, bool):
            return "Must be true or false."
    elif kind == "text":
        if not isinstance(answer, str) or not answer.strip():
            return "Must be a non-blank string."
    return None


def check_responses(responses: list[dict], questions: Mapping[int, tuple[str, Any]]) -> dict:
    """Field -> messages for responses that don't fit the campaign's questions ({} when all do).

    `questions` maps question id -> (kind, choices) for the contact's campaign.
    """
    errors: dict = {}
    seen: set[int] = set()
    for index, response in enumerate(responses):
        question_id = response["question_id"]
        if question_id not in questions:
            errors[str(index)] = {"question_id": ["Not a question of this campaign."]}
        elif question_id in seen:
            errors[str(index)] = {"question_id": ["This question is answered twice."]}
        else:
            problem = check_answer(*questions[question_id], response["answer"])
            if problem:
                errors[str(index)] = {"answer": [problem]}
        seen.add(question_id)
    return {"responses": errors} if errors else {}
