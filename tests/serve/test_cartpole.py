"""A trained CartPole policy served: the control value as a difficulty knob, and the docs' ONNX example.

``play`` (three envs as three agents) is shared with test_endpoint.py, which runs it over real transports.
"""

from __future__ import annotations

import gymnasium
import numpy as np

from agentgpt_core import GPTAPI
from agentgpt_core.plugins import get_plugin_manager
from agentgpt_core.serve import InferenceService


def play(api: GPTAPI, seeds=(0, 1, 2), max_steps: int = 500) -> list[float]:
    """One episode per env, each env an agent; observations of finished envs are None."""
    envs = [gymnasium.make("CartPole-v1") for _ in seeds]
    observations = [env.reset(seed=seed)[0] for env, seed in zip(envs, seeds)]
    returns, rewards, done = [0.0] * len(envs), [None] * len(envs), [False] * len(envs)
    ids = [f"cart-{i}" for i in range(len(envs))]
    for _ in range(max_steps):
        actions = api.select_action(ids, [None if d else o for d, o in zip(done, observations)], rewards=rewards)
        for i, env in enumerate(envs):
            if done[i]:
                continue
            observations[i], reward, terminated, truncated, _ = env.step(int(actions[i]))
            returns[i] += reward
            rewards[i] = reward
            done[i] = terminated or truncated
        if all(done):
            break
    api.terminate_agents(ids)
    return returns


def test_the_control_value_is_a_difficulty_knob(cartpole_run):
    """Random at 0, the policy's best at 1, in between in between (20 episodes each, same seeds)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("control_value", Path(__file__).parents[2] / "benchmarks" / "control_value.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    service = InferenceService.from_run(cartpole_run, seed=0)
    with get_plugin_manager().get("transports", "memory").server(service) as server, GPTAPI.connect(server.url) as api:
        means = [np.mean(bench.play_level(api, level, 20)) for level in (0.0, 0.5, 1.0)]
    service.close()
    assert means[0] < 40 and means[0] < means[1] < means[2] and means[2] >= 475, means


def test_the_docs_onnx_example_balances_the_pole(cartpole_run, tmp_path, monkeypatch, capsys):
    """docs/serving.md's hand-driven ONNX loop, run as written on the exported policy."""
    import re
    from pathlib import Path

    from click.testing import CliRunner

    from agentgpt_core.cli import cli

    result = CliRunner().invoke(cli, ["export", "--policy", str(cartpole_run), "--format", "onnx", "--out", str(tmp_path / "cartpole.onnx")])
    assert result.exit_code == 0, result.output
    doc = (Path(__file__).parents[2] / "docs" / "serving.md").read_text()
    code = re.search(r"<!-- onnx-example.*?-->\n```python\n(.*?)```", doc, re.S).group(1)
    assert len(code.strip().splitlines()) <= 25
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "docs/serving.md", "exec"), {})
    assert float(capsys.readouterr().out.split()[-1]) >= 475
