"""ONNX export: onnxruntime picks the same deterministic actions as the served torch policy.

Contexts are recorded the way a game would build them by hand for the ONNX file (raw
observations, the raw action fed back, raw rewards, episode-start flags, right-aligned
padding) while the same agents are served by ``InferenceService``; 1,000 contexts per
action space, with episodes ending at random so starts and padding are exercised.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium import spaces

from agentgpt_core.policy import GPTActorCritic
from agentgpt_core.serve import InferenceService
from agentgpt_core.serve.export import export_onnx

ort = pytest.importorskip("onnxruntime")

OBSERVATION_SPACE = spaces.Box(-3.0, 3.0, (5,), np.float32)
ACTION_SPACES = {
    "discrete": spaces.Discrete(4, start=1),
    "box": spaces.Box(np.array([-2.0, 0.0], np.float32), np.array([2.0, 1.0], np.float32)),
    "hybrid": spaces.Tuple((spaces.Discrete(3), spaces.Box(-1.0, 1.0, (2,), np.float32))),
}
AGENTS, STEPS, K = 8, 125, 6  # 1,000 contexts


def ort_session(path):
    """One thread and no spin-waiting: the test machine's cores are shared."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def decisive_policy(action_space, seed=0) -> GPTActorCritic:
    """A random policy whose heads are scaled up, so actions are clear choices, not near-ties."""
    torch.manual_seed(seed)
    policy = GPTActorCritic(OBSERVATION_SPACE, action_space, d_model=16, num_layers=2, num_heads=2, dropout=0.0, max_input_states=K)
    with torch.no_grad():
        for name, param in policy.action_head.named_parameters():
            if name.endswith("weight"):
                param.normal_(0.0, 1.0)
        policy.obs_normalizer.update(np.random.default_rng(seed).normal(0.5, 2.0, (100, 5)))
    return policy.eval()


class HandContext:
    """What a game keeps for the ONNX graph: the last K raw steps per agent (docs/serving.md)."""

    def __init__(self, rows: int, obs_dim: int, raw_dim: int):
        self.arrays = {
            "observation": np.zeros((rows, K, obs_dim), np.float32),
            "previous_action": np.zeros((rows, K, raw_dim), np.float32),
            "previous_reward": np.zeros((rows, K), np.float32),
            "episode_start": np.zeros((rows, K), np.float32),
            "valid": np.zeros((rows, K), np.float32),
        }
        self.last_action = np.zeros((rows, raw_dim), np.float32)
        self.starting = np.ones(rows, bool)

    def push(self, observation, reward):
        new = {
            "observation": observation,
            "previous_action": np.where(self.starting[:, None], 0.0, self.last_action),
            "previous_reward": np.where(self.starting, 0.0, reward),
            "episode_start": self.starting.astype(np.float32),
            "valid": np.ones(len(reward), np.float32),
        }
        for name, array in self.arrays.items():
            array[:, :-1] = array[:, 1:]
            array[:, -1] = new[name]
        self.starting[:] = False

    def end_episodes(self, rows):
        for array in self.arrays.values():
            array[rows] = 0.0
        self.starting[rows] = True


def _env_actions(space, served):
    """The served actions as one comparable float matrix per part."""
    if isinstance(space, spaces.Tuple):
        return [np.asarray([a[0] for a in served], np.float64)[:, None], np.asarray([a[1] for a in served], np.float64)]
    return [np.asarray(served, np.float64).reshape(len(served), -1)]


@pytest.mark.parametrize("name", ACTION_SPACES)
def test_onnxruntime_and_torch_choose_the_same_actions(name, tmp_path):
    space = ACTION_SPACES[name]
    policy = decisive_policy(space)
    path = export_onnx(policy, tmp_path / "policy.onnx")
    session = ort_session(path)
    output_names = [o.name for o in session.get_outputs()]
    service = InferenceService(policy, batch_window_s=None)
    hand = HandContext(AGENTS, policy.obs_dim, policy.action_head.raw_dim)
    rng = np.random.default_rng(1)
    ids, reward = list(range(AGENTS)), np.zeros(AGENTS, np.float32)
    compared = 0
    try:
        for _ in range(STEPS):
            ended = np.flatnonzero(rng.random(AGENTS) < 0.08)
            hand.end_episodes(ended)
            observation = rng.uniform(-3, 3, (AGENTS, 5)).astype(np.float32)
            hand.push(observation, reward)
            served = service.handle("select_action", {
                "agent_ids": ids, "observations": observation, "rewards": reward.tolist(),
                "terminated_agent_ids": ended.tolist(),
            })["actions"]  # fmt: skip
            outputs = dict(zip(output_names, session.run(None, hand.arrays)))
            leaves = [outputs[f"action_{i}"] for i in range(len(_env_actions(space, served)))]
            for mine, theirs in zip(_env_actions(space, served), leaves):
                if np.issubdtype(theirs.dtype, np.integer):
                    assert np.array_equal(mine, theirs.reshape(len(mine), -1)), (mine, theirs)
                else:
                    np.testing.assert_allclose(mine, theirs.reshape(len(mine), -1), atol=1e-4)
            hand.last_action = outputs["action"]
            reward = rng.normal(0, 2, AGENTS).astype(np.float32)
            compared += AGENTS
    finally:
        service.close()
    assert compared == 1000


def test_onnx_batch_axis_is_dynamic(tmp_path):
    policy = decisive_policy(ACTION_SPACES["discrete"])
    session = ort_session(export_onnx(policy, tmp_path / "p.onnx"))
    for batch in (1, 37):
        hand = HandContext(batch, policy.obs_dim, 1)
        hand.push(np.zeros((batch, 5), np.float32), np.zeros(batch, np.float32))
        action, env_action, logits, value = session.run(None, hand.arrays)
        assert action.shape == (batch, 1) and env_action.shape == (batch,) and logits.shape == (batch, 4) and value.shape == (batch,)
