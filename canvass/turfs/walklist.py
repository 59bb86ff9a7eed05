"""The canvasser's walk list (CONTRACT.md): a turf's doors in walking order, for one assignment.

Only what a canvasser needs at the door: addresses, points, and the current
residents' names (no phone, no e-mail). Doors the organization must not knock
(do_not_contact, wrong_address) are left out, and so are doors whose latest
contact in this campaign was a refusal, unless the campaign's settings say
{"recontact_refused": true}.

The document is built by PostgreSQL in one statement. Its version, and the ETag, come
from `walklist_changes`, a log that database triggers append to whenever a row the
walk list shows is written (migration 0006): the XOR of the random tokens logged for
the turf, its stops' households, the campaign and the organization. Together with the
assignment's own columns, that changes whenever anything a phone would see changes,
whichever code path wrote it, and costs one small indexed read instead of building
the document. So `If-None-Match` answers 304 without building anything, and a
document cache (passed in: canvass/ knows no Redis) is keyed by the version.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.orm import Session

from canvass.campaigns.models import PLEDGE_TYPES, RESULT_CODES
from canvass.db import utcnow
from canvass.errors import NotFound
from canvass.turfs.lease_views import ON_ASSIGNMENT_SQL, is_lead

__all__ = ["DocumentCache", "WalkList", "build_walklist", "compact_walklist_changes", "organizations_with_changes_to_compact"]


@dataclass(frozen=True)
class WalkList:
    body: bytes | None  # the JSON document; None when the client already has this version
    etag: str


class DocumentCache(Protocol):
    """Where built documents are kept between requests (the API passes a Redis one).

    It only stores: each entry carries the ETag it was built for, and an entry whose ETag is
    not the current one is never served.
    """

    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, value: bytes) -> None: ...


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# The XOR of the tokens logged for everything the document below reads: the organization
# (buildings, boundaries), the turf (its row, its stops), the campaign (its row, its questions),
# and each stop's household (its row, its people; its contacts of this campaign). The scopes are
# disjoint, so no row is counted twice. Households are joined through the stops read in the same
# snapshot as the document, so a household added to the turf concurrently is never missed.
# {turf} and {campaign} name the assignment's columns in the statement that embeds it.
_VERSION_SQL = """(
    SELECT coalesce(bit_xor(token), 0) FROM (
        SELECT ch.token FROM walklist_changes ch
        WHERE ch.organization_id = :org AND ch.household_id IS NULL AND ch.turf_id IS NULL AND ch.campaign_id IS NULL
        UNION ALL
        SELECT ch.token FROM walklist_changes ch WHERE ch.organization_id = :org AND ch.turf_id = {turf}
        UNION ALL
        SELECT ch.token FROM walklist_changes ch
        WHERE ch.organization_id = :org AND ch.campaign_id = {campaign} AND ch.household_id IS NULL
        UNION ALL
        SELECT ch.token FROM turf_stops s
        JOIN walklist_changes ch ON ch.organization_id = s.organization_id AND ch.household_id = s.household_id
        WHERE s.organization_id = :org AND s.turf_id = {turf} AND ch.household_id IS NOT NULL
          AND (ch.campaign_id IS NULL OR ch.campaign_id = {campaign})
    ) scoped
)"""

# What the access check, the ETag and the cache need, without building the document.
_HEAD_SQL = text(f"""
    SELECT a.id, a.status, a.canvasser_id, a.leased_until, a.ended_at, a.turf_id, a.campaign_id,
           a.status = 'active' AND a.leased_until <= now() AS lapsed,
           {_VERSION_SQL.format(turf="a.turf_id", campaign="a.campaign_id")} AS changes,
           {ON_ASSIGNMENT_SQL.format(assignment="a")} AS viewer_on_it
    FROM assignments a
    WHERE a.organization_id = :org AND a.id = :assignment_id
""")

# One statement builds the whole document as JSON, with its version read in the same snapshot:
# no Python objects per door, and a cached copy is always filed under the version it shows.
_DOCUMENT_SQL = text(f"""
    WITH head AS (
        SELECT a.id, a.status, a.canvasser_id, a.leased_until, a.ended_at, a.turf_id, a.campaign_id,
               a.status = 'active' AND a.leased_until <= now() AS lapsed,
               {_VERSION_SQL.format(turf="a.turf_id", campaign="a.campaign_id")} AS changes,
               coalesce(c.settings -> 'recontact_refused' = 'true'::jsonb, false) AS recontact_refused
        FROM assignments a
        JOIN campaigns c ON c.organization_id = a.organization_id AND c.id = a.campaign_id
        WHERE a.organization_id = :org AND a.id = :assignment_id
    ), stops AS (
        SELECT s.seq, s.household_id, b.line1, h.unit, b.city, b.state, b.zip, b.location, last.result,
               residents.people, residents.languages
        FROM head
        JOIN turf_stops s ON s.organization_id = :org AND s.turf_id = head.turf_id
        JOIN households h ON h.organization_id = s.organization_id AND h.id = s.household_id
        JOIN buildings b ON b.organization_id = h.organization_id AND b.id = h.building_id
        LEFT JOIN LATERAL (
            SELECT coalesce(c.result_code, 'canvassed') AS result
            FROM contacts c
            WHERE c.organization_id = s.organization_id AND c.household_id = s.household_id
              AND c.campaign_id = head.campaign_id
              -- standing results only: not superseded, not in an open conflict (canvassing/conflicts.py)
              AND c.superseded_at IS NULL AND (c.conflict_with_id IS NULL OR c.conflict_resolved_at IS NOT NULL)
            ORDER BY c.occurred_at DESC, c.id DESC
            LIMIT 1
        ) last ON true
        -- the current residents, and their preferred languages (one read of people per door)
        LEFT JOIN LATERAL (
            SELECT json_agg(json_build_object('id', p.id, 'first_name', p.first_name, 'last_name', p.last_name,
                                              'language', p.language)
                            ORDER BY p.last_name, p.first_name, p.id) AS people,
                   array_agg(p.language) FILTER (WHERE p.language IS NOT NULL) AS languages
            FROM people p
            WHERE p.organization_id = s.organization_id AND p.household_id = s.household_id
              AND p.residence_current AND NOT p.deceased AND NOT p.do_not_contact AND p.merged_into_id IS NULL
        ) residents ON true
        WHERE NOT h.do_not_contact AND NOT h.wrong_address
          AND (head.recontact_refused OR last.result IS DISTINCT FROM 'refused')
    )
    SELECT head.id, head.status, head.canvasser_id, head.leased_until, head.ended_at, head.turf_id,
           head.campaign_id, head.lapsed, head.changes,
           json_build_object(
               'assignment_id', head.id,
               'status', CASE WHEN head.lapsed THEN 'expired' ELSE head.status END,
               'leased_until', to_char(head.leased_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
               'turf', json_build_object('id', t.id, 'name', t.name, 'ward', w.name,
                                         'geometry', ST_AsGeoJSON(t.geom, 6)::json),
               'campaign', json_build_object(
                   'id', c.id, 'name', c.name, 'script', c.script, 'translations', c.translations,
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
                       'people', coalesce(s.people, '[]'),
                       -- the door's languages: its residents' preferred ones, the most spoken first
                       'languages', coalesce((
                           SELECT json_agg(lang ORDER BY n DESC, lang)
                           FROM (SELECT lang, count(*) AS n FROM unnest(s.languages) AS lang GROUP BY lang) spoken), '[]'),
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
# Part of every ETag: a release that changes what the document holds (or how) changes them all.
_DOCUMENT_FORMAT = hashlib.sha256("\n".join([_DOCUMENT_SQL.text, _RESULT_LABELS, _PLEDGE_LABELS]).encode()).hexdigest()
_ETAG_LENGTH = 40


def _etag(organization_id: int, row) -> str:
    """The version of the document `row` (a head or document row) describes, as an ETag.

    The assignment's own columns come from its row; everything else the document shows
    from `changes` (see _VERSION_SQL); `lapsed` because the document shows an active lease
    past its end as expired.
    """
    status = "expired" if row.lapsed else row.status
    version = "|".join(str(part) for part in (
        _DOCUMENT_FORMAT, organization_id, row.id, status, row.leased_until.isoformat(), row.turf_id,
        row.campaign_id, row.changes))
    return hashlib.sha256(version.encode()).hexdigest()[:_ETAG_LENGTH]


def build_walklist(
    session: Session, *, organization_id: int, assignment_id: int, viewer_id: int, viewer_roles=(),
    known_to_client: Callable[[str], bool] | None = None, cache: DocumentCache | None = None,
) -> WalkList:
    """The walk list of an assignment.

    A canvasser may read only their own live assignment: another canvasser's is
    404 `assignment_not_found` (it might as well not exist), their own released
    or expired one is 404 `assignment_ended`. Leads, organizers and admins of the
    organization may read any of its walk lists.

    `known_to_client(etag)`: the client already holds that version (If-None-Match); the
    answer then has no body and nothing is built. `cache`: documents kept between requests.
    """
    params = {"org": organization_id, "assignment_id": assignment_id}
    row = session.execute(_HEAD_SQL, {**params, "viewer": viewer_id}).one_or_none()
    lead = is_lead(viewer_roles)
    if row is None or (not lead and not row.viewer_on_it):
        raise NotFound("no such assignment", code="assignment_not_found")
    live = row.status == "active" and row.leased_until > utcnow()
    if not live and not lead:
        status = row.status if row.status != "active" else "expired"
        raise NotFound(
            f"this assignment has ended ({status}); ask your field lead for a new one",
            code="assignment_ended",
            details={"status": status, "ended_at": _iso(row.ended_at or row.leased_until)},
        )
    etag = _etag(organization_id, row)
    if known_to_client is not None and known_to_client(etag):
        return WalkList(body=None, etag=etag)
    cache_key = f"{organization_id}:{assignment_id}"
    cached = cache.get(cache_key) if cache is not None else None
    if cached is not None and cached[:_ETAG_LENGTH] == etag.encode():
        return WalkList(body=cached[_ETAG_LENGTH:], etag=etag)
    document = session.execute(_DOCUMENT_SQL, {
        **params, "result_labels": _RESULT_LABELS, "pledge_labels": _PLEDGE_LABELS,
    }).one_or_none()
    if document is None:  # deleted since the first statement
        raise NotFound("no such assignment", code="assignment_not_found")
    # The document's own snapshot may be newer than the head's: file it under its own version.
    etag = _etag(organization_id, document)
    body = document.document.encode()
    if cache is not None:
        cache.put(cache_key, etag.encode() + body)
    return WalkList(body=body, etag=etag)


# --- keeping the change log small -------------------------------------------------------------

# A scope's rows, folded: every scope column is null or an id >= 1, so 0 stands for null in joins
# (IS NOT DISTINCT FROM would rule out a hash join).
_COMPACT_SQL = text("""
    WITH busy AS (
        SELECT coalesce(household_id, 0) AS household_id, coalesce(turf_id, 0) AS turf_id,
               coalesce(campaign_id, 0) AS campaign_id
        FROM walklist_changes
        WHERE organization_id = :org AND created_at <= now() - :age
        GROUP BY 1, 2, 3
        HAVING count(*) > 1
    ), old AS (
        DELETE FROM walklist_changes w
        USING busy
        WHERE w.organization_id = :org AND w.created_at <= now() - :age
          AND coalesce(w.household_id, 0) = busy.household_id AND coalesce(w.turf_id, 0) = busy.turf_id
          AND coalesce(w.campaign_id, 0) = busy.campaign_id
        RETURNING w.household_id, w.turf_id, w.campaign_id, w.token, w.created_at
    ), folded AS (
        INSERT INTO walklist_changes (organization_id, household_id, turf_id, campaign_id, token, created_at)
        SELECT :org, household_id, turf_id, campaign_id, bit_xor(token), max(created_at)
        FROM old
        GROUP BY household_id, turf_id, campaign_id
        HAVING bit_xor(token) <> 0  -- XOR with 0 changes nothing: such a scope needs no row
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM old) - (SELECT count(*) FROM folded)
""")


def organizations_with_changes_to_compact(session: Session, *, older_than: timedelta) -> list[int]:
    return list(session.execute(text(
        "SELECT DISTINCT organization_id FROM walklist_changes WHERE created_at <= now() - :age ORDER BY 1"
    ), {"age": older_than}).scalars())


def compact_walklist_changes(session: Session, *, organization_id: int, older_than: timedelta) -> int:
    """Fold each scope's change-log rows older than `older_than` into one row carrying their XOR.

    A walk list's version is the XOR of its scopes' tokens, so no version (ETag, cached
    document) changes, and a reader sees the rows before or after, never half of them (one
    statement). Without this the log grows by a row per synced door. Returns the rows removed.
    """
    # Two compactions of one organization would fold the same rows twice.
    session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended('walklist_compaction:' || :org, 0))"),
                    {"org": organization_id})
    return session.execute(_COMPACT_SQL, {"org": organization_id, "age": older_than}).scalar_one()
