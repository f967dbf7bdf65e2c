"""RemoteParallelEnv: a real ``pettingzoo.ParallelEnv`` whose simulator runs on an env host.

The wire speaks in agent slots (lists in slot order, ``None`` for no data, the slot
list announced when it changes; docs/protocol.md, "Agent slots"); PettingZoo users
expect dicts keyed by agent id and an episode that ends with ``agents == []``. This
client translates one into the other. The host autoresets (``new_episode``); as
``RemoteEnv`` does, the step that ends the episode shows the terminal observations,
and the following ``reset()`` without seed or options uses the first observation the
host already made, saving a round trip.
"""

from __future__ import annotations

from typing import Any, Hashable

from ..kinds import TransportClient
from ..protocol import names as wire
from ..protocol.errors import InvalidAction
from ..protocol.names import Method
from ..protocol.spaces import space_from_dict
from .connect import close_remote, open_remote
from .convert import as_space_value

try:  # a real ParallelEnv when PettingZoo is installed; the protocol does not need it
    from pettingzoo import ParallelEnv as _Base
except ImportError:  # pragma: no cover - the host install without the pettingzoo extra
    _Base = object


class RemoteParallelEnv(_Base):
    """A PettingZoo env served elsewhere: ``RemoteParallelEnv("ws://host:8765", "spread")``."""

    def __init__(
        self,
        url: str,
        env_id: str,
        *,
        api_key: str | None = None,
        codec: str = "msgpack",
        timeout: float = 30.0,
        client: TransportClient | None = None,
        **make_kwargs: Any,
    ):
        self.url, self.env_id = url, env_id
        self._client, description = open_remote(
            url, Method.MAKE, {wire.ENV_NAME: env_id, wire.KWARGS: make_kwargs}, client,
            api_key=api_key, codec=codec, timeout=timeout,
        )  # fmt: skip
        self.env_key: str = description[wire.ENV_KEY]
        self._closed = False
        if description.get(wire.AGENTS) is None:
            self.close()
            raise ValueError(f"{env_id!r} is a single-agent env on its host: use RemoteEnv")
        self._observation_space = space_from_dict(description[wire.OBSERVATION_SPACE])
        self._action_space = space_from_dict(description[wire.ACTION_SPACE])
        self.metadata = {"name": env_id, "render_modes": []}
        self.render_mode = None
        self.slots: list[Hashable | None] = list(description[wire.AGENTS])  # slot -> agent id
        self.possible_agents: list[Hashable] = [a for a in self.slots if a is not None]
        self.agents: list[Hashable] = []
        self._next_reset: dict | None = None

    # -- PettingZoo API ------------------------------------------------------------

    def observation_space(self, agent: Hashable) -> Any:
        return self._observation_space  # one shared space object (the wire has one per-agent space)

    def action_space(self, agent: Hashable) -> Any:
        return self._action_space

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        result, self._next_reset = self._next_reset, None
        if result is None or seed is not None or options is not None:
            result = self._client.call(Method.RESET, {wire.ENV_KEY: self.env_key, wire.SEED: seed, wire.OPTIONS: options})
        self._announce(result)
        observation = self._by_agent(result[wire.OBSERVATION], self.slots, self._observation)
        self.agents = list(observation)
        infos = self._by_agent(result.get(wire.INFO) or [], self.slots)
        return observation, {agent: infos.get(agent) or {} for agent in self.agents}

    def step(self, actions: dict[Hashable, Any]) -> tuple[dict, dict, dict, dict, dict]:
        slot_of = {agent: slot for slot, agent in enumerate(self.slots) if agent is not None}
        action_list: list[Any] = [None] * len(self.slots)
        for agent, action in actions.items():
            if agent not in slot_of:
                raise InvalidAction(f"unknown agent {agent!r}: this env's agents are {self.slots}")
            action_list[slot_of[agent]] = action
        result = self._client.call(Method.STEP, {wire.ENV_KEY: self.env_key, wire.ACTION: action_list})
        # Rewards, flags and final observations belong to who held each slot when acting (a slot
        # new in this answer: its new holder); observation and info to the holders after it.
        before, announced = list(self.slots), result.get(wire.AGENTS) or self.slots
        holders = [before[s] if s < len(before) and before[s] is not None else agent for s, agent in enumerate(announced)]
        if result.get(wire.NEW_EPISODE):
            self._next_reset = result  # observation, info and the slot list belong to the next episode
        else:
            self._announce(result)
        rewards = self._by_agent(result[wire.REWARD], holders, float)
        terminated = self._by_agent(result[wire.TERMINATED], holders, bool)
        truncated = self._by_agent(result[wire.TRUNCATED], holders, bool)
        finals = self._by_agent(result.get(wire.FINAL_OBSERVATION) or [], holders, self._observation)
        final_infos = self._by_agent(result.get(wire.FINAL_INFO) or [], holders)
        if result.get(wire.NEW_EPISODE):
            observation, infos, self.agents = finals, final_infos, []
        else:
            observation = {**self._by_agent(result[wire.OBSERVATION], self.slots, self._observation), **finals}
            infos = {**self._by_agent(result.get(wire.INFO) or [], self.slots), **final_infos}
            self.agents = [a for a, value in zip(self.slots, result[wire.OBSERVATION]) if value is not None]
        infos = {agent: infos.get(agent) or {} for agent in dict.fromkeys([*rewards, *observation])}
        return observation, rewards, terminated, truncated, infos

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        close_remote(self._client, self.env_key)

    def __enter__(self) -> RemoteParallelEnv:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- helpers -------------------------------------------------------------------

    def _announce(self, result: dict) -> None:
        slots = result.get(wire.AGENTS)
        if slots is not None:
            self.slots = list(slots)
            for agent in slots:
                if agent is not None and agent not in self.possible_agents:
                    self.possible_agents.append(agent)

    def _observation(self, value: Any) -> Any:
        return as_space_value(self._observation_space, value)

    @staticmethod
    def _by_agent(values: list[Any], holders: list[Hashable | None], convert: Any = None) -> dict:
        """Slot-ordered values as a dict by agent id, leaving out ``None``."""
        return {
            agent: value if convert is None else convert(value)
            for agent, value in zip(holders, values)
            if value is not None and agent is not None
        }
