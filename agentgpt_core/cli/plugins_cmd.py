"""``agentgpt plugins``: what is installed and what each plugin registers."""

from __future__ import annotations

import dataclasses
import json

import click

from ..plugins import get_plugin_manager


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
def plugins(as_json: bool) -> None:
    """List loaded plugins, their versions and the names each registers."""
    infos = get_plugin_manager().info()
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(info) for info in infos], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("plugin", "package", "version", "registers")
    for info in infos:
        registers = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in info.registers.items()) or "-"
        table.add_row(info.name, info.package, info.version, registers)
    Console().print(table)
