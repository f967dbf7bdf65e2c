"""Multi-agent envs end to end: PettingZoo hosted, RemoteParallelEnv over every transport,
agents that die and spawn with consistent slots, and typed errors that name the agent."""

from __future__ import annotations

import warnings
from contextlib import closing

import numpy as np
import pytest

pytest.importorskip("pettingzoo")
from pettingzoo.test import parallel_api_test  # noqa: E402

from agentgpt_core import RemoteParallelEnv  # noqa: E402
from agentgpt_core.envs.service import EnvService  # noqa: E402
from agentgpt_core.plugins import get_plugin_manager  # noqa: E402
from agentgpt_core.protocol import errors  # noqa: E402

pytestmark = pytest.mark.timeout(120)
M = "tests.envs_multiagent"
SPECS = [
    f"spawn=pettingzoo:{M}:spawn_and_die",
    f"poles=pettingzoo:{M}:multi_cartpole",
    f"aec=pettingzoo:{M}:aec_cartpoles",
    f"mixed=pettingzoo:{M}:mixed_spaces",
    f"respawn=pettingzoo:{M}:respawning",
]


@pytest.fixture(params=["memory", "http", "ws"])
def url(request):
    plugin = get_plugin_manager().get("transports", request.param)
    service = EnvService(SPECS)
    with plugin.server(service, port=0) as server:
        yield server.url
    service.close()


def test_the_test_envs_pass_parallel_api_test_in_process():
    from tests import envs_multiagent

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        parallel_api_test(envs_multiagent.spawn_and_die(), num_cycles=300)
        parallel_api_test(envs_multiagent.multi_cartpole(), num_cycles=300)


@pytest.mark.parametrize("env_name", ["poles", "spawn", "aec"])
def test_remote_parallel_env_passes_parallel_api_test(url, env_name):
    with RemoteParallelEnv(url, env_name) as env, warnings.catch_warnings():
        warnings.simplefilter("error")  # a key-set warning from the test is a failure here
        parallel_api_test(env, num_cycles=300)
        assert env.observation_space(env.possible_agents[0]).shape


@pytest.mark.parametrize("codec", ["msgpack", "json"])
def test_agents_that_die_and_spawn_keep_their_slots_and_ids(url, codec):
    with RemoteParallelEnv(url, "spawn", codec=codec) as env:
        for episode in range(2):
            obs, infos = env.reset(seed=episode)
            assert env.agents == ["a", "b"] and infos["a"] == {"born": 0}
            obs, rew, term, trunc, info = env.step({"a": 1, "b": 2})
            assert rew == {"a": 1.0, "b": 2.0} and env.agents == ["a", "b"]
            obs, rew, term, trunc, info = env.step({"a": 1, "b": 2})  # a dies, c1 spawns
            assert term["a"] and obs["a"].tolist() == [2.0, 1.0] and obs["c1"].tolist() == [2.0, 3.0]
            assert env.agents == ["b", "c1"] and info["c1"] == {"born": 2}
            obs, rew, *_ = env.step({"b": 0, "c1": 1})  # integer id 7 spawns
            assert env.agents == ["b", "c1", 7] and obs[7].tolist() == [3.0, 4.0] and rew[7] == 0.0
            assert env.slots == ["a", "b", "c1", 7]  # appended, in order of first appearance
            obs, rew, term, *_ = env.step({"b": 0, "c1": 1, 7: 2})  # b dies
            assert term == {"b": True, "c1": False, 7: False} and env.agents == ["c1", 7]
            obs, rew, term, trunc, _ = env.step({"c1": 1, 7: 2})  # the episode ends
            assert trunc == {"c1": True, 7: True} and env.agents == [] and rew == {"c1": 1.0, 7: 2.0}
        assert env.possible_agents == ["a", "b", "c1", 7]


def test_wire_has_none_for_absent_agents_and_announces_new_slots():
    svc = EnvService(SPECS)
    assert svc.handle("make", {"env_name": "spawn"})["agents"] == ["a", "b"]
    svc.handle("reset")
    svc.handle("step", {"action": [0, 0]})
    step = svc.handle("step", {"action": [0, 0]})  # a ends, c1 spawns in the same step
    assert step["agents"] == ["a", "b", "c1"]
    assert step["terminated"] == [True, False, False] and step["reward"] == [0.0, 0.0, 0.0]
    assert step["observation"][0] is None and step["final_observation"][0].tolist() == [2.0, 1.0]
    assert step["final_observation"][1:] == [None, None]
    step = svc.handle("step", {"action": {"b": 0, "c1": 0}})  # by agent id; integer id 7 spawns
    assert step["agents"] == ["a", "b", "c1", 7] and step["observation"][0] is None
    assert "agents" not in svc.handle("step", {"action": [None, 0, 0, 0]})  # announced only on change


@pytest.mark.parametrize(
    "action, agent",
    [({"b": 0, "ghost": 1}, "ghost"), ([1, 0, None], "'a' (slot 0)"), ([None, None, 1], "'b' (slot 1)"), ([None, 9, 1], "'b' (slot 1)")],
)
def test_bad_actions_are_typed_errors_naming_the_agent_and_the_env_keeps_running(url, action, agent):
    from agentgpt_core.remote import connect

    with connect(url) as client:
        key = client.call("make", {"env_name": "spawn"})["env_key"]
        client.call("reset", {"env_key": key})
        client.call("step", {"env_key": key, "action": [0, 0]})
        client.call("step", {"env_key": key, "action": [0, 0]})  # a is dead now, c1 alive
        with pytest.raises(errors.InvalidAction, match=agent.replace("(", r"\(").replace(")", r"\)")):
            client.call("step", {"env_key": key, "action": action})
        result = client.call("step", {"env_key": key, "action": [None, 1, 1]})
        assert result["reward"] == [None, 1.0, 1.0, 0.0] and result["agents"] == ["a", "b", "c1", 7]


def test_an_unknown_agent_in_a_client_dict_is_refused_before_the_wire(url):
    with RemoteParallelEnv(url, "spawn") as env:
        env.reset()
        with pytest.raises(errors.InvalidAction, match="ghost"):
            env.step({"a": 0, "b": 0, "ghost": 1})
        obs, *_ = env.step({"a": 0, "b": 0})
        assert set(obs) == {"a", "b"}


def test_heterogeneous_spaces_are_refused_with_the_agent_named():
    svc = EnvService(SPECS)
    with pytest.raises(errors.InvalidArgument, match="agent 'b' has observation space"):
        svc.handle("make", {"env_name": "mixed"})
    assert svc.handle("make", {"env_name": "poles"})["agents"] == [f"pole_{i}" for i in range(4)]


def test_vector_rows_stay_with_their_slots_and_dead_agents_are_not_alive(url):
    from agentgpt_core import RemoteVectorEnv

    with RemoteVectorEnv(url, "spawn", 2, agent_rows=4) as envs:
        assert envs.num_envs == 8
        obs, infos = envs.reset(seed=0)
        assert infos["alive"].tolist() == [True, True, False, False] * 2
        seen = []
        for _ in range(6):
            obs, reward, terminated, truncated, infos = envs.step(np.ones(8, dtype=np.int64))
            alive = infos["alive"]
            # each row always shows its own agent's number (slot order a, b, c1, 7)
            assert all(obs[row, 1] == row % 4 + 1 for row in np.flatnonzero(alive))
            seen.append((alive[:4].astype(int).tolist(), terminated[:4].astype(int).tolist(), truncated[:4].astype(int).tolist()))
        assert seen == [
            ([1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]),
            ([0, 1, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0]),  # a dies, c1 spawns in the same step
            ([0, 1, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0]),  # 7 spawns
            ([0, 0, 1, 1], [0, 1, 0, 0], [0, 0, 0, 0]),  # b dies
            ([1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 1, 1]),  # truncated; the env reset (same step)
            ([1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]),
        ]
        assert infos["agent_id"][:2].tolist() == ["a", "b"]


def test_a_vector_env_with_more_slots_than_rows_says_how_to_fix_it(url):
    from agentgpt_core import RemoteVectorEnv

    with RemoteVectorEnv(url, "spawn", 1) as envs:  # rows for a and b only
        envs.reset()
        envs.step(np.ones(2, dtype=np.int64))
        with pytest.raises(RuntimeError, match="agent_rows"):
            envs.step(np.ones(2, dtype=np.int64))


def test_a_host_pool_of_multi_agent_hosts_gives_every_env_its_block_of_rows():
    from agentgpt_core.builtins.transport_memory import MemoryTransport
    from agentgpt_core.remote.pool import HostPoolVectorEnv

    servers = [MemoryTransport().server(EnvService(SPECS), name=name) for name in ("ma1", "ma2")]
    for server in servers:
        server.start()
    try:
        pool = HostPoolVectorEnv.from_urls(["memory://ma1", "memory://ma2"], "spawn", 1, agent_rows=4)
        with closing(pool):
            assert pool.num_envs == 8 and pool.agent_rows is not None
            obs, infos = pool.reset(seed=0)
            assert infos["alive"].tolist() == [True, True, False, False] * 2
            for _ in range(3):
                obs, reward, terminated, truncated, infos = pool.step(np.ones(8, dtype=np.int64))
            assert infos["alive"].tolist() == [False, True, True, True] * 2
            assert infos["agent_id"].tolist() == [None, "b", "c1", 7] * 2
            servers[1].stop()  # the second host leaves: its live rows end, truncated
            obs, reward, terminated, truncated, infos = pool.step(np.ones(8, dtype=np.int64))
            assert infos["alive"].tolist() == [False, False, True, True] + [False] * 4
            assert truncated[4:].tolist() == [False, True, True, True]
    finally:
        for server in servers:
            server.stop()


def test_an_agent_that_ends_and_must_act_again_in_the_same_step_keeps_its_slot_live():
    svc = EnvService(SPECS)
    svc.handle("make", {"env_name": "respawn"})
    svc.handle("reset")
    svc.handle("step", {"action": [1, 1]})
    step = svc.handle("step", {"action": [1, 1]})
    assert step["terminated"] == [True, False] and "new_episode" not in step
    assert step["final_observation"][0].tolist() == [2.0, 1.0] and step["final_info"][0] == {"lap": 2}
    assert step["observation"][0].tolist() == [0.0, 1.0]  # its next episode's first observation: it acts again
    assert svc.handle("step", {"action": [1, 1]})["reward"] == [1.0, 1.0]
