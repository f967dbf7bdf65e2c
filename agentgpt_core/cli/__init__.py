"""The ``agentgpt`` command: a click group, one module per command group, plus plugins' commands."""

from __future__ import annotations

import click

from .. import __version__
from ..plugins import get_plugin_manager
from .extras import needs_extra
from .launch import launch
from .plugins_cmd import plugins
from .serve_cmd import COMMANDS as SERVE_COMMANDS
from .train_cmd import COMMANDS as TRAIN_COMMANDS


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="agentgpt")
def cli() -> None:
    """AgentGPT: distributed reinforcement learning with remote simulators."""


for _command in (launch, plugins, *(needs_extra(command) for command in TRAIN_COMMANDS), *SERVE_COMMANDS):
    cli.add_command(_command)


def main() -> None:
    """Console-script entry point: load plugin commands, then run."""
    get_plugin_manager().add_commands(cli)
    cli(prog_name="agentgpt")
