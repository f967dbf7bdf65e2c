"""PPO with GAE for the GPT actor-critic, readable top to bottom (CleanRL style).

``train`` consumes any ``gymnasium.vector.VectorEnv`` in SAME_STEP autoreset mode (what
``RemoteVectorEnv`` and ``SyncVectorEnv(..., autoreset_mode=SAME_STEP)`` do): when a row's
episode ends, ``step`` already returns the next episode's first observation and
``infos["final_obs"]`` holds the last one, which bootstraps the value of a truncated
episode. Each step the policy acts for all rows in one batch, each row seeing its own
window of the last ``max_input_states`` timesteps (``ContextWindows``); the rollout stores
those windows, so the update evaluates exactly what the actor saw.

Rows without data: a multi-agent env may report ``infos["alive"]`` (bool per row). A row
that is not alive gets no token, its action is ignored, and its step is left out of GAE
and the loss. Without that key every row is alive.

Action masks: a row's ``infos["action_mask"]`` (masks.py) restricts what the policy may
pick for it; the rollout stores each step's masks and the update computes log-probs and
entropy under the same masks, so the ratio compares like with like. Without masks
nothing changes (no mask tensor is even built). Only real (alive) transitions count
toward ``max_steps`` and the learning-rate schedule; a step where no row is alive (a host
pool whose hosts are all gone) is not a step at all: training pauses, says so, and polls
the env until rows come back (``Pause``), instead of updating on filler.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable

import gymnasium
import numpy as np
import torch
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import concatenate, create_empty_array

from ..masks import batch_masks, env_label
from ..policy import CHECKPOINT_NAME, ContextWindows, GPTActorCritic, Window
from ..policy.artifact import policy_record, read_checkpoint
from ..slots import ALIVE_INFO_KEY
from .checkpoint import save_atomically
from .hyperparameters import Hyperparameters
from .reward_scaling import ReturnScaler
from .run_log import MetricsLog, ProgressBar

logger = logging.getLogger("agentgpt.train")
EPISODE_WINDOW = 20  # finished episodes averaged into "episode_return"
METRIC_FIELDS = [
    "update", "global_step", "wall_seconds", "steps_per_second", "learning_rate",
    "episode_return", "episode_length", "episodes", "policy_loss", "value_loss",
    "entropy", "approx_kl", "clip_fraction", "explained_variance", "alive_rows",
]  # fmt: skip


@dataclass
class TrainResult:
    checkpoint: Path
    global_step: int
    wall_seconds: float
    mean_episode_return: float  # over the last EPISODE_WINDOW finished episodes (NaN if none)
    updates: int
    stopped_early: bool


@dataclass
class UpdateReport:
    """Handed to ``on_update`` after every update; returning True from it stops training."""

    update: int
    global_step: int
    policy: GPTActorCritic
    metrics: dict[str, Any]


class Pause:
    """Waits out steps where no row is alive: logs once when it starts and when it ends,
    and sleeps between polls (50 ms doubling to 1 s) so a dead pool is not spun."""

    def __init__(self) -> None:
        self.since: float | None = None
        self.delay = 0.05

    def wait(self) -> None:
        if self.since is None:
            self.since = time.monotonic()
            logger.warning("training paused: no env row is alive (every env host gone?); waiting for one, counting no steps")
        time.sleep(self.delay)
        self.delay = min(1.0, self.delay * 2)

    def end(self) -> None:
        if self.since is not None:
            logger.warning("training resumed after %.1f s paused", time.monotonic() - self.since)
            self.since, self.delay = None, 0.05


def _alive_rows(infos: dict, num_rows: int) -> np.ndarray:
    alive = infos.get(ALIVE_INFO_KEY)
    return np.ones(num_rows, bool) if alive is None else np.asarray(alive, bool).copy()


def _final_observations(space: gymnasium.Space, infos: dict, rows: np.ndarray):
    """The terminal observations of ``rows`` (bool mask) as one batch of ``space``."""
    items = [infos["final_obs"][i] for i in np.flatnonzero(rows)]
    return concatenate(space, items, create_empty_array(space, len(items)))


def as_mask_tensor(mask: np.ndarray | None) -> torch.Tensor | None:
    return None if mask is None else torch.as_tensor(mask)


def stack_masks(masks: list[np.ndarray | None], num_rows: int, width: int) -> torch.Tensor | None:
    """The rollout's masks ``[T, N, width]`` (steps without one allow everything), or None if no step had one."""
    if all(mask is None for mask in masks):
        return None
    every = np.ones((num_rows, width), bool)
    return torch.as_tensor(np.stack([every if mask is None else mask for mask in masks]))


def compute_gae(rewards, values, dones, valid, next_value, gamma, gae_lambda):
    """Advantages and returns ``[T, N]``; steps where ``valid`` is False are skipped per row
    (their advantage is 0 and they pass the next valid step's value through)."""
    advantages = torch.zeros_like(rewards)
    last_advantage = torch.zeros_like(next_value)
    for t in reversed(range(rewards.shape[0])):
        not_done = 1.0 - dones[t]
        delta = rewards[t] + gamma * next_value * not_done - values[t]
        advantage = delta + gamma * gae_lambda * not_done * last_advantage
        advantages[t] = torch.where(valid[t], advantage, 0.0)
        last_advantage = torch.where(valid[t], advantage, last_advantage)
        next_value = torch.where(valid[t], values[t], next_value)
    return advantages, advantages + values


def train(
    envs: gymnasium.vector.VectorEnv,
    hp: Hyperparameters,
    out_dir: Path,
    *,
    resume: bool = False,
    progress: bool = True,
    on_update: Callable[[UpdateReport], bool | None] | None = None,
) -> TrainResult:
    """Train a GPT actor-critic on ``envs`` with PPO; write checkpoint and metrics to ``out_dir``."""
    mode = envs.metadata.get("autoreset_mode")
    if mode is not None and mode != AutoresetMode.SAME_STEP:
        raise ValueError(f"train() needs a VectorEnv with SAME_STEP autoreset, got {mode}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    checkpoint_file = out_dir / CHECKPOINT_NAME
    num_rows = envs.num_envs
    hp = replace(hp, num_envs=num_rows)  # the checkpoint records the rows actually trained on
    observation_space, action_space = envs.single_observation_space, envs.single_action_space
    env_name = env_label(envs)

    torch.set_num_threads(hp.torch_threads)
    torch.manual_seed(hp.seed)
    rng = np.random.default_rng(hp.seed)
    policy = GPTActorCritic(observation_space, action_space, **hp.model_config())
    optimizer = torch.optim.Adam(policy.parameters(), lr=hp.lr_init, eps=1e-5, foreach=True)
    reward_scaler = ReturnScaler(num_rows, hp.gamma)
    recent_returns, recent_lengths = deque(maxlen=EPISODE_WINDOW), deque(maxlen=EPISODE_WINDOW)
    episodes_done, global_step, update, wall_before = 0, 0, 0, 0.0

    if resume and checkpoint_file.exists():
        record = read_checkpoint(checkpoint_file)
        policy.load_state_dict(record["model_state"])
        state = record["trainer_state"]
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["torch_rng"])
        rng.bit_generator.state = state["numpy_rng"]
        reward_scaler.load_state_dict(state["reward_scaler"])
        recent_returns.extend(state["recent_returns"])
        recent_lengths.extend(state["recent_lengths"])
        episodes_done, global_step = state["episodes"], state["global_step"]
        update, wall_before = state["update"], state["wall_seconds"]

    steps_per_update = hp.rollout_steps * num_rows
    step_budget = max(1, hp.max_steps // steps_per_update) * steps_per_update  # whole updates' worth of real steps
    started = time.perf_counter()

    def wall_seconds() -> float:
        return wall_before + time.perf_counter() - started

    def save_checkpoint() -> Path:
        record = policy_record(policy, hp.model_config())
        record["hyperparameters"] = asdict(hp)
        record["trainer_state"] = {
            "optimizer": optimizer.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "numpy_rng": rng.bit_generator.state,
            "reward_scaler": reward_scaler.state_dict(),
            "recent_returns": list(recent_returns),
            "recent_lengths": list(recent_lengths),
            "episodes": episodes_done,
            "global_step": global_step,
            "update": update,
            "wall_seconds": wall_seconds(),
        }
        return save_atomically(record, checkpoint_file)

    log = MetricsLog(out_dir, METRIC_FIELDS)
    bar = ProgressBar(step_budget, global_step, enabled=progress)
    windows = ContextWindows(policy, num_rows)
    # A resumed run resets its envs with a different seed so it does not replay episodes.
    observation, infos = envs.reset(seed=hp.seed + update)
    alive = _alive_rows(infos, num_rows)
    mask = batch_masks(action_space, infos, num_rows, env_name, alive)
    flat = policy.flatten_observations(observation)
    policy.obs_normalizer.update(flat[alive])
    windows.observe(policy.obs_normalizer.normalize(flat), alive)
    episode_return, episode_length = np.zeros(num_rows), np.zeros(num_rows, np.int64)
    stopped_early = False
    pause = Pause()

    try:
        while global_step < step_budget and not stopped_early:
            learning_rate = hp.lr_init + min(global_step / hp.max_steps, 1.0) * (hp.lr_end - hp.lr_init)
            for group in optimizer.param_groups:
                group["lr"] = learning_rate

            # ---- Collect rollout_steps steps from every row, acting for all rows in one batch.
            policy.eval()
            rollout_windows, actions, log_probs, values, rewards, dones, valid, masks = ([] for _ in range(8))
            while len(rollout_windows) < hp.rollout_steps:
                window = windows.window()
                with torch.no_grad():
                    distribution, value = policy(window, as_mask_tensor(mask))
                    raw_action = distribution.sample()
                    log_prob = distribution.log_prob(raw_action)
                raw_action_np = raw_action.numpy()
                observation, reward, terminated, truncated, infos = envs.step(policy.to_env_actions(raw_action_np))
                reward = np.asarray(reward, np.float64)
                terminated, truncated = np.asarray(terminated, bool), np.asarray(truncated, bool)
                if not alive.any() and not _alive_rows(infos, num_rows).any():
                    pause.wait()  # filler in, filler out: nothing happened, so nothing is recorded or counted
                    continue
                pause.end()
                done = (terminated | truncated) & alive
                global_step += int(alive.sum())  # real transitions only

                episode_return[alive] += reward[alive]
                episode_length[alive] += 1
                for row in np.flatnonzero(done):
                    recent_returns.append(float(episode_return[row]))
                    recent_lengths.append(int(episode_length[row]))
                    episodes_done += 1
                episode_return[done], episode_length[done] = 0.0, 0

                train_reward = reward_scaler(reward, done, alive) if hp.normalize_rewards else reward.copy()
                windows.record(raw_action_np, reward, alive)
                # Truncated (not terminated) episodes continue in the value: bootstrap from final_obs.
                has_final = np.asarray(infos.get("_final_obs", np.zeros(num_rows, bool)), bool)
                bootstrap = done & truncated & ~terminated & has_final
                if bootstrap.any():
                    final_flat = np.zeros_like(flat)
                    final_flat[bootstrap] = policy.flatten_observations(
                        _final_observations(observation_space, infos, bootstrap)
                    )
                    final_window = windows.window_with(policy.obs_normalizer.normalize(final_flat), bootstrap)
                    with torch.no_grad():
                        final_value = policy.value(final_window)
                    train_reward[bootstrap] += hp.gamma * final_value.numpy()

                rollout_windows.append(window)
                actions.append(raw_action)
                log_probs.append(log_prob)
                values.append(value)
                rewards.append(torch.as_tensor(train_reward, dtype=torch.float32))
                dones.append(torch.as_tensor(done, dtype=torch.float32))
                valid.append(torch.as_tensor(alive))
                masks.append(mask)

                windows.start_episodes(done)
                alive = _alive_rows(infos, num_rows)
                mask = batch_masks(action_space, infos, num_rows, env_name, alive)
                flat = policy.flatten_observations(observation)
                policy.obs_normalizer.update(flat[alive])
                windows.observe(policy.obs_normalizer.normalize(flat), alive)

            # ---- Advantages (GAE) over the rollout, bootstrapped from the current windows.
            with torch.no_grad():
                next_value = policy.value(windows.window())
            values_t, valid_t = torch.stack(values), torch.stack(valid)
            advantages, returns = compute_gae(
                torch.stack(rewards), values_t, torch.stack(dones), valid_t, next_value, hp.gamma, hp.gae_lambda
            )

            # ---- Flatten (step, row) into samples, keeping only rows that had data.
            keep = valid_t.reshape(-1)
            samples = Window(
                *(torch.stack([getattr(w, f) for w in rollout_windows]).flatten(0, 1)[keep]
                  for f in ("observation", "previous_action", "previous_reward", "valid"))
            )  # fmt: skip
            b_actions = torch.stack(actions).flatten(0, 1)[keep]
            b_log_probs = torch.stack(log_probs).flatten(0, 1)[keep]
            b_advantages, b_returns = advantages.flatten()[keep], returns.flatten()[keep]
            b_values = values_t.flatten()[keep]
            rollout_masks = stack_masks(masks, num_rows, policy.action_head.mask_width)
            b_masks = None if rollout_masks is None else rollout_masks.flatten(0, 1)[keep]

            # ---- PPO epochs over shuffled minibatches.
            policy.train()
            num_samples = int(keep.sum())
            stats = {"policy_loss": [], "value_loss": [], "entropy": [], "approx_kl": [], "clip_fraction": []}
            for _ in range(hp.num_epochs):
                order = torch.as_tensor(rng.permutation(num_samples))
                for begin in range(0, num_samples, hp.batch_size):
                    index = order[begin : begin + hp.batch_size]
                    distribution, value = policy(samples[index], None if b_masks is None else b_masks[index])
                    log_ratio = distribution.log_prob(b_actions[index]) - b_log_probs[index]
                    ratio = log_ratio.exp()
                    advantage = b_advantages[index]
                    if hp.normalize_advantages and len(index) > 1:
                        advantage = (advantage - advantage.mean()) / (advantage.std() + 1e-8)
                    policy_loss = torch.max(
                        -advantage * ratio, -advantage * ratio.clamp(1 - hp.clip_coef, 1 + hp.clip_coef)
                    ).mean()
                    value_loss = 0.5 * (value - b_returns[index]).pow(2).mean()
                    entropy = distribution.entropy().mean()
                    loss = policy_loss - hp.entropy_coef * entropy + hp.value_coef * value_loss

                    optimizer.zero_grad()
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(policy.parameters(), hp.max_grad_norm)
                    optimizer.step()

                    with torch.no_grad():
                        stats["policy_loss"].append(policy_loss.item())
                        stats["value_loss"].append(value_loss.item())
                        stats["entropy"].append(entropy.item())
                        stats["approx_kl"].append(((ratio - 1) - log_ratio).mean().item())
                        stats["clip_fraction"].append(((ratio - 1).abs() > hp.clip_coef).float().mean().item())
            update += 1

            # ---- Log, checkpoint, report.
            return_variance = b_returns.var().item()
            elapsed = wall_seconds()
            metrics = {
                "update": update,
                "global_step": global_step,
                "wall_seconds": elapsed,
                "steps_per_second": global_step / max(elapsed, 1e-9),
                "learning_rate": learning_rate,
                "episode_return": float(np.mean(recent_returns)) if recent_returns else float("nan"),
                "episode_length": float(np.mean(recent_lengths)) if recent_lengths else float("nan"),
                "episodes": episodes_done,
                **{name: float(np.mean(series)) for name, series in stats.items()},
                "alive_rows": valid_t.sum(1).float().mean().item(),  # rows with real data, per step
                "explained_variance": (
                    1.0 - (b_returns - b_values).var().item() / return_variance if return_variance > 0 else float("nan")
                ),
            }
            log.write(metrics)
            bar.update(global_step, metrics["steps_per_second"], metrics["episode_return"])
            if on_update is not None and on_update(UpdateReport(update, global_step, policy, metrics)):
                stopped_early = True
            if stopped_early or update % hp.checkpoint_every == 0 or global_step >= step_budget:
                save_checkpoint()
    finally:
        bar.close()
        log.close()

    if not checkpoint_file.exists():  # resumed a run that had already finished
        save_checkpoint()
    return TrainResult(
        checkpoint=checkpoint_file,
        global_step=global_step,
        wall_seconds=wall_seconds(),
        mean_episode_return=float(np.mean(recent_returns)) if recent_returns else float("nan"),
        updates=update,
        stopped_early=stopped_early,
    )
