"""Batch assembly: wire results of one or many hosts as Gymnasium's vector step and reset.

``RemoteVectorEnv`` (one host) and the host pool (many) both present SAME_STEP
autoreset: a finished episode's last observation is in ``infos["final_obs"]`` (mask
``infos["_final_obs"]``) with ``infos["final_info"]``, and ``observation`` already
starts the next episode. ``StepBatch`` and ``ResetBatch`` write each host's rows
into its slots; rows no host wrote are filler (``infos["alive"]`` False; the rules
are in docs/ws-and-gateway.md, "Slots").
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector.utils import create_empty_array

from .. import batches
from ..protocol.names import FINAL_INFO, INFO, OBSERVATION
from ..slots import ALIVE_INFO_KEY
from .convert import as_batch_value, unpack_vector_step


def put_final_observations(infos: dict, final_obs: np.ndarray, final_info: dict) -> None:
    """Add Gymnasium's SAME_STEP keys to ``infos`` when any row (``final_obs`` not None) ended an episode."""
    mask = np.array([final is not None for final in final_obs], dtype=bool)
    if mask.any():
        infos["final_obs"], infos["_final_obs"] = final_obs, mask
        infos["final_info"], infos["_final_info"] = final_info, mask


class ResetBatch:
    """A vector ``reset`` assembled from the hosts that hold slots."""

    def __init__(self, space: spaces.Space, num_envs: int):
        self.space, self.num_envs = space, num_envs
        self.obs = create_empty_array(space, num_envs, fn=np.zeros)
        self.alive = np.zeros(num_envs, dtype=bool)
        self._infos: list[tuple[list[int], dict]] = []

    def add(self, slots: list[int], result: dict) -> None:
        batches.put(self.obs, slots, as_batch_value(self.space, result[OBSERVATION], len(slots)))
        self.alive[slots] = True
        if result.get(INFO):
            self._infos.append((slots, result[INFO]))

    def finish(self) -> tuple[Any, dict]:
        infos = batches.merge_infos(self._infos, self.num_envs)
        infos[ALIVE_INFO_KEY] = self.alive
        return self.obs, infos


class StepBatch:
    """A vector ``step`` assembled from the hosts that hold slots; ``last_obs`` fills the rest."""

    def __init__(self, space: spaces.Space, num_envs: int, last_obs: Any):
        self.space, self.num_envs, self._last = space, num_envs, last_obs
        self.obs = batches.copy(last_obs)
        self.reward = np.zeros(num_envs, dtype=np.float64)
        self.terminated = np.zeros(num_envs, dtype=bool)
        self.truncated = np.ones(num_envs, dtype=bool)  # filler rows are truncations; hosted rows overwrite
        self.alive = np.zeros(num_envs, dtype=bool)
        self.final_obs = np.full(num_envs, None, dtype=object)
        self._infos: list[tuple[list[int], dict]] = []
        self._final_infos: list[tuple[list[int], dict]] = []

    def add(self, slots: list[int], result: dict) -> None:
        """A host's step result for its ``slots``."""
        rows, self.reward[slots], self.terminated[slots], self.truncated[slots], finals = unpack_vector_step(
            self.space, result, len(slots)
        )
        batches.put(self.obs, slots, rows)
        self.alive[slots] = True
        for slot, final in zip(slots, finals):
            if final is not None:
                self.final_obs[slot] = final
        if result.get(FINAL_INFO):
            self._final_infos.append((slots, result[FINAL_INFO]))
        if result.get(INFO):
            self._infos.append((slots, result[INFO]))

    def begin(self, slots: list[int], first: dict) -> None:
        """A host that took ``slots`` this step: their observation is its fresh first one."""
        batches.put(self.obs, slots, as_batch_value(self.space, first[OBSERVATION], len(slots)))

    def finish(self) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict]:
        for slot in np.flatnonzero(~self.alive):
            self.final_obs[slot] = batches.row(self._last, slot)
        infos = batches.merge_infos(self._infos, self.num_envs)
        infos[ALIVE_INFO_KEY] = self.alive
        put_final_observations(infos, self.final_obs, batches.merge_infos(self._final_infos, self.num_envs))
        return self.obs, self.reward, self.terminated, self.truncated, infos
