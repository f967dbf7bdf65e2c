"""The image's entrypoint run here, on a temporary directory laid out as /opt/ml: a short
CartPole run through ``train``, then ``serve`` answering /ping and /invocations on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from agentgpt_core.testing import read_agentgpt_url

ENTRYPOINT = [sys.executable, "-m", "agentgpt_trainer_sagemaker.container"]
TINY = {"env": "gym:CartPole-v1", "num_envs": "2", "rollout_steps": "32", "max_steps": "256", "seed": "3", "batch_size": "64"}


def _layout(base: Path, hyperparameters: dict[str, str]) -> Path:
    """/opt/ml as SageMaker lays it out before ``train``: the config, an empty model dir."""
    (base / "input" / "config").mkdir(parents=True, exist_ok=True)
    (base / "input" / "data").mkdir(exist_ok=True)
    (base / "model").mkdir(exist_ok=True)
    (base / "input" / "config" / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    return base


def _run(base: Path, command: str, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "AGENTGPT_SAGEMAKER_ROOT": str(base), "OMP_NUM_THREADS": "1"}
    return subprocess.run([*ENTRYPOINT, command], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    base = _layout(tmp_path_factory.mktemp("opt-ml"), TINY)
    result = _run(base, "train")
    assert result.returncode == 0, result.stdout + result.stderr
    return base, result.stdout


def test_train_leaves_a_policy_in_the_model_dir_and_prints_metric_lines(trained):
    from agentgpt_core.policy import load_policy

    base, stdout = trained
    _, metadata = load_policy(base / "model")
    assert metadata["global_step"] == 256 and metadata["hyperparameters"]["rollout_steps"] == 32
    metric_lines = [line for line in stdout.splitlines() if line.startswith("agentgpt-metrics ")]
    assert len(metric_lines) == 4 and "global_step=256" in metric_lines[-1] and "steps_per_second=" in metric_lines[-1]
    assert not (base / "output" / "failure").exists()


def test_serve_answers_ping_and_invocations_with_the_trained_policy(trained, tmp_path):
    base, _ = trained
    env = {**os.environ, "AGENTGPT_SAGEMAKER_ROOT": str(base), "AGENTGPT_SAGEMAKER_HOST": "127.0.0.1",
           "SAGEMAKER_BIND_TO_PORT": "0", "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([*ENTRYPOINT, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        url = read_agentgpt_url(process, timeout=120)
        assert url and url.startswith("http://127.0.0.1:"), process.stderr.read() if process.poll() is not None else url
        with urllib.request.urlopen(f"{url}/ping", timeout=10) as answer:
            assert answer.status == 200 and json.loads(answer.read())["ok"] is True
        body = {"action": "select_action", "args": {"agent_ids": ["a", "b"], "observations": [[0.0, 0.1, 0.02, -0.1], [0.01, 0.0, -0.03, 0.2]]}}
        request = urllib.request.Request(f"{url}/invocations", data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json", "Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            actions = json.loads(answer.read())["actions"]
        assert len(actions) == 2 and set(actions) <= {0, 1}
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def test_a_spot_restart_resumes_from_the_checkpoint_dir(trained, tmp_path):
    """SageMaker restores checkpoints/ into a restarted spot job: the run goes on from there."""
    import shutil

    base, _ = trained
    restarted = _layout(tmp_path / "opt-ml", {**TINY, "max_steps": "384"})
    shutil.copytree(base / "checkpoints", restarted / "checkpoints")
    result = _run(restarted, "train")
    assert result.returncode == 0, result.stderr
    assert "resuming from the checkpoint" in result.stdout
    metric_lines = [line for line in result.stdout.splitlines() if line.startswith("agentgpt-metrics ")]
    assert len(metric_lines) == 2 and "global_step=320" in metric_lines[0]


def test_a_failure_is_one_line_in_output_failure(tmp_path):
    base = _layout(tmp_path, {**TINY, "learning_rate": "0.1"})
    result = _run(base, "train")
    assert result.returncode == 1
    reason = (base / "output" / "failure").read_text()
    assert reason == "ValueError: unknown hyperparameters: learning_rate\n"


def test_the_entrypoint_and_the_plugins_registration_need_no_aws_sdk(tmp_path):
    """The image installs this plugin without the SageMaker SDK (boto3 only for a job's secrets):
    training without secrets and loading every plugin (as `agentgpt` does in the container)
    must import neither."""
    base = _layout(tmp_path, {**TINY, "max_steps": "64"})
    script = (
        "import sys\n"
        "for name in ('boto3', 'botocore', 'sagemaker', 's3transfer'):\n"
        "    sys.modules[name] = None  # any import of them raises ImportError\n"
        "from agentgpt_core.plugins import get_plugin_manager\n"
        "manager = get_plugin_manager()\n"
        "assert 'sagemaker' in manager.names('trainers') and 'sagemaker' in manager.names('transports')\n"
        "from agentgpt_trainer_sagemaker.container import main\n"
        "sys.exit(main(['train']))\n"
    )
    env = {**os.environ, "AGENTGPT_SAGEMAKER_ROOT": str(base), "OMP_NUM_THREADS": "1", "AGENTGPT_LOAD_PLUGINS": "http,ws,sagemaker"}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (base / "model" / "checkpoint.pt").exists()
