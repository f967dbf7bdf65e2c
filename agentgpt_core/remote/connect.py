"""Open a transport client for a URL, through whichever plugin owns its scheme."""

from __future__ import annotations

import os
from typing import Any

from ..kinds import TransportClient
from ..protocol.errors import ProtocolError
from ..protocol.names import ENV_KEY, Method


def connect(url: str, *, api_key: str | None = None, codec: str = "msgpack", timeout: float = 30.0) -> TransportClient:
    """A client for ``url`` (``http://``, ``ws://``, ``memory://``...); API key from ``AGENTGPT_API_KEY`` if not given."""
    from ..plugins import get_plugin_manager

    transport = get_plugin_manager().transport_for_url(url)
    if api_key is None:
        api_key = os.environ.get("AGENTGPT_API_KEY") or None
    return transport.client(url, api_key=api_key, codec=codec, timeout=timeout)


def open_remote(
    url: str, method: str, params: dict[str, Any], client: TransportClient | None, **connect_options: Any
) -> tuple[TransportClient, dict]:
    """Connect (unless given ``client``) and make an env with ``method``; return the client and what make described.

    If the make fails the client is closed, so a failed constructor leaks no connection.
    """
    client = client or connect(url, **connect_options)
    try:
        return client, client.call(method, params)
    except BaseException:
        client.close()
        raise


def close_remote(client: TransportClient, env_key: str) -> None:
    """Close the env ``env_key`` on its host, then the client; a host already gone is not an error."""
    try:
        client.call(Method.CLOSE, {ENV_KEY: env_key})
    except ProtocolError:
        pass  # the host is gone or already closed it: nothing left to release
    finally:
        client.close()
