"""A job's API key and ngrok token go through Secrets Manager (moto), never into the job's
description; the container reads them at start; the CLI deletes them when the job ends."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from agentgpt_trainer_sagemaker.job_secrets import NAME_PREFIX, POINTER
from test_cli import _config_file
from test_container import ENTRYPOINT, TINY, _layout
from test_job_hosts import AGENTGPT, _start, _stop, _url
from test_training_job import _sent


def _gone(aws, arn: str) -> bool:
    client = aws.client("secretsmanager")
    try:
        client.get_secret_value(SecretId=arn)
    except client.exceptions.ResourceNotFoundException:
        return True
    return False


def test_the_key_and_token_reach_the_job_as_a_secret_never_in_its_description(agentgpt, account, tmp_path, recorded, aws, monkeypatch):
    monkeypatch.setenv("NGROK_AUTHTOKEN", "ngrok-token-1")
    config = _config_file(tmp_path, account)
    result = agentgpt("train", "--trainer", "sagemaker", "--config", config, "--env", "gym:CartPole-v1", "--no-wait",
                      "--listen", "ws://127.0.0.1:8765", "--tunnel", "ngrok", "--api-key", "job-key-1")
    assert result.exit_code == 0, result.output
    name = result.stdout.strip().splitlines()[-1]
    [sent] = _sent(recorded(), "CreateTrainingJob")
    assert set(sent["Environment"]) == {POINTER}
    arn = sent["Environment"][POINTER]
    described = aws.client("sagemaker").describe_training_job(TrainingJobName=name)
    assert "job-key-1" not in json.dumps(described, default=str) and "ngrok-token-1" not in json.dumps(described, default=str)
    assert "job-key-1" not in result.output and "ngrok-token-1" not in result.output

    secret = aws.client("secretsmanager").get_secret_value(SecretId=arn)
    assert secret["Name"].startswith(NAME_PREFIX)
    assert json.loads(secret["SecretString"]) == {"AGENTGPT_API_KEY": "job-key-1", "NGROK_AUTHTOKEN": "ngrok-token-1"}

    followed = agentgpt("jobs", "logs", name, "--follow")  # moto's job is already Completed
    assert followed.exit_code == 0 and "warning" not in followed.output, followed.output
    assert _gone(aws, arn)
    again = agentgpt("jobs", "logs", name, "--follow")  # a second follow finds nothing to delete, and says nothing of it
    assert again.exit_code == 0 and "warning" not in again.output


def test_secrets_environment_puts_them_in_the_jobs_environment_and_no_secret_is_made(agentgpt, account, tmp_path, recorded, aws):
    config = _config_file(tmp_path, account, secrets="environment")
    result = agentgpt("train", "--trainer", "sagemaker", "--config", config, "--env", "gym:CartPole-v1", "--no-wait", "--api-key", "k2")
    assert result.exit_code == 0, result.output
    [sent] = _sent(recorded(), "CreateTrainingJob")
    assert sent["Environment"] == {"AGENTGPT_API_KEY": "k2"}
    assert aws.client("secretsmanager").list_secrets()["SecretList"] == []


def test_without_a_key_no_secret_is_made(agentgpt, account, tmp_path, recorded, aws):
    result = agentgpt("train", "--trainer", "sagemaker", "--config", _config_file(tmp_path, account), "--env", "gym:CartPole-v1", "--no-wait")
    assert result.exit_code == 0, result.output
    [sent] = _sent(recorded(), "CreateTrainingJob")
    assert not sent.get("Environment")
    assert aws.client("secretsmanager").list_secrets()["SecretList"] == []


def test_a_job_that_fails_to_start_leaves_no_secret(agentgpt, account, tmp_path, aws):
    config = _config_file(tmp_path, {**account, "role_arn": "arn:aws:iam::123456789012:role/Missing"})
    result = agentgpt("train", "--trainer", "sagemaker", "--config", config, "--env", "gym:CartPole-v1", "--api-key", "k3")
    assert result.exit_code == 1 and "does not exist" in result.output
    assert aws.client("secretsmanager").list_secrets()["SecretList"] == []


@pytest.mark.timeout(240)
def test_the_container_reads_the_key_from_the_secret_and_the_hosts_accept_it(aws, tmp_path):
    arn = aws.client("secretsmanager").create_secret(
        Name=f"{NAME_PREFIX}test", SecretString=json.dumps({"AGENTGPT_API_KEY": "from-secret", "PATH": "/nowhere"}))["ARN"]
    host = _start([*AGENTGPT, "launch", "--transport", "http", "--env", "gym:CartPole-v1", "--port", "0", "--api-key", "from-secret"])
    try:
        base = _layout(tmp_path, {**TINY, "env": "CartPole-v1", "hosts": _url(host)})
        env = {k: v for k, v in os.environ.items() if k != "AGENTGPT_API_KEY"}
        job = subprocess.run([*ENTRYPOINT, "train"], env={**env, "AGENTGPT_SAGEMAKER_ROOT": str(base), POINTER: arn, "OMP_NUM_THREADS": "1"},
                             capture_output=True, text=True, timeout=200)
    finally:
        _stop(host)
    assert job.returncode == 0, job.stdout + job.stderr  # the host refuses a caller without its key
    assert "global_step=256" in job.stdout and "from-secret" not in job.stdout + job.stderr


def test_an_unreadable_secret_is_one_line_in_output_failure(aws, tmp_path):
    base = _layout(tmp_path, TINY)
    missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:AmazonSageMaker-agentgpt-missing-AbCdEf"
    job = subprocess.run([*ENTRYPOINT, "train"], env={**os.environ, "AGENTGPT_SAGEMAKER_ROOT": str(base), POINTER: missing},
                         capture_output=True, text=True, timeout=120)
    assert job.returncode == 1
    reason = (base / "output" / "failure").read_text()
    assert reason.startswith(f"RuntimeError: could not read the job's secrets from {missing}: ResourceNotFoundException")
    assert reason.count("\n") == 1
