from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import id_field
from api.schemas.turfs import REASON, NamedRef
from canvass.turfs.models import TEAM_STATUSES
from canvass.turfs.teams import MAX_TEAM_MEMBERS, MAX_TEAM_NAME_LENGTH

MEMBER_IDS = dict(validate=validate.Length(max=MAX_TEAM_MEMBERS),
                  metadata={"description": f"user ids of the organization's active canvassers (at most {MAX_TEAM_MEMBERS})"})


class TeamCreate(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=MAX_TEAM_NAME_LENGTH))
    member_ids = fields.List(id_field(), load_default=list, **MEMBER_IDS)


class TeamUpdate(Schema):
    name = fields.String(validate=validate.Length(min=1, max=MAX_TEAM_NAME_LENGTH))
    status = fields.String(validate=validate.OneOf(TEAM_STATUSES),
                           metadata={"description": "archived: retire the team (not while it holds a lease); active: reopen"})
    reason = REASON


class TeamListArgs(Schema):
    status = fields.String(load_default="active", validate=validate.OneOf(TEAM_STATUSES))


class TeamMembersReplace(Schema):
    member_ids = fields.List(id_field(), required=True, **MEMBER_IDS)
    reason = REASON


class TeamMemberAdd(Schema):
    user_id = id_field(required=True)
    reason = REASON


class TeamLeaseRef(Schema):
    id = fields.Integer(metadata={"description": "the assignment id"})
    turf = fields.Nested(NamedRef)
    campaign = fields.Nested(NamedRef)
    leased_until = fields.DateTime()


class TeamOut(Schema):
    id = fields.Integer()
    name = fields.String()
    status = fields.String(metadata={"description": "active | archived"})
    members = fields.List(fields.Nested(NamedRef), metadata={"description": "by name"})
    live_assignments = fields.List(fields.Nested(TeamLeaseRef), metadata={"description": "the leases it holds now"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    archived_at = fields.DateTime(allow_none=True)
