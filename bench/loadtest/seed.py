"""The load test's organization, seeded through the product's own services.

The real 33rd ward and its precincts (the demo's slice of the Chicago files), synthetic
households cut into turfs, the demo's issue campaign. Phones are canvassers grouped in teams of
`phones_per_turf`, one team per turf, so several phones share a walk list (as on a canvass day).
Spare turfs, held by a reserve canvasser no phone uses, are what the leads re-lease.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

PASSWORD = "load-test-password-2026"
SLUG = "loadtest-ward33"
SIGN_IN_EVERY = 10


@dataclass
class Crowd:
    organization_id: int
    campaign_id: int
    password: str
    phones: list[str] = field(default_factory=list)  # e-mails
    # Tokens of the phones that signed in before the day (a token lasts weeks): only every
    # SIGN_IN_EVERY-th phone signs in with its password during the run (a new volunteer, a new phone).
    tokens: dict[str, str] = field(default_factory=dict)
    leads: list[str] = field(default_factory=list)
    organizers: list[str] = field(default_factory=list)
    spare_turfs: list[int] = field(default_factory=list)
    reserve_canvasser_id: int = 0
    turfs: int = 0
    doors: int = 0

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def read(cls, path: Path) -> Crowd:
        return cls(**json.loads(path.read_text()))


def seed_crowd(url: str, *, phones: int, phones_per_turf: int, doors_per_turf: int, spare_turfs: int,
               echo=print) -> Crowd:
    import canvass.models  # noqa: F401  (every mapper, before the first query)
    from canvass.auth.models import User
    from canvass.auth.passwords import hash_password
    from canvass.auth.services import create_user, issue_token
    from canvass.campaigns.services import create_campaign
    from canvass.canvassing.demo import DEMO_CAMPAIGN
    from canvass.geo.demo import seed_demo_geography
    from canvass.orgs.services import create_organization
    from canvass.turfs.leases import assign_turf
    from canvass.turfs.services import cut_turfs_for_area
    from canvass.turfs.teams import create_team

    team_turfs = -(-phones // phones_per_turf)
    wanted_turfs = team_turfs + spare_turfs
    engine = create_engine(url)
    with Session(engine) as session:
        org = create_organization(session, slug=SLUG, name="Load test, 33rd ward")
        geography = seed_demo_geography(session, organization_id=org.id, households=int(wanted_turfs * doors_per_turf * 1.1),
                                        seed=11, echo=echo)
        # The cut makes turfs of *about* the size asked: a tenth more doors, so that enough come out.
        cut = cut_turfs_for_area(session, organization_id=org.id, actor_id=None, target_doors=doors_per_turf,
                                 ward=geography.ward)
        turfs = sorted((t for t in cut.turfs if t.door_count > 0), key=lambda t: t.id)
        if len(turfs) < wanted_turfs:
            raise SystemExit(f"the cut gave {len(turfs)} turfs, {wanted_turfs} wanted")
        # One hash for everyone: argon2 per user would make the seeding, not the run, the slow part.
        shared_hash = hash_password(PASSWORD)

        def user(email: str, name: str, roles: list[str]) -> User:
            created = create_user(session, organization_id=org.id, email=email, name=name, roles=roles)
            created.password_hash = shared_hash
            return created

        organizer = user("organizer0@load.test", "Organizer 0", ["organizer"])
        crowd_organizers = [organizer.email] + [user(f"organizer{n}@load.test", f"Organizer {n}", ["organizer"]).email
                                                for n in range(1, 2)]
        crowd_leads = [user(f"lead{n}@load.test", f"Lead {n}", ["field_lead"]).email for n in range(4)]
        campaign = create_campaign(session, organization_id=org.id, actor=organizer, **DEMO_CAMPAIGN)
        reserve = user("reserve@load.test", "Reserve canvasser", ["canvasser"])
        phone_users = [user(f"phone{n}@load.test", f"Phone {n}", ["canvasser"]) for n in range(phones)]
        session.flush()
        for index in range(team_turfs):
            members = [u.id for u in phone_users[index * phones_per_turf:(index + 1) * phones_per_turf]]
            team = create_team(session, organization_id=org.id, actor_id=None, name=f"Team {index}",
                               member_ids=members)
            assign_turf(session, organization_id=org.id, turf_id=turfs[index].id, campaign_id=campaign.id,
                        actor_id=None, default_lease_hours=72, team_id=team.id, reason="load test")
        tokens = {u.email: issue_token(session, user=u, ttl=timedelta(days=2), label="load test").raw
                  for n, u in enumerate(phone_users) if n % SIGN_IN_EVERY}
        crowd = Crowd(
            organization_id=org.id, campaign_id=campaign.id, password=PASSWORD,
            phones=[u.email for u in phone_users], tokens=tokens, leads=crowd_leads, organizers=crowd_organizers,
            spare_turfs=[t.id for t in turfs[team_turfs:wanted_turfs]], reserve_canvasser_id=reserve.id,
            turfs=len(turfs), doors=sum(t.door_count for t in turfs),
        )
        session.commit()
    engine.dispose()
    echo(f"seeded {len(crowd.phones)} phones in teams of {phones_per_turf} on {team_turfs} turfs, "
         f"{len(crowd.spare_turfs)} spare turfs for the leads ({crowd.turfs} turfs, {crowd.doors} doors in all)")
    return crowd
