"""ML-Agents' ``BehaviorSpec`` as Gymnasium spaces, and actions back as an ``ActionTuple``.

- Observations: a ``Dict`` of ``Box``es, one per sensor (vector and visual alike), keyed by
  the sensor's name; a sensor without a name, or with a name another sensor has, is keyed
  ``obs_<index>`` (its place in ML-Agents' list). Visual sensors arrive as ML-Agents decodes
  them (height, width, channels; PNG pixels in [0, 1]).
- Actions: continuous only -> ``Box(-1, 1, (n,))`` (ML-Agents' own range); discrete only ->
  ``MultiDiscrete(branch sizes)`` (one branch too, so a build's spec maps one way);
  both -> ``Tuple(Box, MultiDiscrete)``. Values round-trip exactly: float32 and int32 are
  what ML-Agents sends to the build.
- Action masks: ML-Agents' per-branch arrays (True = forbidden) become ``info["action_mask"]``,
  a list with one int8 array per branch, 1 = allowed: Gymnasium's convention, so
  ``MultiDiscrete.sample(mask=tuple(mask))`` honours it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from mlagents_envs.base_env import ActionSpec, ActionTuple, BehaviorSpec


def observation_keys(spec: BehaviorSpec) -> list[str]:
    """One key per sensor, in ML-Agents' order."""
    names = [o.name for o in spec.observation_specs]
    return [name if name and names.count(name) == 1 else f"obs_{i}" for i, name in enumerate(names)]


def observation_space(spec: BehaviorSpec) -> spaces.Dict:
    keys = observation_keys(spec)
    return spaces.Dict({key: spaces.Box(-np.inf, np.inf, tuple(o.shape), np.float32)
                        for key, o in zip(keys, spec.observation_specs)})


def action_space(spec: ActionSpec) -> spaces.Space:
    parts: list[spaces.Space] = []
    if spec.continuous_size:
        parts.append(spaces.Box(-1.0, 1.0, (spec.continuous_size,), np.float32))
    if spec.discrete_size:
        parts.append(spaces.MultiDiscrete(np.array(spec.discrete_branches, dtype=np.int64)))
    if not parts:
        raise ValueError("the behaviour has no actions (ActionSpec with no continuous or discrete part)")
    return parts[0] if len(parts) == 1 else spaces.Tuple(parts)


def action_tuple(spec: ActionSpec, actions: list[Any]) -> ActionTuple:
    """``actions`` (one per agent, in the order of ML-Agents' DecisionSteps) as an ActionTuple."""
    count = len(actions)
    continuous = np.zeros((count, spec.continuous_size), dtype=np.float32)
    discrete = np.zeros((count, spec.discrete_size), dtype=np.int32)
    both = spec.continuous_size and spec.discrete_size
    for row, action in enumerate(actions):
        if both:
            continuous[row], discrete[row] = action[0], action[1]
        elif spec.continuous_size:
            continuous[row] = action
        else:
            discrete[row] = action
    return ActionTuple(continuous=continuous if spec.continuous_size else None,
                       discrete=discrete if spec.discrete_size else None)


def allowed_actions(action_mask: list[np.ndarray] | None, row: int) -> list[np.ndarray] | None:
    """Row ``row`` of ML-Agents' mask (True = forbidden) as one int8 array per branch, 1 = allowed."""
    if action_mask is None:
        return None
    return [(~np.asarray(branch[row], dtype=bool)).astype(np.int8) for branch in action_mask]
