"""Field work coming in: the phone's offline upload, single online posts, paper cards.

All go through canvass/canvassing/sync.py, the one idempotent ingest path.
"""
from __future__ import annotations

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import client_ip, current_user, requires_roles
from api.extensions import db
from api.schemas.canvassing import (
    ConflictArgs,
    ConflictPage,
    ConflictResolutionIn,
    ConflictResolutionOut,
    FlaggedContactArgs,
    FlaggedContactPage,
    ItemResultOut,
    PaperPledgeBatch,
    RawItem,
    SyncBody,
    SyncOut,
)
from canvass.canvassing import conflicts, integrity, sync
from canvass.canvassing.validation import item_json_schema
from canvass.db import transaction

blp = Blueprint("sync", __name__, url_prefix="/v1", description="Field work: offline sync, contacts, pledge cards")

DEVICE_HEADER = "X-Device-Id"


def _max_items() -> int:
    return current_app.config["CANVASS_SETTINGS"].sync_max_items


def _device_id() -> str | None:
    return (request.headers.get(DEVICE_HEADER) or "")[:200] or None


def _item_body(kind: str) -> dict:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": item_json_schema(kind)}}}}


def _single_status(result) -> tuple:
    return result, 201 if result.status == "created" else 200


@blp.route("/sync")
class Sync(MethodView):
    @requires_roles("canvasser", "field_lead")
    @blp.arguments(SyncBody)
    @blp.response(200, SyncOut)
    @blp.alt_response(413, description="batch_too_large: more than 500 items in all; nothing stored")
    def post(self, body):
        """The phone's offline upload: one result per item (contacts in order, then pledges in order).

        Idempotent by `client_id`: a retry answers `duplicate` with the first id. A bad item is
        `rejected` with its error; the others are stored. Field leads may sync their own assignments.
        """
        with transaction(db.session) as session:
            results = sync.sync_field_work(
                session, organization_id=current_user().organization_id, canvasser_id=current_user().id,
                device_id=body.get("device_id"), contacts=body.get("contacts") or [],
                pledges=body.get("pledges") or [], max_items=_max_items(),
            )
        return {"results": results}


@blp.route("/contacts")
class Contacts(MethodView):
    @requires_roles("canvasser", "field_lead")
    @blp.arguments(RawItem)
    @blp.doc(**_item_body("contact"))
    @blp.response(201, ItemResultOut)
    @blp.alt_response(200, schema=ItemResultOut, description="duplicate: this client_id was stored before")
    def post(self, body):
        """One contact from an online client (same rules as a sync item; errors as HTTP statuses).

        Optional header `X-Device-Id`.
        """
        with transaction(db.session) as session:
            result = sync.record_contact(
                session, organization_id=current_user().organization_id, canvasser_id=current_user().id,
                device_id=_device_id(), item=body,
            )
        return _single_status(result)


@blp.route("/contacts/flagged")
class FlaggedContacts(MethodView):
    @requires_roles("field_lead", "organizer", "admin")
    @blp.arguments(FlaggedContactArgs, location="query")
    @blp.response(200, FlaggedContactPage)
    def get(self, args):
        """Contacts with flags (far_from_door, too_fast, conflict), newest first. Flags never reject work."""
        with transaction(db.session) as session:
            rows = integrity.list_flagged_contacts(
                session, organization_id=current_user().organization_id, flag=args.get("flag"),
                canvasser_id=args.get("canvasser_id"), campaign_id=args.get("campaign_id"),
                limit=args["limit"], before_id=args.get("cursor"),
            )
        next_cursor = rows[-1]["contact"].id if len(rows) == args["limit"] else None
        return {"data": rows, "next_cursor": next_cursor}


@blp.route("/contacts/conflicts")
class ContactConflicts(MethodView):
    @requires_roles("field_lead", "organizer")
    @blp.arguments(ConflictArgs, location="query")
    @blp.response(200, ConflictPage)
    def get(self, args):
        """Two canvassers' results for one door (`status=open`, default, or `resolved`), newest first:
        the later-arriving contact (flagged `conflict`) and the one it conflicts with, each with who
        recorded it and when. A conflict's id is its flagged contact's id."""
        with transaction(db.session) as session:
            rows = conflicts.list_conflicts(
                session, organization_id=current_user().organization_id, status=args["status"],
                campaign_id=args.get("campaign_id"), limit=args["limit"], before_id=args.get("cursor"),
            )
        next_cursor = rows[-1]["id"] if len(rows) == args["limit"] else None
        return {"data": rows, "next_cursor": next_cursor}


@blp.route("/contacts/conflicts/<int:conflict_id>/resolution")
class ContactConflictResolution(MethodView):
    @requires_roles("field_lead", "organizer")
    @blp.arguments(ConflictResolutionIn)
    @blp.response(200, ConflictResolutionOut)
    @blp.alt_response(404, description="conflict_not_found: no such contact, another organization's, or not in conflict")
    @blp.alt_response(409, description="conflict_already_resolved")
    @blp.alt_response(422, description="not_in_this_conflict: keep_contact_id is not one of the two contacts")
    def post(self, body, conflict_id):
        """Resolve a conflict by keeping one contact: the other is kept but superseded, the door's
        result follows the kept one. Audited (`contact.conflict_resolved`)."""
        with transaction(db.session) as session:
            return conflicts.resolve_conflict(
                session, organization_id=current_user().organization_id, conflict_id=conflict_id,
                keep_contact_id=body["keep_contact_id"], actor=current_user(), ip_address=client_ip(),
            )


@blp.route("/pledges")
class Pledges(MethodView):
    @requires_roles("canvasser", "field_lead", "organizer")
    @blp.arguments(RawItem)
    @blp.doc(**_item_body("pledge"))
    @blp.response(201, ItemResultOut)
    @blp.alt_response(200, schema=ItemResultOut, description="duplicate: this client_id was stored before")
    def post(self, body):
        """One pledge card from an online client (a door, or `source: event`); same rules as a sync item."""
        with transaction(db.session) as session:
            result = sync.record_pledge(
                session, organization_id=current_user().organization_id, canvasser_id=current_user().id,
                device_id=_device_id(), item=body,
            )
        return _single_status(result)


@blp.route("/pledges/batch")
class PaperPledges(MethodView):
    @requires_roles("organizer", "field_lead", "admin")
    @blp.arguments(PaperPledgeBatch)
    @blp.response(200, SyncOut)
    @blp.alt_response(413, description="batch_too_large: more than 500 cards; nothing stored")
    def post(self, body):
        """Paper pledge cards typed in (source `paper`), through the same idempotent path as sync.

        Give each card a client_id (a UUID) when it is typed, so re-submitting a page stores nothing twice.
        """
        with transaction(db.session) as session:
            results = sync.enter_paper_pledges(
                session, organization_id=current_user().organization_id, pledges=body.get("pledges") or [],
                max_items=_max_items(),
            )
        return {"results": results}
