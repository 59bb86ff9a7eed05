"""The `canvass` command (the same commands as `flask --app api ...`).

Help needs no database: the command groups are static and listed without building the app;
the app (and so DATABASE_URL) is needed only when a command runs. Settings come from the
environment, then the checkout's `.env`, then `.data/embedded.env`, which `make run` and
`make start` write with the embedded services' addresses, so `canvass ...` in another
terminal reaches them with nothing set by hand.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from flask.cli import FlaskGroup, routes_command, shell_command, with_appcontext

from canvass.config import ConfigError, load_env_files

CHECKOUT_ROOT = Path(__file__).resolve().parent.parent


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


def _leaf_commands(command: click.Command):
    if isinstance(command, click.Group):
        for child in command.commands.values():
            yield from _leaf_commands(child)
    else:
        yield command


class CanvassGroup(FlaskGroup):
    """FlaskGroup that lists and finds our commands without loading the app."""

    def __init__(self, **kwargs):
        super().__init__(add_default_commands=False, **kwargs)
        # Flask's --app/--env-file/--debug options would only confuse here: the app is ours.
        self.params = [param for param in self.params if param.name not in ("app", "env_file", "debug")]
        self.add_command(routes_command)
        self.add_command(shell_command)
        from api.commands import command_groups

        for group in command_groups():
            for leaf in _leaf_commands(group):
                if not getattr(leaf.callback, "_canvass_app_context", False):
                    leaf.callback = with_appcontext(leaf.callback)  # builds the app only when it runs
                    leaf.callback._canvass_app_context = True
            self.add_command(group)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(click.Group.list_commands(self, ctx))


@click.group(cls=CanvassGroup, create_app=_create_app, add_version_option=False, load_dotenv=False)
def cli():
    """canvass: turfs, walk lists, offline sync and member pipelines for ward organizations."""


def main(argv: list[str] | None = None, *, env_roots: list[Path] | None = None):
    load_env_files(os.environ, env_roots if env_roots is not None else [Path.cwd(), CHECKOUT_ROOT])
    return cli.main(args=argv, prog_name="canvass")
