"""Serving tests: torch on one thread (the test machine's cores are shared)."""

from __future__ import annotations

import torch

torch.set_num_threads(1)


import gymnasium
import pytest

# The smallest budget of the default schedule (the learning rate falls to 0 over max_steps)
# that solved CartPole on the development machine: 50k steps scored 500 on seeds 1 and 2,
# 40k scored 299 on seed 1, 30k 212. About 30 s on one busy core, once per test session.
CARTPOLE_STEPS, CARTPOLE_SEED = 50_000, 1


@pytest.fixture(scope="session")
def cartpole_run(tmp_path_factory):
    """A run directory holding a CartPole-v1 policy trained here, with in-process envs."""
    from agentgpt_core.train import evaluate, load_hyperparameters, train

    out = tmp_path_factory.mktemp("cartpole-run")
    hp = load_hyperparameters(None, {"max_steps": CARTPOLE_STEPS, "seed": CARTPOLE_SEED, "checkpoint_every": 1000})
    envs = gymnasium.vector.SyncVectorEnv(
        [lambda: gymnasium.make("CartPole-v1")] * hp.num_envs, autoreset_mode=gymnasium.vector.AutoresetMode.SAME_STEP
    )
    train(envs, hp, out, progress=False)
    score = evaluate(out, lambda: gymnasium.make("CartPole-v1"), episodes=10, seed=0)["mean_return"]
    assert score >= 475, f"the fixture's CartPole policy scored {score}; raise CARTPOLE_STEPS"
    return out
