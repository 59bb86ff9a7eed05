from __future__ import annotations

import secrets

import click
from flask import current_app

from api.commands import cli_errors
from api.extensions import db
from canvass.auth.models import ROLES
from canvass.auth.services import create_user
from canvass.db import transaction
from canvass.demo import DEMO_PASSWORD, seed_demo
from canvass.migrate import downgrade_database, migration_heads, upgrade_database
from canvass.orgs.services import count_organizations, create_organization, get_organization_by_slug


def _settings():
    return current_app.config["CANVASS_SETTINGS"]


@click.group("db")
def db_group():
    """Database schema (Alembic migrations)."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@cli_errors
def db_upgrade(revision):
    """Apply migrations up to REVISION."""
    upgrade_database(_settings().database_url, revision)
    click.echo(f"database at {revision}")


@db_group.command("downgrade")
@click.argument("revision")
@cli_errors
def db_downgrade(revision):
    """Revert migrations down to REVISION (e.g. -1)."""
    downgrade_database(_settings().database_url, revision)
    click.echo(f"database at {revision}")


@db_group.command("heads")
def db_heads():
    """The migration head(s) the code expects."""
    click.echo(" ".join(migration_heads()))


@click.group("orgs")
def orgs_group():
    """Organizations."""


@orgs_group.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="Display name, e.g. '33rd Ward Working Families'")
@click.option("--parent", "parent_slug", help="Slug of the coalition this organization belongs to")
@cli_errors
def orgs_create(slug, name, parent_slug):
    """Create an organization (with --parent: an affiliate of a coalition)."""
    with transaction(db.session) as session:
        org = create_organization(session, slug=slug, name=name, parent_slug=parent_slug)
        click.echo(f"created organization {org.slug} (id {org.id})")


@click.group("users")
def users_group():
    """Users of an organization."""


@users_group.command("create")
@click.option("--org", "org_slug", required=True)
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", "roles", required=True, multiple=True, type=click.Choice(ROLES), help="Repeat for several")
@click.option("--password", help="At least 10 characters; omitted: a random one is generated and printed")
@cli_errors
def users_create(org_slug, email, name, roles, password):
    """Create a user who can sign in."""
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    with transaction(db.session) as session:
        org = get_organization_by_slug(session, org_slug)
        user = create_user(session, organization_id=org.id, email=email, name=name, roles=list(roles), password=password)
        click.echo(f"created user {user.email} (id {user.id}) in {org.slug} with roles {', '.join(user.roles)}")
    if generated:
        click.echo(f"password: {password}")


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has an organization")
@click.option("--households", default=20000, show_default=True, help="Synthetic households in the demo ward")
@click.option("--seed", default=33, show_default=True)
@cli_errors
def demo_command(if_empty, households, seed):
    """Seed a ready demo organization: users, boundaries, households and turfs."""
    with transaction(db.session) as session:
        if if_empty and count_organizations(session) > 0:
            click.echo("database already has organizations; demo not seeded")
            return
        summary = seed_demo(session, households=households, seed=seed, echo=click.echo)
    click.echo(f"demo organization {summary.org_slug} ready")
    click.echo(f"demo logins (password for all: {DEMO_PASSWORD}):")
    for role, email in summary.logins:
        click.echo(f"  {role:<11} {email}")
