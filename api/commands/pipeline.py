"""`canvass pipeline import-attendance|import-dues|rebuild|rollup`: the member pipeline from the shell."""
from __future__ import annotations

import click

from api.commands import cli_errors
from api.extensions import db
from canvass.db import transaction
from canvass.orgs.services import get_organization_by_slug
from canvass.pipeline.imports import import_attendance, import_dues
from canvass.pipeline.rollup import refresh_pipeline

SHOWN_SKIPS = 50


@click.group("pipeline")
def pipeline_group():
    """Attendance and dues imports, and the member pipeline rollup."""


def _open_csv(path: str):
    try:
        # utf-8-sig: spreadsheets save CSV with a byte-order mark.
        return open(path, encoding="utf-8-sig", newline="")
    except IsADirectoryError:
        raise click.ClickException(f"{path} is a directory, not a CSV file") from None


def _run_import(importer, org_slug: str, path: str) -> None:
    with _open_csv(path) as file, transaction(db.session) as session:
        org = get_organization_by_slug(session, org_slug)
        try:
            report = importer(session, organization_id=org.id, file=file)
        except UnicodeDecodeError:
            raise click.ClickException(f"{path} is not UTF-8 text") from None
    extra = f", {report.events_created} event(s) created" if report.events_created else ""
    click.echo(f"{report.rows} row(s): {report.created} created, {report.updated} updated, "
               f"{report.unchanged} unchanged, {report.skipped_count} skipped{extra}")
    for line, reason in report.skipped[:SHOWN_SKIPS]:
        click.echo(f"  line {line}: {reason}")
    if report.skipped_count > SHOWN_SKIPS:
        click.echo(f"  ... and {report.skipped_count - SHOWN_SKIPS} more")


@pipeline_group.command("import-attendance")
@click.option("--org", "org_slug", required=True, help="The organization's slug")
@click.argument("file", type=click.Path(dir_okay=False))
@cli_errors
def import_attendance_command(org_slug, file):
    """Import sign-ups and attendance from a CSV FILE: event_id or event_external_id (with event_title,
    event_kind, event_starts_at to create the event), person_id, person_external_id or email, status.
    Bad rows are reported by line and skipped; re-imports update, never duplicate."""
    _run_import(import_attendance, org_slug, file)


@pipeline_group.command("import-dues")
@click.option("--org", "org_slug", required=True, help="The organization's slug")
@click.argument("file", type=click.Path(dir_okay=False))
@cli_errors
def import_dues_command(org_slug, file):
    """Import dues payments from a CSV FILE: person_id, person_external_id or email; amount (or
    amount_cents), paid_on, method, period_start, period_end; optional external_id, note.
    Bad rows are reported by line and skipped; re-imports update by external_id, never duplicate."""
    _run_import(import_dues, org_slug, file)


def _refresh(org_slug: str, mode: str) -> None:
    with transaction(db.session) as session:
        org = get_organization_by_slug(session, org_slug)
        result = refresh_pipeline(session, organization_id=org.id, mode=mode)
    if result.skipped:
        raise click.ClickException(f"the pipeline of {org_slug} is being rolled up by a worker right now; try again")
    click.echo(f"{org_slug}: {result.people} people recomputed ({mode})")


@pipeline_group.command("rebuild")
@click.option("--org", "org_slug", required=True, help="The organization's slug")
@cli_errors
def rebuild_command(org_slug):
    """Recompute the organization's stages, membership history and funnels from the raw rows."""
    _refresh(org_slug, "full")


@pipeline_group.command("rollup")
@click.option("--org", "org_slug", required=True, help="The organization's slug")
@cli_errors
def rollup_command(org_slug):
    """Roll up what changed since the last run (what the worker does after each sync)."""
    _refresh(org_slug, "incremental")
