"""Issue 16, item 7: a dial-out host that goes silent (or sends garbage) costs only its own rows.

The gateway's call timeout is 30 s here, as by default. Before per-host deadlines, a host
that registered and then stopped answering held every step of the pool, healthy hosts
included, for those 30 s each time. Now a joining host's make gets at most
``host_deadline_min_s`` of a step, once, and a member's step at most
``max(host_deadline_min_s, host_deadline_factor x its recent step times)``.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time

import numpy as np
import pytest
from websockets.asyncio.client import connect as ws_connect

from agentgpt_core.envs.service import EnvService
from agentgpt_core.remote.pool import HostPoolVectorEnv
from agentgpt_transport_ws import DialOutServer, WsGateway

KEY = "silence-key"
DEADLINE = 1.0


@pytest.fixture
def gateway():
    with WsGateway("ws://127.0.0.1:0", api_key=KEY, timeout=30.0) as gateway:
        yield gateway


class RogueHost:
    """Registers over a raw socket, then never answers ("silent") or answers every request with garbage."""

    def __init__(self, url: str, mode: str, host_id: str = "rogue"):
        self.url, self.mode, self.host_id = url, mode, host_id
        self.stop, self.requests = threading.Event(), 0
        self.registered = threading.Event()
        self.thread = threading.Thread(target=asyncio.run, args=(self._run(),), daemon=True)

    def __enter__(self):
        self.thread.start()
        assert self.registered.wait(5)
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(5)

    async def _run(self):
        async with ws_connect(self.url, additional_headers={"Authorization": f"Bearer {KEY}"}) as socket:
            await socket.send(json.dumps({"register": {"host_id": self.host_id, "envs": ["CartPole-v1"], "num_envs": 2}}))
            await socket.recv()
            self.registered.set()
            while not self.stop.is_set():
                try:
                    await asyncio.wait_for(socket.recv(), 0.05)
                except asyncio.TimeoutError:
                    continue
                self.requests += 1
                if self.mode == "garbage":
                    await socket.send("{this is not json")


class GoesSilent(EnvService):
    """An env host whose steps stop answering once ``silent`` is set (until ``release``)."""

    def __init__(self, *specs):
        super().__init__(list(specs))
        self.silent, self.release = threading.Event(), threading.Event()

    def handle(self, method, params=None, session="default"):
        if method == "step" and self.silent.is_set():
            self.release.wait(60)
        return super().handle(method, params, session)


def steady_host(gateway, host_id="steady") -> DialOutServer:
    return DialOutServer(EnvService(["gym:CartPole-v1"]), gateway.url, api_key=KEY, num_envs=2, host_id=host_id)


def timed_steps(pool, count: int) -> list[float]:
    times = []
    for _ in range(count):
        began = time.monotonic()
        pool.step(np.zeros(pool.num_envs, dtype=np.int64))
        times.append(time.monotonic() - began)
    return times


@pytest.mark.parametrize("mode", ["silent", "garbage"])
def test_a_host_that_registers_and_never_answers_costs_one_deadline_once(gateway, wait_until, mode):
    with steady_host(gateway):
        pool = HostPoolVectorEnv(gateway, "CartPole-v1", 4, min_hosts=1, wait_timeout=5, owns_source=False,
                                 host_deadline_min_s=DEADLINE)  # fmt: skip
        pool.reset(seed=0)
        with RogueHost(gateway.url, mode) as rogue:
            assert wait_until(lambda: len(gateway.hosts()) == 2)
            times = timed_steps(pool, 20)
            assert rogue.requests >= 1  # it was asked to make its envs
        assert sum(times) < DEADLINE + 4.0, times  # not 30 s, and not a deadline per step (that would be 20 s)
        assert max(times[1:]) < DEADLINE, times
        assert pool.assignment == {"steady": [0, 1]}
        _, _, _, _, infos = pool.step(np.zeros(4, dtype=np.int64))
        assert list(infos["alive"]) == [True, True, False, False]
        pool.close()


def test_a_member_that_goes_silent_mid_run_is_dropped_after_its_deadline(gateway, wait_until):
    service = GoesSilent("gym:CartPole-v1")
    mute = DialOutServer(service, gateway.url, api_key=KEY, num_envs=2, host_id="mute", backoff_base=60, backoff_max=60)
    with steady_host(gateway), mute:
        try:
            pool = HostPoolVectorEnv(gateway, "CartPole-v1", min_hosts=2, wait_timeout=5, owns_source=False,
                                     host_deadline_min_s=DEADLINE)  # fmt: skip
            pool.reset(seed=0)
            timed_steps(pool, 5)  # recent step times: milliseconds, so the deadline is the minimum
            service.silent.set()
            times = timed_steps(pool, 20)
            assert DEADLINE * 0.9 <= times[0] < DEADLINE + 2.0, times  # one deadline, once
            assert sum(times[1:]) < 4.0, times  # not a deadline per step (that would be 19 s)
            assert list(pool.assignment) == ["steady"]
            _, _, _, truncated, infos = pool.step(np.zeros(pool.num_envs, dtype=np.int64))
            assert list(infos["alive"]) == [True, True, False, False] and truncated[2:].all()
            pool.close()
        finally:
            service.release.set()
