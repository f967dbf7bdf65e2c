"""InferenceService: a trained policy answering real-time decisions for many agents.

A transport decodes a request into ``(method, params, session)`` and calls ``handle``,
exactly as it does for the env host's ``EnvService``. The wire follows SageMaker's
inference contract, so the same server runs on this machine and as a SageMaker
real-time endpoint:

- ``invocations`` with params ``{"action": NAME, "args": {...}}`` runs one action
  (``POST /invocations`` over HTTP);
- ``ping`` answers a health check (``GET /ping``);
- each action is also a method of its own (``POST /select_action`` with the args as
  the body), which is handy from curl.

The actions are listed in ``ACTIONS``; docs/serving.md documents each. Arguments are
checked whole before anything changes (inputs.py); every failure is a typed
``ProtocolError`` and never disturbs other callers.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, NamedTuple

import numpy as np
from gymnasium import spaces
from gymnasium.vector.utils import batch_space, iterate

from .. import __version__
from ..kinds import Service
from ..masks import mask_width, row_mask
from ..policy import GPTActorCritic, load_policy
from ..protocol.errors import InvalidArgument, MalformedPayload, ProtocolError, UnknownMethod
from ..protocol.names import DEFAULT_SESSION, INVOCATIONS
from ..protocol.spaces import space_to_dict
from . import inputs
from .agents import AgentTable
from .batching import MicroBatcher
from .contexts import MASK_KEY, stack_masks, stack_windows
from .control import check_control_value, random_raw_actions
from .decide import Decided, Decider

PING = "ping"
ACTIONS = (
    "select_action",
    "sample_action",
    "sample_observation",
    "set_control_value",
    "get_control_value",
    "terminate_agents",
    "reset_agents",
    "get_agent_ids",
    "status",
)
METHODS = (INVOCATIONS, PING, *ACTIONS)
_ARRAY_SPACES = (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)


class InferenceService(Service):
    """Serves one policy: per-agent contexts, batched forward passes, control values."""

    methods = METHODS

    def __init__(
        self,
        policy: GPTActorCritic,
        *,
        source: str = "",
        max_agents: int = 4096,
        agent_ttl_s: float | None = 600.0,
        batch_window_s: float | None = 0.005,
        max_batch_agents: int = 4096,
        default_control: float = 1.0,
        seed: int | None = None,
    ) -> None:
        """``batch_window_s`` None serves each call with its own forward pass (no cross-request batching)."""
        if max_agents < 1:
            raise ValueError(f"max_agents must be at least 1, got {max_agents}")
        policy.eval()
        self.policy, self.source = policy, source
        self.observation_space, self.action_space = policy.observation_space, policy.action_space
        self.agents = AgentTable(policy, max_agents=max_agents, agent_ttl_s=agent_ttl_s, default_control=check_control_value(default_control))
        self.decider = Decider(policy, seed)
        self.batcher = None if batch_window_s is None else MicroBatcher(
            self.decider, window_s=batch_window_s, max_rows=max_batch_agents, record=self.agents.record
        )
        self.started = time.time()
        self._actions: dict[str, Callable[..., Any]] = {name: getattr(self, f"_{name}") for name in ACTIONS}
        self._signatures = {name: inspect.signature(action) for name, action in self._actions.items()}
        self._signatures["select_action"] = inspect.signature(self._prepare_select)  # _select_action passes its args on

    @classmethod
    def from_run(cls, run_dir_or_checkpoint: str | Path, **options: Any) -> InferenceService:
        """Load a run directory's (or checkpoint's) policy; no env is needed."""
        policy, metadata = load_policy(run_dir_or_checkpoint)
        return cls(policy, source=str(metadata["path"]), **options)

    # -- the Service interface -------------------------------------------------------

    def handle(self, method: str, params: Any = None, session: str = DEFAULT_SESSION) -> Any:
        """Answer one call; raise a ProtocolError subclass on any failure."""
        action, args = self._resolve(method, params, session)
        if action == PING:
            return {"ok": True, "version": __version__}
        try:
            return self._actions[action](session, **args)
        except ProtocolError:
            raise
        except Exception as exc:  # a bug must cost one answer, never the server
            raise ProtocolError(f"{action} failed: {type(exc).__name__}: {exc}") from exc

    def begin(self, method: str, params: Any = None, session: str = DEFAULT_SESSION) -> Awaitable[Any] | None:
        """On a transport's event loop: ``select_action`` joins the cross-request batch.

        Its checks and context update run now, in arrival order; the forward pass runs
        with whatever else is queued (batching.py), and the returned awaitable gives the
        answer. Every other call (and every call when batching is off) returns None and
        is answered by ``handle``, as for any service.
        """
        if self.batcher is None or method not in (INVOCATIONS, "select_action"):
            return None
        if method == INVOCATIONS and not (isinstance(params, dict) and params.get("action") == "select_action"):
            return None  # handle() resolves it; resolving here too would check it twice
        action, args = self._resolve(method, params, session)
        if action != "select_action":
            return None
        try:
            step = self._prepare_select(session, **args)
            if isinstance(step, dict):
                return _done(step)
            return self._finish_when_decided(step, self.batcher.submit(*step.for_batcher(session)))
        except ProtocolError:
            raise
        except Exception as exc:
            raise ProtocolError(f"select_action failed: {type(exc).__name__}: {exc}") from exc

    def _resolve(self, method: str, params: Any, session: str) -> tuple[str, dict]:
        """``(action, args)`` of a call, its argument names checked (each action checks the values)."""
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise MalformedPayload(f"params must be an object, got {type(params).__name__}")
        if method == PING:
            return PING, {}
        if method == INVOCATIONS:
            action, args = params.get("action"), params.get("args")
            extra = [key for key in params if key not in ("action", "args")]
            if extra:
                raise MalformedPayload(f"an invocation is {{'action': NAME, 'args': {{...}}}}; unexpected {sorted(extra)}")
            args = {} if args is None else args
        elif method in ACTIONS:
            action, args = method, params
        else:
            raise UnknownMethod(f"unknown method {method!r}; this server answers {', '.join(METHODS)}")
        if not isinstance(action, str) or action not in self._actions:
            raise UnknownMethod(f"unknown action {action!r}; the actions are {', '.join(ACTIONS)}")
        if not isinstance(args, dict):
            raise MalformedPayload(f"args must be an object, got {type(args).__name__}")
        try:
            self._signatures[action].bind(session, **args)
        except TypeError as exc:  # a missing or unknown argument name
            raise InvalidArgument(f"{action}: {exc}; it takes {_described(self._signatures[action])}") from None
        return action, args

    def close_session(self, session: str) -> None:
        """The caller's connection ended: forget its agents (and stop waiting for its calls)."""
        self.agents.close_session(session)
        if self.batcher is not None:
            self.batcher.forget(session)

    def close(self) -> None:
        if self.batcher is not None:
            self.batcher.stop()

    # -- actions -------------------------------------------------------------------------

    def _select_action(self, session, **args):
        step = self._prepare_select(session, **args)
        if isinstance(step, dict):
            return step
        if self.batcher is not None and not _on_event_loop():
            return self._finish_select(step, self.batcher.decide(*step.for_batcher(session)), recorded=True)
        decided = self.decider.decide(stack_windows([step.windows]), step.deterministic, step.control, stack_masks([step.windows]))
        return self._finish_select(step, decided)

    def _prepare_select(self, session, agent_ids, observations, terminated_agent_ids=None, rewards=None, deterministic=True,
                        action_masks=None):
        """Check a select_action call whole, then append each acting agent's token; the answer
        itself when no agent acts, else what the forward pass needs (``_Step``).

        ``action_masks`` (optional, one per agent, ``null`` for none) restricts each agent to
        its allowed actions (masks.py's convention); a malformed one refuses the call whole."""
        ids = inputs.agent_ids(agent_ids)
        terminated = [] if terminated_agent_ids is None else inputs.agent_ids(terminated_agent_ids, "terminated_agent_ids")
        observed = observations if isinstance(observations, np.ndarray) and len(observations) == len(ids) else inputs.per_agent(observations, len(ids), "observations")
        given_rewards = None if rewards is None else inputs.rewards(rewards, len(ids))
        if not isinstance(deterministic, bool):
            raise InvalidArgument(f"deterministic must be true or false, got {deterministic!r}")
        every = inputs.box_batch(self.observation_space, observed, len(ids))
        if every is not None:
            present, stacked = None, every
        else:
            present = [i for i, obs in enumerate(observed) if obs is not None]
            checked = [inputs.observation(self.observation_space, observed[i], f"observations[{i}] (agent {ids[i]!r})") for i in present]
            stacked = inputs.batch(self.observation_space, checked) if checked else None
        flat = np.zeros((0, self.policy.obs_dim), np.float32)
        if stacked is not None:
            flat = self.policy.obs_normalizer.normalize(self.policy.flatten_observations(stacked))
        acting = ids if present is None else [ids[i] for i in present]
        masks = self._masks(action_masks, ids, range(len(ids)) if present is None else present)
        if given_rewards is None:
            acting_rewards = None
        else:
            acting_rewards = given_rewards if present is None else [given_rewards[i] for i in present]
        slots, epochs, windows, control = self.agents.step(session, terminated, acting, flat, acting_rewards)
        if not acting:
            return {"actions": [None] * len(ids)}
        if masks is not None:
            windows[MASK_KEY] = masks
        return _Step(len(ids), present, slots, epochs, windows, np.full(len(acting), deterministic), control)

    def _finish_select(self, step: _Step, decided: Decided, recorded: bool = False) -> dict:
        """Remember the actions taken (unless the batcher did, for its whole pass) and answer
        them in the action space's form."""
        if not recorded:
            self.agents.record(step.slots, step.epochs, decided.features)
        batched = self.policy.to_env_actions(decided.raw)
        if step.present is None and isinstance(self.action_space, _ARRAY_SPACES):
            return {"actions": batched}
        present = range(step.count) if step.present is None else step.present
        actions: list[Any] = [None] * step.count
        for i, action in zip(present, iterate(batch_space(self.action_space, len(present)), batched)):
            actions[i] = _plain(action)
        return {"actions": actions}

    async def _finish_when_decided(self, step: _Step, decided: asyncio.Future) -> dict:
        try:
            return self._finish_select(step, await decided, recorded=True)
        except ProtocolError:
            raise
        except Exception as exc:
            raise ProtocolError(f"select_action failed: {type(exc).__name__}: {exc}") from exc

    def _sample_action(self, session, num_agents=1, action_masks=None):
        if action_masks is None:
            return {"actions": self._samples(self.action_space, num_agents)}
        self._count(num_agents)
        masks = self._masks(action_masks, list(range(num_agents)), range(num_agents))
        raw = random_raw_actions(self.policy.action_head, num_agents, self.decider.rng, masks)
        return self._finish_select(_Step(num_agents, None, None, None, {}, None, None), Decided(raw, None), recorded=True)

    def _sample_observation(self, session, num_agents=1):
        return {"observations": self._samples(self.observation_space, num_agents)}

    def _set_control_value(self, session, control_value, agent_ids=None):
        try:
            value = check_control_value(control_value)
        except ValueError as exc:
            raise InvalidArgument(str(exc)) from None
        ids = None if agent_ids is None else inputs.agent_ids(agent_ids)
        self.agents.set_control(session, value, ids)
        return {"control_value": value, "agent_ids": ids}

    def _get_control_value(self, session, agent_ids=None):
        if agent_ids is None:
            return {"control_value": self.agents.control_of(session, None)}
        return {"control_values": self.agents.control_of(session, inputs.agent_ids(agent_ids))}

    def _terminate_agents(self, session, agent_ids):
        return {"terminated": self.agents.terminate(session, inputs.agent_ids(agent_ids))}

    def _reset_agents(self, session):
        return {"reset": self.agents.reset(session)}

    def _get_agent_ids(self, session):
        return {"agent_ids": self.agents.live_ids(session)}

    def _status(self, session):
        return {
            "version": __version__,
            "policy": self.source,
            "observation_space": space_to_dict(self.observation_space),
            "action_space": space_to_dict(self.action_space),
            "context_length": self.policy.max_input_states,
            "agents": len(self.agents),
            "session_agents": len(self.agents.live_ids(session)),
            "max_agents": self.agents.max_agents,
            "agent_ttl_s": self.agents.agent_ttl_s,
            "default_control_value": self.agents.default_control,
            "batching": None if self.batcher is None else self.batcher.stats(),
            "forward_passes": self.decider.forward_passes,
            "uptime_s": time.time() - self.started,
        }

    # -- helpers -------------------------------------------------------------------------

    def _masks(self, action_masks: Any, ids: list, acting: Any) -> np.ndarray | None:
        """The acting agents' masks ``[len(acting), mask_width]`` (None when no agent has one)."""
        if action_masks is None:
            return None
        given = inputs.per_agent(action_masks, len(ids), "action_masks")
        if all(given[i] is None for i in acting):
            return None
        out = np.ones((len(acting), mask_width(self.action_space)), bool)
        for row, i in enumerate(acting):
            if given[i] is not None:
                out[row] = row_mask(self.action_space, given[i], f"action_masks[{i}] (agent {ids[i]!r})", what="request")
        return out

    def _count(self, num_agents: Any) -> None:
        if isinstance(num_agents, bool) or not isinstance(num_agents, int) or not 1 <= num_agents <= self.agents.max_agents:
            raise InvalidArgument(f"num_agents must be an integer from 1 to {self.agents.max_agents}, got {num_agents!r}")

    def _samples(self, space: spaces.Space, num_agents: Any) -> Any:
        self._count(num_agents)
        samples = [space.sample() for _ in range(num_agents)]
        if isinstance(space, _ARRAY_SPACES):
            return np.stack([np.asarray(s, space.dtype) for s in samples])
        return [_plain(s) for s in samples]


class _Step(NamedTuple):
    """A select_action call between its context update and its forward pass."""

    count: int  # agents named in the call
    present: list[int] | None  # indices of the agents that act (None: all of them)
    slots: np.ndarray
    epochs: np.ndarray
    windows: dict[str, np.ndarray]
    deterministic: np.ndarray
    control: np.ndarray

    def for_batcher(self, session: str) -> tuple:
        return self.windows, self.deterministic, self.control, session, self.slots, self.epochs


async def _done(answer: Any) -> Any:
    return answer


def _described(signature: inspect.Signature) -> str:
    """``agent_ids, observations, terminated_agent_ids=None, ...`` without the session."""
    names = [p.name if p.default is p.empty else f"{p.name}={p.default!r}" for p in signature.parameters.values()][1:]
    return ", ".join(names) or "no arguments"


def _on_event_loop() -> bool:
    """Whether this call runs on an asyncio loop's thread (a transport answering inline).

    Such a call must not wait for company: while it waits it holds the loop, so the
    calls it waits for cannot arrive. It runs its own forward pass instead.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _plain(value: Any) -> Any:
    """Tuples as lists and numpy scalars as numbers, so every codec carries the value."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value
