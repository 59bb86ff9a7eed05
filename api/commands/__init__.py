"""CLI command groups, one module per area; `register_commands` adds them to app.cli."""
from __future__ import annotations

import functools

import click

from canvass.config import ConfigError
from canvass.errors import DomainError


def command_groups():
    from api.commands import core, geo, pipeline

    return [core.db_group, core.orgs_group, core.users_group, core.demo_command, geo.import_group, geo.turfs_group,
            pipeline.pipeline_group]


def cli_errors(fn):
    """Bad input ends the command with one line on stderr and a non-zero exit, nothing changed."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (DomainError, ConfigError) as error:
            raise click.ClickException(getattr(error, "message", str(error))) from None
        except (FileNotFoundError, PermissionError, IsADirectoryError) as error:
            raise click.ClickException(f"{error.strerror}: {error.filename}") from None

    return wrapper
