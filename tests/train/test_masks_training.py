"""Action masks honoured by the policy, PPO and eval: zero illegal actions on an env whose
legal actions change every step, embedded and over real hosts; the same env without mask
application takes illegal ones; PettingZoo's tictactoe plays no illegal move."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import gymnasium
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode, SyncVectorEnv

from agentgpt_core.envs import EnvService
from agentgpt_core.masks import MASK_INFO_KEY
from agentgpt_core.plugins import get_plugin_manager
from agentgpt_core.policy.distributions import CategoricalDistribution
from agentgpt_core.protocol.errors import InvalidActionMask
from agentgpt_core.remote import RemoteVectorEnv
from agentgpt_core.train import evaluate, load_hyperparameters, train
from agentgpt_core.train.run_log import read_metrics
from tests import envs_masks

ROOT = Path(__file__).resolve().parents[2]
M = "tests.envs_masks"
TINY = {
    "num_envs": 4, "rollout_steps": 16, "batch_size": 32, "num_epochs": 2, "d_model": 16,
    "num_layers": 1, "num_heads": 2, "max_input_states": 4, "checkpoint_every": 1,
}  # fmt: skip


def tiny(**overrides):
    return load_hyperparameters(None, {**TINY, **overrides})


def masked_envs(kind: str, tag: str, num_envs: int = 4) -> SyncVectorEnv:
    return SyncVectorEnv([lambda: envs_masks.shifting_mask(kind, tag)] * num_envs, autoreset_mode=AutoresetMode.SAME_STEP)


class DropMasks(gymnasium.vector.VectorWrapper):
    """The same envs with their masks taken out of the infos: what a trainer that ignores masks sees."""

    def reset(self, **kwargs):
        observation, infos = self.env.reset(**kwargs)
        return observation, {k: v for k, v in infos.items() if not k.endswith(MASK_INFO_KEY)}

    def step(self, actions):
        *rest, infos = self.env.step(actions)
        return *rest, {k: v for k, v in infos.items() if not k.endswith(MASK_INFO_KEY)}


class BreakMask(gymnasium.vector.VectorWrapper):
    """Row 0's mask forbids everything from the third step on."""

    def reset(self, **kwargs):
        self.t = 0
        return self.env.reset(**kwargs)

    def step(self, actions):
        *rest, infos = self.env.step(actions)
        self.t += 1
        if self.t >= 3:
            infos[MASK_INFO_KEY] = infos[MASK_INFO_KEY].copy()
            infos[MASK_INFO_KEY][0] = 0
        return *rest, infos


def test_a_masked_categorical_never_samples_a_forbidden_choice_and_stays_finite():
    logits = torch.randn(512, 5, requires_grad=True)
    mask = torch.rand(512, 5) < 0.4
    mask[torch.arange(512), torch.randint(5, (512,))] = True
    distribution = CategoricalDistribution(logits, mask)
    samples = distribution.sample().long().squeeze(-1)
    assert mask[torch.arange(512), samples].all() and mask[torch.arange(512), distribution.mode().long().squeeze(-1)].all()
    loss = -(distribution.log_prob(samples[:, None].float()) + distribution.entropy()).sum()
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()
    assert (logits.grad[~mask] == 0).all()  # forbidden logits get no gradient
    single = CategoricalDistribution(torch.zeros(1, 5), torch.tensor([[False, False, True, False, False]]))
    assert single.entropy().item() == 0.0 and single.log_prob(torch.tensor([[2.0]])).item() == 0.0


@pytest.mark.parametrize("kind", ["discrete", "multi", "hybrid"])
def test_ppo_takes_no_illegal_action_and_eval_neither(tmp_path, kind):
    tag = f"ppo-{kind}"
    envs_masks.ILLEGAL[tag] = 0
    result = train(masked_envs(kind, tag), tiny(max_steps=3 * 64), tmp_path, progress=False)
    assert result.global_step == 3 * 64 and envs_masks.ILLEGAL[tag] == 0
    assert all(row["episode_return"] == envs_masks.ShiftingMask.LENGTH for row in read_metrics(tmp_path))
    outcome = evaluate(tmp_path, lambda: envs_masks.shifting_mask(kind, tag), episodes=6, seed=0)
    assert outcome["mean_return"] == envs_masks.ShiftingMask.LENGTH and envs_masks.ILLEGAL[tag] == 0


def test_without_mask_application_the_same_run_takes_illegal_actions(tmp_path):
    tag = "ppo-unmasked"
    envs_masks.ILLEGAL[tag] = 0
    train(DropMasks(masked_envs("discrete", tag)), tiny(max_steps=3 * 64), tmp_path, progress=False)
    assert envs_masks.ILLEGAL[tag] > 10  # about half the actions are illegal at random


def test_a_mask_that_allows_nothing_stops_training_with_the_env_named(tmp_path):
    with pytest.raises(InvalidActionMask, match="'ShiftingMask'.*allows no action"):
        train(BreakMask(masked_envs("discrete", "broken")), tiny(max_steps=3 * 64), tmp_path, progress=False)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("transport", ["http", "ws"])
def test_ppo_over_a_real_host_takes_no_illegal_action(tmp_path, transport):
    tag = f"remote-{transport}"
    envs_masks.ILLEGAL[tag] = 0
    service = EnvService([f"masked=gym:{M}:shifting_mask"])
    with get_plugin_manager().get("transports", transport).server(service, port=0) as server:
        with RemoteVectorEnv(server.url, "masked", 4, kind="multi", tag=tag) as envs:
            train(envs, tiny(max_steps=3 * 64), tmp_path, progress=False)
    service.close()
    assert envs_masks.ILLEGAL[tag] == 0
    assert all(row["episode_length"] == envs_masks.ShiftingMask.LENGTH for row in read_metrics(tmp_path))


@pytest.mark.timeout(120)
def test_tictactoe_through_the_pettingzoo_adapter_plays_no_illegal_move(tmp_path):
    pytest.importorskip("pettingzoo")
    envs_masks.ILLEGAL["tictactoe"] = 0
    service = EnvService([f"tictactoe=pettingzoo:{M}:counted_tictactoe"])
    with get_plugin_manager().get("transports", "http").server(service, port=0) as server:
        with RemoteVectorEnv(server.url, "tictactoe", 4) as envs:
            result = train(envs, tiny(max_steps=4 * 64), tmp_path, progress=False)
    service.close()
    assert result.global_step >= 4 * 64 and envs_masks.ILLEGAL["tictactoe"] == 0


@pytest.mark.timeout(200)
def test_agentgpt_train_on_local_hosts_plays_every_episode_to_its_end(tmp_path):
    # The hosts are other processes here, so the count is read from the metrics: an illegal
    # action ends an episode early with a penalty, so only all-legal play scores 12 in 12 steps.
    config = tmp_path / "tiny.toml"
    config.write_text("".join(f"{k} = {v}\n" for k, v in TINY.items() if k != "num_envs"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "agentgpt_core", "train", "--env", f"masked=gym:{M}:shifting_mask", "--num-envs", "4",
         "--max-steps", "256", "--config", str(config), "--out", str(tmp_path / "run"), "--no-progress", "--seed", "1",
         "--eval-episodes", "0"],
        capture_output=True, text=True, timeout=180, env=env, cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert rows and all(r["episode_return"] == 12 and r["episode_length"] == 12 for r in rows), rows
    assert np.isfinite([r["policy_loss"] for r in rows]).all()


OFFPOLICY = {
    "algorithm": "offpolicy", "num_envs": 4, "rollout_steps": 16, "batch_size": 32, "d_model": 16,
    "num_heads": 2, "max_input_states": 4, "critic_hidden": 32, "learning_starts": 64, "checkpoint_every": 1,
}  # fmt: skip


def stored_masks_match_observations(replay) -> bool:
    """Every stored token's mask is the mask its observation shows (ShiftingMask observes its mask)."""
    written = [np.arange(max(0, w - replay.capacity), w) % replay.capacity for w in replay.written]
    return all(
        (replay.action_mask[row, slots] == (replay.observation[row, slots] > 0.5)).all()
        for row, slots in enumerate(written)
    )


@pytest.mark.parametrize("kind", ["discrete", "hybrid"])
def test_the_offpolicy_learner_takes_no_illegal_action(tmp_path, kind):
    tag = f"offpolicy-{kind}"
    envs_masks.ILLEGAL[tag] = 0
    hp = load_hyperparameters(None, {**OFFPOLICY, "max_steps": 4 * 64})
    result = train(masked_envs(kind, tag), hp, tmp_path, progress=False)
    assert result.global_step == 4 * 64 and envs_masks.ILLEGAL[tag] == 0
    rows = read_metrics(tmp_path)
    assert rows[-1]["gradient_updates"] > 0 and np.isfinite(rows[-1]["critic_loss"]) and np.isfinite(rows[-1]["alpha"])


def test_without_mask_application_the_offpolicy_learner_takes_illegal_actions(tmp_path):
    tag = "offpolicy-unmasked"
    envs_masks.ILLEGAL[tag] = 0
    hp = load_hyperparameters(None, {**OFFPOLICY, "max_steps": 2 * 64})
    train(DropMasks(masked_envs("discrete", tag)), hp, tmp_path, progress=False)
    assert envs_masks.ILLEGAL[tag] > 10


@pytest.mark.parametrize("on_disk", [False, True], ids=["in_ram", "on_disk"])
def test_replay_masks_survive_checkpoint_and_resume(tmp_path, on_disk):
    from agentgpt_core.policy.artifact import read_checkpoint
    from agentgpt_core.train.offpolicy import REPLAY_DIRECTORY, TrajectoryReplay

    tag = f"resume-{on_disk}"
    envs_masks.ILLEGAL[tag] = 0
    hp = load_hyperparameters(None, {**OFFPOLICY, "max_steps": 2 * 64, "replay_on_disk": on_disk})
    train(masked_envs("multi", tag), hp, tmp_path, progress=False)
    saved = read_checkpoint(tmp_path)["trainer_state"]
    before = TrajectoryReplay.load(tmp_path / saved["replay_file"])
    assert before.action_mask is not None and before.action_mask.shape[-1] == 7
    assert stored_masks_match_observations(before) and before.checksum() == saved["replay_checksum"]
    if on_disk:
        assert (tmp_path / REPLAY_DIRECTORY / "action_mask.npy").exists()

    hp = load_hyperparameters(None, {**OFFPOLICY, "max_steps": 4 * 64, "replay_on_disk": on_disk})
    train(masked_envs("multi", tag), hp, tmp_path, resume=True, progress=False)
    final = read_checkpoint(tmp_path)["trainer_state"]
    after = TrajectoryReplay.load(tmp_path / final["replay_file"])
    assert after.checksum(written=before.written) == saved["replay_checksum"]  # old tokens and masks unchanged
    assert stored_masks_match_observations(after) and envs_masks.ILLEGAL[tag] == 0
    # a changed mask is a changed replay: the checksum covers the masks
    after.action_mask[0, 0] = ~after.action_mask[0, 0]
    assert after.checksum(written=before.written) != saved["replay_checksum"]


@pytest.mark.timeout(200)
def test_agentgpt_train_listen_with_a_dial_out_host_plays_every_episode_to_its_end(tmp_path):
    # As above, but the host dials in (agentgpt launch --connect) and its masks are per-branch lists.
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        listen = f"ws://127.0.0.1:{probe.getsockname()[1]}"
    config = tmp_path / "tiny.toml"
    config.write_text("".join(f"{k} = {v}\n" for k, v in TINY.items() if k != "num_envs"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    spec = f"masked=gym:{M}:shifting_branches"
    trainer = subprocess.Popen(
        [sys.executable, "-m", "agentgpt_core", "train", "--env", "masked", "--listen", listen, "--num-envs", "4",
         "--max-steps", "256", "--config", str(config), "--out", str(tmp_path / "run"), "--no-progress", "--api-key", "k",
         "--eval-episodes", "0", "--wait-timeout", "120"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT,
    )  # fmt: skip
    host = subprocess.Popen(
        [sys.executable, "-m", "agentgpt_core", "launch", "--transport", "ws", "--connect", listen, "--env", spec,
         "--num-envs", "4", "--api-key", "k"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT,
    )  # fmt: skip
    try:
        output, _ = trainer.communicate(timeout=180)
    finally:
        for process in (host, trainer):
            if process.poll() is None:
                process.terminate()
                process.wait(10)
    assert trainer.returncode == 0, output[-3000:]
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert rows and all(r["episode_return"] == 12 and r["episode_length"] == 12 for r in rows), rows
