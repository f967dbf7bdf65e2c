"""The ``pettingzoo:`` env adapter: PettingZoo envs, hosted as multi-agent envs in slots.

``pettingzoo:mpe2.simple_spread_v3`` calls the module's ``parallel_env``;
``ALIAS=pettingzoo:package.module:factory`` calls an operator's factory. A factory
may return a ParallelEnv or an AECEnv; AEC envs go through PettingZoo's own
``aec_to_parallel`` so the host sees one API, except turn-taking games (PettingZoo's
classic envs say ``is_parallelizable: False``), which become ``TurnTaking`` envs.
An agent whose observation is a Dict with an ``action_mask`` key (the classic games)
also gets that mask in its info (``MaskInInfo``), where the trainers read it (masks.py);
the observation stays as it is. PettingZoo is imported only when a pettingzoo env is
made, so a host without the ``pettingzoo`` extra stays light. Targets come from the
operator's command line only, never from a remote caller.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..envs.served_agents import ParallelEnvs
from ..hookspecs import hookimpl
from ..kinds import EnvAdapter
from ..masks import MASK_INFO_KEY

INSTALL_HINT = "the pettingzoo: adapter needs PettingZoo: pip install 'agentgpt-core[pettingzoo]'"


class PettingZooAdapter(EnvAdapter):
    """``pettingzoo:package.module`` (its ``parallel_env``) or ``pettingzoo:package.module:factory``."""

    name = "pettingzoo"

    def make(self, target: str, **kwargs: Any) -> Any:
        try:
            from pettingzoo import AECEnv, ParallelEnv
            from pettingzoo.utils.conversions import aec_to_parallel
        except ImportError as exc:
            raise ValueError(INSTALL_HINT) from exc
        env = _factory(target)(**kwargs)
        if isinstance(env, AECEnv):
            env = aec_to_parallel(env) if env.metadata.get("is_parallelizable", False) else TurnTaking(env)
        elif not isinstance(env, ParallelEnv):
            raise ValueError(f"pettingzoo env {target!r} made a {type(env).__name__}, not a ParallelEnv or AECEnv")
        return MaskInInfo(env) if _observes_masks(env) else env  # no per-step copying for envs without masks

    def make_vec(self, target: str, num_envs: int, **kwargs: Any) -> ParallelEnvs:
        """``num_envs`` separate envs stepped in this process; each keeps its own agent slots."""
        return ParallelEnvs.made_by(lambda: self.make(target, **kwargs), num_envs)


class MaskInInfo:
    """A ParallelEnv whose agents' ``observation["action_mask"]`` is also their ``info["action_mask"]``.

    Everything else is the wrapped env's (attributes pass through), so the host serves
    it exactly as before; an info that already has a mask keeps its own.
    """

    def __init__(self, env: Any) -> None:
        self.env = env

    def __getattr__(self, name: str) -> Any:
        return getattr(self.env, name)

    def reset(self, seed: Any = None, options: Any = None) -> tuple[dict, dict]:
        observation, info = self.env.reset(seed=seed, options=options)
        return observation, _with_masks(observation, info)

    def step(self, actions: dict) -> tuple[dict, dict, dict, dict, dict]:
        observation, reward, terminated, truncated, info = self.env.step(actions)
        return observation, reward, terminated, truncated, _with_masks(observation, info)


def _observes_masks(env: Any) -> bool:
    """Whether some agent's observation space is a Dict with an ``action_mask`` (the classic games)."""
    from gymnasium import spaces

    return any(isinstance(space := env.observation_space(agent), spaces.Dict) and MASK_INFO_KEY in space.spaces
               for agent in env.possible_agents)


def _with_masks(observation: dict, info: dict) -> dict:
    info = dict(info)
    for agent, own in observation.items():
        if isinstance(own, dict) and own.get(MASK_INFO_KEY) is not None:
            agent_info = dict(info.get(agent) or {})
            agent_info.setdefault(MASK_INFO_KEY, own[MASK_INFO_KEY])
            info[agent] = agent_info
    return info


class TurnTaking:
    """A turn-taking AECEnv (a board game) as a ParallelEnv: each step only the agent to
    move has an observation, so only its slot acts; the others' slots wait, empty.

    A step answers every agent's reward of that move (PettingZoo's ``rewards``) and, when
    the game is over, every agent's end. A waiting agent has no row that step, so a
    trainer learns the end of a game from the mover's side only (docs/training.md).
    """

    def __init__(self, env: Any) -> None:
        self.env = env
        self.possible_agents = list(env.possible_agents)
        self.metadata = env.metadata
        self.agents: list = []

    def observation_space(self, agent: Any) -> Any:
        return self.env.observation_space(agent)

    def action_space(self, agent: Any) -> Any:
        return self.env.action_space(agent)

    def reset(self, seed: Any = None, options: Any = None) -> tuple[dict, dict]:
        self.env.reset(seed=seed, options=options)
        self.agents = list(self.env.agents)
        return self._turn()

    def _turn(self) -> tuple[dict, dict]:
        agent = self.env.agent_selection
        return {agent: self.env.observe(agent)}, {agent: dict(self.env.infos.get(agent, {}))}

    def step(self, actions: dict) -> tuple[dict, dict, dict, dict, dict]:
        mover = self.env.agent_selection
        self.env.step(actions[mover])
        agents = self.agents
        reward = {a: float(self.env.rewards.get(a, 0.0)) for a in agents}
        terminated = {a: bool(self.env.terminations.get(a, False)) for a in agents}
        truncated = {a: bool(self.env.truncations.get(a, False)) for a in agents}
        over = all(terminated[a] or truncated[a] for a in agents)
        if over:
            self.agents = []
            return {}, reward, terminated, truncated, {}
        terminated = {a: False for a in agents}
        truncated = {a: False for a in agents}
        observation, info = self._turn()
        return observation, reward, terminated, truncated, info

    def render(self) -> Any:
        return self.env.render()

    def close(self) -> None:
        self.env.close()


def _factory(target: str) -> Any:
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import pettingzoo env module {module_name!r}: {exc}") from exc
    names = [attribute] if attribute else ["parallel_env", "env"]
    for name in names:
        factory = getattr(module, name, None)
        if callable(factory):
            return factory
    raise ValueError(f"pettingzoo env {target!r}: {module_name} has no callable {' or '.join(names)}")


@hookimpl
def register_env_adapters(register):
    register(PettingZooAdapter())
