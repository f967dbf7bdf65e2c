"""A host that listens: RemoteEnv over ws://, pipelining, auth and typed errors."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

import msgpack
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidStatus

from agentgpt_core.envs.service import EnvService
from agentgpt_core.protocol.errors import PayloadTooLarge, TransportError, Unauthorized
from agentgpt_core.remote import RemoteEnv, RemoteVectorEnv, connect
from agentgpt_transport_ws import WsClient, WsServer

KEY = "secret-key"


@pytest.fixture
def service(slow_env):
    service = EnvService(["gym:CartPole-v1", f"gym:{slow_env}"])
    yield service
    service.close()


@pytest.fixture
def server(service):
    with WsServer(service, api_key=KEY) as server:
        yield server


def raw(url: str, frames: list, *, key: str = KEY, replies: int | None = None) -> list:
    """Send frames on a bare socket and read the replies (as decoded dicts)."""

    async def exchange():
        async with ws_connect(url, additional_headers={"Authorization": f"Bearer {key}"}, compression=None) as socket:
            for frame in frames:
                await socket.send(frame)
            got = []
            for _ in range(len(frames) if replies is None else replies):
                reply = await asyncio.wait_for(socket.recv(), 5)
                got.append(json.loads(reply) if isinstance(reply, str) else msgpack.unpackb(reply))
            return got

    return asyncio.run(exchange())


def test_remote_env_passes_the_env_checker(server):
    env = RemoteEnv(server.url, "CartPole-v1", api_key=KEY)
    try:
        check_env(env, skip_render_check=True)
    finally:
        env.close()


def test_json_and_msgpack_vector_env_steps(server):
    for codec in ("json", "msgpack"):
        env = RemoteVectorEnv(server.url, "CartPole-v1", 4, api_key=KEY, codec=codec)
        obs, _ = env.reset(seed=1)
        assert obs.shape == (4, 4) and obs.dtype == np.float32
        for _ in range(30):
            obs, reward, terminated, truncated, infos = env.step(np.ones(4, dtype=np.int64))
        assert "final_obs" in infos or not (terminated | truncated).any()
        env.close()


def test_several_requests_in_flight_on_one_socket(server):
    client = connect(server.url, api_key=KEY)
    try:
        futures = [client.submit("ping") for _ in range(20)]
        assert all(client.result(f)["ok"] for f in futures)
        # the same on a bare socket: five requests sent before any answer is read
        answers = raw(server.url, [json.dumps({"id": i, "method": "ping", "params": {}}) for i in range(5)])
        assert sorted(a["id"] for a in answers) == list(range(5))
    finally:
        client.close()


def test_wrong_key_is_refused_at_the_handshake(server):
    with pytest.raises(Unauthorized, match="wrong or missing API key"):
        RemoteEnv(server.url, "CartPole-v1", api_key="nope")
    with pytest.raises(InvalidStatus) as refused:
        raw(server.url, [], key="nope")
    assert refused.value.response.status_code == 401


def test_garbage_and_unknown_ids_get_typed_errors_and_the_socket_keeps_serving(server):
    frames = [
        b"\xc1\xff not msgpack",
        "{not json",
        json.dumps([1, 2]),
        json.dumps({"method": "ping"}),  # no id
        json.dumps({"id": 7, "result": 1}),  # an answer sent to the answering side
        json.dumps({"id": 8, "method": "teleport", "params": {}}),
        json.dumps({"id": 9, "method": "ping", "params": {}}),
    ]
    answers = raw(server.url, frames)
    codes = [a.get("error", {}).get("code") for a in answers]
    assert codes[:5] == ["malformed_payload"] * 5
    assert answers[5] == {"id": 8, "error": answers[5]["error"]} and codes[5] == "unknown_method"
    assert answers[6]["id"] == 9 and answers[6]["result"]["ok"] is True


def test_oversized_frames_get_payload_too_large_or_a_1009_close(service):
    with WsServer(service, max_size=2048) as small:
        big = msgpack.packb({"id": 3, "method": "ping", "params": {"pad": "x" * 4000}})
        [answer] = raw(small.url, [big], key=None)
        assert answer["id"] == 3 and answer["error"]["code"] == PayloadTooLarge.code
        client = WsClient(small.url, max_size=2048)
        with pytest.raises(TransportError, match="1009"):
            client.call("ping", {"pad": "x" * 20000})  # beyond the hard limit: websockets closes
        client.close()


def test_socket_drop_closes_its_envs(server, service, wait_until):
    env = RemoteVectorEnv(server.url, "CartPole-v1", 2, api_key=KEY)
    assert len(service.open_envs) == 1
    env._client.close()  # the trainer vanishes without calling close
    assert wait_until(lambda: not service.open_envs)


def test_in_flight_requests_fail_fast_never_hang(service, slow_env):
    server = WsServer(service)
    server.start()
    client = WsClient(server.url, timeout=0.5)
    key = client.call("make", {"env_name": slow_env})["env_key"]
    client.call("reset", {"env_key": key})
    started = time.monotonic()
    with pytest.raises(TransportError, match="within 0.5 s"):
        client.call("step", {"env_key": key, "action": 0})
    assert time.monotonic() - started < 2
    slow = client.submit("step", {"env_key": key, "action": 0})
    server.stop()  # graceful: the step in flight may still be answered, or fail; it never hangs
    with contextlib.suppress(TransportError):
        client.result(slow)
    with pytest.raises(TransportError):
        client.call("ping")
    client.close()


def test_an_api_key_is_required_off_loopback(service):
    with pytest.raises(ValueError, match="API key"):
        WsServer(service, host="0.0.0.0")


def test_wss_with_a_self_signed_certificate(service, tmp_path):
    import shutil
    import ssl
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    with WsServer(service, ssl=server_context) as server:
        assert server.url.startswith("wss://")
        client = WsClient(server.url, ssl=ssl.create_default_context(cafile=str(cert)))
        assert client.call("ping")["ok"]
        client.close()
