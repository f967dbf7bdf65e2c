"""The local trainer end to end: action kinds, absent rows, learning, checkpoints, eval, plots."""

from __future__ import annotations

import gymnasium
import pytest
import torch

from agentgpt_core.kinds import TrainerBackend
from agentgpt_core.policy import load_policy
from agentgpt_core.policy.artifact import read_checkpoint
from agentgpt_core.train import evaluate, load_hyperparameters, plot_run, train
from agentgpt_core.plugins import PluginManager
from agentgpt_core.train.checkpoint import save_atomically
from agentgpt_core.train.ppo import compute_gae
from agentgpt_core.train.run_log import read_metrics

TINY = {
    "num_envs": 4, "rollout_steps": 16, "batch_size": 32, "num_epochs": 2, "d_model": 16,
    "num_layers": 1, "num_heads": 2, "max_input_states": 4, "checkpoint_every": 1,
}  # fmt: skip
STEPS_PER_UPDATE = 4 * 16


def tiny(**overrides):
    return load_hyperparameters(None, {**TINY, **overrides})


def test_multidiscrete_actions_train(tmp_path, toy_envs):
    envs = toy_envs.vector(toy_envs.multi_discrete, 4)
    result = train(envs, tiny(max_steps=3 * STEPS_PER_UPDATE), tmp_path, progress=False)
    assert (result.updates, result.global_step) == (3, 3 * STEPS_PER_UPDATE)
    rows = read_metrics(tmp_path)
    assert [row["update"] for row in rows] == [1, 2, 3]
    assert all(row["value_loss"] == row["value_loss"] for row in rows)  # not NaN
    assert (tmp_path / "metrics.csv").exists() and list((tmp_path / "tb").iterdir())


def test_hybrid_actions_train_and_evaluate(tmp_path, toy_envs):
    envs = toy_envs.vector(toy_envs.hybrid, 4)
    train(envs, tiny(max_steps=2 * STEPS_PER_UPDATE, normalize_rewards=True), tmp_path, progress=False)
    outcome = evaluate(tmp_path, toy_envs.hybrid, episodes=5, seed=0)
    assert set(outcome) == {"mean_return", "std_return", "episodes"} and outcome["episodes"] == 5
    policy, metadata = load_policy(tmp_path)
    assert metadata["action_space"] == toy_envs.hybrid.action_space
    assert metadata["observation_space"] == toy_envs.hybrid.observation_space
    assert metadata["global_step"] == 2 * STEPS_PER_UPDATE and not policy.training


def test_rows_without_data_train(tmp_path, toy_envs):
    envs = toy_envs.alive_rows(toy_envs.vector(toy_envs.multi_discrete, 4))
    result = train(envs, tiny(max_steps=2 * STEPS_PER_UPDATE), tmp_path, progress=False)
    # only live rows count toward max_steps: 48 of each rollout's 64 rows (odd rows are absent every other step)
    assert (result.updates, result.global_step) == (3, 3 * 48)


def test_other_autoreset_modes_are_refused(tmp_path, toy_envs):
    envs = gymnasium.vector.SyncVectorEnv([toy_envs.multi_discrete] * 2)  # NEXT_STEP by default
    with pytest.raises(ValueError, match="SAME_STEP"):
        train(envs, tiny(), tmp_path, progress=False)


def test_gae_skips_steps_without_data():
    rewards = torch.tensor([[1.0], [1.0], [1.0]])
    values = torch.tensor([[0.5], [9.0], [0.5]])  # the middle step had no data: its value is ignored
    valid = torch.tensor([[True], [False], [True]])
    advantages, returns = compute_gae(rewards, values, torch.zeros(3, 1), valid, torch.tensor([2.0]), 1.0, 1.0)
    assert advantages[:, 0].tolist() == [3.5, 0.0, 2.5]
    assert returns[0, 0] == 4.0


def test_cartpole_learns_with_default_hyperparameters(tmp_path):
    hp = load_hyperparameters()  # the 100k-step schedule, stopped after 20k steps
    envs = gymnasium.vector.SyncVectorEnv(
        [lambda: gymnasium.make("CartPole-v1")] * hp.num_envs,
        autoreset_mode=gymnasium.vector.AutoresetMode.SAME_STEP,
    )
    result = train(envs, hp, tmp_path, progress=False, on_update=lambda report: report.global_step >= 20_480)
    outcome = evaluate(tmp_path, lambda: gymnasium.make("CartPole-v1"), episodes=10, seed=0)
    # A random policy scores ~22; on the development machine this run scores ~200 on both.
    assert result.mean_episode_return > 100 and outcome["mean_return"] > 100, (result, outcome)


def test_stop_then_resume_continues_from_the_checkpoint(tmp_path, toy_envs):
    envs = toy_envs.vector(toy_envs.multi_discrete, 4)
    hp = tiny(max_steps=4 * STEPS_PER_UPDATE)
    first = train(envs, hp, tmp_path, progress=False, on_update=lambda report: report.update == 2)
    assert first.stopped_early and (first.updates, first.global_step) == (2, 2 * STEPS_PER_UPDATE)
    saved = read_checkpoint(tmp_path)

    # A zero learning rate leaves the weights untouched: they must be the saved ones, not a fresh init.
    resumed = train(envs, tiny(max_steps=4 * STEPS_PER_UPDATE, lr_init=0.0), tmp_path, resume=True, progress=False)
    assert (resumed.updates, resumed.global_step) == (4, 4 * STEPS_PER_UPDATE)
    assert [row["update"] for row in read_metrics(tmp_path)] == [1, 2, 3, 4]
    final = read_checkpoint(tmp_path)
    for name, tensor in saved["model_state"].items():
        if not name.startswith("obs_normalizer"):
            torch.testing.assert_close(final["model_state"][name], tensor, msg=name)
    assert final["model_state"]["obs_normalizer.count"] > saved["model_state"]["obs_normalizer.count"]
    assert final["trainer_state"]["episodes"] > saved["trainer_state"]["episodes"]


def test_a_failed_checkpoint_write_leaves_the_previous_file(tmp_path):
    path = tmp_path / "checkpoint.pt"
    save_atomically({"step": 1}, path)
    with pytest.raises(Exception):
        save_atomically({"step": 2, "unsaveable": lambda: None}, path)
    assert torch.load(path, weights_only=True) == {"step": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


def test_plot_run_and_backend(tmp_path, toy_envs):
    backend = PluginManager(load_entry_points=False).get("trainers", "local")
    assert isinstance(backend, TrainerBackend) and backend.name == "local"
    envs = toy_envs.vector(toy_envs.multi_discrete, 4)
    backend.train(envs, tiny(max_steps=2 * STEPS_PER_UPDATE), tmp_path, progress=True)
    png = plot_run(tmp_path)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
