"""The demo organization: a ward IPO with a user in every role.

It stands on top of every area (boundaries and households, turfs, campaigns), so
`canvass demo` stands up everything a newcomer needs to try the product.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session

from canvass.auth.services import create_user
from canvass.canvassing.demo import seed_demo_campaign
from canvass.geo.demo import seed_demo_geography
from canvass.orgs.services import create_organization
from canvass.turfs.services import cut_turfs_for_area

DEMO_PASSWORD = "canvass-demo-2026"
DEMO_TURF_DOORS = 100
DEMO_ORG_SLUG = "ward33-wf"
DEMO_COALITION_SLUG = "chicago-ipo-coalition"
DEMO_USERS = [  # role, e-mail, name, roles, languages spoken
    ("admin", "admin@demo.canvass.test", "Alex Admin", ["admin", "organizer"], ["en"]),
    ("organizer", "organizer@demo.canvass.test", "Olivia Organizer", ["organizer"], ["en", "pl"]),
    ("field_lead", "lead@demo.canvass.test", "Luis Lead", ["field_lead"], ["es", "en"]),
    ("canvasser", "canvasser@demo.canvass.test", "Carmen Canvasser", ["canvasser"], ["en", "es"]),
    ("canvasser", "canvasser2@demo.canvass.test", "Deshawn Canvasser", ["canvasser"], ["en", "zh-Hans"]),
]
# Every fifth resident has a preferred language other than English, by person id (so reruns agree).
_DEMO_LANGUAGES_SQL = text("""
    UPDATE people SET language = (ARRAY['es', 'es', 'pl', 'zh-Hans'])[1 + (id / 5) % 4]
    WHERE organization_id = :org AND id % 5 = 0
""")


@dataclass
class DemoSummary:
    org_slug: str
    organization_id: int
    logins: list[tuple[str, str]] = field(default_factory=list)


def seed_demo(session: Session, *, households: int = 20000, seed: int = 33, echo=print) -> DemoSummary:
    coalition = create_organization(session, slug=DEMO_COALITION_SLUG, name="Chicago IPO Coalition")
    org = create_organization(
        session, slug=DEMO_ORG_SLUG, name="33rd Ward Working Families", parent_slug=coalition.slug
    )
    summary = DemoSummary(org_slug=org.slug, organization_id=org.id)
    for role, email, name, roles, languages in DEMO_USERS:
        create_user(session, organization_id=org.id, email=email, name=name, roles=roles, password=DEMO_PASSWORD,
                    languages=languages)
        summary.logins.append((role, email))
    echo(f"created {org.name} with {len(DEMO_USERS)} users")
    geography = seed_demo_geography(session, organization_id=org.id, households=households, seed=seed, echo=echo)
    if geography.households:
        session.execute(_DEMO_LANGUAGES_SQL, {"org": org.id})
        cut = cut_turfs_for_area(session, organization_id=org.id, actor_id=None, target_doors=DEMO_TURF_DOORS,
                                 ward=geography.ward)
        echo(f"cut ward {geography.ward} into {len(cut.turfs)} turfs of about {DEMO_TURF_DOORS} doors")
    seed_demo_campaign(session, organization_id=org.id, echo=echo)
    return summary
