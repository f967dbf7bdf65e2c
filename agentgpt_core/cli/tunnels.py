"""The ``--tunnel`` options ``launch`` and ``train`` share, and the rules around them.

A tunnel makes a local server public, so both commands apply the same checks in one
place: a public tunnel needs an API key, and secrets (an ngrok auth token, a key) are
never taken as tunnel options, because a command line lands in shell history and in
``ps`` output. Plugins read their secrets from the environment or their own config.
The rules live in ``agentgpt_core.hosting.configure_tunnel``, which ``EnvLauncher``
applies too; this module turns their refusals into click errors.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Callable

import click

from .. import hosting
from ..hosting import LaunchError, configure_tunnel
from ..kinds import Tunnel
from .options import parse_options


def tunnel_options(command: Callable) -> Callable:
    """Add ``--tunnel``, ``--tunnel-server`` and ``--tunnel-option`` to a click command."""
    command = click.option("--tunnel-option", "tunnel_options", multiple=True, metavar="KEY=VALUE",
                           help="A tunnel setting, e.g. region=eu or domain=my.ngrok.app (see docs/tunnels.md). "
                                "Never a secret: tokens come from the environment. Repeatable.")(command)
    command = click.option("--tunnel-server", default=None, metavar="URL",
                           help="With --tunnel localtunnel: a self-hosted localtunnel server (https://...).")(command)
    command = click.option("--tunnel", default=None, metavar="NAME",
                           help="Give the server a public URL through this Tunnel plugin: ngrok, localtunnel (see `agentgpt plugins`).")(command)
    return command


def resolve_tunnel(name: str | None, *, api_key: str | None, server: str | None,
                   options: tuple[str, ...]) -> Tunnel | None:
    """The configured Tunnel for ``--tunnel NAME``, or None; click errors for every refusal."""
    if name is None:
        if server or options:
            raise click.UsageError("--tunnel-server and --tunnel-option need --tunnel NAME")
        return None
    settings = parse_options(options, param_hint="--tunnel-option")
    if server is not None:
        settings["server"] = server
    try:
        return configure_tunnel(name, api_key=api_key, options=settings)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc


def open_tunnel(stack: ExitStack, tunnel: Tunnel, local_url: str) -> str:
    """hosting.open_tunnel, its LaunchError as a one-line click error."""
    try:
        return hosting.open_tunnel(stack, tunnel, local_url)
    except LaunchError as exc:
        raise click.ClickException(str(exc)) from None

