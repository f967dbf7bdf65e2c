"""Fuzz both transports with what a hostile or careless caller sends (issue 16, "done when").

Malformed bodies, a wrong type in every field of every method, deep nesting, bodies over
the limit and bad credentials go to a real HTTP server and a real WebSocket server
(127.0.0.1, port 0) in front of one EnvService. Each must come back as the code
docs/protocol.md documents for it (over HTTP with the matching status, over WebSocket
with the request's id), and afterwards a correct make/reset/step still works.

Bounded in time: every property runs ``FUZZ_EXAMPLES`` examples (default 25; set
``AGENTGPT_FUZZ_EXAMPLES`` for a longer run) from a fixed seed, so ``make test`` stays
reproducible and the whole file takes a few tens of seconds.
"""

from __future__ import annotations

import json
import math
import os
import uuid

import httpx
import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as ws_connect

from agentgpt_core.envs import EnvService
from agentgpt_core.protocol.codecs import MAX_DEPTH
from agentgpt_transport_http import HttpServer
from agentgpt_transport_http.status import HTTP_STATUS
from agentgpt_transport_ws import WsServer

KEY = "fuzz-key-0123"
LIMIT = 64 * 1024
FUZZ_EXAMPLES = int(os.environ.get("AGENTGPT_FUZZ_EXAMPLES", "25"))
fuzz = settings(
    max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip
pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def servers():
    service = EnvService(["gym:CartPole-v1", "gym:Pendulum-v1"], max_num_envs=16, max_envs=64)
    http = HttpServer(service, api_key=KEY, max_body_bytes=LIMIT)
    ws = WsServer(service, api_key=KEY, max_size=LIMIT)
    http.start()
    ws.start()
    yield {"http": http.url, "ws": ws.url}
    http.stop()
    ws.stop()
    service.close()


class HttpWire:
    """Raw requests to the HTTP server, in one session of their own."""

    def __init__(self, url: str):
        self.url = url
        self.session = uuid.uuid4().hex
        self.client = httpx.Client(base_url=url, timeout=10, headers={"X-AgentGPT-Session": self.session})

    def raw(self, method: str, body: bytes, content_type: str = "application/json", auth: str | None = f"Bearer {KEY}"):
        headers = {"Content-Type": content_type, "Accept": "application/json"}
        if auth is not None:
            headers["Authorization"] = auth
        response = self.client.post(f"/{method}", content=body, headers=headers)
        payload = response.json()
        code = payload["error"]["code"] if isinstance(payload, dict) and "error" in payload else None
        if code is not None:
            assert response.status_code == HTTP_STATUS[code], (response.status_code, payload)
        else:
            assert response.status_code == 200, payload
        return code, payload

    def call(self, method: str, params) -> str | None:
        return self.raw(method, json.dumps(params).encode())[0]

    def close(self):
        self.client.close()


class WsWire:
    """Raw frames on one WebSocket (one session): every answer must carry its request's id."""

    def __init__(self, url: str):
        self.socket = ws_connect(url, additional_headers={"Authorization": f"Bearer {KEY}"}, max_size=4 * LIMIT)
        self.next_id = 0

    def frame(self, frame, expect_id: int | None):
        self.socket.send(frame)
        answer = self.socket.recv(timeout=10)
        message = json.loads(answer) if isinstance(answer, str) else msgpack.unpackb(answer, raw=False, strict_map_key=False)
        assert message.get("id") == expect_id, (message, expect_id)
        return (message["error"]["code"] if "error" in message else None), message

    def raw(self, method: str, body: bytes, content_type: str = "application/json"):
        """``body`` is a params object's bytes: spliced into a request, as text (JSON) or binary (msgpack)."""
        self.next_id += 1
        if content_type == "application/json":
            head = '{"id":%d,"method":%s,"params":' % (self.next_id, json.dumps(method))
            return self.frame(head + body.decode("utf-8", "replace") + "}", self.next_id)
        head = b"\x83" + msgpack.packb("id") + msgpack.packb(self.next_id) + msgpack.packb("method") + msgpack.packb(method) + msgpack.packb("params")
        return self.frame(head + body, self.next_id)

    def call(self, method: str, params) -> str | None:
        self.next_id += 1
        return self.frame(json.dumps({"id": self.next_id, "method": method, "params": params}), self.next_id)[0]

    def close(self):
        self.socket.close()


@pytest.fixture(params=["http", "ws"])
def wire(request, servers):
    """A fresh session on each transport, holding one CartPole env (so env_key may be left out)."""
    opened = (HttpWire if request.param == "http" else WsWire)(servers[request.param])
    assert opened.call("make", {"env_name": "CartPole-v1", "seed": 1}) is None
    assert opened.call("reset", {}) is None
    yield opened
    still_works(opened)
    opened.close()


def still_works(wire) -> None:
    """A correct make/reset/step/close still works on this transport (with a new env, by its key)."""
    code, made = wire.raw("make", json.dumps({"env_name": "CartPole-v1", "seed": 3}).encode())
    assert code is None, made
    key = made["env_key"] if "env_key" in made else made["result"]["env_key"]
    for method, params in (("reset", {"env_key": key}), ("step", {"env_key": key, "action": 1}), ("close", {"env_key": key})):
        assert wire.call(method, params) is None


# -- values of every type, and what each field accepts ------------------------------------

anything = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
              st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12)),
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(st.text(max_size=6), children, max_size=3)),
    max_leaves=6,
)  # fmt: skip


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def valid_seed(value) -> bool:
    return value is None or (is_int(value) and 0 <= value < 2**64)


def valid_action(value) -> bool:  # CartPole: Discrete(2)
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value in (0, 1)


# (method, field, is_valid, documented code, other params)
FIELDS = [
    ("make", "env_name", lambda v: isinstance(v, str), "malformed_payload", {}),
    ("make", "seed", valid_seed, "invalid_argument", {"env_name": "CartPole-v1"}),
    ("make", "kwargs", lambda v: v is None or v == {}, "invalid_argument", {"env_name": "CartPole-v1"}),
    ("make", "autoreset", lambda v: isinstance(v, bool), "invalid_argument", {"env_name": "CartPole-v1"}),
    ("make_vec", "num_envs", lambda v: is_int(v) and 1 <= v <= 16, "invalid_argument", {"env_name": "CartPole-v1"}),
    ("make_vec", "seed", valid_seed, "invalid_argument", {"env_name": "CartPole-v1", "num_envs": 2}),
    ("reset", "seed", valid_seed, "invalid_argument", {}),
    ("reset", "options", lambda v: v is None or isinstance(v, dict), "invalid_argument", {}),
    ("reset", "env_key", lambda v: v is None, "unknown_env_key", {}),
    ("step", "action", valid_action, "invalid_action", {}),
    ("step", "env_key", lambda v: v is None, "unknown_env_key", {"action": 0}),
    ("action_space", "env_key", lambda v: v is None, "unknown_env_key", {}),
    ("close", "env_key", lambda v: v is None, "unknown_env_key", {}),
]


@pytest.mark.parametrize("method,field,valid,code,others", FIELDS, ids=[f"{m}.{f}" for m, f, *_ in FIELDS])
@fuzz
@given(value=anything)
def test_a_wrong_type_in_any_field_gets_its_documented_code(wire, method, field, valid, code, others, value):
    if valid(value):
        return
    assert wire.call(method, {**others, field: value}) == code


@fuzz
@given(name=st.text(max_size=30).filter(lambda n: n not in ("CartPole-v1", "Pendulum-v1")))
def test_an_env_name_the_host_does_not_serve_is_not_allowed(wire, name):
    assert wire.call("make", {"env_name": name}) == "env_not_allowed"


@fuzz
@given(params=anything.filter(lambda v: not isinstance(v, dict)))
def test_params_that_are_not_an_object_are_malformed(wire, params):
    assert wire.call("step", params) == "malformed_payload"


@fuzz
@given(body=st.binary(min_size=1, max_size=300), codec=st.sampled_from(["application/json", "application/msgpack"]))
def test_undecodable_bodies_are_malformed(wire, body, codec):
    try:
        decoded = json.loads(body) if codec == "application/json" else msgpack.unpackb(body, raw=False, strict_map_key=False)
    except Exception:
        decoded = None
    else:
        if isinstance(decoded, dict):
            return  # an object: other tests own it
    if isinstance(wire, WsWire) and codec == "application/json":
        body = body.decode("utf-8", "replace").encode()
        try:  # what the server will get after the text frame's UTF-8 round trip
            if isinstance(json.loads(body), dict):
                return
        except ValueError:
            pass
    assert wire.raw("step", body, codec)[0] == "malformed_payload"


@fuzz
@given(depth=st.integers(MAX_DEPTH + 1, 20_000), codec=st.sampled_from(["application/json", "application/msgpack"]), kind=st.sampled_from("[{"))
def test_deep_nesting_is_malformed_never_a_crash(wire, depth, codec, kind):
    if codec == "application/json":
        inner = ("[" * depth + "]" * depth) if kind == "[" else ('{"a":' * depth + "0" + "}" * depth)
        body = ('{"action":' + inner + "}").encode()
    else:
        inner = (b"\x91" * depth + b"\xc0") if kind == "[" else ((b"\x81\xa1a") * depth + b"\xc0")
        body = b"\x81" + msgpack.packb("action") + inner
    if len(body) > LIMIT:
        return  # a size refusal: test_bodies_over_the_limit owns those
    assert wire.raw("step", body, codec)[0] == "malformed_payload"


@settings(max_examples=min(FUZZ_EXAMPLES, 8), deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(extra=st.integers(1, LIMIT), codec=st.sampled_from(["application/json", "application/msgpack"]))
def test_bodies_over_the_limit_are_payload_too_large(wire, extra, codec):
    padding = "x" * (LIMIT + extra)
    body = json.dumps({"action": 0, "pad": padding}).encode() if codec == "application/json" else msgpack.packb({"action": 0, "pad": padding})
    assert wire.raw("step", body, codec)[0] == "payload_too_large"


header_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40)


@fuzz
@given(auth=st.one_of(header_text, header_text.map(lambda t: "Bearer " + t), header_text.map(lambda t: "Basic " + t)).map(str.strip))
def test_bad_credentials_are_unauthorized_on_both_transports(servers, auth):
    if auth.strip().lower() in (f"bearer {KEY}".lower(),) or auth.split(" ", 1)[-1].strip() == KEY:
        return
    http = HttpWire(servers["http"])
    try:
        assert http.raw("make", b'{"env_name":"CartPole-v1"}', auth=auth or None)[0] == "unauthorized"
    finally:
        http.close()
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(servers["ws"], additional_headers={"Authorization": auth} if auth else None).close()
    assert refused.value.response.status_code == 401


def test_unknown_methods_are_unknown(wire):
    for method in ("", "mak", "__init__", "_make", "handle", "close_session", "x" * 200):
        code = wire.call(method, {})
        assert code in (("unknown_method",) if isinstance(wire, WsWire) else ("unknown_method", "method_not_allowed"))


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_one_bearer_rule_on_both_transports(servers, scheme):
    """The scheme is case-insensitive (RFC 7235) over HTTP and over the WebSocket handshake alike."""
    http = HttpWire(servers["http"])
    try:
        assert http.raw("ping", b"", auth=f"{scheme} {KEY}")[0] is None
        assert http.raw("info", b"", auth=f"{scheme} {KEY}")[0] is None
    finally:
        http.close()
    socket = ws_connect(servers["ws"], additional_headers={"Authorization": f"{scheme} {KEY}"})
    socket.send(json.dumps({"id": 1, "method": "ping", "params": {}}))
    assert json.loads(socket.recv(timeout=10))["result"]["ok"] is True
    socket.close()
