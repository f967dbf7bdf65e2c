"""The URL rules: https/wss end to end, plain http only from a loopback stand-in."""

from __future__ import annotations

import pytest

from agentgpt_core.kinds import TunnelError
from agentgpt_tunnel_ngrok.urls import local_target, public_url_for


@pytest.mark.parametrize("local, public, expected", [
    ("http://127.0.0.1:8000", "https://abc.ngrok.app", "https://abc.ngrok.app"),
    ("ws://127.0.0.1:8765", "https://abc.ngrok.app/", "wss://abc.ngrok.app"),
    ("ws://127.0.0.1:8765", "https://abc.loca.lt", "wss://abc.loca.lt"),
    ("ws://127.0.0.1:8765", "http://127.0.0.1:4444", "ws://127.0.0.1:4444"),  # a loopback stand-in only
    ("http://127.0.0.1:8000", "http://127.0.0.1:4444", "http://127.0.0.1:4444"),
])
def test_public_urls_keep_their_security(local, public, expected):
    assert public_url_for(local, public, "t") == expected


@pytest.mark.parametrize("local", ["http://127.0.0.1:8000", "ws://127.0.0.1:8765"])
@pytest.mark.parametrize("public", ["http://abc.ngrok.app", "http://10.0.0.5:80", "ftp://abc", "tcp://0.tcp.ngrok.io:123"])
def test_a_public_url_is_never_downgraded_to_plain_http_or_ws(local, public):
    with pytest.raises(TunnelError) as caught:
        public_url_for(local, public, "t")
    assert "\n" not in str(caught.value)


def test_local_targets():
    assert local_target("ws://0.0.0.0:8765") == ("http", "127.0.0.1", 8765)
    assert local_target("https://localhost:443") == ("https", "localhost", 443)
    with pytest.raises(TunnelError):
        local_target("memory://x")
