"""Who is playing: agents by (session, agent id), their context slots and control values.

Agent ids are scoped by the caller's session (an HTTP client's ``X-AgentGPT-Session``,
a WebSocket connection), so two games that both number their agents 0..15 never share
a context; callers that name no session share the ``default`` one.

Memory is bounded two ways: an agent unused for ``agent_ttl_s`` is forgotten (swept at
most once a second, on the next call; so is a session's default control value), and at most ``max_agents`` agents live at once;
a call that would add more is refused whole with ``TooManyAgents`` and changes nothing.
An agent that is terminated keeps its control value (a respawned NPC keeps its
difficulty) but gives back its context slot; ``reset_agents`` forgets a session's
agents entirely.

One lock guards the table and the slot arrays; the forward pass runs outside it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from ..policy import GPTActorCritic
from .contexts import SlotContexts
from .errors import TooManyAgents
from .inputs import AgentId

SWEEP_EVERY_S = 1.0


@dataclass
class Agent:
    control: float | None  # None: the session's default
    slot: int | None = None  # None: no context (never observed, or terminated)
    last_used: float = 0.0


class AgentTable:
    """Agents, their slots and control values; every method takes the table's lock."""

    def __init__(self, policy: GPTActorCritic, *, max_agents: int, agent_ttl_s: float | None, default_control: float):
        self.max_agents, self.agent_ttl_s, self.default_control = max_agents, agent_ttl_s, default_control
        self.lock = threading.RLock()
        self.contexts = SlotContexts(policy)
        self._agents: dict[tuple[str, AgentId], Agent] = {}
        self._session_control: dict[str, float] = {}  # a session's default, kept while the session is active
        self._session_seen: dict[str, float] = {}
        self._free: list[int] = list(range(self.contexts.capacity - 1, -1, -1))
        # A slot's epoch changes whenever it is taken or given back, so an action decided for
        # an agent that ended (or left) while its forward pass ran is not recorded.
        self._epoch = np.zeros(self.contexts.capacity, np.int64)
        self._next_sweep = 0.0

    # -- lookups ----------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._agents)

    def live_ids(self, session: str) -> list[AgentId]:
        """The session's agents that have a context (observed since their last termination)."""
        with self.lock:
            return [aid for (s, aid), agent in self._agents.items() if s == session and agent.slot is not None]

    def control_of(self, session: str, ids: list[AgentId] | None) -> float | list[float]:
        with self.lock:
            default = self._session_control.get(session, self.default_control)
            if ids is None:
                return default
            values = []
            for aid in ids:
                agent = self._agents.get((session, aid))
                values.append(default if agent is None or agent.control is None else agent.control)
            return values

    # -- changes ----------------------------------------------------------------

    def set_control(self, session: str, value: float, ids: list[AgentId] | None) -> None:
        """``ids`` None: the session's default and every agent of the session; else those agents."""
        with self.lock:
            now = time.monotonic()
            if ids is None:
                self._session_control[session] = value
                self._session_seen[session] = now
                for (s, _), agent in self._agents.items():
                    if s == session:
                        agent.control = None
                return
            self._make_room(session, ids, now)
            for aid in ids:
                agent = self._agents.setdefault((session, aid), Agent(control=None))
                agent.control, agent.last_used = value, now

    def terminate(self, session: str, ids: list[AgentId]) -> list[AgentId]:
        """End these agents' episodes: free their context slots. Returns the ids that had one."""
        with self.lock:
            ended = []
            for aid in ids:
                agent = self._agents.get((session, aid))
                if agent is not None and agent.slot is not None:
                    self._release(agent)
                    ended.append(aid)
            return ended

    def reset(self, session: str) -> int:
        """Forget every agent of the session and its default control value; returns how many."""
        with self.lock:
            keys = [key for key in self._agents if key[0] == session]
            for key in keys:
                self._forget(key)
            self._session_control.pop(session, None)
            self._session_seen.pop(session, None)
            return len(keys)

    def step(
        self, session: str, terminated: list[AgentId], ids: list[AgentId], flat_obs: np.ndarray, rewards: list[float | None] | None
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], np.ndarray]:
        """End ``terminated`` agents' episodes, then append a token for each of ``ids`` (new or
        terminated agents start a fresh context); each reward (``rewards`` None: none) enters its agent's token.

        All or nothing: the agent cap is checked before anything changes. Returns
        ``(slots, epochs, windows, control values)`` for the forward pass and ``record``.
        """
        with self.lock:
            now = time.monotonic()
            found = self._make_room(session, ids, now)
            self.terminate(session, terminated)
            default = self._session_control.get(session, self.default_control)
            if session in self._session_control:
                self._session_seen[session] = now
            fresh = set()
            for i in [i for i, agent in enumerate(found) if agent is None or agent.slot is None]:
                agent = found[i]
                if agent is None:
                    agent = found[i] = self._agents[(session, ids[i])] = Agent(control=None)
                agent.slot = self._take_slot()  # a new episode: no previous action or reward to carry
                fresh.add(i)
            for agent in found:
                agent.last_used = now
            slots = np.array([agent.slot for agent in found], np.int64)
            chosen = [agent.control for agent in found]
            if chosen.count(None) == len(chosen):
                control = np.full(len(found), default)
            else:
                control = np.array([default if c is None else c for c in chosen], np.float64)
            given = [] if rewards is None else [i for i, r in enumerate(rewards) if r is not None and i not in fresh]
            if given:
                self.contexts.set_rewards(slots[given], np.asarray([rewards[i] for i in given], np.float32))
            windows = self.contexts.observe(slots, flat_obs)
            return slots, self._epoch[slots], windows, control

    def record(self, slots: np.ndarray, epochs: np.ndarray, action_features: np.ndarray) -> None:
        """Remember the actions taken (their token features), for slots whose agent did not end
        or leave meanwhile."""
        with self.lock:
            keep = self._epoch[slots] == epochs
            if keep.all():
                self.contexts.record(slots, action_features)
            elif keep.any():
                self.contexts.record(slots[keep], action_features[keep])

    def close_session(self, session: str) -> None:
        self.reset(session)

    # -- internals ---------------------------------------------------------------

    def _make_room(self, session: str, ids: list[AgentId], now: float) -> list[Agent | None]:
        """Sweep idle agents when due; refuse (changing nothing) if ``ids`` would pass the cap.
        Returns the ids' agents (None for a new one)."""
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_EVERY_S
            self.expire(now)
        agents = self._agents
        found = [agents.get((session, aid)) for aid in ids]
        new = found.count(None)
        if new and len(agents) + new > self.max_agents:
            if self.expire(now):
                found = [agents.get((session, aid)) for aid in ids]
                new = found.count(None)
            if len(agents) + new > self.max_agents:
                raise TooManyAgents(
                    f"{new} new agents would make {len(agents) + new} live agents; this server holds at most "
                    f"{self.max_agents}. Terminate agents you no longer need (terminate_agents, reset_agents), "
                    "or wait for idle ones to expire."
                )
        return found

    def expire(self, now: float | None = None) -> int:
        """Forget agents idle for longer than ``agent_ttl_s``; returns how many."""
        if self.agent_ttl_s is None:
            return 0
        with self.lock:
            deadline = (time.monotonic() if now is None else now) - self.agent_ttl_s
            stale = [key for key, agent in self._agents.items() if agent.last_used < deadline]
            for key in stale:
                self._forget(key)
            for session in [s for s, seen in self._session_seen.items() if seen < deadline]:
                self._session_control.pop(session, None)
                self._session_seen.pop(session, None)
            return len(stale)

    def _forget(self, key: tuple[str, AgentId]) -> None:
        agent = self._agents.pop(key)
        if agent.slot is not None:
            self._release(agent)

    def _release(self, agent: Agent) -> None:
        self._free.append(agent.slot)
        self._epoch[agent.slot] += 1
        agent.slot = None

    def _take_slot(self) -> int:
        if not self._free:
            old = self.contexts.capacity
            self.contexts.grow(max(2 * old, 1))
            self._free.extend(range(self.contexts.capacity - 1, old - 1, -1))
            self._epoch = np.concatenate([self._epoch, np.zeros(self.contexts.capacity - old, np.int64)])
        slot = self._free.pop()
        self._epoch[slot] += 1
        self.contexts.start_episodes(np.asarray([slot]))
        return slot
