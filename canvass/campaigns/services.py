"""Campaigns: what a canvass is for (a candidate, an ordinance), its script and survey.

Organizers manage them; the walk list carries them to the phone. A campaign
lists the door result codes its canvassers may log, the phone result codes its
follow-up calls may log, and the pledge types it collects (omitted: all the
standard ones).

Questions are fixed once contacts have answered them: answers point at
question ids, so replacing the questions of a campaign in use is a conflict
(start a new campaign instead).

Translations: {tag: {script?, questions?: [{prompt, choices?}]}}, one entry per BCP 47 tag, its
questions in the campaign's order, a choice question's choices one for one (the phone shows the
translated label and records the campaign's own choice). Replacing the questions needs translations
that still fit them.
"""
from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from canvass.audit.services import record_audit_event
from canvass.auth.models import User
from canvass.campaigns.models import (
    CAMPAIGN_KINDS,
    PHONE_RESULT_CODES,
    PLEDGE_TYPES,
    QUESTION_KINDS,
    RESULT_CODES,
    Campaign,
    Question,
)
from canvass.db import get_tenant_row
from canvass.errors import Conflict, MalformedInput, NotFound, ValidationFailed
from canvass.normalize import language_tag_or_error

CAMPAIGN_STATUSES = ("active", "archived")
MAX_QUESTIONS = 50
MAX_CHOICES = 20
MAX_TRANSLATIONS = 20
# Campaign settings and their types. `recontact_refused`: households whose latest
# contact in the campaign is `refused` stay on walk lists (default: they leave).
CAMPAIGN_SETTINGS = {"recontact_refused": bool}


def _codes(field: str, codes, known: dict, *, allow_empty: bool) -> list[str]:
    if codes is None:
        return list(known)
    codes = list(dict.fromkeys(codes))
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise ValidationFailed(
            f"{field} holds unknown codes: {', '.join(map(str, unknown))}",
            details={field: [f"unknown code {c!r}; known: {', '.join(known)}" for c in unknown]},
        )
    if not codes and not allow_empty:
        raise ValidationFailed(f"{field} must not be empty", details={field: ["at least one code is required"]})
    return codes


def _settings(settings) -> dict:
    settings = dict(settings or {})
    errors = {}
    for key, value in settings.items():
        expected = CAMPAIGN_SETTINGS.get(key)
        if expected is None:
            errors[key] = [f"unknown setting; known: {', '.join(CAMPAIGN_SETTINGS)}"]
        elif not isinstance(value, expected):
            errors[key] = [f"must be a {expected.__name__}"]
    if errors:
        raise ValidationFailed("settings did not pass validation", details={"settings": errors})
    return settings


def _questions(questions) -> list[dict]:
    questions = list(questions or [])
    if len(questions) > MAX_QUESTIONS:
        raise ValidationFailed(f"at most {MAX_QUESTIONS} questions", details={"questions": [f"at most {MAX_QUESTIONS}"]})
    errors, cleaned = {}, []
    for index, question in enumerate(questions):
        prompt = (question.get("prompt") or "").strip()
        kind = question.get("kind")
        choices = question.get("choices")
        problems = {}
        if not prompt:
            problems["prompt"] = ["must not be blank"]
        if kind not in QUESTION_KINDS:
            problems["kind"] = [f"must be one of {', '.join(QUESTION_KINDS)}"]
        if kind == "choice":
            choices = [str(c).strip() for c in (choices or [])]
            if len(choices) < 2 or len(choices) > MAX_CHOICES:
                problems["choices"] = [f"a choice question needs 2 to {MAX_CHOICES} choices"]
            elif any(not c for c in choices) or len(set(choices)) != len(choices):
                problems["choices"] = ["choices must be distinct and not blank"]
        elif choices is not None:
            problems["choices"] = ["only choice questions have choices (scale is 1-5, yes_no is true/false)"]
        if problems:
            errors[str(index)] = problems
        cleaned.append({"prompt": prompt, "kind": kind, "choices": choices if kind == "choice" else None})
    if errors:
        raise ValidationFailed("questions did not pass validation", details={"questions": errors})
    return cleaned


def _translations(translations, questions: list[dict]) -> dict:
    """Checked and normalized translations for these (cleaned) questions; a bad tag is a 400."""
    translations = dict(translations or {})
    if len(translations) > MAX_TRANSLATIONS:
        raise ValidationFailed(f"at most {MAX_TRANSLATIONS} languages",
                               details={"translations": [f"at most {MAX_TRANSLATIONS} languages"]})
    cleaned: dict[str, dict] = {}
    for raw_tag in translations:
        tag = language_tag_or_error(raw_tag, field="translations")
        if tag is None:
            raise MalformedInput("a translation's language must not be blank", code="invalid_language_tag",
                                 details={"translations": ["a language must not be blank"]})
        if tag in cleaned:
            raise ValidationFailed(f"translations name {tag} twice",
                                   details={"translations": {raw_tag: [f"{tag} is given twice"]}})
        cleaned[tag] = {}
    errors: dict = {}
    for raw_tag, tag in zip(translations, cleaned):
        entry = translations[raw_tag] or {}
        problems: dict = {}
        script = entry.get("script")
        if script is not None:
            cleaned[tag]["script"] = str(script)
        if entry.get("questions") is not None:
            given = list(entry["questions"])
            if len(given) != len(questions):
                problems["questions"] = [f"give all {len(questions)} question(s), in the campaign's order"]
            else:
                translated, question_errors = [], {}
                for index, (question, item) in enumerate(zip(questions, given)):
                    prompt = str(item.get("prompt") or "").strip()
                    choices = item.get("choices")
                    wrong = {}
                    if not prompt:
                        wrong["prompt"] = ["must not be blank"]
                    if question["kind"] == "choice":
                        choices = [str(c).strip() for c in (choices or [])]
                        if len(choices) != len(question["choices"]) or not all(choices):
                            wrong["choices"] = [f"give all {len(question['choices'])} choices, in order, none blank"]
                    elif choices is not None:
                        wrong["choices"] = ["only choice questions have choices"]
                    if wrong:
                        question_errors[str(index)] = wrong
                    translated.append({"prompt": prompt, **({"choices": choices} if question["kind"] == "choice" else {})})
                if question_errors:
                    problems["questions"] = question_errors
                cleaned[tag]["questions"] = translated
        if problems:
            errors[tag] = problems
    if errors:
        raise ValidationFailed("translations did not pass validation", details={"translations": errors})
    return cleaned


def _current_questions(campaign: Campaign) -> list[dict]:
    return [{"prompt": q.prompt, "kind": q.kind, "choices": q.choices} for q in campaign.questions]


def _blank(field: str, value: str) -> str:
    if not (value or "").strip():
        raise ValidationFailed(f"{field} must not be blank", details={field: ["must not be blank"]})
    return value.strip()


def _add_questions(session: Session, campaign: Campaign, questions: list[dict]) -> None:
    session.add_all(
        Question(organization_id=campaign.organization_id, campaign_id=campaign.id, position=position, **question)
        for position, question in enumerate(questions, start=1)
    )
    session.flush()
    session.expire(campaign, ["questions"])


def create_campaign(
    session: Session,
    *,
    organization_id: int,
    actor: User | None,
    name: str,
    kind: str,
    script: str = "",
    description: str = "",
    questions=(),
    result_codes=None,
    phone_result_codes=None,
    pledge_types=None,
    settings=None,
    translations=None,
    ip_address: str | None = None,
) -> Campaign:
    if kind not in CAMPAIGN_KINDS:
        raise ValidationFailed(f"kind must be one of {', '.join(CAMPAIGN_KINDS)}", details={"kind": ["unknown kind"]})
    campaign = Campaign(
        organization_id=organization_id,
        name=_blank("name", name),
        kind=kind,
        script=script or "",
        description=description or "",
        result_codes=_codes("result_codes", result_codes, RESULT_CODES, allow_empty=False),
        phone_result_codes=_codes("phone_result_codes", phone_result_codes, PHONE_RESULT_CODES, allow_empty=False),
        # An issue campaign may collect no pledges at all.
        pledge_types=_codes("pledge_types", pledge_types, PLEDGE_TYPES, allow_empty=True),
        settings=_settings(settings),
        created_by_id=actor.id if actor else None,
    )
    cleaned = _questions(questions)
    campaign.translations = _translations(translations, cleaned)
    session.add(campaign)
    session.flush()
    _add_questions(session, campaign, cleaned)
    record_audit_event(
        session, action="campaign.created", organization_id=organization_id, actor_user_id=actor.id if actor else None,
        target_type="campaign", target_id=campaign.id, details={"name": campaign.name, "kind": kind},
        ip_address=ip_address,
    )
    return campaign


def get_campaign(session: Session, *, organization_id: int, campaign_id: int, for_update: bool = False) -> Campaign:
    return get_tenant_row(session, Campaign, organization_id=organization_id, row_id=campaign_id, lock=for_update,
                          missing=NotFound("no such campaign", code="campaign_not_found"))


def get_active_campaign(session: Session, *, organization_id: int, campaign_id: int) -> Campaign:
    """A campaign turfs may be leased for: of this organization and not archived."""
    campaign = get_campaign(session, organization_id=organization_id, campaign_id=campaign_id)
    if campaign.status != "active":
        raise Conflict("this campaign is archived", code="campaign_archived")
    return campaign


def list_campaigns(session: Session, *, organization_id: int, status: str | None = None) -> list[Campaign]:
    query = select(Campaign).where(Campaign.organization_id == organization_id)
    if status:
        query = query.where(Campaign.status == status)
    return list(session.execute(query.order_by(Campaign.created_at.desc(), Campaign.id.desc())).scalars())


def update_campaign(
    session: Session, *, organization_id: int, campaign_id: int, actor: User, ip_address: str | None = None, **changes
) -> Campaign:
    """Change what was given: name, script, description, status, code lists, settings, questions, translations."""
    campaign = get_campaign(session, organization_id=organization_id, campaign_id=campaign_id, for_update=True)
    audited = {}
    if "name" in changes:
        campaign.name = _blank("name", changes["name"])
    for field in ("script", "description"):
        if field in changes:
            setattr(campaign, field, changes[field] or "")
    if "status" in changes:
        if changes["status"] not in CAMPAIGN_STATUSES:
            raise ValidationFailed("unknown status", details={"status": [f"one of {', '.join(CAMPAIGN_STATUSES)}"]})
        if changes["status"] != campaign.status:
            audited["status"] = [campaign.status, changes["status"]]
            campaign.status = changes["status"]
    for field, known, allow_empty in (
        ("result_codes", RESULT_CODES, False),
        ("phone_result_codes", PHONE_RESULT_CODES, False),
        ("pledge_types", PLEDGE_TYPES, True),
    ):
        if field in changes:
            codes = _codes(field, changes[field], known, allow_empty=allow_empty)
            if codes != list(getattr(campaign, field)):
                audited[field] = [list(getattr(campaign, field)), codes]
                setattr(campaign, field, codes)
    if "settings" in changes:
        settings = {**campaign.settings, **_settings(changes["settings"])}
        if settings != campaign.settings:
            audited["settings"] = [campaign.settings, settings]
            campaign.settings = settings
    if "questions" in changes:
        cleaned = _questions(changes["questions"])
        # Asked of the contacts table directly: campaigns sit below the canvassing area that owns it.
        in_use = session.execute(
            text("SELECT EXISTS (SELECT 1 FROM contacts WHERE organization_id = :org AND campaign_id = :campaign)"),
            {"org": organization_id, "campaign": campaign.id},
        ).scalar_one()
        if in_use:
            raise Conflict(
                "contacts have answered this campaign's questions; they can no longer be replaced",
                code="campaign_in_use",
            )
        if "translations" not in changes:  # the translations must still fit the new questions
            campaign.translations = _translations(campaign.translations, cleaned)
        for question in list(campaign.questions):
            session.delete(question)
        session.flush()
        _add_questions(session, campaign, cleaned)
        audited["questions"] = len(cleaned)
    if "translations" in changes:
        translations = _translations(changes["translations"], _current_questions(campaign))
        if translations != campaign.translations:
            audited["translations"] = sorted(translations)
            campaign.translations = translations
    session.flush()
    if audited:
        record_audit_event(
            session, action="campaign.updated", organization_id=organization_id, actor_user_id=actor.id,
            target_type="campaign", target_id=campaign.id, details=audited, ip_address=ip_address,
        )
    return campaign
