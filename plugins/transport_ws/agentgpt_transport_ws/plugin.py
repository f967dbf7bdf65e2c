"""Entry point ``ws``: registers the WebSocket transport and the ``agentgpt hosts`` command."""

from agentgpt_core.hookspecs import hookimpl

from .transport import WsTransport


@hookimpl
def register_transports(register):
    register(WsTransport())


@hookimpl
def register_commands(cli):
    from .cli import hosts

    cli.add_command(hosts)
