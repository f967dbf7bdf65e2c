"""HostPoolVectorEnv: many hosts as one vector env, with the slot semantics of remote/pool.py.

These run over the in-memory transport (no sockets): the pool is transport-agnostic,
and what it promises is the same whichever transport carries it. The WebSocket
plugin's tests run the same pool over real dial-out processes.
"""

from __future__ import annotations

import time

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

from agentgpt_core.builtins.transport_memory import MemoryTransport
from agentgpt_core.envs.service import EnvService
from agentgpt_core.protocol.errors import InvalidAction, TransportError
from agentgpt_core.remote.pool import HostPoolVectorEnv
from agentgpt_core.remote.url_hosts import UrlHosts


@pytest.fixture
def hosts():
    """Start memory hosts by name: ``hosts("a", "b")``; all stopped afterwards."""
    started = []

    def start(*names: str, env: str = "gym:CartPole-v1"):
        servers = [MemoryTransport().server(EnvService([env]), name=name) for name in names]
        for server in servers:
            server.start()
        started.extend(servers)
        return servers

    yield start
    for server in started:
        server.stop()


def wait_until(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)
    return predicate()


def test_steps_match_a_local_same_step_vector_env(hosts):
    hosts("m1", "m2")
    pool = HostPoolVectorEnv.from_urls(["memory://m1", "memory://m2"], "CartPole-v1", 2)
    local = gym.make_vec("CartPole-v1", 4, vectorization_mode="sync", vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP})
    assert pool.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    assert pool.single_observation_space == local.single_observation_space
    obs, infos = pool.reset(seed=7)
    expected, _ = local.reset(seed=7)
    np.testing.assert_array_equal(obs, expected)
    assert infos["alive"].all()
    rng = np.random.default_rng(0)
    finals = 0
    for _ in range(60):
        actions = rng.integers(0, 2, size=4)
        got, want = pool.step(actions), local.step(actions)
        for a, b in zip(got[:4], want[:4]):
            np.testing.assert_array_equal(a, b)
        if "final_obs" in want[4]:
            finals += 1
            np.testing.assert_array_equal(got[4]["_final_obs"], want[4]["_final_obs"])
            for i in np.flatnonzero(want[4]["_final_obs"]):
                np.testing.assert_array_equal(got[4]["final_obs"][i], want[4]["final_obs"][i])
    assert finals > 0
    pool.close()
    local.close()


def test_a_lost_host_truncates_its_slots_and_is_used_again_when_back(hosts):
    _, second = hosts("h1", "h2")
    pool = HostPoolVectorEnv.from_urls(["memory://h1", "memory://h2"], "CartPole-v1", 2, retry_interval=0.05)
    before, _ = pool.reset(seed=0)
    second.stop()
    obs, reward, terminated, truncated, infos = pool.step(np.zeros(4, dtype=np.int64))
    assert list(infos["alive"]) == [True, True, False, False]
    assert list(truncated[2:]) == [True, True] and not terminated[2:].any() and (reward[2:] == 0).all()
    np.testing.assert_array_equal(np.stack(infos["final_obs"][2:]), before[2:])  # the last obs the trainer saw
    np.testing.assert_array_equal(obs[2:], before[2:])
    assert pool.assignment == {"memory://h1": [0, 1]}
    obs, _, _, truncated, infos = pool.step(np.zeros(4, dtype=np.int64))
    assert truncated[2:].all() and not infos["alive"][2:].any()
    second.start()
    assert wait_until(lambda: len(pool._source.hosts()) == 2)
    obs, _, _, truncated, infos = pool.step(np.zeros(4, dtype=np.int64))
    assert pool.assignment["memory://h2"] == [2, 3]
    assert truncated[2:].all() and not infos["alive"][2:].any()  # the new episode's first observation
    assert np.abs(obs[2:]).max() <= 0.05  # CartPole starts near zero
    _, _, _, _, infos = pool.step(np.zeros(4, dtype=np.int64))
    assert infos["alive"].all()
    pool.close()


def test_a_spare_host_takes_over_slots_a_host_left(hosts):
    first, _ = hosts("s1", "s2")
    source = UrlHosts(["memory://s1", "memory://s2"], 2, retry_interval=60)
    source.start()
    pool = HostPoolVectorEnv(source, "CartPole-v1", 2, min_hosts=2)
    assert pool.assignment == {"memory://s1": [0, 1]}
    pool.reset(seed=0)
    first.stop()
    pool.step(np.zeros(2, dtype=np.int64))  # s1 lost here
    _, _, _, _, infos = pool.step(np.zeros(2, dtype=np.int64))  # s2 joins here
    assert pool.assignment == {"memory://s2": [0, 1]} and not infos["alive"].any()
    _, _, _, _, infos = pool.step(np.zeros(2, dtype=np.int64))
    assert infos["alive"].all()
    pool.close()


def test_a_host_with_other_spaces_is_refused(hosts):
    hosts("good")
    hosts("odd", env="CartPole-v1=gym:Acrobot-v1")
    pool = HostPoolVectorEnv.from_urls(["memory://good", "memory://odd"], "CartPole-v1", 2)
    assert list(pool.assignment) == ["memory://good"]
    obs, infos = pool.reset(seed=0)
    assert list(infos["alive"]) == [True, True, False, False] and not obs[2:].any()
    pool.close()


def test_a_bad_action_is_the_callers_error_not_a_lost_host(hosts):
    hosts("x1", "x2")
    pool = HostPoolVectorEnv.from_urls(["memory://x1", "memory://x2"], "CartPole-v1", 1)
    pool.reset()
    with pytest.raises(InvalidAction):
        pool.step(np.array([0, 7]))
    assert len(pool.assignment) == 2
    pool.close()


def test_too_few_hosts_fail_within_the_wait_timeout(hosts):
    hosts("only")
    started = time.monotonic()
    with pytest.raises(TransportError, match="1 of 2"):
        HostPoolVectorEnv.from_urls(["memory://only", "memory://missing"], "CartPole-v1", 1, wait_timeout=0.3)
    assert time.monotonic() - started < 3
