"""RemoteEnv and RemoteVectorEnv over the in-memory transport: real Gymnasium envs."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from agentgpt_core import RemoteEnv, RemoteVectorEnv
from agentgpt_core.envs import EnvService
from agentgpt_core.plugins import get_plugin_manager
from agentgpt_core.protocol.errors import EnvNotAllowed, Unauthorized


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1"])
@pytest.mark.parametrize("codec", ["json", "msgpack"])
def test_remote_env_passes_gymnasium_env_checker(memory_host, env_id, codec):
    url, _ = memory_host
    env = RemoteEnv(url, env_id, codec=codec)
    check_env(env, skip_render_check=True)
    env.close()


def test_remote_env_returns_the_terminal_observation_then_the_hosts_reset(memory_host):
    url, service = memory_host
    env = RemoteEnv(url, "CartPole-v1")
    env.reset(seed=3)
    terminated = truncated = False
    while not (terminated or truncated):
        obs, _, terminated, truncated, _ = env.step(0)
    assert abs(obs[2]) > 0.2 or abs(obs[0]) > 2.4  # the terminal state, not a fresh start
    calls = service.open_envs[0].steps
    fresh, _ = env.reset()
    assert np.all(np.abs(fresh) <= 0.05) and service.open_envs[0].steps == calls
    env.close()
    assert service.open_envs == []


def test_remote_vector_env_is_same_step(memory_host):
    url, _ = memory_host
    envs = RemoteVectorEnv(url, "CartPole-v1", 4, seed=0)
    obs, _ = envs.reset()
    assert obs.shape == (4, 4) and obs.dtype == np.float32
    finished = 0
    for _ in range(100):
        obs, rewards, terminated, truncated, infos = envs.step(np.zeros(4, dtype=np.int64))
        if "final_obs" in infos:
            done = terminated | truncated
            assert np.array_equal(infos["_final_obs"], done)
            for i in np.flatnonzero(done):
                assert np.all(np.abs(obs[i]) <= 0.05) and abs(infos["final_obs"][i][2]) > 0.2
            finished += done.sum()
    assert finished >= 4
    envs.close()


def test_api_key_and_allowed_envs_are_enforced():
    service = EnvService(["gym:CartPole-v1"])
    with get_plugin_manager().get("transports", "memory").server(service, api_key="k") as server:
        with pytest.raises(Unauthorized):
            RemoteEnv(server.url, "CartPole-v1", api_key="wrong")
        with pytest.raises(EnvNotAllowed):
            RemoteEnv(server.url, "MountainCar-v0", api_key="k")
        RemoteEnv(server.url, "CartPole-v1", api_key="k").close()


def test_the_local_host_plugin_runs_a_real_host_process():
    from agentgpt_core.plugins import PluginManager

    with PluginManager(load_entry_points=True).get("hosts", "local") as hosts:
        url = hosts.launch(["gym:CartPole-v1"])
        assert url.startswith("http://127.0.0.1:")
        env = RemoteEnv(url, "CartPole-v1")
        env.reset(seed=0)
        assert env.step(1)[0].shape == (4,)
        env.close()
        process = hosts.processes[0].process
    assert process.poll() is not None  # terminated with the context
