"""Agent rows: a multi-agent vector env's (env, slot) pairs as the rows of one Gymnasium batch.

A trainer wants a fixed number of rows; a multi-agent env has agents that come and go
in slots that only grow (docs/protocol.md, "Agent slots"). So each env gets a fixed
block of ``rows_per_env`` rows and slot ``s`` of env ``e`` is always row
``e * rows_per_env + s``: a row is stable for the life of its slot. A row has a real
transition only while its slot has an agent; ``infos["alive"]`` says which rows have
an observation to act on, and an action for any other row is sent as ``None``.

Per row, a step reads the wire like a SAME_STEP vector env: the agent that ended has
its terminal observation in ``infos["final_obs"]``; ``observation`` is what the slot
holds now (the next agent or episode, or filler when the slot is empty). A slot's
``info["action_mask"]`` (masks.py) becomes its row's entry of ``infos["action_mask"]``
(flag ``infos["_action_mask"]``); other per-agent info stays on the host.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector.utils import concatenate, create_empty_array

from .. import batches
from ..masks import MASK_INFO_KEY
from ..protocol.names import AGENTS, FINAL_OBSERVATION, INFO, OBSERVATION, REWARD, TERMINATED, TRUNCATED
from ..slots import ALIVE_INFO_KEY
from ..batches import object_rows
from .assembly import put_final_observations
from .convert import as_space_value

AGENT_ID_INFO_KEY = "agent_id"  # infos[...]: the agent id each row holds now (None: empty)


class AgentRows:
    """Row bookkeeping for ``num_envs`` multi-agent envs of ``rows_per_env`` rows each."""

    def __init__(self, space: spaces.Space, num_envs: int, rows_per_env: int, agents: list[Any]):
        if rows_per_env < 1:
            raise ValueError("a multi-agent vector env needs agent_rows >= 1 (rows per env)")
        self.space, self.num_envs, self.rows_per_env = space, num_envs, rows_per_env
        self.num_rows = num_envs * rows_per_env
        self.slots: list[list[Any]] = [[] for _ in range(num_envs)]
        for env in range(num_envs):
            self._set_slots(env, list(agents))
        self.alive = np.zeros(self.num_rows, bool)
        self._filler = batches.row(create_empty_array(space, 1, fn=np.zeros), 0)

    # -- actions -------------------------------------------------------------------

    def actions(self, actions: Any, envs: list[int]) -> list[list[Any]]:
        """Per env in ``envs``: its slot-ordered action list (``None`` for rows without an agent to act)."""
        out = []
        for env in envs:
            first = env * self.rows_per_env
            out.append([
                batches.row(actions, first + slot) if self.alive[first + slot] else None
                for slot in range(len(self.slots[env]))
            ])  # fmt: skip
        return out

    # -- answers -------------------------------------------------------------------

    def start(self) -> RowsStep:
        return RowsStep(self)

    def _set_slots(self, env: int, agents: list[Any]) -> None:
        if len(agents) > self.rows_per_env:
            raise RuntimeError(
                f"env {env} now has {len(agents)} agent slots but this vector env has {self.rows_per_env} rows "
                "per env: make it with a larger agent_rows (agentgpt train --agent-rows)"
            )
        self.slots[env] = agents


class RowsStep:
    """One reset or step answer (of one or more hosts) written into rows."""

    def __init__(self, rows: AgentRows):
        self.rows = rows
        n = rows.num_rows
        self.obs: list[Any] = [rows._filler] * n
        self.reward = np.zeros(n, np.float64)
        self.terminated = np.zeros(n, bool)
        self.truncated = np.zeros(n, bool)
        self.alive = np.zeros(n, bool)
        self.final_obs = np.full(n, None, dtype=object)
        self.masks = np.full(n, None, dtype=object)
        self._written: set[int] = set()

    def add(self, envs: list[int], result: dict) -> None:
        """A vector answer (each field one entry per env) for ``envs``."""
        for i, env in enumerate(envs):
            self._written.add(env)
            self._add_env(env, {key: value[i] for key, value in result.items() if isinstance(value, list)})

    def begin(self, envs: list[int], first: dict) -> None:
        """Envs a host took over this step: rows its predecessor left end, then the first reset's rows."""
        self._lose(envs)
        self.add(envs, first)

    def _lose(self, envs: list[int]) -> None:
        """Envs whose host left: their live rows end (truncated), their observation is filler."""
        for env in envs:
            for row in self._env_rows(env):
                if self.rows.alive[row]:
                    self.truncated[row] = True

    def _env_rows(self, env: int) -> range:
        first = env * self.rows.rows_per_env
        return range(first, first + self.rows.rows_per_env)

    def _add_env(self, env: int, one: dict) -> None:
        rows, first = self.rows, env * self.rows.rows_per_env
        if one.get(AGENTS) is not None:
            rows._set_slots(env, list(one[AGENTS]))
        for slot, value in enumerate(one.get(OBSERVATION) or []):
            if value is not None:
                self.obs[first + slot] = as_space_value(rows.space, value)
                self.alive[first + slot] = True
        for key, out in ((REWARD, self.reward), (TERMINATED, self.terminated), (TRUNCATED, self.truncated)):
            for slot, value in enumerate(one.get(key) or []):
                if value is not None:
                    out[first + slot] = value
        for slot, info in enumerate(one.get(INFO) or []):
            if isinstance(info, dict) and info.get(MASK_INFO_KEY) is not None:
                self.masks[first + slot] = info[MASK_INFO_KEY]
        for slot, value in enumerate(one.get(FINAL_OBSERVATION) or []):
            if value is not None:
                self.final_obs[first + slot] = as_space_value(rows.space, value)

    def finish(self) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict]:
        rows = self.rows
        self._lose([env for env in range(rows.num_envs) if env not in self._written])
        obs = concatenate(rows.space, self.obs, create_empty_array(rows.space, rows.num_rows))
        rows.alive = self.alive.copy()
        ids = np.full(rows.num_rows, None, dtype=object)
        for env, agents in enumerate(rows.slots):
            for slot, agent in enumerate(agents):
                if self.alive[env * rows.rows_per_env + slot]:
                    ids[env * rows.rows_per_env + slot] = agent
        infos: dict = {ALIVE_INFO_KEY: self.alive, AGENT_ID_INFO_KEY: ids}
        has_mask = np.array([mask is not None for mask in self.masks]) & self.alive
        if has_mask.any():
            self.masks[~has_mask] = None
            infos[MASK_INFO_KEY], infos["_" + MASK_INFO_KEY] = self.masks, has_mask
        put_final_observations(infos, object_rows(list(self.final_obs)), {})
        return obs, self.reward, self.terminated, self.truncated, infos
