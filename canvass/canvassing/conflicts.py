"""Two canvassers' results for the same door: both kept, the later-arriving one flagged, a lead decides.

Conflicting (the rule): a newly stored contact conflicts with an earlier-stored one when
- same household and same campaign;
- same person, when both name one (two residents of one household are two conversations);
- recorded by different canvassers (one canvasser's own revisits are a sequence, not a conflict:
  a team lease's two members, or a lead syncing a paper result after a member's phone, are two);
- `occurred_at` on the same local day, in the organization's time zone;
- both *conclusive* and different: outcomes are the result code (`canvassed` for a conversation)
  and, for conversations, the answers (compared as sets). The attempts `not_home`, `come_back`
  and `inaccessible` say nothing about the door, so they never conflict (a door not home at ten
  and canvassed at four is normal);
- the earlier one is *standing*: not superseded and not itself in an open conflict.

The later-arriving contact (by commit order, not id or occurred_at) is stored as usual (its sync
result stays `created`, with `"conflict": true` and the flag `conflict`) and points at the contact
it conflicts with (`conflict_with_id`, the latest standing one by occurred_at).

While open, the flagged contact does not count as the door's result: the walk list's
`last_result` keeps showing the standing contacts' latest, and its door consequences (`moved`,
`deceased`, `wrong_address`) wait for the resolution. A do-not-contact request is honoured at once,
conflict or not. A lead resolves it by keeping one contact: the other is marked `superseded_at`
(kept, never deleted), the kept flagged contact's door consequences are applied, and a superseded
earlier contact's are undone where no other standing contact still says the same. Both contacts
stay counted as work done in the activity and pipeline rollups (both knocks were real); the
resolution decides only what the door shows.

Race: the conflict check runs after the insert, under a transaction-scoped advisory lock per
(organization, household, campaign) taken in key order. Of two conflicting uploads at the same
moment, the second to take the lock waits for the first's commit, then (READ COMMITTED: a new
snapshot per statement) sees its contact and is flagged; exactly one of the two is.
"""
from __future__ import annotations

import hashlib

from sqlalchemy import BigInteger, and_, bindparam, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, aliased

from canvass.audit.services import record_audit_event
from canvass.auth.models import User
from canvass.canvassing.outcomes import apply_door_outcomes
from canvass.canvassing.records import Contact
from canvass.db import utcnow
from canvass.errors import Conflict, NotFound, ValidationFailed
from canvass.geo.models import Building, Household
from canvass.people.models import Person

# Attempts that say nothing about the door: never in conflict.
INCONCLUSIVE = ("not_home", "come_back", "inaccessible")
CONFLICT_FLAG = "conflict"
CONFLICT_STATUSES = ("open", "resolved")

_LOCK_CLASS = b"canvass:door-result"

_FLAG_SQL = text("""
    WITH new AS (
        SELECT c.id, c.household_id, c.campaign_id, c.person_id, c.canvasser_id, c.result_code, c.responses,
               (c.occurred_at AT TIME ZONE :tz)::date AS day
        FROM contacts c
        WHERE c.organization_id = :org AND c.id = ANY(CAST(:ids AS bigint[]))
          AND coalesce(c.result_code, 'canvassed') <> ALL(CAST(:inconclusive AS text[]))
    ), hit AS (
        SELECT DISTINCT ON (n.id) n.id, o.id AS other_id
        FROM new n
        JOIN contacts o ON o.organization_id = :org AND o.household_id = n.household_id
             AND o.campaign_id = n.campaign_id
             AND o.occurred_at >= (n.day::timestamp AT TIME ZONE :tz)
             AND o.occurred_at < ((n.day + 1)::timestamp AT TIME ZONE :tz)
        WHERE o.id <> ALL(CAST(:ids AS bigint[]))
          AND o.canvasser_id IS DISTINCT FROM n.canvasser_id
          AND (o.person_id IS NULL OR n.person_id IS NULL OR o.person_id = n.person_id)
          AND o.superseded_at IS NULL AND (o.conflict_with_id IS NULL OR o.conflict_resolved_at IS NOT NULL)
          AND coalesce(o.result_code, 'canvassed') <> ALL(CAST(:inconclusive AS text[]))
          AND (o.result_code IS DISTINCT FROM n.result_code
               OR NOT (o.responses @> n.responses AND n.responses @> o.responses))
        ORDER BY n.id, o.occurred_at DESC, o.id DESC
    )
    UPDATE contacts c SET conflict_with_id = hit.other_id, flags = array_append(c.flags, 'conflict')
    FROM hit
    WHERE c.organization_id = :org AND c.id = hit.id
    RETURNING c.id
""")

_LOCK_SQL = text("""
    SELECT count(pg_advisory_xact_lock(k)) FROM (
        SELECT k FROM unnest(CAST(:keys AS bigint[])) WITH ORDINALITY AS t(k, n) ORDER BY n
    ) ordered
""")


def standing(contacts=Contact):
    """SQL: the contact counts as its door's result (not superseded, not in an open conflict)."""
    return and_(contacts.superseded_at.is_(None),
                or_(contacts.conflict_with_id.is_(None), contacts.conflict_resolved_at.is_not(None)))


def _door_key(organization_id: int, household_id: int, campaign_id: int) -> int:
    digest = hashlib.blake2b(f"{organization_id}:{household_id}:{campaign_id}".encode(), digest_size=8,
                             person=_LOCK_CLASS[:16]).digest()
    return int.from_bytes(digest, "big", signed=True)


def flag_conflicts(session: Session, *, organization_id: int, timezone: str, rows: list[dict]) -> set[int]:
    """Flag the just-stored contacts (`rows`: their id, household_id, campaign_id, result_code) that
    conflict with another canvasser's standing result; returns the flagged ids. Two statements
    whatever the batch size: the door locks, then one UPDATE."""
    conclusive = [row for row in rows if (row["result_code"] or "canvassed") not in INCONCLUSIVE]
    if not conclusive:
        return set()
    keys = sorted({_door_key(organization_id, row["household_id"], row["campaign_id"]) for row in conclusive})
    session.execute(_LOCK_SQL, {"keys": keys})
    flagged = session.execute(_FLAG_SQL, {
        "org": organization_id, "tz": timezone, "ids": sorted(row["id"] for row in conclusive),
        "inconclusive": list(INCONCLUSIVE),
    }).scalars().all()
    return set(flagged)


# --- listing and resolving -------------------------------------------------------------------


def list_conflicts(session: Session, *, organization_id: int, status: str = "open", campaign_id: int | None = None,
                   limit: int = 100, before_id: int | None = None) -> list[dict]:
    """Conflicts (each named by its flagged contact's id), newest first (keyset by id): both
    contacts with who recorded them, and the door. Plain rows: a read for display."""
    if status not in CONFLICT_STATUSES:
        raise ValidationFailed("unknown status", details={"status": [f"one of {', '.join(CONFLICT_STATUSES)}"]})
    flagged, other = Contact.__table__.alias("flagged"), Contact.__table__.alias("other")
    flagged_by, other_by = aliased(User), aliased(User)
    household, building = Household.__table__, Building.__table__
    query = (
        select(flagged.c.id.label("flagged_id"), other.c.id.label("other_id"),
               flagged_by.name.label("flagged_by"), other_by.name.label("other_by"),
               building.c.line1, household.c.unit)
        .select_from(flagged)
        .join(other, and_(other.c.organization_id == flagged.c.organization_id, other.c.id == flagged.c.conflict_with_id))
        .join(household, and_(household.c.organization_id == flagged.c.organization_id,
                              household.c.id == flagged.c.household_id))
        .join(building, and_(building.c.organization_id == household.c.organization_id,
                             building.c.id == household.c.building_id))
        .outerjoin(flagged_by, and_(flagged_by.organization_id == flagged.c.organization_id,
                                    flagged_by.id == flagged.c.canvasser_id))
        .outerjoin(other_by, and_(other_by.organization_id == other.c.organization_id,
                                  other_by.id == other.c.canvasser_id))
        .where(flagged.c.organization_id == organization_id, flagged.c.conflict_with_id.is_not(None))
        .order_by(flagged.c.id.desc())
        .limit(limit)
    )
    if status == "open":
        query = query.where(flagged.c.conflict_resolved_at.is_(None))
    else:
        query = query.where(flagged.c.conflict_resolved_at.is_not(None))
    if campaign_id is not None:
        query = query.where(flagged.c.campaign_id == campaign_id)
    if before_id is not None:
        query = query.where(flagged.c.id < before_id)
    pairs = session.execute(query).all()
    ids = sorted({p.flagged_id for p in pairs} | {p.other_id for p in pairs})
    contacts = {
        row.id: row for row in session.execute(
            select(Contact.__table__).where(Contact.organization_id == organization_id,
                                            Contact.id == func.any(bindparam(None, ids, type_=ARRAY(BigInteger))))
        )
    } if ids else {}
    return [
        {"id": p.flagged_id, "status": "resolved" if contacts[p.flagged_id].conflict_resolved_at else "open",
         "address": " ".join(part for part in (p.line1, p.unit) if part),
         "contact": contacts[p.flagged_id], "recorded_by": p.flagged_by,
         "conflicts_with": contacts[p.other_id], "conflicts_with_recorded_by": p.other_by,
         "resolved_at": contacts[p.flagged_id].conflict_resolved_at,
         "resolved_by_id": contacts[p.flagged_id].conflict_resolved_by_id}
        for p in pairs
    ]


def resolve_conflict(session: Session, *, organization_id: int, conflict_id: int, keep_contact_id: int, actor: User,
                     ip_address: str | None = None) -> dict:
    """Keep one of a conflict's two contacts: the other is superseded, the door's outcome follows
    the kept one; audited (`contact.conflict_resolved`). Both rows are locked, in id order."""
    flagged = session.execute(
        select(Contact).where(Contact.organization_id == organization_id, Contact.id == conflict_id)
    ).scalar_one_or_none()
    if flagged is None or flagged.conflict_with_id is None:
        raise NotFound("no such conflict: this contact is not in conflict with another"
                       if flagged is not None else "no such conflict", code="conflict_not_found")
    pair = sorted((flagged.id, flagged.conflict_with_id))
    locked = {
        c.id: c for c in session.execute(
            select(Contact).where(Contact.organization_id == organization_id, Contact.id.in_(pair))
            .order_by(Contact.id).with_for_update().execution_options(populate_existing=True)
        ).scalars()
    }
    flagged = locked[conflict_id]
    other = locked.get(flagged.conflict_with_id)
    if other is None:  # (its contact was deleted between the two reads)
        raise NotFound("no such conflict", code="conflict_not_found")
    if flagged.conflict_resolved_at is not None:
        raise Conflict("this conflict was already resolved", code="conflict_already_resolved",
                       details={"resolved_at": flagged.conflict_resolved_at.isoformat(),
                                "kept_contact_id": other.id if flagged.superseded_at else flagged.id})
    if keep_contact_id not in locked:
        raise ValidationFailed("keep_contact_id must be one of the conflict's two contacts",
                               code="not_in_this_conflict",
                               details={"keep_contact_id": [f"One of {flagged.id}, {other.id}."]})
    kept, dropped = (flagged, other) if keep_contact_id == flagged.id else (other, flagged)
    now = utcnow()
    flagged.conflict_resolved_at, flagged.conflict_resolved_by_id = now, actor.id
    dropped.superseded_at = now
    session.flush()
    if kept is flagged:  # its door consequences waited for the resolution
        apply_door_outcomes(session, organization_id, [_outcome_row(flagged)])
    _undo_outcomes(session, organization_id, dropped)
    record_audit_event(
        session, action="contact.conflict_resolved", organization_id=organization_id, actor_user_id=actor.id,
        target_type="contact", target_id=flagged.id, ip_address=ip_address,
        details={"kept_contact_id": kept.id, "superseded_contact_id": dropped.id,
                 "kept_result": kept.result_code or "canvassed", "superseded_result": dropped.result_code or "canvassed"},
    )
    session.flush()
    return {"id": flagged.id, "kept_contact_id": kept.id, "superseded_contact_id": dropped.id, "resolved_at": now}


def _outcome_row(contact: Contact) -> dict:
    return {"person_id": contact.person_id, "household_id": contact.household_id, "result_code": contact.result_code,
            "do_not_contact": False}


def _undo_outcomes(session: Session, organization_id: int, dropped: Contact) -> None:
    """A superseded contact's `moved` / `deceased` / `wrong_address`, undone unless another standing
    contact at the door still says the same. A do-not-contact request is never undone."""
    code = dropped.result_code
    if code not in ("moved", "deceased", "wrong_address"):
        return
    same = select(Contact.id).where(
        Contact.organization_id == organization_id, Contact.household_id == dropped.household_id,
        Contact.id != dropped.id, Contact.result_code == code, standing(),
    )
    if code == "wrong_address":
        if session.execute(same.limit(1)).first() is None:
            session.execute(update(Household).where(Household.organization_id == organization_id,
                                                    Household.id == dropped.household_id).values(wrong_address=False))
        return
    if dropped.person_id is None and code == "deceased":
        return  # changed nothing
    if dropped.person_id is not None:
        # Another standing contact naming them, or naming no one for `moved` (the whole household).
        still = same.where(or_(Contact.person_id == dropped.person_id,
                               and_(Contact.person_id.is_(None), text("true") if code == "moved" else text("false"))))
        if session.execute(still.limit(1)).first() is None:
            values = {"residence_current": True} if code == "moved" else {"deceased": False}
            session.execute(update(Person).where(Person.organization_id == organization_id,
                                                 Person.id == dropped.person_id).values(**values))
        return
    # `moved` for the whole household: its residents, unless another standing contact says one moved.
    if session.execute(same.limit(1)).first() is None:
        session.execute(update(Person).where(Person.organization_id == organization_id,
                                             Person.household_id == dropped.household_id,
                                             Person.merged_into_id.is_(None)).values(residence_current=True))
