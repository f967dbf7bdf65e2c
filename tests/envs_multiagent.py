"""PettingZoo ParallelEnvs for tests: agents that die at different times, agents that spawn, CartPoles.

Served through ``ALIAS=pettingzoo:tests.envs_multiagent:FACTORY`` (run from the checkout root).
"""

from __future__ import annotations

import functools

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv


class SpawnAndDie(ParallelEnv):
    """Agents ``a`` and ``b`` at reset; ``a`` dies at step 2, ``b`` at step 4; ``c1`` spawns at step 2
    (the step ``a`` dies), integer id 7 at step 3; the episode ends (truncation) at step 5.
    A newborn gets reward 0 and False flags in the step it appears, as PettingZoo's test expects.

    The observation is ``[t, own number]``; the reward is the action taken.
    """

    metadata = {"name": "spawn_and_die_v0", "render_modes": []}

    def __init__(self, length: int = 5):
        self.length = length
        self.possible_agents = ["a", "b"]
        self.agents: list = []
        self._observation_space = spaces.Box(-100, 100, (2,), np.float32)
        self._action_space = spaces.Discrete(3)
        self.t = 0

    def observation_space(self, agent):
        return self._observation_space

    def action_space(self, agent):
        return self._action_space

    def _obs(self, agent):
        number = {"a": 1, "b": 2, "c1": 3, 7: 4}[agent]
        return np.array([self.t, number], np.float32)

    def reset(self, seed=None, options=None):
        self.t = 0
        self.agents = ["a", "b"]
        return {a: self._obs(a) for a in self.agents}, {a: {"born": 0} for a in self.agents}

    def step(self, actions):
        assert set(actions) == set(self.agents), (actions, self.agents)
        self.t += 1
        rewards = {a: float(actions[a]) for a in self.agents}
        terminated = {a: (a == "a" and self.t == 2) or (a == "b" and self.t == 4) for a in self.agents}
        truncated = {a: self.t >= self.length for a in self.agents}
        observations = {a: self._obs(a) for a in self.agents}
        infos = {a: {} for a in self.agents}
        self.agents = [a for a in self.agents if not (terminated[a] or truncated[a])]
        born = {2: "c1", 3: 7}.get(self.t)
        if born is not None and self.t < self.length:
            self.agents.append(born)
            if born not in self.possible_agents:  # an env that learns its agents as they come
                self.possible_agents.append(born)
            observations[born] = self._obs(born)
            rewards[born], terminated[born], truncated[born], infos[born] = 0.0, False, False, {"born": self.t}
        return observations, rewards, terminated, truncated, infos


class MultiCartPole(ParallelEnv):
    """``num_agents`` agents, each balancing its own CartPole; an agent is done when its pole falls,
    the episode when every agent is done (so agents finish at different times).

    With ``respawn``, a fallen pole is reset at once and its agent acts again in the same
    step (Unity-style; the terminal observation goes in its info), so all agents always act."""

    metadata = {"name": "multi_cartpole_v0", "render_modes": []}

    def __init__(self, num_agents: int = 4, max_steps: int = 200, respawn: bool = False):
        self.respawn = respawn
        self.possible_agents = [f"pole_{i}" for i in range(num_agents)]
        self.agents: list = []
        self.max_steps = max_steps
        self._poles = {a: gym.make("CartPole-v1", max_episode_steps=max_steps) for a in self.possible_agents}

    @functools.lru_cache(maxsize=None)
    def observation_space(self, agent):
        return self._poles[self.possible_agents[0]].observation_space

    @functools.lru_cache(maxsize=None)
    def action_space(self, agent):
        return self._poles[self.possible_agents[0]].action_space

    def reset(self, seed=None, options=None):
        self.agents = list(self.possible_agents)
        observations = {}
        for i, agent in enumerate(self.agents):
            observations[agent], _ = self._poles[agent].reset(seed=None if seed is None else seed + i)
        return observations, {a: {} for a in self.agents}

    def step(self, actions):
        out = [{}, {}, {}, {}, {}]
        for agent in self.agents:
            obs, reward, terminated, truncated, info = self._poles[agent].step(int(actions[agent]))
            if self.respawn and (terminated or truncated):
                info = {"final_observation": obs}
                obs, _ = self._poles[agent].reset()
            for store, value in zip(out, (obs, float(reward), bool(terminated), bool(truncated), info)):
                store[agent] = value
        if self.respawn:
            return tuple(out)
        self.agents = [a for a in self.agents if not (out[2][a] or out[3][a])]
        return tuple(out)

    def close(self):
        for pole in self._poles.values():
            pole.close()


class Respawning(SpawnAndDie):
    """Unity-style: agent ``a`` ends its own episode every 2 steps and must act again at once (same id);
    its terminal observation comes in its info as ``final_observation``. ``b`` plays on."""

    def step(self, actions):
        self.t += 1
        ended = self.t % 2 == 0
        observations = {a: self._obs(a) for a in self.agents}
        infos = {a: {} for a in self.agents}
        if ended:
            infos["a"] = {"final_observation": observations["a"], "final_info": {"lap": self.t}}
            observations["a"] = np.array([0, 1], np.float32)  # the first observation of its next episode
        rewards = {a: float(actions[a]) for a in self.agents}
        return observations, rewards, {"a": ended, "b": False}, {"a": False, "b": False}, infos


class Mixed(SpawnAndDie):
    """Agents with different observation spaces: refused at make."""

    def observation_space(self, agent):
        return spaces.Box(-1, 1, (2 if agent == "a" else 3,), np.float32)


def spawn_and_die():
    return SpawnAndDie()


def multi_cartpole(num_agents: int = 4, max_steps: int = 200, respawn: bool = False):
    return MultiCartPole(num_agents, max_steps, respawn)


def respawning():
    return Respawning()


def mixed_spaces():
    return Mixed()


def aec_cartpoles():
    """The same env as an AEC env (the adapter turns it back through aec_to_parallel)."""
    from pettingzoo.utils.conversions import parallel_to_aec

    return parallel_to_aec(MultiCartPole(2, 50))
