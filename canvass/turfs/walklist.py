"""The canvasser's walk list (CONTRACT.md): a turf's doors in walking order, for one assignment.

Only what a canvasser needs at the door: addresses, points, and the current
residents' names (no phone, no e-mail). Doors the organization must not knock
(do_not_contact, wrong_address) are left out, and so are doors whose latest
contact in this campaign was a refusal, unless the campaign's settings say
{"recontact_refused": true}.

The ETag is a hash of the exact JSON body, so it changes whenever anything a
phone would show changes (a contact arrives, a resident moves) and never
otherwise. The document is built by PostgreSQL in one statement.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from canvass.canvassing.models import PLEDGE_TYPES, RESULT_CODES
from canvass.db import utcnow
from canvass.errors import NotFound
from canvass.turfs.leases import holds_assignment, is_lead

__all__ = ["WalkList", "build_walklist"]


@dataclass(frozen=True)
class WalkList:
    body: bytes  # the JSON document
    etag: str


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# One statement builds the whole document as JSON: the phone's hot path makes
# one round trip and no Python objects per door.
_WALKLIST_SQL = text("""
    WITH head AS (
        SELECT a.id, a.status, a.canvasser_id, a.leased_until, a.ended_at, a.turf_id, a.campaign_id,
               coalesce(c.settings -> 'recontact_refused' = 'true'::jsonb, false) AS recontact_refused
        FROM assignments a
        JOIN campaigns c ON c.organization_id = a.organization_id AND c.id = a.campaign_id
        WHERE a.organization_id = :org AND a.id = :assignment_id
    ), stops AS (
        SELECT s.seq, s.household_id, b.line1, h.unit, b.city, b.state, b.zip, b.location, last.result
        FROM head
        JOIN turf_stops s ON s.organization_id = :org AND s.turf_id = head.turf_id
        JOIN households h ON h.organization_id = s.organization_id AND h.id = s.household_id
        JOIN buildings b ON b.organization_id = h.organization_id AND b.id = h.building_id
        LEFT JOIN LATERAL (
            SELECT coalesce(c.result_code, 'canvassed') AS result
            FROM contacts c
            WHERE c.organization_id = s.organization_id AND c.household_id = s.household_id
              AND c.campaign_id = head.campaign_id
            ORDER BY c.occurred_at DESC, c.id DESC
            LIMIT 1
        ) last ON true
        WHERE NOT h.do_not_contact AND NOT h.wrong_address
          AND (head.recontact_refused OR last.result IS DISTINCT FROM 'refused')
    )
    SELECT head.status, head.canvasser_id, head.leased_until, head.ended_at,
           json_build_object(
               'assignment_id', head.id,
               'status', CASE WHEN head.status = 'active' AND head.leased_until <= now() THEN 'expired'
                              ELSE head.status END,
               'leased_until', to_char(head.leased_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
               'turf', json_build_object('id', t.id, 'name', t.name, 'ward', w.name,
                                         'geometry', ST_AsGeoJSON(t.geom, 6)::json),
               'campaign', json_build_object(
                   'id', c.id, 'name', c.name, 'script', c.script,
                   'questions', coalesce((
                       SELECT json_agg(json_build_object('id', q.id, 'prompt', q.prompt, 'kind', q.kind,
                                                         'choices', q.choices) ORDER BY q.position)
                       FROM questions q WHERE q.organization_id = :org AND q.campaign_id = c.id), '[]'),
                   'result_codes', coalesce((
                       SELECT json_agg(json_build_object('code', code, 'label', coalesce(CAST(:result_labels AS jsonb) ->> code, code))
                                       ORDER BY n)
                       FROM unnest(c.result_codes) WITH ORDINALITY AS r(code, n)), '[]'),
                   'pledge_types', coalesce((
                       SELECT json_agg(json_build_object('code', code, 'label', coalesce(CAST(:pledge_labels AS jsonb) ->> code, code))
                                       ORDER BY n)
                       FROM unnest(c.pledge_types) WITH ORDINALITY AS r(code, n)), '[]')),
               'stops', coalesce((
                   SELECT json_agg(json_build_object(
                       'seq', s.seq, 'household_id', s.household_id,
                       'address', json_build_object('line1', s.line1, 'unit', s.unit, 'city', s.city,
                                                    'state', s.state, 'zip', s.zip),
                       'location', json_build_object('lat', ST_Y(s.location), 'lon', ST_X(s.location)),
                       'people', coalesce((
                           SELECT json_agg(json_build_object('id', p.id, 'first_name', p.first_name,
                                                             'last_name', p.last_name)
                                           ORDER BY p.last_name, p.first_name, p.id)
                           FROM people p
                           WHERE p.organization_id = :org AND p.household_id = s.household_id
                             AND p.residence_current AND NOT p.deceased AND NOT p.do_not_contact
                             AND p.merged_into_id IS NULL), '[]'),
                       'last_result', s.result) ORDER BY s.seq)
                   FROM stops s), '[]')
           )::text AS document
    FROM head
    JOIN turfs t ON t.organization_id = :org AND t.id = head.turf_id
    JOIN campaigns c ON c.organization_id = :org AND c.id = head.campaign_id
    LEFT JOIN boundaries w ON w.organization_id = t.organization_id AND w.id = t.ward_id
""")
_RESULT_LABELS = json.dumps(RESULT_CODES)
_PLEDGE_LABELS = json.dumps(PLEDGE_TYPES)


def build_walklist(
    session: Session, *, organization_id: int, assignment_id: int, viewer_id: int, viewer_roles=()
) -> WalkList:
    """The walk list of an assignment.

    A canvasser may read only their own live assignment: another canvasser's is
    404 `assignment_not_found` (it might as well not exist), their own released
    or expired one is 404 `assignment_ended`. Leads, organizers and admins of the
    organization may read any of its walk lists.
    """
    row = session.execute(_WALKLIST_SQL, {
        "org": organization_id, "assignment_id": assignment_id,
        "result_labels": _RESULT_LABELS, "pledge_labels": _PLEDGE_LABELS,
    }).one_or_none()
    lead = is_lead(viewer_roles)
    if row is None or (not lead and not holds_assignment(session, organization_id=organization_id,
                                                         assignment_id=assignment_id, user_id=viewer_id)):
        raise NotFound("no such assignment", code="assignment_not_found")
    live = row.status == "active" and row.leased_until > utcnow()
    if not live and not lead:
        status = row.status if row.status != "active" else "expired"
        raise NotFound(
            f"this assignment has ended ({status}); ask your field lead for a new one",
            code="assignment_ended",
            details={"status": status, "ended_at": _iso(row.ended_at or row.leased_until)},
        )
    body = row.document.encode()
    return WalkList(body=body, etag=hashlib.sha256(body).hexdigest()[:40])
