from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import OrganizationRef, query_id_field
from canvass.auth.models import ROLES


class TokenCreate(Schema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024), load_only=True)
    label = fields.String(validate=validate.Length(max=200), metadata={"description": "e.g. the phone's name"})


class MeOut(Schema):
    id = fields.Integer()
    name = fields.String()
    email = fields.String()
    roles = fields.List(fields.String())
    organization = fields.Nested(OrganizationRef)
    languages = fields.List(fields.String(), metadata={"description": "BCP 47 tags the user speaks, strongest first"})


class TokenOut(Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer(metadata={"description": "seconds until the token expires"})
    user = fields.Nested(MeOut)


class UserOut(Schema):
    id = fields.Integer()
    name = fields.String()
    email = fields.String()
    phone = fields.String(allow_none=True)
    roles = fields.List(fields.String())
    languages = fields.List(fields.String(), metadata={"description": "BCP 47 tags the user speaks, strongest first"})
    is_active = fields.Boolean()
    created_at = fields.DateTime()
    deactivated_at = fields.DateTime(allow_none=True)


class UserCreate(Schema):
    email = fields.String(required=True, validate=validate.Length(min=3, max=254))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)), required=True, validate=validate.Length(min=1))
    password = fields.String(validate=validate.Length(min=10, max=1024), load_only=True)
    phone = fields.String(validate=validate.Length(max=32))
    languages = fields.List(
        fields.String(validate=validate.Length(max=40)), validate=validate.Length(max=20),
        metadata={"description": "BCP 47 tags of the languages the user speaks, strongest first (es, pl, zh-Hans)"},
    )


class UserUpdate(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)), validate=validate.Length(min=1))
    password = fields.String(validate=validate.Length(min=10, max=1024), load_only=True)
    phone = fields.String(validate=validate.Length(max=32), allow_none=True)
    is_active = fields.Boolean()
    languages = fields.List(
        fields.String(validate=validate.Length(max=40)), validate=validate.Length(max=20),
        metadata={"description": "BCP 47 tags of the languages the user speaks, strongest first (es, pl, zh-Hans)"},
    )


class UserListArgs(Schema):
    role = fields.String(validate=validate.OneOf(ROLES))
    include_inactive = fields.Boolean(load_default=False)


class RevokedOut(Schema):
    revoked = fields.Integer()


class AuditEventOut(Schema):
    id = fields.Integer()
    action = fields.String()
    actor_user_id = fields.Integer(allow_none=True)
    target_type = fields.String(allow_none=True)
    target_id = fields.String(allow_none=True)
    details = fields.Dict()
    ip_address = fields.String(allow_none=True)
    created_at = fields.DateTime()


class AuditListArgs(Schema):
    action = fields.String(validate=validate.Length(max=64))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    cursor = query_id_field(metadata={"description": "next_cursor of the previous page"})


class AuditPage(Schema):
    data = fields.List(fields.Nested(AuditEventOut))
    next_cursor = fields.Integer(allow_none=True)
