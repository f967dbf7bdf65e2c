"""The off-policy learner (train/offpolicy.py): learning with tiny budgets, every action kind,
rows without data, and a resume after ``kill -9`` that continues with the same replay."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import textwrap
import time

import gymnasium
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode, SyncVectorEnv

from agentgpt_core.policy import load_policy
from agentgpt_core.policy.artifact import read_checkpoint
from agentgpt_core.batches import object_rows
from agentgpt_core.train import evaluate, load_hyperparameters, train
from agentgpt_core.train.offpolicy import REPLAY_DIRECTORY, TrajectoryReplay
from agentgpt_core.train.run_log import read_metrics

TINY = {
    "algorithm": "offpolicy", "num_envs": 4, "rollout_steps": 16, "batch_size": 64, "d_model": 16,
    "num_heads": 2, "max_input_states": 4, "critic_hidden": 64, "learning_starts": 128, "checkpoint_every": 1,
    "gamma": 0.98,
}  # fmt: skip
STEPS_PER_UPDATE = 4 * 16


def tiny(**overrides):
    return load_hyperparameters(None, {**TINY, **overrides})


def gym_envs(env_id: str, num_envs: int) -> SyncVectorEnv:
    return SyncVectorEnv([lambda: gymnasium.make(env_id)] * num_envs, autoreset_mode=AutoresetMode.SAME_STEP)


def test_pendulum_improves(tmp_path):
    hp = tiny(max_steps=3072, rollout_steps=64, batch_size=128, d_model=32, learning_starts=512, lr_end=1e-3)
    returns = []
    train(gym_envs("Pendulum-v1", 4), hp, tmp_path, progress=False,
          on_update=lambda report: returns.append(report.metrics["episode_return"]))  # fmt: skip
    outcome = evaluate(tmp_path, lambda: gymnasium.make("Pendulum-v1"), episodes=10, seed=0)
    # Random torques score about -1200 to -1400 (the first episodes); on the development
    # machine this run's final policy scores about -700 to -900 (SAC needs ~10k steps for -200).
    first = next(value for value in returns if value == value)
    assert outcome["mean_return"] > first + 250, (first, outcome)
    policy, metadata = load_policy(tmp_path)
    assert metadata["hyperparameters"]["algorithm"] == "offpolicy" and not policy.training


def test_cartpole_improves(tmp_path):
    hp = tiny(max_steps=2560, rollout_steps=64, batch_size=128, d_model=32, learning_starts=512, lr_end=1e-3)
    result = train(gym_envs("CartPole-v1", 4), hp, tmp_path, progress=False)
    outcome = evaluate(tmp_path, lambda: gymnasium.make("CartPole-v1"), episodes=10, seed=0)
    # A random policy scores ~22; on the development machine this run scores ~70-150 in training
    # and often 500 in evaluation (6k steps reach 500 in both).
    assert result.mean_episode_return > 40 and outcome["mean_return"] > 60, (result, outcome)


class LiveCount(gymnasium.vector.VectorWrapper):
    """Counts what the learner may count and store: rows alive when an action was taken (env
    steps), and tokens (every live observation, plus the final observation of each live row
    whose episode ended). From step ``outage_at`` on, ``outage`` steps are all filler, as when
    every host of a pool is gone: the first one ends the live rows' episodes (truncated, with
    their final observations), the rest carry nothing at all."""

    def __init__(self, env, outage_at: int = 0, outage: int = 0):
        super().__init__(env)
        self.outage_at, self.outage = outage_at, outage
        self.t, self.acted, self.tokens, self.filler_steps = 0, 0, 0, 0

    def reset(self, **kwargs):
        observation, infos = self.env.reset(**kwargs)
        self.alive, self.last = infos["alive"], observation
        self.tokens += int(self.alive.sum())
        return observation, infos

    def step(self, actions):
        self.t += 1
        n = self.num_envs
        if self.outage_at <= self.t < self.outage_at + self.outage:
            infos = {"alive": np.zeros(n, bool), "final_obs": object_rows(list(self.last)), "_final_obs": np.ones(n, bool)}
            result = (self.last.copy(), np.zeros(n), np.zeros(n, bool), np.ones(n, bool), infos)
        else:
            result = self.env.step(actions)
            self.last = result[0]
        terminated, truncated, infos = result[2], result[3], result[4]
        if self.alive.any() or infos["alive"].any():  # a step with no live row is no step
            self.acted += int(self.alive.sum())
            self.tokens += int(((terminated | truncated) & self.alive).sum()) + int(infos["alive"].sum())
        else:
            self.filler_steps += 1
        self.alive = infos["alive"]
        return result


def stored_replay(run_dir) -> TrajectoryReplay:
    return TrajectoryReplay.load(run_dir / read_checkpoint(run_dir)["trainer_state"]["replay_file"])


def test_multidiscrete_improves_with_rows_without_data(tmp_path, toy_envs):
    envs = LiveCount(toy_envs.alive_rows(toy_envs.vector(toy_envs.multi_discrete, 4)))
    result = train(envs, tiny(max_steps=30 * STEPS_PER_UPDATE, lr_end=1e-3), tmp_path, progress=False)
    rows = read_metrics(tmp_path)
    # Only live rows count as env steps: 48 of each iteration's 64 rows (odd rows are absent
    # every other step), so the 30-iteration budget takes 40 iterations, as in PPO.
    assert [row["update"] for row in rows] == list(range(1, 41))
    assert result.global_step == envs.acted == 30 * STEPS_PER_UPDATE
    assert [row["global_step"] for row in rows] == [48 * (i + 1) for i in range(40)]
    assert all(row["alive_rows"] == 3.0 for row in rows)
    # Random choices score 5 per 6-step episode, the right ones 12.
    assert rows[0]["episode_return"] < 6.5 and result.mean_episode_return > 8.0, (rows[0], result)
    # Rows without data stored no tokens and no transitions.
    replay = stored_replay(tmp_path)
    assert len(replay) == rows[-1]["replay_size"] == envs.tokens < 40 * STEPS_PER_UPDATE
    assert envs.acted - 4 <= replay.num_sampleable() <= envs.acted


def test_steps_with_no_live_row_pause_and_store_nothing(tmp_path, toy_envs):
    envs = LiveCount(toy_envs.alive_rows(toy_envs.vector(toy_envs.multi_discrete, 4)), outage_at=20, outage=4)
    result = train(envs, tiny(max_steps=3 * STEPS_PER_UPDATE), tmp_path, progress=False)
    assert envs.filler_steps == 3  # the outage's first step ended the live episodes; three were empty
    assert result.global_step == envs.acted >= 3 * STEPS_PER_UPDATE
    replay = stored_replay(tmp_path)
    assert len(replay) == envs.tokens and envs.acted - 4 <= replay.num_sampleable() <= envs.acted
    rows = read_metrics(tmp_path)
    assert np.isfinite(rows[-1]["critic_loss"])


def test_hybrid_actions_train_and_evaluate(tmp_path, toy_envs):
    envs = toy_envs.vector(toy_envs.hybrid, 4)
    result = train(envs, tiny(max_steps=4 * STEPS_PER_UPDATE), tmp_path, progress=False)
    assert result.updates == 4 and np.isfinite(read_metrics(tmp_path)[-1]["critic_loss"])
    outcome = evaluate(tmp_path, toy_envs.hybrid, episodes=5, seed=0)
    assert outcome["episodes"] == 5
    _, metadata = load_policy(tmp_path)
    assert metadata["action_space"] == toy_envs.hybrid.action_space


def test_replay_windows_mask_the_previous_episode():
    replay = TrajectoryReplay(num_rows=1, buffer_size=10, obs_dim=1, action_feature_dim=2)
    every = np.ones(1, bool)
    no_action, acted = np.array([[0.0, 1.0]], np.float32), np.array([[1.0, 0.0]], np.float32)
    for step in range(3):  # episode 1: observations 0, 1, then final observation 2 (terminated)
        replay.add(np.array([[float(step)]], np.float32), no_action if step == 0 else acted, np.zeros(1), every,
                   final=step == 2)  # fmt: skip
        if step < 2:
            replay.record_step(np.ones(1), np.array([float(step == 0)]), every)
    replay.add(np.array([[10.0]], np.float32), no_action, np.zeros(1), every)  # episode 2 starts
    replay.record_step(np.ones(1), np.ones(1), every)
    replay.add(np.array([[11.0]], np.float32), acted, np.zeros(1), every)
    assert replay.num_sampleable() == 3 and len(replay) == 5
    window, next_window, action, reward, continues = replay.sample(64, 3, np.random.default_rng(0), lambda x: x)
    for row in range(64):
        newest = window.observation[row, -1, 0].item()
        seen = window.observation[row, window.valid[row], 0].tolist()
        assert seen == {0.0: [0.0], 1.0: [0.0, 1.0], 10.0: [10.0]}[newest]
        assert next_window.observation[row, -1, 0].item() == {0.0: 1.0, 1.0: 2.0, 10.0: 11.0}[newest]
        assert continues[row].item() == (0.0 if newest == 1.0 else 1.0)


def test_a_replay_on_disk_samples_and_saves_exactly_like_one_in_ram(tmp_path):
    """memmap files under the given directory, the same samples and checksum as in RAM, and
    snapshots that load either way."""
    rng = np.random.default_rng(0)
    in_ram = TrajectoryReplay(num_rows=3, buffer_size=30, obs_dim=2, action_feature_dim=3)
    on_disk = TrajectoryReplay(num_rows=3, buffer_size=30, obs_dim=2, action_feature_dim=3, directory=tmp_path / "live")
    assert isinstance(on_disk.observation, np.memmap) and (tmp_path / "live" / "observation.npy").exists()
    for step in range(25):  # wraps the 10-slot rings, with episodes ending now and then
        observation = rng.normal(size=(3, 2)).astype(np.float32)
        action = rng.normal(size=(3, 3)).astype(np.float32)
        previous_reward, rows, final = rng.normal(size=3), rng.random(3) < 0.8, step % 7 == 6
        for replay in (in_ram, on_disk):
            replay.add(observation, action, previous_reward, rows, final=final)
            if not final:
                replay.record_step(np.full(3, step, np.float32), np.ones(3, np.float32), rows)
    assert len(on_disk) == len(in_ram) > 0 and on_disk.checksum() == in_ram.checksum()
    for a, b in zip(in_ram.sample(16, 4, np.random.default_rng(1), lambda x: x),
                    on_disk.sample(16, 4, np.random.default_rng(1), lambda x: x)):  # fmt: skip
        torch.testing.assert_close(dataclasses.asdict(a) if dataclasses.is_dataclass(a) else a,
                                   dataclasses.asdict(b) if dataclasses.is_dataclass(b) else b)  # fmt: skip
    # Decisions are drawn uniformly from the sampleable ones, and only from them.
    rows, slots = on_disk.decisions(20_000, np.random.default_rng(2))
    counts = np.zeros(on_disk.sampleable.shape)
    np.add.at(counts, (rows, slots), 1)
    assert ((counts > 0) == on_disk.sampleable).all()
    expected = 20_000 / on_disk.num_sampleable()
    assert 0.7 * expected < counts[on_disk.sampleable].min() <= counts.max() < 1.3 * expected
    on_disk.save(tmp_path / "snapshot.npz")
    back_in_ram = TrajectoryReplay.load(tmp_path / "snapshot.npz")
    back_on_disk = TrajectoryReplay.load(tmp_path / "snapshot.npz", tmp_path / "resumed")
    assert not isinstance(back_in_ram.observation, np.memmap) and isinstance(back_on_disk.observation, np.memmap)
    assert back_in_ram.checksum() == back_on_disk.checksum() == in_ram.checksum()
    assert back_on_disk.num_sampleable() == in_ram.num_sampleable()


KILLED_RUN = textwrap.dedent(
    """
    import sys, gymnasium, torch
    from gymnasium.vector import AutoresetMode, SyncVectorEnv
    from agentgpt_core.train import load_hyperparameters, train
    torch.set_num_threads(1)
    hp = load_hyperparameters(None, {overrides!r})
    envs = SyncVectorEnv([lambda: gymnasium.make("CartPole-v1")] * hp.num_envs, autoreset_mode=AutoresetMode.SAME_STEP)
    train(envs, hp, sys.argv[1], progress=False)
    """
)


@pytest.mark.parametrize("on_disk", [False, True], ids=["in_ram", "on_disk"])
def test_resume_after_kill_continues_with_the_same_replay(tmp_path, on_disk):
    overrides = {**TINY, "max_steps": 10_000_000, "replay_on_disk": on_disk}
    child = subprocess.Popen([sys.executable, "-c", KILLED_RUN.format(overrides=overrides), str(tmp_path)])
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and child.poll() is None:
            checkpoint = tmp_path / "checkpoint.pt"
            if checkpoint.exists() and read_checkpoint(checkpoint)["trainer_state"]["update"] >= 4:
                break
            time.sleep(0.2)
        assert child.poll() is None, "the training process ended before it could be killed"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()

    saved = read_checkpoint(tmp_path)["trainer_state"]
    before = TrajectoryReplay.load(tmp_path / saved["replay_file"])
    assert len(before) == saved["replay_size"] > 0 and before.checksum() == saved["replay_checksum"]
    assert saved["gradient_updates"] > 0

    hp = tiny(max_steps=(saved["update"] + 2) * STEPS_PER_UPDATE, lr_init=0.0, lr_end=0.0, replay_on_disk=on_disk)
    resumed = train(gym_envs("CartPole-v1", 4), hp, tmp_path, resume=True, progress=False)
    live = sorted(p.name for p in (tmp_path / REPLAY_DIRECTORY).glob("*.npy")) if on_disk else []
    assert live == (sorted(f"{name}.npy" for name in TrajectoryReplay.SLOTS) if on_disk else [])
    assert resumed.updates == saved["update"] + 2
    final = read_checkpoint(tmp_path)["trainer_state"]
    after = TrajectoryReplay.load(tmp_path / final["replay_file"])
    # Every token the killed run stored is still there, unchanged, followed by the new ones.
    assert after.checksum(written=before.written) == saved["replay_checksum"]
    # One token per row and step, one per row for the first observations after the reset, and
    # one final observation per episode that ended.
    new_tokens = 4 + 2 * STEPS_PER_UPDATE + final["episodes"] - saved["episodes"]
    assert len(after) == final["replay_size"] == saved["replay_size"] + new_tokens
    assert final["gradient_updates"] == saved["gradient_updates"] + 2 * STEPS_PER_UPDATE
    assert sorted(p.name for p in tmp_path.glob("replay-*.npz")) == [final["replay_file"]]
    rows = read_metrics(tmp_path)
    assert rows[-1]["global_step"] == resumed.global_step == (saved["update"] + 2) * STEPS_PER_UPDATE
    for name, tensor in saved["q_heads"].items():  # lr 0: the loaded critics, not a fresh init
        torch.testing.assert_close(final["q_heads"][name], tensor, msg=name)


def test_cli_trains_offpolicy_through_a_local_host_then_eval_and_plot(tmp_path):
    config = tmp_path / "tiny.toml"
    config.write_text("".join(f"{name} = {value!r}\n".replace("'", '"') for name, value in TINY.items()
                              if name != "algorithm"))  # fmt: skip
    run = tmp_path / "run"
    agentgpt = [sys.executable, "-m", "agentgpt_core"]
    trained = subprocess.run(
        agentgpt + ["train", "--env", "gym:CartPole-v1", "--algorithm", "offpolicy", "--config", str(config),
                    "--max-steps", "512", "--out", str(run), "--no-progress", "--eval-episodes", "2"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stdout + trained.stderr
    assert read_checkpoint(run)["hyperparameters"]["algorithm"] == "offpolicy"
    assert len(list(run.glob("replay-*.npz"))) == 1
    evaluated = subprocess.run(
        agentgpt + ["eval", "--policy", str(run), "--env", "gym:CartPole-v1", "--episodes", "3", "--json"],
        capture_output=True, text=True, timeout=60,
    )
    assert evaluated.returncode == 0 and '"episodes": 3' in evaluated.stdout, evaluated.stdout + evaluated.stderr
    plotted = subprocess.run(agentgpt + ["plot", str(run)], capture_output=True, text=True, timeout=60)
    assert plotted.returncode == 0 and (run / "learning_curve.png").exists(), plotted.stderr


def test_squashed_box_actions_stay_in_bounds_and_score_their_samples():
    from gymnasium import spaces

    from agentgpt_core.policy import GPTActorCritic

    space = spaces.Box(np.array([-2.0, 0.0], np.float32), np.array([2.0, 1.0], np.float32))
    policy = GPTActorCritic(spaces.Box(-1.0, 1.0, (3,), np.float32), space, d_model=16, num_layers=1, num_heads=2,
                            dropout=0.0, max_input_states=2, squash_actions=True)  # fmt: skip
    distribution = policy.action_head(torch.randn(64, 16))
    action, log_prob = distribution.rsample_with_log_prob()
    assert action.abs().max() < 1.0 and distribution.mode().abs().max() < 1.0
    torch.testing.assert_close(distribution.log_prob(action.detach()), log_prob.detach(), atol=1e-3, rtol=1e-3)
    env_actions = policy.to_env_actions(distribution.sample().numpy())
    assert all(space.contains(a) for a in env_actions)
