"""The `trade-calendar` command: thin wrappers over the package's core.

Each command's module is imported only when that command runs: `validate` and `diff` run on every
commit of a curators' repository, and importing the database, web and webhook stacks (SQLAlchemy,
Flask, requests) for them would cost more than the work itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import click


class LazyGroup(click.Group):
    """A group that imports a command's module on first use (Click's documented lazy-loading pattern)."""

    def __init__(self, *args: Any, lazy_subcommands: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # command name -> "module:attribute", the module relative to this package
        self.lazy_subcommands = dict(lazy_subcommands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name, the loaded and the not yet loaded."""
        return sorted({*super().list_commands(ctx), *self.lazy_subcommands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command, importing its module when it is a lazy one."""
        if cmd_name in self.lazy_subcommands:
            return self._load(cmd_name)
        return super().get_command(ctx, cmd_name)

    def _load(self, cmd_name: str) -> click.Command:
        module_name, attribute = self.lazy_subcommands[cmd_name].split(":")
        command = getattr(importlib.import_module(module_name, __name__), attribute)
        if not isinstance(command, click.Command):  # pragma: no cover - a wiring mistake
            raise TypeError(f"{self.lazy_subcommands[cmd_name]} is not a click command")
        return command


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    lazy_subcommands={
        "validate": ".data:validate",
        "schema": ".data:schema",
        "events": ".data:events",
        "upcoming": ".data:upcoming",
        "serve": ".serve:serve",
        "subscriptions": ".subscriptions:subscriptions",
        "deliveries": ".subscriptions:deliveries",
        "worker": ".worker:worker",
        "diff": ".curate:diff",
        "review": ".curate:review",
        "publish": ".publish:publish",
        "sources": ".sources:sources",
        "coverage": ".curate:coverage",
    },
)
@click.version_option(package_name="trade-calendar")
def main() -> None:
    """Trade Calendar: trade-policy deadlines as feeds, an API and webhook reminders."""
