"""The demo organization's campaign: an issue canvass with a survey, and one turf out on the street.

Called by canvass/demo.py after users and turfs exist, so `canvass demo` leaves
the demo canvasser with an assignment to sync against.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from canvass.auth.models import User
from canvass.campaigns.models import Campaign
from canvass.campaigns.services import create_campaign
from canvass.turfs.leases import assign_turf
from canvass.turfs.models import Turf

DEMO_LEASE_HOURS = 72
DEMO_CAMPAIGN = {
    "name": "Paid Leave for All Workers",
    "kind": "issue",
    "description": "Door-to-door for the paid leave ordinance before the City Council vote.",
    "script": (
        "Hi, I'm {name}, a neighbor with 33rd Ward Working Families. The City Council votes soon on "
        "paid leave for every worker in Chicago. Can I ask you a few quick questions?"
    ),
    "questions": [
        {"prompt": "How much do you support paid leave for all workers?", "kind": "scale"},
        {"prompt": "What matters most to your household right now?", "kind": "choice",
         "choices": ["Rent and housing", "Wages", "Public safety", "Schools", "Transit"]},
        {"prompt": "Will you call your alderperson before the vote?", "kind": "yes_no"},
        {"prompt": "Anything you want the organization to know?", "kind": "text"},
    ],
    "pledge_types": ["issue", "member", "volunteer"],
    # The ward's doors speak Spanish, Polish and Chinese too (canvass/demo.py gives some residents these).
    "translations": {
        "es": {
            "script": (
                "Hola, soy {name}, vecino de 33rd Ward Working Families. El Concejo Municipal vota pronto la "
                "licencia pagada para todos los trabajadores de Chicago. ¿Le puedo hacer unas preguntas rápidas?"
            ),
            "questions": [
                {"prompt": "¿Cuánto apoya la licencia pagada para todos los trabajadores?"},
                {"prompt": "¿Qué es lo que más le importa a su hogar ahora mismo?",
                 "choices": ["Renta y vivienda", "Salarios", "Seguridad pública", "Escuelas", "Transporte público"]},
                {"prompt": "¿Llamará a su concejal antes de la votación?"},
                {"prompt": "¿Hay algo más que quiera que sepa la organización?"},
            ],
        },
        "pl": {
            "script": (
                "Dzień dobry, jestem {name}, sąsiad z 33rd Ward Working Families. Rada Miasta wkrótce głosuje "
                "nad płatnym urlopem dla wszystkich pracowników w Chicago. Czy mogę zadać kilka krótkich pytań?"
            ),
            "questions": [
                {"prompt": "Na ile popiera Pan/Pani płatny urlop dla wszystkich pracowników?"},
                {"prompt": "Co jest teraz najważniejsze dla Pana/Pani domu?",
                 "choices": ["Czynsz i mieszkanie", "Płace", "Bezpieczeństwo", "Szkoły", "Komunikacja miejska"]},
                {"prompt": "Czy zadzwoni Pan/Pani do radnego przed głosowaniem?"},
                {"prompt": "Czy chce Pan/Pani coś przekazać organizacji?"},
            ],
        },
        "zh-Hans": {
            "script": (
                "您好，我是 {name}，33rd Ward Working Families 的邻居。市议会即将投票表决芝加哥所有劳动者的带薪假。"
                "可以问您几个简短的问题吗？"
            ),
            "questions": [
                {"prompt": "您有多支持为所有劳动者提供带薪假？"},
                {"prompt": "您家现在最关心的是什么？", "choices": ["房租和住房", "工资", "公共安全", "学校", "公共交通"]},
                {"prompt": "投票前您会给您的市议员打电话吗？"},
                {"prompt": "还有什么想让我们组织知道的吗？"},
            ],
        },
    },
}


def _first_user_with_role(session: Session, organization_id: int, role: str) -> User | None:
    return session.execute(
        select(User)
        .where(User.organization_id == organization_id, User.roles.contains([role]), User.is_active.is_(True))
        .order_by(User.id)
        .limit(1)
    ).scalar_one_or_none()


def seed_demo_campaign(session: Session, *, organization_id: int, echo=print) -> Campaign:
    organizer = _first_user_with_role(session, organization_id, "organizer")
    campaign = create_campaign(session, organization_id=organization_id, actor=organizer, **DEMO_CAMPAIGN)
    echo(f"created campaign {campaign.name!r} with {len(DEMO_CAMPAIGN['questions'])} questions")
    canvasser = _first_user_with_role(session, organization_id, "canvasser")
    turf = session.execute(
        select(Turf)
        .where(Turf.organization_id == organization_id, Turf.status == "ready", Turf.door_count > 0)
        .order_by(Turf.id)
        .limit(1)
    ).scalar_one_or_none()
    if canvasser is None or turf is None:
        echo("no ready turf or no canvasser: the demo campaign has no assignment yet")
        return campaign
    lead = _first_user_with_role(session, organization_id, "field_lead")
    assign_turf(
        session, organization_id=organization_id, turf_id=turf.id, canvasser_id=canvasser.id,
        campaign_id=campaign.id, actor_id=lead.id if lead else None, default_lease_hours=DEMO_LEASE_HOURS,
        reason="demo",
    )
    echo(f"assigned turf {turf.name!r} ({turf.door_count} doors) to {canvasser.email} for {DEMO_LEASE_HOURS} hours")
    return campaign
