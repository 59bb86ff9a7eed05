"""The schema comes from migrations: one head, and no drift from the models."""
import uuid
from contextlib import contextmanager

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

import canvass.models  # noqa: F401
from canvass.db import Base
from canvass.migrate import include_object, migration_heads


@contextmanager
def scratch_database(settings, prefix: str):
    """An empty database on the test server (no migrations applied), dropped afterwards; yields its URL."""
    server = make_url(settings.database_url)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def primary_key(connection, table: str) -> str:
    return connection.execute(text(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = CAST(:t AS regclass) AND contype = 'p'"
    ), {"t": table}).scalar_one()


def test_migrations_have_a_single_head():
    assert len(migration_heads()) == 1


def test_models_and_migrations_do_not_drift(migrated_database):
    engine = create_engine(migrated_database)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": include_object, "compare_type": True}
        )
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


def test_every_tenant_table_carries_organization_id():
    # Reference tables shared by all tenants (a city's geography) are listed here on purpose.
    # sign_in_failures: failed sign-ins of e-mails no user has belong to no organization (operator data).
    shared = {"organizations", "sign_in_failures"}
    missing = [
        table.name
        for table in Base.metadata.sorted_tables
        if table.name not in shared and "organization_id" not in table.columns
    ]
    assert missing == []


def test_migrations_downgrade_to_base_and_upgrade_again(settings):
    from canvass.migrate import downgrade_database, upgrade_database

    with scratch_database(settings, "canvass_roundtrip") as url:
        upgrade_database(url)
        downgrade_database(url, "base")
        upgrade_database(url)
        engine = create_engine(url)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == migration_heads()[0]
        engine.dispose()


def test_deleting_a_referenced_row_clears_only_the_reference(db_session):
    """Composite tenant foreign keys with ON DELETE SET NULL must not null organization_id."""
    from tests.factories import make_household, make_org, make_person

    org = make_org(db_session)
    household = make_household(db_session, org=org)
    person = make_person(db_session, org=org, household=household)
    db_session.delete(household)
    db_session.flush()
    db_session.expire(person)
    assert (person.household_id, person.organization_id) == (None, org.id)


def test_0005_gives_every_existing_lease_its_canvasser_as_member_and_downgrades_team_leases_away(settings):
    """Leases made before teams keep working (their canvasser becomes their one member row); a
    downgrade drops team leases, which the old schema cannot hold, and frees their turfs."""
    from canvass.migrate import downgrade_database, upgrade_database

    with scratch_database(settings, "canvass_teams") as url:
        engine = create_engine(url)
        try:
            upgrade_database(url, "0004")
            with engine.begin() as connection:
                connection.execute(text("""
                    INSERT INTO organizations (id, slug, name) VALUES (1, 'org-a', 'A');
                    INSERT INTO users (id, organization_id, email, name, roles)
                         VALUES (10, 1, 'c@example.org', 'C', '{canvasser}');
                    INSERT INTO campaigns (id, organization_id, name, kind, result_codes, pledge_types)
                         VALUES (20, 1, 'Camp', 'issue', '{not_home}', '{vote}');
                    INSERT INTO turfs (id, organization_id, name, status, geom)
                         VALUES (30, 1, 'T', 'checked_out', ST_Multi(ST_MakeEnvelope(0, 0, 1, 1, 4326))),
                                (31, 1, 'U', 'ready', ST_Multi(ST_MakeEnvelope(0, 0, 1, 1, 4326)));
                    INSERT INTO assignments (id, organization_id, turf_id, campaign_id, canvasser_id, status, leased_until)
                         VALUES (40, 1, 30, 20, 10, 'active', now() + interval '1 day'),
                                (41, 1, 31, 20, 10, 'released', now() + interval '1 day');
                """))
            upgrade_database(url)
            with engine.begin() as connection:
                members = connection.execute(text(
                    "SELECT assignment_id, user_id, joined_at, left_at FROM assignment_members ORDER BY assignment_id"
                )).all()
                assert members == [(40, 10, None, None), (41, 10, None, None)]
                connection.execute(text("""
                    INSERT INTO teams (id, organization_id, name) VALUES (50, 1, 'Crew');
                    UPDATE assignments SET status = 'released' WHERE id = 40;
                    INSERT INTO assignments (id, organization_id, turf_id, campaign_id, team_id, status, leased_until)
                         VALUES (42, 1, 30, 20, 50, 'active', now() + interval '1 day');
                    INSERT INTO assignment_members (organization_id, assignment_id, user_id) VALUES (1, 42, 10);
                """))
            downgrade_database(url, "0004")
            with engine.begin() as connection:
                assert connection.execute(text("SELECT id FROM assignments ORDER BY id")).scalars().all() == [40, 41]
                assert connection.execute(text("SELECT status FROM turfs WHERE id = 30")).scalar_one() == "ready"
        finally:
            engine.dispose()


def test_0008_gives_every_organization_its_current_rule_as_version_1(settings):
    """Today's fixed rule with each organization's own settings (defaults where a value is missing or
    out of range) becomes version 1 of its rule tree; downgrading drops the trees."""
    from canvass.migrate import downgrade_database, upgrade_database
    from canvass.pipeline.membership import MembershipRule, default_tree

    with scratch_database(settings, "canvass_mig0008") as url:
        upgrade_database(url, "0007")
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("""
                INSERT INTO organizations (slug, name, settings) VALUES
                    ('plain', 'Plain', '{}'),
                    ('custom', 'Custom', '{"membership": {"grace_days": 14, "events_required": 2, "window_months": 12}}'),
                    ('odd', 'Odd', '{"membership": {"grace_days": "a week", "events_required": 0}}')
            """))
        upgrade_database(url)
        with engine.connect() as connection:
            trees = dict(connection.execute(text(
                "SELECT o.slug, r.tree FROM membership_rules r JOIN organizations o ON o.id = r.organization_id"
                " WHERE r.version = 1")).all())
        assert trees == {
            "plain": default_tree(MembershipRule()),
            "custom": default_tree(MembershipRule(grace_days=14, events_required=2, window_months=12)),
            "odd": default_tree(MembershipRule()),
        }
        downgrade_database(url, "0007")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT to_regclass('membership_rules')")).scalar() is None
        engine.dispose()


def test_0010_backfills_the_spells_of_organizations_with_one_rule_version(settings):
    """Member periods become version 1's spells where one version is all there is; an organization
    with two versions waits for its rebuild; downgrading drops the table."""
    from canvass.migrate import downgrade_database, upgrade_database

    with scratch_database(settings, "canvass_mig0010") as url:
        upgrade_database(url, "0007")
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO organizations (id, slug, name) VALUES (1, 'one', 'One'), (2, 'two', 'Two')"))
        upgrade_database(url, "0008")  # version 1 for each
        with engine.begin() as connection:
            connection.execute(text("""
                INSERT INTO membership_rules (organization_id, version, tree, effective_from)
                SELECT 2, 2, tree, '2026-03-01T00:00Z' FROM membership_rules WHERE organization_id = 2;
                INSERT INTO membership_periods (organization_id, person_id, since, until, status) VALUES
                    (1, 10, '2026-01-02T06:00Z', '2026-02-08T06:00Z', 'member'),
                    (1, 10, '2026-02-08T06:00Z', '2026-03-01T06:00Z', 'lapsed'),
                    (1, 10, '2026-03-01T06:00Z', NULL, 'member'),
                    (2, 20, '2026-01-02T06:00Z', NULL, 'member')
            """))
        upgrade_database(url, "0010")
        with engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT organization_id, person_id, rule_version, since::text, until::text"
                " FROM membership_standing_spells ORDER BY 1, 2, 4")).all()
        assert [tuple(r) for r in rows] == [
            (1, 10, 1, "2026-01-02 06:00:00+00", "2026-02-08 06:00:00+00"),
            (1, 10, 1, "2026-03-01 06:00:00+00", None),
        ]
        downgrade_database(url, "0008")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT to_regclass('membership_standing_spells')")).scalar() is None
        engine.dispose()


def test_0011_widens_the_tenant_primary_keys_and_refuses_a_token_of_another_organizations_user(settings):
    """Primary keys become (organization_id, id) with the data kept and the tenant foreign keys bound to
    them; the two foreign keys to users (id) become tenant ones, so a token or an audit event naming
    another organization's user is refused (the upgrade changes nothing then); downgrading restores (id)."""
    from canvass.migrate import downgrade_database, upgrade_database

    with scratch_database(settings, "canvass_mig0011") as url:
        upgrade_database(url, "0010")
        engine = create_engine(url)
        try:
            with engine.begin() as connection:
                connection.execute(text("""
                    INSERT INTO organizations (id, slug, name) VALUES (1, 'one', 'One'), (2, 'two', 'Two');
                    INSERT INTO people (id, organization_id, first_name) VALUES (30, 1, 'P');
                    INSERT INTO users (id, organization_id, email, name, roles, person_id)
                         VALUES (10, 1, 'a@example.org', 'A', '{admin}', 30), (20, 2, 'b@example.org', 'B', '{admin}', NULL);
                    INSERT INTO api_tokens (id, organization_id, user_id, token_hash, expires_at)
                         VALUES (100, 1, 10, 'h1', now() + interval '1 day'), (101, 1, 20, 'h2', now() + interval '1 day');
                    INSERT INTO audit_events (organization_id, actor_user_id, action)
                         VALUES (1, 10, 'x'), (NULL, NULL, 'auth.login_failed');
                """))
            with pytest.raises(RuntimeError, match="1 api token"):
                upgrade_database(url, "0011")
            with engine.connect() as connection:
                assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0010"
                assert primary_key(connection, "users") == "PRIMARY KEY (id)"
            with engine.begin() as connection:
                connection.execute(text("DELETE FROM api_tokens WHERE id = 101"))
            upgrade_database(url, "0011")  # 0014 widens audit_events too
            with engine.connect() as connection:
                for table in ("users", "api_tokens", "people", "contacts", "households"):
                    assert primary_key(connection, table) == "PRIMARY KEY (organization_id, id)", table
                assert primary_key(connection, "audit_events") == "PRIMARY KEY (id)"
                # Every foreign key to a widened table now uses its primary key's index.
                targets = connection.execute(text("""
                    SELECT DISTINCT i.relname FROM pg_constraint c JOIN pg_class i ON i.oid = c.conindid
                    WHERE c.contype = 'f' AND c.confrelid IN (CAST('users' AS regclass), CAST('people' AS regclass))
                """)).scalars().all()
                assert sorted(targets) == ["pk_people", "pk_users"]
                assert connection.execute(text("SELECT id, person_id FROM users ORDER BY id")).all() == [(10, 30), (20, None)]
            for statement in (
                "INSERT INTO api_tokens (organization_id, user_id, token_hash, expires_at) VALUES (2, 10, 'h3', now())",
                "INSERT INTO audit_events (organization_id, actor_user_id, action) VALUES (2, 10, 'x')",
                "INSERT INTO audit_events (organization_id, actor_user_id, action) VALUES (NULL, 10, 'x')",
            ):
                with pytest.raises(IntegrityError), engine.begin() as connection:
                    connection.execute(text(statement))
            downgrade_database(url, "0010")
            with engine.connect() as connection:
                assert primary_key(connection, "users") == "PRIMARY KEY (id)"
                assert connection.execute(text(
                    "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'fk_api_tokens_user_id_users'"
                )).scalar_one() == "FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE"
                assert connection.execute(text("SELECT count(*) FROM audit_events")).scalar_one() == 2
        finally:
            engine.dispose()


def test_0014_moves_sign_ins_of_no_organization_out_of_audit_events_and_widens_its_key(settings):
    """Audit events without an organization (failed sign-ins of unknown e-mails) become sign_in_failures
    rows, the others stay; audit_events.organization_id becomes NOT NULL and its key (organization_id, id).
    An organization-less event of another kind makes the upgrade refuse and change nothing. Downgrading
    moves the rows back as they were recorded and restores (id)."""
    from canvass.migrate import downgrade_database, upgrade_database

    with scratch_database(settings, "canvass_mig0014") as url:
        upgrade_database(url, "0013")
        engine = create_engine(url)
        try:
            with engine.begin() as connection:
                connection.execute(text("""
                    INSERT INTO organizations (id, slug, name) VALUES (1, 'one', 'One');
                    INSERT INTO users (id, organization_id, email, name, roles)
                         VALUES (10, 1, 'a@example.org', 'A', '{admin}');
                    INSERT INTO audit_events (id, organization_id, actor_user_id, action, target_type, target_id,
                                              details, ip_address, created_at) VALUES
                      (1, 1, NULL, 'auth.login_failed', 'user', '10',
                       '{"email": "a@example.org", "reason": "bad_credentials"}', '10.0.0.1', '2026-01-01T10:00Z'),
                      (2, NULL, NULL, 'auth.login_failed', 'user', NULL,
                       '{"email": " Ghost@Example.ORG ", "reason": "bad_credentials"}', '10.0.0.2', '2026-01-02T10:00Z'),
                      (3, 1, 10, 'user.created', 'user', '10', '{}', NULL, '2026-01-03T10:00Z'),
                      (4, NULL, NULL, 'auth.login_failed', 'user', NULL, '{}', NULL, '2026-01-04T10:00Z'),
                      (5, NULL, NULL, 'something.else', NULL, NULL, '{}', NULL, '2026-01-05T10:00Z');
                    SELECT setval(pg_get_serial_sequence('audit_events', 'id'), 5);
                """))
            with pytest.raises(RuntimeError, match="1 audit event"):
                upgrade_database(url)
            with engine.connect() as connection:
                assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0013"
                assert connection.execute(text("SELECT to_regclass('sign_in_failures')")).scalar() is None
                assert connection.execute(text("SELECT count(*) FROM audit_events")).scalar_one() == 5
            with engine.begin() as connection:
                connection.execute(text("DELETE FROM audit_events WHERE id = 5"))
            upgrade_database(url, "0014")
            with engine.connect() as connection:
                assert primary_key(connection, "audit_events") == "PRIMARY KEY (organization_id, id)"
                assert connection.execute(text("SELECT id FROM audit_events ORDER BY id")).scalars().all() == [1, 3]
                assert [tuple(r) for r in connection.execute(text(
                    "SELECT occurred_at::text, email, host(ip_address), reason FROM sign_in_failures ORDER BY id"))] == [
                    ("2026-01-02 10:00:00+00", "ghost@example.org", "10.0.0.2", "bad_credentials"),
                    ("2026-01-04 10:00:00+00", "", None, "bad_credentials"),
                ]
                assert connection.execute(text(
                    "SELECT count(*) FROM pg_constraint WHERE conname = 'ck_audit_events_actor_has_organization'"
                )).scalar_one() == 0
            with pytest.raises(IntegrityError), engine.begin() as connection:
                connection.execute(text("INSERT INTO audit_events (organization_id, action) VALUES (NULL, 'x')"))
            downgrade_database(url, "0013")
            with engine.connect() as connection:
                assert primary_key(connection, "audit_events") == "PRIMARY KEY (id)"
                assert connection.execute(text("SELECT to_regclass('sign_in_failures')")).scalar() is None
                assert [tuple(r) for r in connection.execute(text(
                    "SELECT organization_id, action, target_type, target_id, details, host(ip_address), created_at::text"
                    " FROM audit_events ORDER BY created_at"))] == [
                    (1, "auth.login_failed", "user", "10", {"email": "a@example.org", "reason": "bad_credentials"},
                     "10.0.0.1", "2026-01-01 10:00:00+00"),
                    (None, "auth.login_failed", "user", None, {"email": "ghost@example.org", "reason": "bad_credentials"},
                     "10.0.0.2", "2026-01-02 10:00:00+00"),
                    (1, "user.created", "user", "10", {}, None, "2026-01-03 10:00:00+00"),
                    (None, "auth.login_failed", "user", None, {"email": "", "reason": "bad_credentials"},
                     None, "2026-01-04 10:00:00+00"),
                ]
            with pytest.raises(IntegrityError), engine.begin() as connection:
                connection.execute(text("INSERT INTO audit_events (organization_id, actor_user_id, action)"
                                        " VALUES (NULL, 10, 'x')"))
            upgrade_database(url)
            with engine.connect() as connection:
                assert connection.execute(text("SELECT count(*) FROM sign_in_failures")).scalar_one() == 2
        finally:
            engine.dispose()
