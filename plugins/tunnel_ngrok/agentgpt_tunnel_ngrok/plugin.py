"""Registers the ``ngrok`` and ``localtunnel`` Tunnel plugins (the ``agentgpt`` entry point)."""

from agentgpt_core.hookspecs import hookimpl

from .localtunnel import LocalTunnel
from .ngrok_tunnel import NgrokTunnel


@hookimpl
def register_tunnels(register):
    register(NgrokTunnel())
    register(LocalTunnel())
