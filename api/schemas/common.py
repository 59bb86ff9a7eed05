from __future__ import annotations

from marshmallow import Schema, fields, validate

MAX_ID = 2**63 - 1  # BIGINT: a larger id names nothing, and must not reach the database


def id_field(**kwargs) -> fields.Integer:
    """An id in a request body: a whole number that fits the database's BIGINT."""
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID), **kwargs)


def query_id_field(**kwargs) -> fields.Integer:
    """An id (or id cursor) in a query string: text there, so "12" is an id; it must fit BIGINT too."""
    return fields.Integer(validate=validate.Range(min=1, max=MAX_ID), **kwargs)


class ErrorBody(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    details = fields.Dict()


class ErrorEnvelope(Schema):
    error = fields.Nested(ErrorBody, required=True)


class OrganizationRef(Schema):
    id = fields.Integer()
    slug = fields.String()
    name = fields.String()
