"""Endorsement votes: members in good standing at the cutoff, by the rule, vote once each.

Eligibility is a snapshot, taken once when the vote opens (the first request at or after
`opens_at`, under a row lock): the membership rule evaluated at the cutoff from the dues and
attendance on record. It never changes afterwards. A member casts their own ballot with their
own token (their account linked to their person record), or an organizer records it at a
meeting (audited). The database refuses a second ballot and an ineligible one; results
(per option, turnout, quorum) exist only once the vote has closed.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from canvass.audit.services import record_audit_event
from canvass.auth.models import User
from canvass.db import utcnow
from canvass.errors import Conflict, Forbidden, NotFound, ValidationFailed
from canvass.geo.models import Boundary
from canvass.people.models import Person
from canvass.pipeline.membership import (
    create_people_table,
    get_organization,
    rule_for,
    timezone_for,
)
from canvass.pipeline.models import Ballot, Vote, VoteEligibility, VoteExclusion, VoteOption
from canvass.pipeline.rules import evaluate_rule, expand_membership, explain, fill_people, validate_tree
from canvass.pipeline.runs import note_people_changed
from canvass.pipeline.standing import build_standing, reasons_sql

MAX_OPTIONS = 20
MAX_LABEL = 200


def vote_status(vote: Vote, now: datetime) -> str:
    if now < vote.opens_at:
        return "scheduled"
    return "open" if now < vote.closes_at else "closed"


def get_vote(session: Session, *, organization_id: int, vote_id: int, lock: bool = False,
             share: bool = False) -> Vote:
    """`lock`: the row for update (opening, closing); `share`: a shared lock, which ballots hold so that an
    early close waits for the ballots in flight and the ballots after it see it closed."""
    query = select(Vote).where(Vote.organization_id == organization_id, Vote.id == vote_id)
    if lock or share:
        query = query.with_for_update(read=not lock).execution_options(populate_existing=True)
    vote = session.execute(query).scalar_one_or_none()
    if vote is None:
        raise NotFound("no such vote", code="vote_not_found")
    return vote


def vote_options(session: Session, *, vote: Vote) -> list[VoteOption]:
    return list(session.execute(
        select(VoteOption).where(VoteOption.organization_id == vote.organization_id, VoteOption.vote_id == vote.id)
        .order_by(VoteOption.position)
    ).scalars())


def create_vote(session: Session, *, organization_id: int, title: str, scope: str, options: list[str],
                cutoff_at: datetime, opens_at: datetime, closes_at: datetime, quorum_percent: int = 50,
                ward: str | None = None, description: str = "", created_by_id: int | None = None,
                eligibility_rule: dict | None = None, now: datetime | None = None) -> Vote:
    now = now or utcnow()
    errors: dict = {}
    if eligibility_rule is not None:
        # Its own code and details (the path of each bad node), before anything is written.
        eligibility_rule = validate_tree(eligibility_rule, allow_membership=True)
    if not (title or "").strip() or len(title) > MAX_LABEL:
        errors["title"] = [f"must be 1-{MAX_LABEL} characters"]
    labels = [(label or "").strip() for label in options]
    if not 2 <= len(labels) <= MAX_OPTIONS:
        errors["options"] = [f"give 2-{MAX_OPTIONS} options"]
    elif any(not label or len(label) > MAX_LABEL for label in labels):
        errors["options"] = [f"each option must be 1-{MAX_LABEL} characters"]
    elif len({label.casefold() for label in labels}) != len(labels):
        errors["options"] = ["options must differ"]
    if scope not in ("organization", "ward"):
        errors["scope"] = ["must be organization or ward"]
    elif (scope == "ward") != (ward is not None):
        errors["ward"] = ["a ward vote names its ward; an organization vote names none"]
    for name, value in (("cutoff_at", cutoff_at), ("opens_at", opens_at), ("closes_at", closes_at)):
        if value.tzinfo is None or value.utcoffset() is None:
            errors[name] = ["needs a UTC offset"]
    if not isinstance(quorum_percent, int) or isinstance(quorum_percent, bool) or not 0 <= quorum_percent <= 100:
        errors["quorum_percent"] = ["must be 0-100"]
    if not errors:
        if closes_at <= opens_at:
            errors["closes_at"] = ["must be after opens_at"]
        elif closes_at <= now:
            errors["closes_at"] = ["must be in the future"]
        if cutoff_at > opens_at:
            errors["cutoff_at"] = ["must not be after opens_at: eligibility is fixed when the vote opens"]
    if errors:
        raise ValidationFailed("the vote did not pass validation", details=errors)
    ward_id = None
    if ward is not None:
        ward_id = session.execute(select(Boundary.id).where(
            Boundary.organization_id == organization_id, Boundary.level == "ward", Boundary.name == ward)).scalar()
        if ward_id is None:
            raise NotFound(f"no ward named {ward!r}", code="ward_not_found")
    vote = Vote(organization_id=organization_id, title=title.strip(), description=(description or "").strip(),
                scope=scope, ward_id=ward_id, cutoff_at=cutoff_at, opens_at=opens_at, closes_at=closes_at,
                quorum_percent=quorum_percent, created_by_id=created_by_id, eligibility_rule=eligibility_rule)
    session.add(vote)
    session.flush()
    session.add_all([VoteOption(organization_id=organization_id, vote_id=vote.id, position=position, label=label)
                     for position, label in enumerate(labels, start=1)])
    session.flush()
    record_audit_event(session, action="vote.created", organization_id=organization_id, actor_user_id=created_by_id,
                       target_type="vote", target_id=vote.id,
                       details={"title": vote.title, "options": labels, "eligibility_rule": eligibility_rule})
    ensure_eligibility(session, vote=vote, now=now)
    return vote


def ensure_eligibility(session: Session, *, vote: Vote, now: datetime | None = None) -> Vote:
    """Take the eligibility snapshot if the vote has opened and it isn't taken yet (once, under a lock)."""
    now = now or utcnow()
    if vote.eligibility_taken_at is not None or now < vote.opens_at:
        return vote
    vote = get_vote(session, organization_id=vote.organization_id, vote_id=vote.id, lock=True)
    if vote.eligibility_taken_at is not None:
        return vote
    if vote.eligibility_rule is not None:
        return _snapshot_by_rule(session, vote=vote, now=now)
    # Without a rule of its own: members at the cutoff under the membership rule version in force
    # then, computed live from the facts by the rollup's own code (standing.py), never stale.
    org = get_organization(session, vote.organization_id)
    params = {"org": vote.organization_id, "tz": timezone_for(org), "cutoff": vote.cutoff_at, "vote": vote.id,
              "ward": vote.ward_id, "dues_cents": rule_for(org).dues_monthly_cents}
    session.execute(text("SET LOCAL TimeZone = 'UTC'"))
    create_people_table(session, f"""
        SELECT x.person_id FROM (
            SELECT person_id FROM dues_payments WHERE organization_id = :org
            UNION SELECT person_id FROM event_attendance WHERE organization_id = :org AND status = 'attended'
            UNION SELECT person_id FROM membership_attestations WHERE organization_id = :org
        ) x {_scope_sql(vote)}
    """, params)
    build_standing(session, params)
    eligible = session.execute(text(f"""
        INSERT INTO vote_eligibility (organization_id, vote_id, person_id, reasons)
        SELECT :org, :vote, i.person_id, {reasons_sql('i.person_id', 'CAST(:cutoff AS timestamptz)')}
        FROM pl_islands i WHERE i.s <= :cutoff AND :cutoff < i.e
    """), params).rowcount
    vote.eligibility_taken_at = now
    vote.eligible_count = eligible
    session.flush()
    return vote


def _scope_sql(vote: Vote) -> str:
    return "" if vote.ward_id is None else """
        JOIN people pe ON pe.organization_id = :org AND pe.id = x.person_id
        JOIN households h ON h.organization_id = :org AND h.id = pe.household_id
        JOIN buildings b ON b.organization_id = :org AND b.id = h.building_id AND b.ward_id = :ward"""


def _snapshot_by_rule(session: Session, *, vote: Vote, now: datetime) -> Vote:
    """The snapshot of a vote with its own rule: everyone in scope with dues, attendance, an
    endorsement or an override on record is evaluated at the cutoff (set-based, rules.py); those who
    meet it may vote, the others are kept in vote_exclusions with the evaluation."""
    org = get_organization(session, vote.organization_id)
    tz = timezone_for(org)
    params = {"org": vote.organization_id, "vote": vote.id, "ward": vote.ward_id}
    session.execute(text("SET LOCAL TimeZone = 'UTC'"))
    fill_people(session, f"""
        SELECT x.person_id FROM (
            SELECT person_id FROM dues_payments WHERE organization_id = :org
            UNION SELECT person_id FROM event_attendance WHERE organization_id = :org AND status = 'attended'
            UNION SELECT person_id FROM membership_attestations WHERE organization_id = :org
        ) x {_scope_sql(vote)}
    """, params)
    tree = expand_membership(session, vote.eligibility_rule or {}, organization_id=vote.organization_id,
                             at=vote.cutoff_at)
    evaluate_rule(session, organization_id=vote.organization_id, tree=tree, at=vote.cutoff_at, tz=tz)
    evaluation = "jsonb_build_object('leaf_met', to_jsonb(r.leaf_met), 'leaf_detail', r.leaf_detail)"
    eligible = session.execute(text(f"""
        INSERT INTO vote_eligibility (organization_id, vote_id, person_id, reasons)
        SELECT :org, :vote, r.person_id, jsonb_build_array({evaluation} || '{{"kind": "rule"}}'::jsonb)
        FROM rl_result r WHERE r.met
    """), params).rowcount
    session.execute(text(f"""
        INSERT INTO vote_exclusions (organization_id, vote_id, person_id, reasons)
        SELECT :org, :vote, r.person_id, {evaluation} FROM rl_result r WHERE NOT r.met
    """), params)
    vote.eligibility_taken_at = now
    vote.eligible_count = eligible
    session.flush()
    return vote


def list_exclusions(session: Session, *, organization_id: int, vote_id: int, now: datetime | None = None) -> list[dict]:
    """Who was evaluated for a vote with its own rule and left out, with the rule explained for each
    (every node met or not, in words). Empty for a vote under the membership rule."""
    vote = ensure_eligibility(session, vote=get_vote(session, organization_id=organization_id, vote_id=vote_id),
                              now=now)
    if vote.eligibility_rule is None:
        return []
    tz = timezone_for(get_organization(session, organization_id))
    tree = expand_membership(session, vote.eligibility_rule, organization_id=organization_id, at=vote.cutoff_at)
    rows = session.execute(
        select(Person.id, Person.first_name, Person.last_name, VoteExclusion.reasons)
        .join(Person, (Person.organization_id == VoteExclusion.organization_id)
              & (Person.id == VoteExclusion.person_id))
        .where(VoteExclusion.organization_id == organization_id, VoteExclusion.vote_id == vote.id)
        .order_by(Person.last_name, Person.first_name, Person.id)
    ).all()
    out = []
    for pid, first, last, reasons in rows:
        explained = explain(tree, reasons["leaf_met"], reasons["leaf_detail"], tz)
        out.append({"person_id": pid, "first_name": first, "last_name": last,
                    "reasons": _unmet(explained), "evaluation": explained})
    return out


def _unmet(node: dict) -> list[str]:
    """The words of the conditions that kept a person out (of a failed AND: the failed parts; of a
    failed OR: every alternative)."""
    if node["met"]:
        return []
    if "rules" not in node:
        return [node["text"]]
    return [text_ for child in node["rules"] for text_ in _unmet(child)]


def open_due_votes(session: Session, *, organization_id: int, now: datetime | None = None) -> int:
    """Take the snapshot of every vote that has opened since (the cron calls this every few minutes,
    so eligibility is fixed at opening even if nobody looks at the vote then)."""
    now = now or utcnow()
    due = session.execute(select(Vote).where(
        Vote.organization_id == organization_id, Vote.eligibility_taken_at.is_(None), Vote.opens_at <= now)
    ).scalars().all()
    for vote in due:
        ensure_eligibility(session, vote=vote, now=now)
    return len(due)


def _ballot_person(session: Session, *, organization_id: int, actor: User, person_id: int | None) -> tuple[int, str]:
    if person_id is None:
        if actor.person_id is None:
            raise Forbidden("your account is not linked to a member, so it has no ballot", code="not_eligible")
        return actor.person_id, "self"
    if session.execute(select(Person.id).where(Person.organization_id == organization_id, Person.id == person_id)
                       ).first() is None:
        raise NotFound("no such person", code="person_not_found")
    return person_id, "recorded"


def cast_ballot(session: Session, *, organization_id: int, vote_id: int, option_id: int, actor: User,
                person_id: int | None = None, ip_address: str | None = None, now: datetime | None = None) -> Ballot:
    """The actor's own ballot (person_id None), or one an organizer records for a member present."""
    now = now or utcnow()
    vote = get_vote(session, organization_id=organization_id, vote_id=vote_id)
    if vote_status(vote, now) == "scheduled":
        raise Conflict("the vote has not opened yet", code="vote_not_open", details={"opens_at": vote.opens_at.isoformat()})
    ensure_eligibility(session, vote=vote, now=now)
    # Shared lock after the snapshot (which may take the row for update): two first ballots never
    # hold it shared and then both wait to upgrade.
    vote = get_vote(session, organization_id=organization_id, vote_id=vote_id, share=True)
    if vote_status(vote, now) == "closed":
        raise Conflict("the vote has closed", code="vote_closed", details={"closed_at": vote.closes_at.isoformat()})
    if option_id not in {o.id for o in vote_options(session, vote=vote)}:
        raise ValidationFailed("that is not an option of this vote", code="unknown_option",
                               details={"option_id": ["not an option of this vote"]})
    voter, method = _ballot_person(session, organization_id=organization_id, actor=actor, person_id=person_id)
    if session.get(VoteEligibility, (organization_id, vote.id, voter)) is None:
        raise Forbidden("not a member in good standing at the cutoff", code="not_eligible",
                        details={"cutoff_at": vote.cutoff_at.isoformat()})
    # The unique key decides between two racing ballots of one member.
    ballot_id = session.execute(text("""
        INSERT INTO ballots (organization_id, vote_id, person_id, option_id, method, cast_by_user_id, cast_at)
        VALUES (:org, :vote, :person, :option, :method, :by, :at)
        ON CONFLICT (organization_id, vote_id, person_id) DO NOTHING
        RETURNING id
    """), {"org": organization_id, "vote": vote.id, "person": voter, "option": option_id, "method": method,
           "by": actor.id, "at": now}).scalar_one_or_none()
    if ballot_id is None:
        raise Conflict("this member has already voted", code="already_voted")
    if method == "recorded":
        record_audit_event(session, action="vote.ballot_recorded", organization_id=organization_id,
                           actor_user_id=actor.id, target_type="vote", target_id=vote.id,
                           details={"ballot_id": ballot_id, "person_id": voter}, ip_address=ip_address)
    return session.get(Ballot, (organization_id, ballot_id))


def close_vote(session: Session, *, organization_id: int, vote_id: int, actor: User, reason: str,
               ip_address: str | None = None, now: datetime | None = None) -> Vote:
    """Close an open vote now (the meeting voted, or the vote must stop), before its `closes_at`. Audited
    with the reason; the ballots cast so far are the result. Under the vote's row lock, so a ballot racing
    the close is either in before it or refused as `vote_closed`."""
    now = now or utcnow()
    reason = (reason or "").strip()
    if not reason or len(reason) > 500:
        raise ValidationFailed("say why the vote closes early (up to 500 characters)", code="reason_required",
                               details={"reason": ["required, at most 500 characters"]})
    vote = get_vote(session, organization_id=organization_id, vote_id=vote_id, lock=True)
    status = vote_status(vote, now)
    if status == "scheduled":
        raise Conflict("the vote has not opened yet", code="vote_not_open", details={"opens_at": vote.opens_at.isoformat()})
    if status == "closed":
        raise Conflict("the vote has closed", code="vote_closed", details={"closed_at": vote.closes_at.isoformat()})
    vote = ensure_eligibility(session, vote=vote, now=now)
    scheduled_close = vote.closes_at
    vote.closes_at = max(now, vote.opens_at + timedelta(microseconds=1))  # closes_after_opening holds
    session.flush()
    record_audit_event(session, action="vote.closed_early", organization_id=organization_id, actor_user_id=actor.id,
                       target_type="vote", target_id=vote.id,
                       details={"reason": reason, "scheduled_close": scheduled_close.isoformat()},
                       ip_address=ip_address)
    return vote


def ballots_cast(session: Session, *, vote: Vote) -> int:
    return session.execute(select(func.count()).select_from(Ballot).where(
        Ballot.organization_id == vote.organization_id, Ballot.vote_id == vote.id)).scalar_one()


def describe_vote(session: Session, *, organization_id: int, vote_id: int, viewer: User | None = None,
                  now: datetime | None = None) -> dict:
    """The vote, its status and turnout so far (never the per-option counts before it closes)."""
    now = now or utcnow()
    vote = ensure_eligibility(session, vote=get_vote(session, organization_id=organization_id, vote_id=vote_id),
                              now=now)
    mine = None
    if viewer is not None and viewer.person_id is not None:
        eligible = session.get(VoteEligibility, (organization_id, vote.id, viewer.person_id)) is not None
        voted = session.execute(select(Ballot.id).where(
            Ballot.organization_id == organization_id, Ballot.vote_id == vote.id,
            Ballot.person_id == viewer.person_id)).first() is not None
        mine = {"eligible": eligible if vote.eligibility_taken_at else None, "voted": voted}
    return {"vote": vote, "status": vote_status(vote, now), "options": vote_options(session, vote=vote),
            "ballots_cast": ballots_cast(session, vote=vote), "mine": mine}


def list_votes(session: Session, *, organization_id: int, before_id: int | None = None, limit: int = 50) -> list[Vote]:
    query = select(Vote).where(Vote.organization_id == organization_id)
    if before_id is not None:
        query = query.where(Vote.id < before_id)
    return list(session.execute(query.order_by(Vote.id.desc()).limit(limit)).scalars())


def list_eligible(session: Session, *, organization_id: int, vote_id: int, now: datetime | None = None) -> list[dict]:
    """Who may vote and whether they have (for the sign-in table at the meeting)."""
    vote = ensure_eligibility(session, vote=get_vote(session, organization_id=organization_id, vote_id=vote_id),
                              now=now)
    rows = session.execute(
        select(Person.id, Person.first_name, Person.last_name, VoteEligibility.reasons, Ballot.id)
        .join(Person, (Person.organization_id == VoteEligibility.organization_id)
              & (Person.id == VoteEligibility.person_id))
        .outerjoin(Ballot, (Ballot.organization_id == VoteEligibility.organization_id)
                   & (Ballot.vote_id == VoteEligibility.vote_id) & (Ballot.person_id == VoteEligibility.person_id))
        .where(VoteEligibility.organization_id == organization_id, VoteEligibility.vote_id == vote.id)
        .order_by(Person.last_name, Person.first_name, Person.id)
    ).all()
    return [{"person_id": pid, "first_name": first, "last_name": last, "reasons": reasons, "voted": ballot is not None}
            for pid, first, last, reasons, ballot in rows]


def vote_results(session: Session, *, organization_id: int, vote_id: int, now: datetime | None = None) -> dict:
    now = now or utcnow()
    vote = get_vote(session, organization_id=organization_id, vote_id=vote_id)
    if vote_status(vote, now) != "closed":
        raise Conflict("results are published once the vote closes", code="vote_not_closed",
                       details={"closes_at": vote.closes_at.isoformat()})
    vote = ensure_eligibility(session, vote=vote, now=now)
    counts = dict(session.execute(
        select(Ballot.option_id, func.count()).where(Ballot.organization_id == organization_id,
                                                     Ballot.vote_id == vote.id).group_by(Ballot.option_id)
    ).all())
    cast = sum(counts.values())
    eligible = vote.eligible_count or 0
    return {
        "vote_id": vote.id,
        "options": [{"id": o.id, "label": o.label, "votes": counts.get(o.id, 0)} for o in vote_options(session, vote=vote)],
        "ballots_cast": cast,
        "eligible": eligible,
        "turnout": round(cast / eligible, 4) if eligible else None,
        "quorum_percent": vote.quorum_percent,
        "quorum_met": eligible > 0 and cast * 100 >= vote.quorum_percent * eligible,
    }


# --- a member's own account -------------------------------------------------------------


def link_user_to_person(session: Session, *, organization_id: int, person_id: int, user_id: int | None,
                        actor_user_id: int | None = None) -> Person:
    """Link (or with user_id None, unlink) the account a member signs in with: their ballot, and
    the pledge cards they collect count for them."""
    person = session.execute(select(Person).where(Person.organization_id == organization_id, Person.id == person_id)
                             ).scalar_one_or_none()
    if person is None:
        raise NotFound("no such person", code="person_not_found")
    current = session.execute(select(User).where(User.organization_id == organization_id,
                                                 User.person_id == person_id).with_for_update()).scalar_one_or_none()
    user = None
    if user_id is not None:
        user = session.execute(select(User).where(User.organization_id == organization_id, User.id == user_id)
                               .with_for_update()).scalar_one_or_none()
        if user is None:
            raise NotFound("no such user", code="user_not_found")
        if user.person_id not in (None, person_id):
            raise Conflict("that account is linked to another person; unlink it first", code="user_already_linked")
    if current is not None and current is not user:
        current.person_id = None
        session.flush()
    changed = {person_id}
    if user is not None and user.person_id != person_id:
        user.person_id = person_id
    session.flush()
    record_audit_event(session, action="person.user_linked" if user else "person.user_unlinked",
                       organization_id=organization_id, actor_user_id=actor_user_id, target_type="person",
                       target_id=person_id, details={"user_id": user.id if user else None,
                                                     "previous_user_id": current.id if current else None})
    note_people_changed(session, organization_id=organization_id, person_ids=changed, reason="user_linked")
    return person
