"""The `trade-calendar` command: thin wrappers over the package's core."""

from __future__ import annotations

import click

from .data import events, schema, upcoming, validate
from .serve import serve
from .subscriptions import deliveries, subscriptions
from .worker import worker


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="trade-calendar")
def main() -> None:
    """Trade Calendar: trade-policy deadlines as feeds, an API and webhook reminders."""


main.add_command(validate)
main.add_command(schema)
main.add_command(events)
main.add_command(upcoming)
main.add_command(serve)
main.add_command(subscriptions)
main.add_command(deliveries)
main.add_command(worker)
