from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import client_ip, current_user, requires_roles
from api.extensions import db
from api.schemas.people import (
    DuplicateArgs,
    DuplicatePage,
    ErasureOut,
    MergeIn,
    PersonDetailOut,
    PersonOut,
    PersonUpdate,
)
from canvass.db import transaction
from canvass.operations import people as people_operations
from canvass.operations import privacy
from canvass.people import matching

blp = Blueprint("people", __name__, url_prefix="/v1", description="People: possible duplicates, merging, do-not-contact")


@blp.route("/people/duplicates")
class Duplicates(MethodView):
    @requires_roles("organizer", "admin")
    @blp.arguments(DuplicateArgs, location="query")
    @blp.response(200, DuplicatePage)
    def get(self, args):
        """Pairs of people who may be one: same name in a household, same phone, or same e-mail."""
        after = tuple(int(part) for part in args["cursor"].split("_")) if args.get("cursor") else None
        with transaction(db.session) as session:
            pairs = matching.list_duplicate_pairs(
                session, organization_id=current_user().organization_id, limit=args["limit"], after=after
            )
        last = pairs[-1] if len(pairs) == args["limit"] else None
        return {"data": pairs, "next_cursor": f"{last.first.id}_{last.second.id}" if last else None}


@blp.route("/people/<int:person_id>")
class PersonItem(MethodView):
    @requires_roles("organizer", "admin", "field_lead")
    @blp.response(200, PersonDetailOut)
    def get(self, person_id):
        """The person with their latest contacts and their pledge cards."""
        with transaction(db.session) as session:
            return people_operations.get_person_detail(
                session, organization_id=current_user().organization_id, person_id=person_id)

    @requires_roles("organizer", "admin")
    @blp.arguments(PersonUpdate)
    @blp.response(200, PersonOut)
    def patch(self, body, person_id):
        """Correct contact details, set the preferred language or do-not-contact (audited)."""
        with transaction(db.session) as session:
            return matching.update_person(
                session, organization_id=current_user().organization_id, person_id=person_id,
                actor=current_user(), ip_address=client_ip(), **body,
            )


@blp.route("/people/<int:person_id>/merge")
class PersonMerge(MethodView):
    @requires_roles("organizer", "admin")
    @blp.arguments(MergeIn)
    @blp.response(200, PersonOut)
    @blp.alt_response(409, description="person_already_merged or merge_target_merged")
    def post(self, body, person_id):
        """Merge this person into `into_id`: their contacts and pledges move; the merge is audited.
        Answers the person who remains."""
        with transaction(db.session) as session:
            return people_operations.merge_people(
                session, organization_id=current_user().organization_id, person_id=person_id,
                into_id=body["into_id"], actor=current_user(), ip_address=client_ip(),
            )


@blp.route("/people/<int:person_id>/erasure")
class PersonErasure(MethodView):
    @requires_roles("organizer", "admin")
    @blp.response(200, ErasureOut)
    @blp.alt_response(404, description="person_not_found")
    def post(self, person_id):
        """Erase the person on their request: name, external id, phone and e-mail, the contact-detail history, and
        the notes and text answers of their contacts and pledge cards. The records stay, anonymous, so every count
        stays true; the person becomes do-not-contact. Audited (`person.erased`, counts only). Cannot be undone."""
        with transaction(db.session) as session:
            return privacy.erase_person(
                session, organization_id=current_user().organization_id, person_id=person_id,
                actor=current_user(), ip_address=client_ip(),
            )
