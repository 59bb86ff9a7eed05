"""`canvass import boundaries|households` and `canvass turfs cut` (CONTRACT.md)."""
from __future__ import annotations

import json
import os
import sys

import click

from api.commands import cli_errors
from api.extensions import db
from canvass.db import transaction
from canvass.geo.boundaries import import_boundaries
from canvass.geo.households import COLUMN_ALIASES, REQUIRED_COLUMNS, import_households
from canvass.geo.models import BOUNDARY_LEVELS
from canvass.orgs.services import get_organization_by_slug
from canvass.turfs.services import cut_turfs_for_area


def _read_geojson(path: str):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except UnicodeDecodeError:
        raise click.ClickException(f"{path} is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise click.ClickException(
            f"{path} is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}") from None


@click.group("import")
def import_group():
    """Load wards, precincts and households."""


@import_group.command("boundaries")
@click.option("--org", "org_slug", required=True, help="The organization's slug")
@click.option("--level", required=True, type=click.Choice(BOUNDARY_LEVELS))
@click.option("--name-field", required=True, help="Feature property holding the name, e.g. ward")
@click.option("--parent-field", help="Precincts: property holding their ward's name (omitted: linked spatially)")
@click.argument("file", type=click.Path(dir_okay=False))
@cli_errors
def import_boundaries_command(org_slug, level, name_field, parent_field, file):
    """Import wards or precincts from a GeoJSON FILE (all or nothing; re-import updates)."""
    geojson = _read_geojson(file)
    with transaction(db.session) as session:
        org = get_organization_by_slug(session, org_slug)
        summary = import_boundaries(session, organization_id=org.id, level=level, geojson=geojson,
                                    name_field=name_field, parent_field=parent_field)
    click.echo(
        f"{summary.features} {level}(s): {summary.created} created, {summary.updated} updated, "
        f"{summary.unchanged} unchanged; {summary.buildings_placed} building(s) placed"
    )
    for repaired in summary.repaired:
        click.echo(f"  repaired feature {repaired['index']} ({repaired['name']}): {repaired['reason']}")


class _Progress:
    """A progress bar on stderr, shown from the first progress report (a refused file prints only its error)."""

    def __init__(self, length: int):
        self.length, self.bar = length, None

    def __call__(self, done: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=self.length, label="reading", file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.bar.pos)

    def close(self, *, next_step: str | None = None) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None
            if next_step:
                click.echo(f"{next_step}...", err=True)


def _households_help() -> str:
    columns = "\n".join(
        f"  {name:<12} {'required' if name in REQUIRED_COLUMNS else 'optional'}"
        + (f"  (also: {', '.join(aliases[1:])})" if len(aliases) > 1 else "")
        for name, aliases in COLUMN_ALIASES.items()
    )
    return (
        "Import households and people from a CSV FILE (UTF-8, a header row; headers are "
        "case-insensitive). Bad rows are reported by line number and skipped; re-importing a "
        "row with the same external_id updates it, never duplicates it.\n\n"
        "\b\nColumns:\n" + columns + "\n\n"
        "latitude/longitude are WGS84 degrees; rows with first_name/last_name add a person to the "
        "household."
    )


@import_group.command("households", help=_households_help())
@click.option("--org", "org_slug", required=True, help="The organization's slug")
@click.argument("file", type=click.Path(dir_okay=False))
@cli_errors
def import_households_command(org_slug, file):
    progress = _Progress(os.path.getsize(file))
    try:
        with open(file, "rb") as stream, transaction(db.session) as session:
            org = get_organization_by_slug(session, org_slug)
            summary = import_households(session, organization_id=org.id, stream=stream, on_progress=progress,
                                        on_stage=lambda stage: progress.close(next_step=stage))
    finally:
        progress.close()
    click.echo(
        f"imported {summary.rows_imported} of {summary.rows_read} row(s), skipped {summary.rows_skipped}"
        f"{f', {summary.rows_unchanged} unchanged since an earlier import' if summary.rows_unchanged else ''}; "
        f"buildings {summary.buildings_created} new, {summary.buildings_updated} updated; "
        f"households {summary.households_created} new of {summary.households_in_file}; "
        f"people {summary.people_created} new, {summary.people_updated} updated; "
        f"{summary.outside_boundaries} building(s) outside every ward"
    )
    for problem in summary.errors:
        click.echo(f"  line {problem.line}: {problem.reason} (skipped)")
    if summary.rows_skipped > len(summary.errors):
        click.echo(f"  ... and {summary.rows_skipped - len(summary.errors)} more skipped row(s)")
    for problem in summary.warnings:
        click.echo(f"  line {problem.line}: {problem.reason}")
    if summary.warning_count > len(summary.warnings):
        click.echo(f"  ... and {summary.warning_count - len(summary.warnings)} more warning(s)")


@click.group("turfs")
def turfs_group():
    """Turfs."""


@turfs_group.command("cut")
@click.option("--org", "org_slug", required=True, help="The organization's slug")
@click.option("--ward", help="The ward's name")
@click.option("--precincts", help="Instead of a ward: WARD-PRECINCT labels, comma-separated (33-1,33-2)")
@click.option("--doors", type=int, required=True, help="About how many doors per turf")
@cli_errors
def turfs_cut_command(org_slug, ward, precincts, doors):
    """Cut a ward (or precincts) into turfs of about N doors; earlier cut turfs there are archived."""
    labels = [p.strip() for p in precincts.split(",") if p.strip()] if precincts else None
    with transaction(db.session) as session:
        org = get_organization_by_slug(session, org_slug)
        view = cut_turfs_for_area(session, organization_id=org.id, actor_id=None, target_doors=doors,
                                  ward=ward, precincts=labels)
        quality = view.cut.quality
    click.echo(
        f"cut {view.cut.id}: {quality['turf_count']} turf(s) of {quality['min_doors']}-{quality['max_doors']} doors "
        f"(target {doors}, {quality['share_within_15pct']:.0%} within 15%), "
        f"mean walk {quality['mean_route_length_m'] / 1000:.2f} km, compactness {quality['mean_compactness']:.2f}"
    )
