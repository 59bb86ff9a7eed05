"""The schema comes from migrations: one head, and no drift from the models."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from canvass.db import Base
from canvass.migrate import include_object, migration_heads

import canvass.models  # noqa: F401


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
    shared = {"organizations"}
    missing = [
        table.name
        for table in Base.metadata.sorted_tables
        if table.name not in shared and "organization_id" not in table.columns
    ]
    assert missing == []


def test_migrations_downgrade_to_base_and_upgrade_again(settings):
    """Every migration's downgrade works, on a database of its own."""
    import uuid

    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from canvass.migrate import downgrade_database, upgrade_database

    server = make_url(settings.database_url)
    name = f"canvass_roundtrip_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade_database(url)
        downgrade_database(url, "base")
        upgrade_database(url)
        engine = create_engine(url)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == migration_heads()[0]
        engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


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
