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
