"""Run Alembic programmatically (the CLI's `db upgrade` and the test fixtures use this)."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from geoalchemy2 import alembic_helpers

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config(str(MIGRATIONS_DIR.parent / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation: a literal % in a password must be doubled.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade_database(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade_database(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def migration_heads(database_url: str = "postgresql+psycopg://unused/unused") -> list[str]:
    return list(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())


def include_object(obj, name, type_, reflected, compare_to):
    """What autogenerate compares: our tables, not PostGIS's own."""
    if type_ == "table" and (name == "spatial_ref_sys" or getattr(obj, "schema", None) in {"tiger", "topology"}):
        return False
    # Partitions (people__shared, people__org_12) and the foreign keys PostgreSQL adds for each partition
    # of a referenced table: the partitioned table and its keys are the model.
    if type_ == "table" and reflected and "__" in name:
        return False
    if type_ == "foreign_key_constraint" and reflected and "__" in obj.referred_table.name:
        return False
    return alembic_helpers.include_object(obj, name, type_, reflected, compare_to)
