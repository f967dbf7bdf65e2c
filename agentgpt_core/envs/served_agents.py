"""Multi-agent envs that speak in agent ids (PettingZoo's ParallelEnv API), served in slots.

A ParallelEnv answers dicts keyed by agent id; agents come and go. The wire carries
lists in slot order (``agent_slots.py`` keeps the order), ``None`` where a slot has no
data, and announces the slot list whenever it grows or a slot changes hands. Checking
actions here, against the agents that actually have an observation to act on, is what
lets a bad action dict fail with the agent named while the env keeps running.

Autoreset is per env and SAME_STEP, as for every env on the wire: when the last agent
of an episode ends, the host resets, ``observation`` starts the next episode and the
answer says ``new_episode``. An agent that ends while others play on has its terminal
observation in ``final_observation`` and an empty slot until the episode ends. An env
that ends one agent's episode and lets the same id act again at once (Unity ML-Agents
does) reports the terminal observation in that agent's info as ``final_observation``
(the pre-1.0 Gymnasium convention), and its slot stays live.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Hashable

import gymnasium as gym

from ..protocol.errors import InvalidAction, InvalidArgument
from ..protocol.names import (
    AGENTS,
    FINAL_INFO,
    FINAL_OBSERVATION,
    INFO,
    NEW_EPISODE,
    OBSERVATION,
    REWARD,
    TERMINATED,
    TRUNCATED,
)
from .actions import decode_action
from .arguments import check_seed
from .agent_slots import AgentSlots, wire_id
from .sanitize import to_wire
from .served import describe


def is_parallel_env(env: Any) -> bool:
    """Duck-typed PettingZoo ParallelEnv: dict-speaking, with per-agent space methods."""
    return (
        not isinstance(env, gym.Env)
        and hasattr(env, "possible_agents")
        and callable(getattr(env, "observation_space", None))
        and callable(getattr(env, "action_space", None))
        and callable(getattr(env, "step", None))
    )


class ParallelEnvs(list):
    """``num_envs`` ParallelEnvs that one ``make_vec`` made (what an adapter's make_vec returns)."""

    @classmethod
    def made_by(cls, make: Callable[[], Any], count: int) -> "ParallelEnvs":
        """``count`` envs from ``make()``; if one fails, those already made are closed first."""
        envs = cls()
        try:
            for _ in range(count):
                envs.append(make())
        except BaseException:
            for env in envs:
                env.close()
            raise
        return envs


def shared_spaces(env: Any, name: str) -> tuple[gym.Space, gym.Space]:
    """The one observation and action space every agent of ``env`` has, or InvalidArgument naming who differs."""
    agents = list(env.possible_agents)
    if not agents:
        raise InvalidArgument(f"env {name!r} has no possible_agents; the wire needs them to learn the per-agent spaces")
    first = agents[0]
    observation_space, action_space = env.observation_space(first), env.action_space(first)
    for agent in agents[1:]:
        for kind, space, own in (("observation", observation_space, env.observation_space(agent)),
                                 ("action", action_space, env.action_space(agent))):  # fmt: skip
            if own != space:
                raise InvalidArgument(
                    f"env {name!r}: agent {agent!r} has {kind} space {own}, agent {first!r} has {space}; "
                    "the wire and the shared policy need one per-agent space, so pad them to one "
                    "(e.g. SuperSuit's pad_observations_v0 / pad_action_space_v0)"
                )
    return observation_space, action_space


class AgentEpisodes:
    """One ParallelEnv and its slots: wire lists in, dicts to the env, wire lists out."""

    def __init__(self, env: Any, action_space: gym.Space, *, autoreset: bool = True):
        self.env, self.action_space, self.autoreset = env, action_space, autoreset
        self.slots = AgentSlots(env.possible_agents)
        self._expect: list[Hashable] = []  # agents that have an observation to act on
        self._over = False

    # -- calls -------------------------------------------------------------------

    def reset(self, seed: int | None, options: dict | None) -> dict[str, Any]:
        observation, info = self.env.reset(seed=seed, options=options)
        self._over = False
        return self._start_episode(observation, info, {})

    def step(self, actions: dict[Hashable, Any]) -> dict[str, Any]:
        """Step with actions already checked by ``decode``."""
        observation, reward, terminated, truncated, info = self.env.step(actions)
        observation, info = dict(observation), dict(info)
        acted = list(dict.fromkeys([*reward, *terminated, *truncated, *getattr(self.env, "agents", [])]))
        final_obs, final_info = {}, {}
        for agent in acted:
            if not (terminated.get(agent) or truncated.get(agent)):
                continue
            own = info.get(agent)
            if isinstance(own, dict) and FINAL_OBSERVATION in own:  # ended and acts again at once
                own = dict(own)
                final_obs[agent], final_info[agent] = own.pop(FINAL_OBSERVATION), own.pop(FINAL_INFO, {})
                info[agent] = own
            else:
                final_obs[agent], final_info[agent] = observation.pop(agent, None), info.pop(agent, {})
        result = {
            REWARD: self._slotted(reward, acted, float),
            TERMINATED: self._slotted(terminated, acted, bool),
            TRUNCATED: self._slotted(truncated, acted, bool),
        }
        if final_obs:
            result[FINAL_OBSERVATION] = self._slotted(final_obs, final_obs)
            result[FINAL_INFO] = self._slotted(final_info, final_info, to_wire)
        live = [a for a in getattr(self.env, "agents", observation) if a in observation]
        if not live:  # the episode is over for every agent
            if self.autoreset:
                observation, info = self.env.reset()
                result = self._start_episode(observation, info, result)
                result[NEW_EPISODE] = True
                return result
            self._over = True
        result[OBSERVATION] = self._slotted(observation, live)
        result[INFO] = self._slotted(info, live, to_wire)
        self._expect = live
        return self._announce(result)

    # -- helpers -------------------------------------------------------------------

    def _start_episode(self, observation: dict, info: dict, result: dict) -> dict[str, Any]:
        agents = [a for a in getattr(self.env, "agents", observation) if a in observation]
        self.slots.begin_episode(agents)
        self._expect = agents
        out = {OBSERVATION: self._slotted(observation, agents), INFO: self._slotted(info, agents, to_wire)}
        return self._announce(self._pad({**result, **out}) if result else out)

    def _slotted(self, values: dict, agents: Any, convert: Any = None) -> list[Any]:
        out: list[Any] = [None] * len(self.slots)
        for agent in agents:
            if agent in values:
                slot = self.slots.slot_of(agent)
                out.extend([None] * (slot + 1 - len(out)))
                value = values[agent]
                out[slot] = value if convert is None or value is None else convert(value)
        return out

    def _pad(self, result: dict) -> dict:
        width = len(self.slots)
        for key, value in result.items():
            if isinstance(value, list):
                value.extend([None] * (width - len(value)))
        return result

    def _announce(self, result: dict) -> dict:
        self._pad(result)
        changes = self.slots.take_changes()
        if changes is not None:
            result[AGENTS] = changes
        return result

    def decode(self, action: Any) -> dict[Hashable, Any]:
        """Wire actions (a list in slot order, or an object keyed by agent id) as the env's dict."""
        if self._over:
            raise InvalidArgument("this env's episode is over and autoreset is off: call reset")
        by_slot: dict[int, Any] = {}
        if isinstance(action, dict):
            known = {str(wire_id(agent)): slot for slot, agent in enumerate(self.slots.ids) if agent is not None}
            for key, value in action.items():
                slot = known.get(str(key))
                if slot is None:
                    raise InvalidAction(f"unknown agent {key!r}: this env's agents are {self.slots.wire_ids()}")
                by_slot[slot] = value
        elif isinstance(action, (list, tuple)):
            if len(action) != len(self.slots):
                raise InvalidAction(
                    f"a multi-agent env needs a list of {len(self.slots)} actions, one per slot "
                    f"(agents {self.slots.wire_ids()}; null for a slot without an agent to act)"
                )
            by_slot = dict(enumerate(action))
        else:
            raise InvalidAction("a multi-agent action is a list in slot order or an object keyed by agent id")
        expect = {self.slots.get(agent): agent for agent in self._expect}
        decoded = {}
        for slot, value in by_slot.items():
            agent = self.slots.ids[slot]
            if value is None:
                continue
            if slot not in expect:
                raise InvalidAction(
                    f"agent {wire_id(agent)!r} (slot {slot}) has no observation to act on "
                    "(it ended, or is not in this episode): send null for it"
                )
            try:
                decoded[agent] = decode_action(self.action_space, value)
            except InvalidAction as exc:
                raise InvalidAction(f"agent {wire_id(agent)!r} (slot {slot}): {exc.message}") from exc
        missing = [slot for slot, agent in expect.items() if agent not in decoded]
        if missing:
            names = ", ".join(f"{wire_id(expect[s])!r} (slot {s})" for s in sorted(missing))
            raise InvalidAction(f"no action for live agent {names}: every agent with an observation must act")
        return decoded


class ServedAgents:
    """A made multi-agent env (one ParallelEnv, or ``num_envs`` of them) behind one ``env_key``."""

    def __init__(self, key: str, name: str, env: Any, *, seed: int | None = None, autoreset: bool = True):
        self.key, self.name = key, name
        self.is_vector = isinstance(env, ParallelEnvs)
        self.envs = list(env) if self.is_vector else [env]
        self.num_envs = len(self.envs)
        self.autoreset = autoreset
        self.lock = threading.Lock()
        self.steps = 0
        self.last_used = time.monotonic()
        self._pending_seed = seed
        try:
            self.observation_space, self.action_space = shared_spaces(self.envs[0], name)
        except BaseException:
            self.close()
            raise
        self.episodes = [AgentEpisodes(e, self.action_space, autoreset=autoreset) for e in self.envs]
        self.agents = self.episodes[0].slots.wire_ids()

    def describe(self) -> dict[str, Any]:
        return describe(self)

    def reset(self, seed: Any = None, options: dict | None = None) -> dict[str, Any]:
        self.last_used = time.monotonic()
        if seed is None:
            seed, self._pending_seed = self._pending_seed, None
        else:
            self._pending_seed = None
        seeds = _seeds(seed, self.num_envs)
        if options is not None and not isinstance(options, dict):
            raise InvalidArgument("options must be an object")
        return self._join([e.reset(s, options) for e, s in zip(self.episodes, seeds)])

    def step(self, action: Any) -> dict[str, Any]:
        self.last_used = time.monotonic()
        if self.is_vector and (not isinstance(action, (list, tuple)) or len(action) != self.num_envs):
            raise InvalidAction(f"a multi-agent vector env needs a list of {self.num_envs} actions, one per env")
        actions = action if self.is_vector else [action]
        decoded = [e.decode(a) for e, a in zip(self.episodes, actions)]  # all checked before any env steps
        results = [e.step(d) for e, d in zip(self.episodes, decoded)]
        self.steps += sum(sum(r is not None for r in result[REWARD]) for result in results)
        return self._join(results)

    def close(self) -> None:
        for env in self.envs:
            env.close()

    def _join(self, results: list[dict]) -> dict[str, Any]:
        """One env's answer as is; a vector's as one list of per-env answers per field."""
        if not self.is_vector:
            return results[0]
        keys = dict.fromkeys(k for result in results for k in result)
        return {key: [result.get(key) for result in results] for key in keys}


def _seeds(seed: Any, count: int) -> list[int | None]:
    seed = check_seed(seed, count)  # the same seed rule as single-agent envs (arguments.py)
    if seed is None:
        return [None] * count
    if isinstance(seed, bool) or not isinstance(seed, (int, list)):
        raise InvalidArgument(f"seed must be an integer (or a list of integers for a vector env), got {seed!r}")
    if isinstance(seed, int):
        return [seed + i for i in range(count)]
    if len(seed) != count or not all(s is None or (isinstance(s, int) and not isinstance(s, bool)) for s in seed):
        raise InvalidArgument(f"seed must be a list of {count} integers")
    return list(seed)


def serve(key: str, name: str, env: Any, *, seed: int | None = None, autoreset: bool = True) -> Any:
    """The served form of what an adapter made: ServedAgents for ParallelEnvs, else ServedEnv."""
    if isinstance(env, ParallelEnvs) or is_parallel_env(env):
        return ServedAgents(key, name, env, seed=seed, autoreset=autoreset)
    from .served import ServedEnv

    return ServedEnv(key, name, env, seed=seed, autoreset=autoreset)
