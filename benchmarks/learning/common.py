"""Shared pieces of the learning benchmarks: env factories, a fair clock, SB3 evaluation.

Both learners are evaluated the same way (``EVAL_EPISODES`` deterministic episodes on
fresh envs, every ``eval_every`` env steps) and their wall-clock excludes evaluation time,
so "time to first reach the target" measures learning only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import gymnasium
import numpy as np
from gymnasium.vector import AutoresetMode, SyncVectorEnv

EVAL_EPISODES = 20
EVAL_SEED = 10_000


class MaskVelocity(gymnasium.ObservationWrapper):
    """CartPole with only cart position and pole angle visible (a POMDP: velocities hidden)."""

    def __init__(self, env: gymnasium.Env) -> None:
        super().__init__(env)
        low, high = env.observation_space.low[[0, 2]], env.observation_space.high[[0, 2]]
        self.observation_space = gymnasium.spaces.Box(low, high, dtype=np.float32)

    def observation(self, observation):
        return observation[[0, 2]]


def env_factory(env_id: str):
    if env_id == "MaskedCartPole-v1":
        return lambda: MaskVelocity(gymnasium.make("CartPole-v1"))
    return lambda: gymnasium.make(env_id)


def same_step_envs(env_id: str, num_envs: int) -> SyncVectorEnv:
    return SyncVectorEnv([env_factory(env_id)] * num_envs, autoreset_mode=AutoresetMode.SAME_STEP)


@dataclass
class LearningClock:
    """Wall-clock of learning with evaluation pauses taken out; records evaluations."""

    target: float
    started: float = field(default_factory=time.perf_counter)
    paused: float = 0.0
    evaluations: list[dict] = field(default_factory=list)
    first_hit: dict | None = None

    def record(self, global_step: int, evaluate) -> bool:
        """Evaluate (off the clock); return True the first time the target is reached."""
        learning_seconds = time.perf_counter() - self.started - self.paused
        pause_start = time.perf_counter()
        mean_return = evaluate()
        self.paused += time.perf_counter() - pause_start
        entry = {"global_step": global_step, "learning_seconds": round(learning_seconds, 1), "mean_return": mean_return}
        self.evaluations.append(entry)
        print(entry, flush=True)
        if self.first_hit is None and mean_return >= self.target:  # the first hit, not the policy one gets
            self.first_hit = entry
            return True
        return False


def evaluate_sb3(model, env_id: str, episodes: int = EVAL_EPISODES, seed: int = EVAL_SEED, per_episode: bool = False):
    """Deterministic mean return of an SB3 model (or each episode's return with ``per_episode``),
    one episode per env, envs stepped in one batch."""
    envs = gymnasium.vector.SyncVectorEnv(
        [env_factory(env_id)] * episodes, autoreset_mode=AutoresetMode.SAME_STEP
    )
    observation, _ = envs.reset(seed=seed)
    returns, running, finished = np.zeros(episodes), np.zeros(episodes), np.zeros(episodes, bool)
    while not finished.all():
        action, _ = model.predict(observation, deterministic=True)
        observation, reward, terminated, truncated, _ = envs.step(action)
        running += reward
        done = (terminated | truncated) & ~finished
        returns[done] = running[done]
        finished |= done
    envs.close()
    return returns if per_episode else float(returns.mean())
