"""Entry point ``ec2``: registers the ``ec2`` Host and the ``hosts list`` / ``hosts down`` subcommands."""

from __future__ import annotations

from agentgpt_core.hookspecs import hookimpl


@hookimpl
def register_hosts(register):
    from .host import Ec2Host

    register(Ec2Host())


@hookimpl(trylast=True)  # after the ws plugin made `agentgpt hosts`, so we add to it instead of replacing it
def register_commands(cli):
    from .cli import attach

    attach(cli)
