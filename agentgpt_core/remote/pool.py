"""HostPoolVectorEnv: the envs of many env hosts as one ``gymnasium.vector.VectorEnv``.

Hosts come from a ``Gateway`` (hosts that dial out to the trainer, e.g.
``agentgpt launch --transport ws --connect ws://trainer:8765``) or from a list of
URLs (hosts that listen). Each host runs a vector env of its share of the slots;
``step`` sends every host its rows of the actions at the same time and joins the
answers, so N hosts cost one round trip, not N.

Slots (the contract a trainer relies on; docs/ws-and-gateway.md, "Slots"):

- ``num_envs`` is fixed for the pool's life (default: the capacity of the hosts
  present once ``min_hosts`` have registered). Slot ``i`` is row ``i`` of every batch.
- A host that joins takes up to its capacity of free slots: first the slots it held
  before (a host that reconnects under the same host id gets its place back), then
  slots nobody has held, then slots other hosts left. A host that finds no free slot
  waits as a spare and joins when one frees up.
- Autoreset is SAME_STEP, as in ``RemoteVectorEnv``: a finished episode's last
  observation is in ``infos["final_obs"]`` (mask ``infos["_final_obs"]``) with
  ``infos["final_info"]``, and ``observation`` already starts the next episode.
- ``infos["alive"]`` (``agentgpt_core.slots.ALIVE_INFO_KEY``) (bool, one per slot) is True where the row is a real
  transition: a host applied that slot's action (``step``) or reset its env (``reset``).
- A row with ``alive`` False is filler: reward 0, ``terminated`` False,
  ``truncated`` True, ``final_obs`` the observation the trainer last had for the slot,
  and ``observation`` the same one, or, on the step a host takes the slot, the first
  observation of that host's fresh episode. So a host that leaves turns its episodes
  into truncations, its slots stay truncated (and not hosted) until a host takes
  them, and every other slot goes on. Before any host held a slot its observation
  is zeros. Leave filler rows out of the loss; bootstrapping from them is harmless
  but meaningless.
- A host is lost when its connection drops, a call times out (``TransportError``)
  or its simulator raises (``EnvError``); the pool closes its link, so a dial-out
  host reconnects with fresh envs. Any other error (a bad action...) is the caller's
  and is raised, as ``RemoteVectorEnv`` does.
- Joining costs the joining host's ``make_vec`` (and ``reset``) within the step that
  sees it; a host whose env spaces differ from the pool's is refused and logged.
"""

from __future__ import annotations

import logging
import weakref
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space, create_empty_array

from ..protocol.errors import EnvError, ProtocolError, TransportError
from ..protocol.spaces import space_from_dict
from ..slots import ALIVE_INFO_KEY
from .. import batches
from .convert import as_batch_value, unpack_vector_step
from .gateway import Gateway, HostLink

log = logging.getLogger("agentgpt.pool")
HOST_LOST = (TransportError, EnvError)


@dataclass
class _Member:
    """A host that holds slots: its link, its slots (in row order) and its vector env."""

    link: HostLink
    slots: list[int]
    env_key: str


class HostPoolVectorEnv(VectorEnv):
    """``num_envs`` slots stepped on whichever hosts hold them (see the module docstring)."""

    def __init__(
        self,
        source: Gateway,
        env_id: str,
        num_envs: int | None = None,
        *,
        min_hosts: int = 1,
        wait_timeout: float | None = 60.0,
        owns_source: bool = True,
        **make_kwargs: Any,
    ):
        self.url, self.env_id = source.url, env_id
        self._source, self._owns_source = source, owns_source
        self._make_params = {"env_name": env_id, "kwargs": make_kwargs}
        self._executor = ThreadPoolExecutor(max_workers=64, thread_name_prefix="agentgpt-pool")
        self._members: dict[str, _Member] = {}
        self._refused: weakref.WeakSet[HostLink] = weakref.WeakSet()
        self._started = self._closed = False
        self.single_observation_space = self.single_action_space = None
        try:
            live = source.wait_for_hosts(max(1, min_hosts), wait_timeout)
            if len(live) < max(1, min_hosts):
                raise TransportError(
                    f"only {len(live)} of {min_hosts} env hosts registered at {source.url} within {wait_timeout} s"
                )
            self.num_envs = int(num_envs or sum(link.capacity for link in live))
            self._holder: list[str | None] = [None] * self.num_envs  # host id holding each slot
            self._previous: list[str | None] = [None] * self.num_envs  # host id that held it last
            for link, slots, future in self._start_joins(live):
                self._finish_join(link, slots, future)
            if self.single_observation_space is None:
                raise TransportError(f"no env host at {source.url} could make {env_id!r}; see the log for why")
        except BaseException:
            self._shutdown()
            raise
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
        for link, slots, future in self._start_joins(self._newcomers()):
            self._finish_join(link, slots, future)
        members = list(self._members.values())
        waits = self._call_all(
            [(m.link, "reset", {"env_key": m.env_key, "seed": _seeds(seed, m.slots), "options": options}) for m in members]
        )
        obs = create_empty_array(self.single_observation_space, self.num_envs, fn=np.zeros)
        hosted = np.zeros(self.num_envs, dtype=bool)
        info_parts = []
        for member, result in self._results(members, waits):
            batches.put(obs, member.slots, self._batch(result["observation"], len(member.slots)))
            hosted[member.slots] = True
            if result.get("info"):
                info_parts.append((member.slots, result["info"]))
        self._started = True
        self._obs = obs
        infos = batches.merge_infos(info_parts, self.num_envs)
        infos[ALIVE_INFO_KEY] = hosted
        return obs, infos

    def step(self, actions: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict]:
        self._drop_departed()
        joins = self._start_joins(self._newcomers())
        members = list(self._members.values())
        waits = self._call_all(
            [(m.link, "step", {"env_key": m.env_key, "action": batches.take(actions, m.slots)}) for m in members]
        )
        n = self.num_envs
        obs = batches.copy(self._obs)
        reward = np.zeros(n, dtype=np.float64)
        terminated = np.zeros(n, dtype=bool)
        truncated = np.ones(n, dtype=bool)  # filler rows are truncations; hosted rows overwrite
        hosted = np.zeros(n, dtype=bool)
        final_obs = np.full(n, None, dtype=object)
        info_parts, final_info_parts = [], []
        for member, result in self._results(members, waits):
            slots = member.slots
            rows, reward[slots], terminated[slots], truncated[slots], finals = unpack_vector_step(
                self.single_observation_space, result, len(slots)
            )
            batches.put(obs, slots, rows)
            hosted[slots] = True
            for slot, final in zip(slots, finals):
                if final is not None:
                    final_obs[slot] = final
            if result.get("final_info"):
                final_info_parts.append((slots, result["final_info"]))
            if result.get("info"):
                info_parts.append((slots, result["info"]))
        for link, slots, future in joins:
            first = self._finish_join(link, slots, future)
            if first is not None:
                batches.put(obs, slots, self._batch(first["observation"], len(slots)))
        for slot in np.flatnonzero(~hosted):
            final_obs[slot] = batches.row(self._obs, slot)
        self._obs = obs
        infos = batches.merge_infos(info_parts, n)
        infos[ALIVE_INFO_KEY] = hosted
        mask = np.array([final is not None for final in final_obs], dtype=bool)
        if mask.any():
            infos["final_obs"], infos["_final_obs"] = final_obs, mask
            infos["final_info"], infos["_final_info"] = batches.merge_infos(final_info_parts, n), mask
        return obs, reward, terminated, truncated, infos

    def close_extras(self, **kwargs: Any) -> None:
        if self._closed:
            return
        self._closed = True
        members = list(self._members.values())
        futures = [self._executor.submit(m.link.call, "close", {"env_key": m.env_key}) for m in members]
        wait(futures, timeout=5)
        self._shutdown()

    # -- membership ----------------------------------------------------------------

    def _newcomers(self) -> list[HostLink]:
        """Live links that hold no slots yet (new hosts, returning hosts, spares)."""
        members = {id(m.link) for m in self._members.values()}
        return [
            link
            for link in self._source.hosts()
            if link.alive and id(link) not in members and link not in self._refused and link.host_id not in self._members
        ]

    def _start_joins(self, links: list[HostLink]) -> list[tuple[HostLink, list[int], Future]]:
        """Claim slots for each link and start its make (and reset, once the pool has started)."""
        joins = []
        for link in links:
            slots = self._claim(link.host_id, link.capacity)
            if slots:
                joins.append((link, slots, self._executor.submit(self._make, link, len(slots), self._started)))
        return joins

    def _make(self, link: HostLink, count: int, reset: bool) -> tuple[dict, dict | None]:
        description = link.call("make_vec", {**self._make_params, "num_envs": count})
        first = link.call("reset", {"env_key": description["env_key"]}) if reset else None
        return description, first

    def _finish_join(self, link: HostLink, slots: list[int], future: Future) -> dict | None:
        """Make ``link`` a member holding ``slots``; return its first reset result (if any)."""
        try:
            description, first = future.result()
            observation_space = space_from_dict(description["observation_space"])
            action_space = space_from_dict(description["action_space"])
        except ProtocolError as exc:
            self._refuse(link, slots, f"could not make {self.env_id!r}: {exc}")
            return None
        if self.single_observation_space is None:
            self.single_observation_space, self.single_action_space = observation_space, action_space
        elif (observation_space, action_space) != (self.single_observation_space, self.single_action_space):
            self._executor.submit(link.call, "close", {"env_key": description["env_key"]})
            self._refuse(link, slots, f"its {self.env_id!r} has other spaces than the pool's")
            return None
        self._members[link.host_id] = _Member(link, slots, description["env_key"])
        log.info("host %s joined with slots %s", link.host_id, _spans(slots))
        return first

    def _refuse(self, link: HostLink, slots: list[int], why: str) -> None:
        self._release(slots)
        self._refused.add(link)
        log.warning("env host %s not used: %s", link.host_id, why)

    def _claim(self, host_id: str, capacity: int) -> list[int]:
        free = [slot for slot, holder in enumerate(self._holder) if holder is None]
        free.sort(key=lambda slot: (self._previous[slot] != host_id, self._previous[slot] is not None, slot))
        slots = sorted(free[:capacity])
        for slot in slots:
            self._holder[slot] = host_id
        return slots

    def _release(self, slots: list[int]) -> None:
        for slot in slots:
            self._holder[slot] = None

    def _drop(self, member: _Member, why: Any) -> None:
        self._members.pop(member.link.host_id, None)
        for slot in member.slots:
            self._holder[slot], self._previous[slot] = None, member.link.host_id
        member.link.close()
        log.warning("env host %s lost (%s); slots %s truncated until a host takes them", member.link.host_id, why, _spans(member.slots))

    def _drop_departed(self) -> None:
        for member in list(self._members.values()):
            if not member.link.alive:
                self._drop(member, "disconnected")

    # -- calls -------------------------------------------------------------------

    def _call_all(self, requests: list[tuple[HostLink, str, dict]]) -> list[Callable[[], Any]]:
        """Start every request at once; return, per request, a function that waits for its result.

        Pipelined links (WebSocket) get their request written from this thread, one
        send each and no thread hand-off, before anything waits. Other links (HTTP) run
        on the executor, all but one: that one runs here while the others work.
        """
        waits: dict[int, Callable[[], Any]] = {}
        here = None  # the one non-pipelined request this thread runs itself, once the others are on their way
        for i, (link, method, params) in enumerate(requests):
            if link.pipelined:
                waits[i] = _submitted(link, method, params)
            elif here is None:
                here = i
            else:
                waits[i] = self._executor.submit(link.call, method, params).result
        if here is not None:
            link, method, params = requests[here]
            waits[here] = _settled(link.call, method, params)
        return [waits[i] for i in range(len(requests))]

    def _results(self, members: list[_Member], waits: list[Callable[[], Any]]) -> list[tuple[_Member, dict]]:
        """Each member's result; lost hosts are dropped, any other error is raised (after all answered)."""
        results, error = [], None
        for member, wait_for in zip(members, waits):
            try:
                results.append((member, wait_for()))
            except HOST_LOST as exc:
                self._drop(member, exc)
            except Exception as exc:
                error = error or exc
        if error is not None:
            raise error
        return results

    def _batch(self, value: Any, count: int) -> Any:
        return as_batch_value(self.single_observation_space, value, count)

    def _shutdown(self) -> None:
        if self._owns_source:
            self._source.stop()
        self._executor.shutdown(wait=False, cancel_futures=True)


def _submitted(link: HostLink, method: str, params: dict) -> Callable[[], Any]:
    """Send on a pipelined link now; the returned function waits for the answer (or raises)."""
    try:
        future = link.submit(method, params)
    except Exception as exc:
        return _raiser(exc)
    return lambda: link.result(future, method)


def _settled(function: Callable[..., Any], *args: Any) -> Callable[[], Any]:
    """Call ``function`` now; the returned function gives its result or raises its error."""
    try:
        value = function(*args)
    except Exception as exc:
        return _raiser(exc)
    return lambda: value


def _raiser(exc: Exception) -> Callable[[], Any]:
    def wait_for() -> Any:
        raise exc

    return wait_for


def _seeds(seed: int | list[int] | None, slots: list[int]) -> list[int] | None:
    """Per-env seeds for a host's slots: ``seed + slot``, or the slots' entries of a list."""
    if seed is None:
        return None
    if isinstance(seed, (list, tuple)):
        return [seed[slot] for slot in slots]
    return [int(seed) + slot for slot in slots]


def _spans(slots: list[int]) -> str:
    return f"{slots[0]}..{slots[-1]}" if slots == list(range(slots[0], slots[-1] + 1)) else str(slots)
