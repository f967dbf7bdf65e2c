"""Entry point ``agentgpt: http``: registers the HTTP transport with the plugin manager."""

from agentgpt_core.hookspecs import hookimpl

from .transport import HttpTransport


@hookimpl
def register_transports(register):
    register(HttpTransport())
