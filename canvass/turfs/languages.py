"""Which languages a turf's doors need, and which canvassers speak them (the console's turf pages).

A door needs a language when one of its current residents prefers it (people.language); a canvasser
speaks what they listed (users.languages). Tags match on their language subtag: a door marked
`zh-Hans` is served by a canvasser who listed `zh`, and `es-MX` by `es`.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import BigInteger, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from canvass.auth.models import User

__all__ = ["LanguageNeed", "Suggestion", "language_needs", "primary_subtag", "suggest_canvassers"]

MAX_SUGGESTIONS = 5


@dataclass(frozen=True)
class LanguageNeed:
    language: str  # a BCP 47 tag as stored
    doors: int  # doors of the turf with at least one current resident who prefers it


@dataclass(frozen=True)
class Suggestion:
    user_id: int
    name: str
    languages: tuple[str, ...]  # the needed languages they speak, as the doors name them
    doors: int  # doors of the turf that need one of those


def primary_subtag(tag: str) -> str:
    return tag.split("-", 1)[0].lower()


_NEEDS_SQL = text("""
    SELECT s.turf_id, p.language, count(DISTINCT s.household_id) AS doors
    FROM turf_stops s
    JOIN people p ON p.organization_id = s.organization_id AND p.household_id = s.household_id
    WHERE s.organization_id = :org AND s.turf_id = ANY(:turf_ids)
      AND p.language IS NOT NULL AND p.residence_current AND NOT p.deceased AND NOT p.do_not_contact
      AND p.merged_into_id IS NULL
    GROUP BY s.turf_id, p.language
    ORDER BY s.turf_id, doors DESC, p.language
""").bindparams(bindparam("turf_ids", type_=ARRAY(BigInteger)))


def language_needs(session: Session, *, organization_id: int, turf_ids: Sequence[int]) -> dict[int, list[LanguageNeed]]:
    """turf id -> its doors counted by language, the most needed first (turfs with none are left out)."""
    if not turf_ids:
        return {}
    needs: dict[int, list[LanguageNeed]] = {}
    for row in session.execute(_NEEDS_SQL, {"org": organization_id, "turf_ids": list(turf_ids)}):
        needs.setdefault(row.turf_id, []).append(LanguageNeed(row.language, row.doors))
    return needs


def suggest_canvassers(needs: Iterable[LanguageNeed], canvassers: Iterable[User]) -> list[Suggestion]:
    """Active canvassers who speak a language the turf needs, those who can serve the most doors first.

    A door counted under two languages is counted once per language: this is a ranking, not a total.
    """
    needs = list(needs)
    suggestions = []
    for user in canvassers:
        if not user.is_active or "canvasser" not in user.roles:
            continue
        spoken = {primary_subtag(tag) for tag in user.languages or ()}
        served = [need for need in needs if primary_subtag(need.language) in spoken]
        if served:
            suggestions.append(Suggestion(user.id, user.name, tuple(n.language for n in served), sum(n.doors for n in served)))
    suggestions.sort(key=lambda s: (-s.doors, s.name.lower(), s.user_id))
    return suggestions[:MAX_SUGGESTIONS]
