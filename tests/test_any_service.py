"""Every transport serves any ``Service``, not only the env host: a two-method echo service here."""

from __future__ import annotations

import pytest

from agentgpt_core.kinds import Service
from agentgpt_core.plugins import get_plugin_manager
from agentgpt_core.protocol.errors import UnknownMethod


class EchoService(Service):
    """Answers ``echo`` with its params and ``count`` with how many echoes a session made."""

    methods = ("echo", "count")

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.closed: list[str] = []

    def handle(self, method, params=None, session="default"):
        if method == "echo":
            self.counts[session] = self.counts.get(session, 0) + 1
            return dict(params or {})
        if method == "count":
            return {"count": self.counts.get(session, 0)}
        raise UnknownMethod(f"no {method!r} here; try {', '.join(self.methods)}")

    def close_session(self, session):
        self.closed.append(session)

    def offers(self):
        return ["echo"]


@pytest.mark.parametrize("transport", ["memory", "http", "ws"])
def test_a_listening_server_serves_any_service(transport):
    plugin = get_plugin_manager().get("transports", transport)
    service = EchoService()
    with plugin.server(service, port=0) as server, plugin.client(server.url) as client:
        assert client.call("echo", {"x": [1, 2]}) == {"x": [1, 2]}
        assert client.result(client.submit("count")) == {"count": 1}
        with pytest.raises(UnknownMethod):
            client.call("step", {"action": 0})


def test_a_dial_out_server_serves_any_service_through_a_gateway():
    plugin = get_plugin_manager().get("transports", "ws")
    service = EchoService()
    with plugin.gateway("ws://127.0.0.1:0") as gateway:
        with plugin.dial_out(service, gateway.url, num_envs=3, register_timeout=5):
            [link] = gateway.wait_for_hosts(1, timeout=5)
            assert (link.envs, link.capacity) == (["echo"], 3)
            assert link.result(link.submit("echo", {"hello": "world"})) == {"hello": "world"}
    assert service.closed  # the dial-out session ended with its connection
