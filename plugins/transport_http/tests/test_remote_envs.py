"""RemoteEnv / RemoteVectorEnv over a real HTTP server: Gymnasium's checker, SAME_STEP autoreset, SB3."""

from __future__ import annotations

from contextlib import closing

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode

from agentgpt_core.remote import RemoteEnv, RemoteVectorEnv

from .conftest import KEY

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize("codec", ["msgpack", "json"])
@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1"])
def test_remote_env_passes_gymnasium_env_checker(url, env_id, codec):
    with RemoteEnv(url, env_id, api_key=KEY, codec=codec) as env:
        check_env(env, skip_render_check=True)
        assert env.observation_space == gym.make(env_id).observation_space


@pytest.mark.parametrize("codec", ["msgpack", "json"])
def test_remote_env_matches_a_local_env_step_for_step(url, codec):
    local = gym.make("CartPole-v1")
    with RemoteEnv(url, "CartPole-v1", api_key=KEY, codec=codec) as remote:
        obs_local, _ = local.reset(seed=3)
        obs_remote, _ = remote.reset(seed=3)
        episodes = 0
        for _ in range(300):
            np.testing.assert_allclose(obs_remote, obs_local)
            assert obs_remote.dtype == np.float32
            step_local, step_remote = local.step(1), remote.step(1)
            obs_local, obs_remote = step_local[0], step_remote[0]
            assert step_local[1:4] == step_remote[1:4]
            if step_local[2] or step_local[3]:
                np.testing.assert_allclose(obs_remote, obs_local)  # the terminal observation, as Gymnasium gives it
                episodes += 1
                obs_local, _ = local.reset(seed=episodes)
                obs_remote, _ = remote.reset(seed=episodes)
        assert episodes > 2


@pytest.mark.parametrize("codec", ["msgpack", "json"])
def test_remote_vector_env_has_same_step_final_obs(url, codec):
    num_envs = 8
    local = gym.make_vec("CartPole-v1", num_envs, vectorization_mode="sync", vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP})
    with closing(RemoteVectorEnv(url, "CartPole-v1", num_envs, api_key=KEY, codec=codec)) as remote:
        assert remote.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
        assert remote.observation_space == local.observation_space and remote.action_space == local.action_space
        obs_local, _ = local.reset(seed=7)
        obs_remote, _ = remote.reset(seed=7)
        np.testing.assert_allclose(obs_remote, obs_local)
        rng = np.random.default_rng(0)
        finished = 0
        for _ in range(120):
            actions = rng.integers(0, 2, num_envs)
            obs_local, rew_local, term_local, trunc_local, info_local = local.step(actions)
            obs_remote, rew_remote, term_remote, trunc_remote, info_remote = remote.step(actions)
            np.testing.assert_allclose(obs_remote, obs_local)
            np.testing.assert_array_equal(rew_remote, rew_local)
            np.testing.assert_array_equal(term_remote, term_local)
            np.testing.assert_array_equal(trunc_remote, trunc_local)
            done = term_local | trunc_local
            if done.any():
                finished += int(done.sum())
                np.testing.assert_array_equal(info_remote["_final_obs"], info_local["_final_obs"])
                for i in np.flatnonzero(done):
                    np.testing.assert_allclose(info_remote["final_obs"][i], info_local["final_obs"][i])
                    assert not np.allclose(info_remote["final_obs"][i], obs_remote[i])  # terminal obs, then the new episode's first
            else:
                assert "final_obs" not in info_remote
        assert finished > 0


def test_stable_baselines3_ppo_trains_on_remote_env(url, service):
    from stable_baselines3 import PPO

    with RemoteEnv(url, "CartPole-v1", api_key=KEY) as env:
        PPO("MlpPolicy", env, n_steps=64, batch_size=64, seed=0, device="cpu").learn(256)
        [served] = [e for e in service.open_envs if e.key == env.env_key]
        assert served.steps >= 256
