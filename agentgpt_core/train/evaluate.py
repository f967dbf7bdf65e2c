"""Deterministic evaluation of a trained policy, stepping its context windows as in training.

Episodes run in parallel (up to ``MAX_PARALLEL`` envs in one ``SyncVectorEnv``), each row
with a fixed quota of episodes so short episodes are not over-counted; the policy acts
with its distribution's mode, among the actions each step's ``info["action_mask"]``
allows (masks.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import gymnasium
import numpy as np
import torch
from gymnasium.vector import AutoresetMode, SyncVectorEnv

from ..masks import batch_masks, env_label
from ..policy import ContextWindows, GPTActorCritic, load_policy
from .ppo import as_mask_tensor

MAX_PARALLEL = 32


def evaluate_policy(
    policy: GPTActorCritic, env_factory: Callable[[], gymnasium.Env], episodes: int, seed: int | None = None
) -> dict:
    """Mean and std of the undiscounted return over ``episodes`` episodes of ``env_factory`` envs."""
    num_rows = max(1, min(episodes, MAX_PARALLEL))
    quota = np.full(num_rows, episodes // num_rows)
    quota[: episodes % num_rows] += 1
    envs = SyncVectorEnv([env_factory] * num_rows, autoreset_mode=AutoresetMode.SAME_STEP)
    was_training = policy.training
    policy.eval()
    returns: list[float] = []
    try:
        windows = ContextWindows(policy, num_rows)
        observation, infos = envs.reset(seed=seed)
        space, name = envs.single_action_space, env_label(envs)
        every_row = np.ones(num_rows, bool)
        windows.observe(policy.obs_normalizer.normalize(policy.flatten_observations(observation)), every_row)
        running, finished = np.zeros(num_rows), np.zeros(num_rows, np.int64)
        while (finished < quota).any():
            with torch.no_grad():
                mask = batch_masks(space, infos, num_rows, name)
                distribution, _ = policy(windows.window(), as_mask_tensor(mask))
                raw_action = distribution.mode().numpy()
            observation, reward, terminated, truncated, infos = envs.step(policy.to_env_actions(raw_action))
            running += reward
            done = np.asarray(terminated, bool) | np.asarray(truncated, bool)
            for row in np.flatnonzero(done & (finished < quota)):
                returns.append(float(running[row]))
                finished[row] += 1
            running[done] = 0.0
            windows.record(raw_action, reward, every_row)
            windows.start_episodes(done)
            windows.observe(policy.obs_normalizer.normalize(policy.flatten_observations(observation)), every_row)
    finally:
        envs.close()
        policy.train(was_training)
    return {"mean_return": float(np.mean(returns)), "std_return": float(np.std(returns)), "episodes": len(returns)}


def evaluate(
    policy_dir: str | Path, env_factory: Callable[[], gymnasium.Env], episodes: int, seed: int | None = None
) -> dict:
    """Load the policy from a run directory or checkpoint and evaluate it (see evaluate_policy)."""
    policy, _ = load_policy(policy_dir)
    return evaluate_policy(policy, env_factory, episodes, seed)
