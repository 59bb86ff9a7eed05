from __future__ import annotations

from marshmallow import Schema, fields


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
