"""The `canvass` command (the same commands as `flask --app api ...`)."""
from __future__ import annotations

import sys

import click
from flask.cli import FlaskGroup

from canvass.config import ConfigError


def _create_app():
    from api import create_app

    try:
        return create_app()
    except ConfigError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(2)


def register_commands(app) -> None:
    from api.commands import command_groups

    for group in command_groups():
        app.cli.add_command(group)


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main():
    """canvass: turfs, walk lists, offline sync and member pipelines for ward organizations."""
