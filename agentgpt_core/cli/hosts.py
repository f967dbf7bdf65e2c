"""Env hosts that ``agentgpt train`` starts itself, through a registered Host plugin."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from ..plugins import get_plugin_manager


@contextmanager
def local_hosts(
    env_specs: list[str], count: int = 1, *, transport: str = "http", api_key: str | None = None, host: str = "local"
) -> Iterator[list[str]]:
    """Start ``count`` hosts serving ``env_specs`` with the Host plugin named ``host``; yield their URLs; stop them after."""
    with get_plugin_manager().get("hosts", host) as hosts:
        yield [hosts.launch(env_specs, transport=transport, api_key=api_key) for _ in range(count)]
