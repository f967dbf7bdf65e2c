"""GPTAPI: the client a game uses to ask a served policy for its agents' actions.

``GPTAPI.connect(url)`` opens a transport client through whichever plugin owns the
URL's scheme (``http://``, ``https://``, ``ws://``, ``wss://``, ``memory://``), exactly as
``RemoteEnv`` does; every action then goes out as one ``invocations`` call,
``{"action": NAME, "args": {...}}``, the body SageMaker's ``POST /invocations`` carries.
That is also the seam for other ways to reach a policy: anything with
``call(method, params)`` (a ``TransportClient``) can be handed to ``GPTAPI(client)``,
and a plugin that registers a transport for a new scheme (say ``sagemaker://ENDPOINT``,
sending ``invocations`` through the SageMaker runtime) makes ``GPTAPI.connect`` reach it
with no change here.

Results come back as numpy arrays in the action (or observation) space's dtype and
shape, one row per agent; errors are the protocol's typed errors (``InvalidArgument``,
``UnknownMethod``, ``TooManyAgents``...), raised as the same classes the server raised.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from gymnasium import spaces
from gymnasium.vector.utils import concatenate, create_empty_array

from ..protocol.names import INVOCATIONS
from ..protocol.spaces import space_from_dict

_ARRAY_SPACES = (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)


class GPTAPI:
    """One connection to a policy server; methods mirror the server's actions (docs/serving.md)."""

    def __init__(self, client: Any) -> None:
        """Wrap any object with ``call(method, params) -> result`` (a TransportClient)."""
        self.client = client
        described = self.status()
        self.observation_space: spaces.Space = space_from_dict(described["observation_space"])
        self.action_space: spaces.Space = space_from_dict(described["action_space"])

    @classmethod
    def connect(cls, url: str, *, api_key: str | None = None, codec: str = "msgpack", timeout: float = 30.0) -> GPTAPI:
        """Connect to ``agentgpt serve`` at ``url``; the API key defaults to ``AGENTGPT_API_KEY``."""
        from ..remote.connect import connect

        client = connect(url, api_key=api_key, codec=codec, timeout=timeout)
        try:
            return cls(client)
        except BaseException:
            client.close()
            raise

    # -- actions --------------------------------------------------------------------

    def select_action(
        self,
        agent_ids: Sequence[int | str],
        observations: Any,
        terminated_agent_ids: Sequence[int | str] | None = None,
        *,
        rewards: Sequence[float | None] | None = None,
        deterministic: bool = True,
        action_masks: Sequence[Any] | None = None,
    ) -> Any:
        """One action per agent for its newest observation (``None`` in, ``None`` out).

        ``terminated_agent_ids`` end those agents' episodes first (their next observation
        starts a fresh context); ``rewards`` are what each agent received for its last
        action, carried in its context as in training; ``action_masks`` (one per agent,
        ``None`` for none) restrict each agent to its allowed actions, in the env convention
        (docs/protocol.md, "Action masks"). Returns an array of the action
        space's dtype with one row per agent, or, when some observation was ``None``, an
        object array holding ``None`` for those agents.
        """
        args: dict[str, Any] = {
            "agent_ids": _ids(agent_ids),
            "observations": _observations(observations),
            "deterministic": bool(deterministic),
        }
        if terminated_agent_ids is not None:
            args["terminated_agent_ids"] = _ids(terminated_agent_ids)
        if rewards is not None:
            args["rewards"] = [None if r is None else float(r) for r in rewards]
        if action_masks is not None:
            args["action_masks"] = _masks(action_masks)
        return self._batch(self.action_space, self._invoke("select_action", args)["actions"], len(args["agent_ids"]))

    def sample_action(self, num_agents: int = 1, action_masks: Sequence[Any] | None = None) -> Any:
        """Uniformly random actions from the action space (among each agent's allowed ones
        with ``action_masks``), one row per agent."""
        args: dict[str, Any] = {"num_agents": num_agents}
        if action_masks is not None:
            args["action_masks"] = _masks(action_masks)
        return self._batch(self.action_space, self._invoke("sample_action", args)["actions"], num_agents)

    def sample_observation(self, num_agents: int = 1) -> Any:
        """Random observations from the observation space, one row per agent."""
        found = self._invoke("sample_observation", {"num_agents": num_agents})["observations"]
        return self._batch(self.observation_space, found, num_agents)

    def set_control_value(self, control_value: float, agent_ids: Sequence[int | str] | None = None) -> None:
        """How well agents play, in [0, 1]; ``agent_ids`` None sets this connection's default and all its agents."""
        args: dict[str, Any] = {"control_value": float(control_value)}
        if agent_ids is not None:
            args["agent_ids"] = _ids(agent_ids)
        self._invoke("set_control_value", args)

    def get_control_value(self, agent_ids: Sequence[int | str] | None = None) -> float | np.ndarray:
        """This connection's default control value, or each listed agent's."""
        if agent_ids is None:
            return float(self._invoke("get_control_value", {})["control_value"])
        return np.asarray(self._invoke("get_control_value", {"agent_ids": _ids(agent_ids)})["control_values"], np.float64)

    def terminate_agents(self, agent_ids: Sequence[int | str]) -> list:
        """End these agents' episodes; returns the ids that had a context."""
        return list(self._invoke("terminate_agents", {"agent_ids": _ids(agent_ids)})["terminated"])

    def reset_agents(self) -> int:
        """Forget every agent of this connection; returns how many there were."""
        return int(self._invoke("reset_agents", {})["reset"])

    def get_agent_ids(self) -> list:
        """This connection's agents that currently hold a context."""
        return list(self._invoke("get_agent_ids", {})["agent_ids"])

    def status(self) -> dict:
        """The server's policy, spaces, agent counts and batching statistics."""
        return self._invoke("status", {})

    def ping(self) -> dict:
        return self.client.call("ping", {})

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> GPTAPI:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- helpers ---------------------------------------------------------------------

    def _invoke(self, action: str, args: dict) -> Any:
        return self.client.call(INVOCATIONS, {"action": action, "args": args})

    @staticmethod
    def _batch(space: spaces.Space, values: Any, count: int) -> Any:
        """Wire values as the space's batched form (what a VectorEnv would hold)."""
        if isinstance(values, np.ndarray) and isinstance(space, _ARRAY_SPACES):
            return values.astype(space.dtype, copy=False).reshape((count,) + space.shape)
        values = list(values)
        if any(v is None for v in values):
            out = np.empty(count, dtype=object)
            out[:] = [None if v is None else _single(space, v) for v in values]
            return out
        items = [_single(space, v) for v in values]
        if isinstance(space, _ARRAY_SPACES):
            return np.stack(items) if items else np.zeros((0,) + space.shape, space.dtype)
        return concatenate(space, items, create_empty_array(space, count))


def _single(space: spaces.Space, value: Any) -> Any:
    """One wire value as the space's own type."""
    if isinstance(space, spaces.Tuple):
        return tuple(_single(s, v) for s, v in zip(space.spaces, value))
    if isinstance(space, spaces.Dict):
        return {k: _single(s, value[k]) for k, s in space.spaces.items()}
    if isinstance(space, spaces.Discrete):
        return space.dtype.type(value)
    return np.asarray(value, space.dtype).reshape(space.shape)


def _masks(action_masks: Sequence[Any]) -> list:
    """Per-agent masks as plain lists of 0/1 (one array, or one per branch), which every codec carries."""
    def plain(mask: Any) -> Any:
        if isinstance(mask, np.ndarray) and mask.dtype != object:
            return mask.astype(np.int8).tolist()
        if isinstance(mask, (list, tuple)) and mask and np.ndim(mask[0]) > 0:
            return [np.asarray(branch).astype(np.int8).tolist() for branch in mask]
        return np.asarray(mask).astype(np.int8).tolist()

    return [None if mask is None else plain(mask) for mask in action_masks]


def _ids(agent_ids: Sequence[int | str]) -> list:
    return [a.item() if isinstance(a, np.generic) else a for a in (agent_ids.tolist() if isinstance(agent_ids, np.ndarray) else agent_ids)]


def _observations(observations: Any) -> Any:
    """An array goes as one ndarray (the msgpack fast path); a list keeps its ``None`` entries."""
    if isinstance(observations, np.ndarray) and observations.dtype != object:
        return observations
    return [None if o is None else (o.item() if isinstance(o, np.generic) else o) for o in observations]
