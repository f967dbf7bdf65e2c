"""Hosts that dial out: registration, reconnects, the gateway's typed errors, and the
host pool stepping real ``agentgpt launch --connect`` processes together."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys

import msgpack
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from websockets.asyncio.client import connect as ws_connect

from agentgpt_core.envs.service import EnvService
from agentgpt_core.protocol.errors import TransportError, Unauthorized
from agentgpt_core.remote import RemoteEnv, RemoteVectorEnv
from agentgpt_core.remote.pool import HostPoolVectorEnv
from agentgpt_transport_ws import DialOutServer, WsGateway

KEY = "dial-key"


@pytest.fixture
def gateway():
    with WsGateway("ws://127.0.0.1:0", api_key=KEY, timeout=5.0, max_size=4096) as gateway:
        yield gateway


def host(gateway, host_id: str, num_envs: int = 2, *envs: str) -> DialOutServer:
    service = EnvService(list(envs) or ["gym:CartPole-v1"])
    return DialOutServer(service, gateway.url, api_key=KEY, num_envs=num_envs, host_id=host_id, backoff_base=0.05, backoff_max=0.2)


def test_a_dial_out_host_serves_a_remote_env_that_passes_the_checker(gateway):
    with host(gateway, "laptop") as server:
        assert server.registered.is_set()
        [link] = gateway.hosts()
        assert (link.host_id, link.envs, link.capacity) == ("laptop", ["CartPole-v1"], 2)
        env = RemoteEnv(gateway.url, "CartPole-v1", client=link)
        try:
            check_env(env, skip_render_check=True)
        finally:
            env.close()


def test_a_wrong_key_is_refused_at_the_handshake_with_the_reason(gateway):
    server = DialOutServer(EnvService(["gym:CartPole-v1"]), gateway.url, api_key="wrong", host_id="intruder")
    with pytest.raises(Unauthorized, match="wrong or missing API key"):
        server.start()
    assert gateway.hosts() == []


def test_a_dropped_host_reconnects_under_its_id_and_in_flight_calls_fail(gateway, wait_until, slow_env):
    with host(gateway, "flaky", 1, f"gym:{slow_env}") as server:
        [first] = gateway.hosts()
        key = first.call("make", {"env_name": slow_env, "kwargs": {"delay": 0.5}})["env_key"]
        first.call("reset", {"env_key": key})
        in_flight = first.submit("step", {"env_key": key, "action": 0})
        first.close()  # the socket drops, as when a router restarts
        with pytest.raises(TransportError):
            first.result(in_flight)
        with pytest.raises(TransportError):
            first.call("ping")
        assert wait_until(lambda: [link.host_id for link in gateway.hosts()] == ["flaky"])
        [second] = gateway.hosts()
        assert second is not first and second.call("ping")["ok"]
        assert server.registrations == 2


def test_the_pool_gives_a_returning_host_its_slots_back(gateway, wait_until):
    with host(gateway, "a", 2), host(gateway, "b", 3):
        pool = HostPoolVectorEnv(gateway, "CartPole-v1", min_hosts=2, wait_timeout=5, owns_source=False)
        assert pool.num_envs == 5 and pool.assignment == {"a": [0, 1], "b": [2, 3, 4]}
        pool.reset(seed=3)
        gateway.hosts()[0].close()  # host a's socket drops
        _, reward, terminated, truncated, infos = pool.step(np.zeros(5, dtype=np.int64))
        assert list(infos["alive"]) == [False, False, True, True, True]
        assert truncated[:2].all() and not terminated[:2].any() and (reward[:2] == 0).all()
        assert infos["_final_obs"][:2].all()
        assert wait_until(lambda: len(gateway.hosts()) == 2)
        obs, *_, infos = pool.step(np.zeros(5, dtype=np.int64))  # a rejoins: fresh episode, filler row
        assert pool.assignment["a"] == [0, 1] and not infos["alive"][:2].any()
        _, _, _, truncated, infos = pool.step(np.zeros(5, dtype=np.int64))
        assert infos["alive"].all()
        pool.close()


def test_garbage_unknown_ids_and_oversized_frames_get_typed_errors(gateway):
    with host(gateway, "steady", 2):
        pool = HostPoolVectorEnv(gateway, "CartPole-v1", min_hosts=1, wait_timeout=5, owns_source=False)
        pool.reset(seed=0)

        async def rogue():
            headers = {"Authorization": f"Bearer {KEY}"}
            async with ws_connect(gateway.url, additional_headers=headers, compression=None) as socket:
                replies = []
                for frame in (
                    b"\xc1 garbage",
                    "{oops",
                    json.dumps({"hello": 1}),
                    json.dumps({"register": {"host_id": "", "envs": [], "num_envs": 1}}),
                    msgpack.packb({"id": 5, "pad": b"x" * 5000}),
                    json.dumps({"register": {"host_id": "rogue", "envs": ["Nope-v0"], "num_envs": 1}}),
                    json.dumps({"id": 999, "result": {}}),  # an answer to nothing
                ):
                    await socket.send(frame)
                    reply = await asyncio.wait_for(socket.recv(), 5)
                    replies.append(json.loads(reply) if isinstance(reply, str) else msgpack.unpackb(reply))
                return replies

        replies = asyncio.run(rogue())
        assert [r.get("error", {}).get("code") for r in replies[:4]] == ["malformed_payload"] * 4
        assert replies[4] == {"id": 5, "error": replies[4]["error"]} and replies[4]["error"]["code"] == "payload_too_large"
        assert "registered" in replies[5]
        assert replies[6]["id"] == 999 and replies[6]["error"]["code"] == "malformed_payload"
        for _ in range(5):  # the rogue is gone; the real host still steps
            _, _, _, _, infos = pool.step(np.ones(2, dtype=np.int64))
        assert infos["alive"].all()
        pool.close()


def launch(url: str, host_id: str) -> subprocess.Popen:
    """A real env host process: ``agentgpt launch --transport ws --connect URL``."""
    agentgpt = shutil.which("agentgpt", path=os.path.dirname(sys.executable))
    command = [agentgpt] if agentgpt else [sys.executable, "-m", "agentgpt_core.cli"]
    env = {**os.environ, "AGENTGPT_LOAD_PLUGINS": "ws", "AGENTGPT_HOST_ID": host_id}
    return subprocess.Popen(
        [*command, "launch", "--transport", "ws", "--connect", url, "--env", "gym:CartPole-v1", "--num-envs", "4", "--api-key", KEY],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_three_host_processes_step_as_one_vector_env_and_survive_a_kill(wait_until):
    processes = []
    pool = None
    try:
        pool_gateway = WsGateway("ws://127.0.0.1:0", api_key=KEY, timeout=10.0)
        pool_gateway.start()
        processes = [launch(pool_gateway.url, f"proc-{i}") for i in range(3)]
        pool = HostPoolVectorEnv(pool_gateway, "CartPole-v1", min_hosts=3, wait_timeout=60)
        assert pool.num_envs == 12 and sorted(pool.assignment) == ["proc-0", "proc-1", "proc-2"]
        obs, infos = pool.reset(seed=0)
        assert obs.shape == (12, 4) and infos["alive"].all()
        for _ in range(20):
            obs, reward, terminated, truncated, infos = pool.step(pool.action_space.sample())
            assert infos["alive"].all()
        lost = pool.assignment["proc-1"]
        processes[1].kill()
        processes[1].wait(10)
        assert wait_until(lambda: len(pool_gateway.hosts()) == 2)
        for _ in range(3):
            obs, reward, terminated, truncated, infos = pool.step(pool.action_space.sample())
            assert not infos["alive"][lost].any() and truncated[lost].all()
            assert infos["alive"].sum() == 8
        processes[1] = launch(pool_gateway.url, "proc-1")  # the simulator restarts under its id
        assert wait_until(lambda: len(pool_gateway.hosts()) == 3, timeout=60)
        pool.step(pool.action_space.sample())
        assert pool.assignment["proc-1"] == lost
        _, _, _, _, infos = pool.step(pool.action_space.sample())
        assert infos["alive"].all()
    finally:
        if pool is not None:
            pool.close()
        for process in processes:
            process.kill()
            process.wait(10)


def test_the_vector_env_classmethod_listens_for_hosts():
    with socket.socket() as probe:  # from_hosts starts its own gateway: give it a known free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gateway_url = f"ws://127.0.0.1:{port}"
    server = DialOutServer(EnvService(["gym:CartPole-v1"]), gateway_url, api_key=KEY, num_envs=3, register_timeout=0.1, backoff_base=0.05, backoff_max=0.2)
    server.start()  # the trainer is not up yet: the host keeps trying in the background
    try:
        pool = RemoteVectorEnv.from_hosts(gateway_url, "CartPole-v1", api_key=KEY, wait_timeout=10)
        assert pool.num_envs == 3
        obs, _ = pool.reset(seed=0)
        assert obs.shape == (3, 4)
        pool.close()
    finally:
        server.stop()
