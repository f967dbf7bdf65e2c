"""HostPoolVectorEnv: the envs of many env hosts as one ``gymnasium.vector.VectorEnv``.

Hosts come from a ``Gateway`` (hosts that dial out to the trainer, e.g.
``agentgpt launch --transport ws --connect ws://trainer:8765``) or from a list of
URLs (hosts that listen, ``url_hosts.py``). Each host runs a vector env of its share
of the slots. This module keeps membership (who joins, who is lost, who is
refused); the slot rules are ``slot_table.py``, sending every host its request at
once is ``fanout.py``, and joining the answers into one batch is ``assembly.py``.
What the pool promises a trainer is written down in docs/ws-and-gateway.md, "Slots".
"""

from __future__ import annotations

import logging
import time
import weakref
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space, create_empty_array

from .. import batches
from ..kinds import Gateway, HostLink
from ..protocol.errors import EnvError, MalformedPayload, ProtocolError, TransportError
from ..protocol.names import ACTION, ACTION_SPACE, AGENTS, ENV_KEY, ENV_NAME, KWARGS, NUM_ENVS, OBSERVATION_SPACE, OPTIONS, SEED, Method
from ..protocol.spaces import space_from_dict
from .agent_rows import AgentRows
from .assembly import ResetBatch, StepBatch
from .convert import reading, wire_actions
from .fanout import fan_out
from .slot_table import SlotTable

log = logging.getLogger("agentgpt.pool")
HOST_LOST = (TransportError, EnvError)  # the host is dropped; any other error is the caller's and is raised


@dataclass
class _Member:
    """A host that holds slots: its link, its slots (in row order) and its vector env."""

    link: HostLink
    slots: list[int]
    env_key: str
    recent: deque = field(default_factory=lambda: deque(maxlen=32))  # seconds of its last steps and resets


class HostPoolVectorEnv(VectorEnv):
    """``num_envs`` slots stepped on whichever hosts hold them (docs/ws-and-gateway.md, "Slots")."""

    def __init__(
        self,
        source: Gateway,
        env_id: str,
        num_envs: int | None = None,
        *,
        min_hosts: int = 1,
        wait_timeout: float | None = 60.0,
        owns_source: bool = True,
        host_deadline_min_s: float = 2.0,
        host_deadline_factor: float = 10.0,
        agent_rows: int | None = None,
        **make_kwargs: Any,
    ):
        self.url, self.env_id = source.url, env_id
        self._agent_rows_wanted, self.agent_rows = agent_rows, None  # multi-agent: AgentRows (agent_rows.py)
        # A host's step must answer within max(host_deadline_min_s, host_deadline_factor x its
        # slowest recent step or reset), or it is lost like a dropped one: one slow or silent
        # host costs its own rows, not a transport timeout (30 s) of every host's time per step.
        self.host_deadline_min_s, self.host_deadline_factor = host_deadline_min_s, host_deadline_factor
        self._joining: list[tuple[HostLink, list[int], Future]] = []
        self._join_started: dict[int, float] = {}  # id(future) -> when its join began
        self._source, self._owns_source = source, owns_source
        self._make_params = {ENV_NAME: env_id, KWARGS: make_kwargs}
        self._executor = ThreadPoolExecutor(max_workers=64, thread_name_prefix="agentgpt-pool")
        self._members: dict[str, _Member] = {}
        self._refused: weakref.WeakSet[HostLink] = weakref.WeakSet()
        self._spares: set[str] = set()  # host ids told they wait as spares (said once each)
        self._started = self._closed = False
        self.single_observation_space = self.single_action_space = None
        try:
            live = source.wait_for_hosts(max(1, min_hosts), wait_timeout)
            if len(live) < max(1, min_hosts):
                raise TransportError(
                    f"only {len(live)} of {min_hosts} env hosts registered at {source.url} within {wait_timeout} s"
                )
            self.num_envs = int(num_envs or sum(link.capacity for link in live))
            self._slots = SlotTable(self.num_envs)
            self._pool_envs = self.num_envs
            self._start_joins(live)
            for link, slots, future in self._ready_joins(None):
                self._finish_join(link, slots, future)
            if self.single_observation_space is None:
                raise TransportError(f"no env host at {source.url} could make {env_id!r}; see the log for why")
        except BaseException:
            self._shutdown()
            raise
        if self.agent_rows is not None:
            self.num_envs = self.agent_rows.num_rows
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": []}
        self._obs = create_empty_array(self.single_observation_space, self.num_envs, fn=np.zeros)

    # -- constructors ------------------------------------------------------------

    @classmethod
    def from_hosts(
        cls,
        listen: str,
        env_id: str,
        num_envs: int | None = None,
        *,
        api_key: str | None = None,
        min_hosts: int = 1,
        wait_timeout: float | None = 60.0,
        timeout: float = 30.0,
        codec: str = "msgpack",
        gateway_options: dict[str, Any] | None = None,
        **make_kwargs: Any,
    ) -> HostPoolVectorEnv:
        """Listen at ``listen`` (``ws://0.0.0.0:8765``) and pool every host that dials in."""
        from ..plugins import get_plugin_manager

        transport = get_plugin_manager().transport_for_url(listen)
        gateway = transport.gateway(listen, api_key=api_key, timeout=timeout, codec=codec, **(gateway_options or {}))
        gateway.start()
        return cls(gateway, env_id, num_envs, min_hosts=min_hosts, wait_timeout=wait_timeout, **make_kwargs)

    @classmethod
    def from_urls(
        cls,
        urls: list[str],
        env_id: str,
        num_envs_per_host: int = 1,
        *,
        api_key: str | None = None,
        min_hosts: int | None = None,
        wait_timeout: float | None = 60.0,
        timeout: float = 30.0,
        codec: str = "msgpack",
        retry_interval: float = 2.0,
        **make_kwargs: Any,
    ) -> HostPoolVectorEnv:
        """Pool hosts that listen (``http://`` or ``ws://``): ``num_envs_per_host`` slots each."""
        from .url_hosts import UrlHosts

        source = UrlHosts(
            urls, num_envs_per_host, api_key=api_key, codec=codec, timeout=timeout, retry_interval=retry_interval
        )
        source.start()
        return cls(
            source,
            env_id,
            len(urls) * num_envs_per_host,
            min_hosts=len(urls) if min_hosts is None else min_hosts,
            wait_timeout=wait_timeout,
            **make_kwargs,
        )

    # -- gymnasium API -----------------------------------------------------------

    @property
    def assignment(self) -> dict[str, list[int]]:
        """Which slots each live host holds, by host id."""
        return {host_id: list(member.slots) for host_id, member in self._members.items()}

    def reset(self, *, seed: int | list[int] | None = None, options: dict | None = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        self._drop_departed()
        self._start_joins(self._newcomers())
        for link, slots, future in self._ready_joins(None):
            self._finish_join(link, slots, future)
        batch = self.agent_rows.start() if self.agent_rows else ResetBatch(self.single_observation_space, self.num_envs)
        for member, result in self._call_members(
            Method.RESET, lambda m: {ENV_KEY: m.env_key, SEED: _seeds(seed, m.slots), OPTIONS: options}
        ):
            batch.add(member.slots, result)
        self._started = True
        if self.agent_rows is not None:
            self._obs, *_, infos = batch.finish()
        else:
            self._obs, infos = batch.finish()
        return self._obs, infos

    def step(self, actions: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict]:
        self._drop_departed()
        self._start_joins(self._newcomers())
        if self.agent_rows is not None:
            batch, take = self.agent_rows.start(), self.agent_rows.actions
        else:
            batch, take = StepBatch(self.single_observation_space, self.num_envs, self._obs), batches.take
            actions = wire_actions(self.single_action_space, self.action_space, actions)  # Dict/Tuple/Text: one per env
        for member, result in self._call_members(Method.STEP, lambda m: {ENV_KEY: m.env_key, ACTION: take(actions, m.slots)}):
            try:
                with reading(Method.STEP, f"host {member.link.host_id}"):
                    batch.add(member.slots, result)
            except MalformedPayload as exc:  # a host answering garbage is lost, like a silent one
                self._drop(member, exc)
        for link, slots, future in self._ready_joins(self.host_deadline_min_s):  # the rest join at a later step
            first = self._finish_join(link, slots, future)
            if first is not None:
                batch.begin(slots, first)
        step = batch.finish()
        self._obs = step[0]
        return step

    def close_extras(self, **kwargs: Any) -> None:
        if self._closed:
            return
        self._closed = True
        members = list(self._members.values())
        futures = [self._executor.submit(m.link.call, Method.CLOSE, {ENV_KEY: m.env_key}) for m in members]
        wait(futures, timeout=5)
        self._shutdown()

    # -- membership ----------------------------------------------------------------

    def _newcomers(self) -> list[HostLink]:
        """Live links that hold no slots yet (new hosts, returning hosts, spares)."""
        members = {id(m.link) for m in self._members.values()}
        joining = {id(link) for link, _, _ in self._joining} | {link.host_id for link, _, _ in self._joining}
        return [
            link
            for link in self._source.hosts()
            if link.alive and id(link) not in members and link not in self._refused and link.host_id not in self._members
            and id(link) not in joining and link.host_id not in joining
        ]  # fmt: skip

    def _start_joins(self, links: list[HostLink]) -> None:
        """Claim slots for each link and start its make (and reset, once the pool has started) in the background."""
        for link in links:
            slots = self._slots.claim(link.host_id, link.capacity)
            if slots:
                future = self._executor.submit(self._make, link, len(slots), self._started)
                self._joining.append((link, slots, future))
                self._join_started[id(future)] = time.monotonic()
                self._spares.discard(link.host_id)
                if len(slots) < link.capacity:
                    log.info("host %s offers %d envs but only %d of the %d rows were free: it runs %d, %d stay idle",
                             link.host_id, link.capacity, len(slots), self.num_envs, len(slots), link.capacity - len(slots))
            elif link.host_id not in self._spares:
                self._spares.add(link.host_id)
                log.info("host %s offers %d envs but all %d rows are held: it waits as a spare", link.host_id, link.capacity, self.num_envs)

    def _ready_joins(self, grace: float | None) -> list[tuple[HostLink, list[int], Future]]:
        """The joins whose make (and reset) have answered. A step waits for a join at most ``grace``
        seconds from the join's start, in all (None: wait for every join); the others stay pending,
        so a host that registers and then goes silent costs the steps ``host_deadline_min_s`` once."""
        if self._joining:
            futures = [future for _, _, future in self._joining]
            until = None if grace is None else max(self._join_started[id(f)] for f in futures) + grace
            wait(futures, None if until is None else max(0.0, until - time.monotonic()))
        ready = [join for join in self._joining if join[2].done()]
        self._joining = [join for join in self._joining if not join[2].done()]
        for _, _, future in ready:
            self._join_started.pop(id(future), None)
        return ready

    def _make(self, link: HostLink, count: int, reset: bool) -> tuple[dict, dict | None, float | None]:
        description = link.call(Method.MAKE_VEC, {**self._make_params, NUM_ENVS: count})
        if not reset:
            return description, None, None
        began = time.monotonic()
        first = link.call(Method.RESET, {ENV_KEY: description[ENV_KEY]})
        return description, first, time.monotonic() - began

    def _finish_join(self, link: HostLink, slots: list[int], future: Future) -> dict | None:
        """Make ``link`` a member holding ``slots``; return its first reset result (if any)."""
        try:
            description, first, reset_seconds = future.result()
            observation_space = space_from_dict(description[OBSERVATION_SPACE])
            action_space = space_from_dict(description[ACTION_SPACE])
        except ProtocolError as exc:
            self._refuse(link, slots, f"could not make {self.env_id!r}: {exc}")
            return None
        if self.single_observation_space is None:
            self.single_observation_space, self.single_action_space = observation_space, action_space
            if description.get(AGENTS) is not None:
                agents = description[AGENTS]
                rows = self._agent_rows_wanted or len(agents)
                self.agent_rows = AgentRows(observation_space, self._pool_envs, rows, agents)
        elif (observation_space, action_space) != (self.single_observation_space, self.single_action_space):
            self._executor.submit(link.call, Method.CLOSE, {ENV_KEY: description[ENV_KEY]})
            self._refuse(link, slots, f"its {self.env_id!r} has other spaces than the pool's")
            return None
        self._members[link.host_id] = member = _Member(link, slots, description[ENV_KEY])
        if reset_seconds is not None:
            member.recent.append(reset_seconds)
        log.info("host %s joined with slots %s", link.host_id, _spans(slots))
        return first

    def _refuse(self, link: HostLink, slots: list[int], why: str) -> None:
        self._slots.release(slots)
        self._refused.add(link)
        log.warning("env host %s not used: %s", link.host_id, why)

    def _drop(self, member: _Member, why: Any) -> None:
        self._members.pop(member.link.host_id, None)
        self._slots.vacate(member.link.host_id, member.slots)
        self._executor.submit(member.link.close)  # a blocking client may still be inside the call that timed out
        log.warning("env host %s lost (%s); slots %s truncated until a host takes them", member.link.host_id, why, _spans(member.slots))

    def _drop_departed(self) -> None:
        for member in list(self._members.values()):
            if not member.link.alive:
                self._drop(member, "disconnected")

    # -- calls -------------------------------------------------------------------

    def _call_members(self, method: str, params: Callable[[_Member], dict]) -> list[tuple[_Member, dict]]:
        """Call ``method`` on every member at once; lost hosts are dropped, any other error is raised (after all answered)."""
        members = list(self._members.values())
        replies = fan_out([(m.link, method, params(m)) for m in members], self._executor, inline=len(members) <= 1)
        results, error = [], None
        for member, reply in zip(members, replies):
            try:
                results.append((member, reply(self._deadline(member) if method == Method.STEP else None)))
                member.recent.append(reply.seconds)
            except HOST_LOST as exc:
                self._drop(member, exc)
            except Exception as exc:
                error = error or exc
        if error is not None:
            raise error
        return results

    def _deadline(self, member: _Member) -> float | None:
        """How long ``member`` may take to step: None (its link's own timeout) until it has answered once."""
        if not member.recent:
            return None
        return max(self.host_deadline_min_s, self.host_deadline_factor * max(member.recent))

    def _shutdown(self) -> None:
        if self._owns_source:
            self._source.stop()
        self._executor.shutdown(wait=False, cancel_futures=True)


def _seeds(seed: int | list[int] | None, slots: list[int]) -> list[int] | None:
    """Per-env seeds for a host's slots: ``seed + slot``, or the slots' entries of a list."""
    if seed is None:
        return None
    if isinstance(seed, (list, tuple)):
        return [seed[slot] for slot in slots]
    return [int(seed) + slot for slot in slots]


def _spans(slots: list[int]) -> str:
    return f"{slots[0]}..{slots[-1]}" if slots == list(range(slots[0], slots[-1] + 1)) else str(slots)
