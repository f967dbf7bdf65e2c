"""Fixtures: moto in server mode on 127.0.0.1 (boto3 and the SageMaker SDK reach it through
``AWS_ENDPOINT_URL``, so the plugin's own calls are the ones that run), fake credentials,
a fresh AWS state per test, an execution role and a bucket, and moto's request recorder
(what reached "AWS", byte for byte)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from agentgpt_core.testing import in_process_cli, moto_api, moto_server, point_aws_at_moto

from agentgpt_core.plugins import get_plugin_manager

REGION = "us-east-1"
ACCOUNT = "123456789012"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/agentgpt:0.1.0"
HERE = Path(__file__).parent
if str(HERE) not in sys.path:  # --import-mode=importlib: let the tests import sm_helpers
    sys.path.insert(0, str(HERE))


@pytest.fixture(scope="session")
def moto_url():
    with moto_server() as url:
        yield url


@pytest.fixture
def aws(moto_url, monkeypatch, tmp_path):
    """Env for a test against moto, state reset; returns a boto3 session on it."""
    import boto3

    point_aws_at_moto(monkeypatch, moto_url, tmp_path, REGION)
    monkeypatch.delenv("SAGEMAKER_VALIDATE_ROLE", raising=False)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # moto answers 500 to what it lacks: no retry storm
    home = tmp_path / "home"  # the SDK reads ~/.config/sagemaker/config.yaml: no telemetry request from tests
    (home / ".config" / "sagemaker").mkdir(parents=True)
    (home / ".config" / "sagemaker" / "config.yaml").write_text(
        "SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n")
    monkeypatch.setenv("HOME", str(home))
    return boto3.session.Session(region_name=REGION)


@pytest.fixture
def account(aws):
    """An execution role and an output bucket in the fresh moto account; returns config settings."""
    role = aws.client("iam").create_role(
        RoleName="AgentGPTSageMaker",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
    )["Role"]["Arn"]
    aws.client("s3").create_bucket(Bucket="agentgpt-test")
    return {"role_arn": role, "image_uri": IMAGE, "output_path": "s3://agentgpt-test/jobs", "region": REGION}


@pytest.fixture
def recorded(moto_url, tmp_path, monkeypatch):
    """Start moto's recorder; the fixture returns a function giving the recorded requests (dicts)."""
    from moto.moto_api import recorder  # the in-process server's: record into tmp_path, not the working directory

    monkeypatch.setattr(recorder, "_location", str(tmp_path / "moto_recording"))
    moto_api(moto_url, "recorder/reset-recording")
    moto_api(moto_url, "recorder/start-recording")

    def requests() -> list[dict]:
        text = moto_api(moto_url, "recorder/download-recording", method="GET").decode()
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    yield requests
    moto_api(moto_url, "recorder/stop-recording")


@pytest.fixture
def agentgpt(monkeypatch):
    """Run ``agentgpt ARGS`` in-process (the real click group with this plugin's commands)."""
    monkeypatch.setenv("AGENTGPT_LOAD_PLUGINS", "http,ws,sagemaker")
    with in_process_cli() as run:
        yield run


@pytest.fixture(scope="session")
def tiny_policy(tmp_path_factory):
    """A CartPole run directory from a few seconds of in-process training (enough to serve; not to balance)."""
    import gymnasium
    import torch

    from agentgpt_core.train import load_hyperparameters, train

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("tiny-cartpole")
    hp = load_hyperparameters(None, {"max_steps": 256, "num_envs": 2, "rollout_steps": 32, "batch_size": 64, "seed": 5})
    envs = gymnasium.vector.SyncVectorEnv([lambda: gymnasium.make("CartPole-v1")] * hp.num_envs,
                                          autoreset_mode=gymnasium.vector.AutoresetMode.SAME_STEP)
    train(envs, hp, out, progress=False)
    return out


@pytest.fixture
def local_serve(tiny_policy):
    """``agentgpt serve``'s server (InferenceService behind the http transport) on 127.0.0.1; yields its URL."""
    from agentgpt_core.serve import InferenceService

    service = InferenceService.from_run(tiny_policy, batch_window_s=None)
    server = get_plugin_manager().get("transports", "http").server(service, host="127.0.0.1", port=0)
    server.start()
    yield server.url
    server.stop()
    service.close()
