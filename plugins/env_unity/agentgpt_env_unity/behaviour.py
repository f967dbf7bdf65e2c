"""One behaviour of a running build as a PettingZoo-style ParallelEnv, which the core serves in slots.

Why a ParallelEnv: the core already maps agent-id dicts to stable slots (new ids get new
slots, a slot never changes hands mid-episode, ``agents`` announces growth) and checks
actions per agent (``agentgpt_core/envs/served_agents.py``); the adapter only has to say
what ML-Agents reports, in ids.

- **One env per behaviour.** Each env serves one behaviour of its own build process (the one
  ``?behaviour=NAME`` names; without it, the first by name); the build's other behaviours get ML-Agents' empty (zero) action, exactly what
  ``UnityEnvironment.step`` sends for a behaviour nobody set actions for. To train two
  behaviours, run a host (and a trainer) per behaviour.
- **Agent ids** are Unity's ints. ``possible_agents`` are the agents that asked for a
  decision right after the first reset; agents that appear later take new slots.
- **A step** sets the actions of every agent that asked for a decision (in DecisionSteps
  order) and steps the build until this behaviour reports something (decision period > 1,
  or only other behaviours asking). An agent in TerminalSteps ends: ``truncated`` when
  ML-Agents says ``interrupted`` (max step reached), else ``terminated``. An agent in both
  TerminalSteps and DecisionSteps (ended, and its next episode asks at once) keeps its slot:
  its info carries ``final_observation``/``final_info`` (the terminal transition) and its
  observation is the new episode's first one; on the wire that is ``terminated[s]`` true,
  ``final_observation[s]`` the terminal observation and ``observation[s]`` the new one, in
  one answer. The new episode's first reward (ML-Agents reports 0 there) is not carried.
- **Episodes.** When no agent of the behaviour is left, the core calls ``reset``: the build
  gets ML-Agents' RESET. A seed given to ``reset`` cannot reach a running build (ML-Agents
  sends the seed once, at start: ``unity:...?seed=N``).
"""

from __future__ import annotations

import logging
from typing import Any

import gymnasium as gym
import numpy as np
from mlagents_envs.base_env import DecisionSteps, TerminalSteps
from mlagents_envs.environment import UnityEnvironment

from .launch import UnityStartError, stop
from .spaces import action_space, action_tuple, allowed_actions, observation_keys, observation_space

log = logging.getLogger("agentgpt.unity")
FINAL_OBSERVATION, FINAL_INFO = "final_observation", "final_info"


class UnityBehaviourEnv:
    """A ParallelEnv (duck-typed: ``possible_agents``, ``agents``, per-agent spaces) over one behaviour."""

    metadata = {"name": "unity"}

    def __init__(self, env: UnityEnvironment, behaviour: str | None, *, on_close: Any = None,
                 max_idle_steps: int = 10_000):
        self.unity, self.max_idle_steps, self._on_close = env, max_idle_steps, on_close
        try:
            self.unity.reset()  # sends the queued side-channel settings with ML-Agents' RESET
            self.behaviour = pick_behaviour(list(self.unity.behavior_specs), behaviour)
            self.spec = self.unity.behavior_specs[self.behaviour]
            self._observation_space = observation_space(self.spec)
            self._action_space = action_space(self.spec.action_spec)
            self._keys = observation_keys(self.spec)
            decisions, _ = self._wait_for_decisions()
        except BaseException:
            self.close()
            raise
        self._started: DecisionSteps | None = decisions  # the first reset() answers from this, no second RESET
        self._decisions = decisions
        self.possible_agents = [int(a) for a in decisions.agent_id]
        self.agents = list(self.possible_agents)

    # -- the ParallelEnv API ------------------------------------------------------------

    def observation_space(self, agent: Any) -> gym.Space:
        return self._observation_space

    def action_space(self, agent: Any) -> gym.Space:
        return self._action_space

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        if seed is not None:
            log.debug("unity: reset seed %s ignored; the build takes its seed at start (unity:...?seed=N)", seed)
        if self._started is not None and not options:
            decisions, self._started = self._started, None
        else:
            self._started = None
            self.unity.reset()
            decisions, _ = self._wait_for_decisions()
        self._decisions = decisions
        self.agents = [int(a) for a in decisions.agent_id]
        observations = {agent: self._observation(decisions.obs, row) for row, agent in enumerate(self.agents)}
        infos = {agent: self._decision_info(decisions, row) for row, agent in enumerate(self.agents)}
        return observations, infos

    def step(self, actions: dict[Any, Any]) -> tuple[dict, dict, dict, dict, dict]:
        self._started = None
        asking = [int(a) for a in self._decisions.agent_id]
        if asking:
            self.unity.set_actions(self.behaviour, action_tuple(self.spec.action_spec, [actions[a] for a in asking]))
        for _ in range(self.max_idle_steps):
            self.unity.step()
            decisions, terminals = self.unity.get_steps(self.behaviour)
            if len(decisions) or len(terminals):
                break
        else:
            raise RuntimeError(f"behaviour {self.behaviour!r} reported no agent in {self.max_idle_steps} steps")
        self._decisions = decisions
        return self._report(decisions, terminals)

    def close(self) -> None:
        unity, self.unity = self.unity, None
        if unity is not None:
            stop(unity)
            if self._on_close is not None:
                self._on_close()

    # -- helpers ---------------------------------------------------------------------------

    def _wait_for_decisions(self) -> tuple[DecisionSteps, TerminalSteps]:
        """Step (with empty actions) until the behaviour has an agent asking for a decision."""
        for _ in range(self.max_idle_steps):
            decisions, terminals = self.unity.get_steps(self.behaviour)
            if len(decisions):
                return decisions, terminals
            self.unity.step()
        raise RuntimeError(f"behaviour {self.behaviour!r} had no agent asking for a decision in {self.max_idle_steps} steps")

    def _report(self, decisions: DecisionSteps, terminals: TerminalSteps) -> tuple[dict, dict, dict, dict, dict]:
        observations, rewards, terminated, truncated, infos = {}, {}, {}, {}, {}
        asking = {int(a) for a in decisions.agent_id}
        for row, agent in enumerate(int(a) for a in terminals.agent_id):
            interrupted = bool(terminals.interrupted[row])
            final_info = {"interrupted": interrupted, "group_id": int(terminals.group_id[row]),
                          "group_reward": float(terminals.group_reward[row])}
            rewards[agent], terminated[agent], truncated[agent] = float(terminals.reward[row]), not interrupted, interrupted
            if agent in asking:  # ended, and its next episode asks at once: the terminal transition goes in info
                infos[agent] = {FINAL_OBSERVATION: self._observation(terminals.obs, row), FINAL_INFO: final_info}
            else:
                observations[agent], infos[agent] = self._observation(terminals.obs, row), final_info
        self.agents = [int(a) for a in decisions.agent_id]
        for row, agent in enumerate(self.agents):
            observations[agent] = self._observation(decisions.obs, row)
            infos.setdefault(agent, {}).update(self._decision_info(decisions, row))
            if agent not in rewards:
                rewards[agent], terminated[agent], truncated[agent] = float(decisions.reward[row]), False, False
        return observations, rewards, terminated, truncated, infos

    def _observation(self, obs: list[np.ndarray], row: int) -> dict[str, np.ndarray]:
        return {key: sensor[row] for key, sensor in zip(self._keys, obs)}

    @staticmethod
    def _decision_info(decisions: DecisionSteps, row: int) -> dict[str, Any]:
        info: dict[str, Any] = {"group_id": int(decisions.group_id[row]), "group_reward": float(decisions.group_reward[row])}
        mask = allowed_actions(decisions.action_mask, row)
        if mask is not None:
            info["action_mask"] = mask
        return info


def pick_behaviour(names: list[str], wanted: str | None) -> str:
    """The behaviour ``wanted`` names (exactly, or without its ``?team=N`` suffix); with None, the only
    one, or the first by name when the build has several (``prepare`` says which, on stderr)."""
    listed = ", ".join(repr(n) for n in sorted(names)) or "none"
    if not names:
        raise UnityStartError("the build reported no behaviour: no agent asked for a decision at start")
    if wanted is None:
        return sorted(names)[0]
    matches = [n for n in names if n == wanted] or [n for n in names if n.split("?", 1)[0] == wanted]
    if len(matches) != 1:
        raise UnityStartError(f"behaviour {wanted!r} is not one of the build's behaviours: {listed}")
    return matches[0]
