"""A roster: the organization's people found by name, e-mail or phone, with their membership as last
computed by the rollup. The console's attendance, dues and ballot forms pick people from it."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from canvass.people.models import Person
from canvass.pipeline.models import PipelinePerson

MAX_ROSTER = 200
MAX_QUERY = 100
_RosterSelect = Select[int, str, str, str | None, str]


@dataclass(frozen=True)
class RosterEntry:
    person_id: int
    first_name: str
    last_name: str
    email: str | None
    membership_status: str  # member, lapsed, not_member (never evaluated: not_member)

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or f"#{self.person_id}"


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _entries(session: Session, query: _RosterSelect) -> list[RosterEntry]:
    return [RosterEntry(pid, first, last, email, status or "not_member")
            for pid, first, last, email, status in session.execute(query).all()]


def _base(organization_id: int) -> _RosterSelect:
    return (
        select(Person.id, Person.first_name, Person.last_name, Person.email, PipelinePerson.membership_status)
        .outerjoin(PipelinePerson, (PipelinePerson.organization_id == Person.organization_id)
                   & (PipelinePerson.person_id == Person.id))
        .where(Person.organization_id == organization_id)
    )


def search_roster(session: Session, *, organization_id: int, query: str, limit: int = MAX_ROSTER) -> list[RosterEntry]:
    """People whose name, e-mail or phone contains each word of `query` (all people when it is blank),
    by last name, at most `limit`."""
    statement = _base(organization_id)
    for word in query.strip()[:MAX_QUERY].split():
        pattern = f"%{_escaped(word)}%"
        digits = "".join(ch for ch in word if ch.isdigit())
        matches: list[ColumnElement[bool]] = [
            column.ilike(pattern, escape="\\") for column in (Person.first_name, Person.last_name, Person.email)]
        if digits:
            matches.append(Person.phone.contains(digits))
        statement = statement.where(or_(*matches))
    statement = statement.order_by(func.lower(Person.last_name), func.lower(Person.first_name), Person.id)
    return _entries(session, statement.limit(min(limit, MAX_ROSTER)))


def roster_of(session: Session, *, organization_id: int, person_ids: Iterable[int]) -> dict[int, RosterEntry]:
    """These people of the organization (another organization's ids are simply absent)."""
    ids = sorted(set(person_ids))
    if not ids:
        return {}
    entries = _entries(session, _base(organization_id).where(Person.id.in_(ids)))
    return {entry.person_id: entry for entry in entries}
