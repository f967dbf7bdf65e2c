"""A training job created through ModelTrainer against moto: what reached AWS, and how it ends."""

from __future__ import annotations

import base64
import json
import time

import pytest

from agentgpt_trainer_sagemaker.aws import Aws, SageMakerError
from agentgpt_trainer_sagemaker.config import load_config
from agentgpt_trainer_sagemaker.training import (
    METRIC_DEFINITIONS,
    job_hyperparameters,
    start_training_job,
    wait_for_job,
)


def _sent(requests: list[dict], target: str) -> list[dict]:
    """Bodies of the recorded JSON calls to ``SageMaker.<target>``."""
    found = []
    for request in requests:
        headers = {k.lower(): v for k, v in (request.get("headers") or {}).items()}
        if headers.get("x-amz-target", "").endswith(f".{target}"):
            body = base64.b64decode(request["body"]) if request.get("body_encoded") else request["body"]
            found.append(json.loads(body))
    return found


def test_the_job_carries_image_role_hyperparameters_output_instances_and_metrics(account, recorded, aws):
    config = load_config(None, {**account, "instance_type": "ml.c5.xlarge", "instance_count": 2, "max_run_seconds": 7200,
                                "spot": True, "checkpoint_path": "s3://agentgpt-test/checkpoints", "tags": {"team": "rl"}})
    hyperparameters = job_hyperparameters("gym:CartPole-v1", {"max_steps": 20000, "lr_init": 5e-4, "normalize_rewards": False},
                                          hosts=["http://10.0.0.5:8000", "http://10.0.0.6:8000"])
    name = start_training_job(config, hyperparameters)

    [sent] = _sent(recorded(), "CreateTrainingJob")
    assert sent["TrainingJobName"] == name and name.startswith("agentgpt-")
    assert sent["AlgorithmSpecification"]["TrainingImage"] == account["image_uri"]
    assert sent["AlgorithmSpecification"]["MetricDefinitions"] == METRIC_DEFINITIONS
    assert sent["RoleArn"] == account["role_arn"]
    assert sent["HyperParameters"] == {"env": "gym:CartPole-v1", "max_steps": "20000", "lr_init": "0.0005",
                                       "normalize_rewards": "false", "hosts": "http://10.0.0.5:8000 http://10.0.0.6:8000"}
    assert sent["OutputDataConfig"]["S3OutputPath"] == "s3://agentgpt-test/jobs"
    assert sent["ResourceConfig"] == {"InstanceType": "ml.c5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 30}
    assert sent["StoppingCondition"] == {"MaxRuntimeInSeconds": 7200, "MaxWaitTimeInSeconds": 14400}
    assert sent["EnableManagedSpotTraining"] is True
    assert sent["CheckpointConfig"] == {"S3Uri": "s3://agentgpt-test/checkpoints", "LocalPath": "/opt/ml/checkpoints"}
    assert {"Key": "team", "Value": "rl"} in sent["Tags"] and {"Key": "agentgpt", "Value": "1"} in sent["Tags"]

    artefact = wait_for_job(Aws(), name, echo=lambda line: None, poll_s=0.01)  # moto: Completed at once
    assert artefact == f"s3://agentgpt-test/jobs/{name}/output/model.tar.gz"


def test_metric_definitions_match_the_line_the_container_prints():
    import re

    from agentgpt_trainer_sagemaker.container import metrics_line

    line = metrics_line({"global_step": 4096, "episode_return": 187.5, "steps_per_second": 812.25, "update": 8})
    assert line.startswith("agentgpt-metrics ")
    values = {m["Name"]: float(re.search(m["Regex"], line).group(1)) for m in METRIC_DEFINITIONS}
    assert values == {"episode_return": 187.5, "steps_per_second": 812.25, "global_step": 4096}


def test_a_role_that_does_not_exist_is_one_line_before_any_job(account, recorded):
    config = load_config(None, {**account, "role_arn": "arn:aws:iam::123456789012:role/NoSuchRole"})
    with pytest.raises(SageMakerError, match=r"^the execution role arn:aws:iam::123456789012:role/NoSuchRole does not exist"):
        start_training_job(config, job_hyperparameters("gym:CartPole-v1", {}))
    assert _sent(recorded(), "CreateTrainingJob") == []


def test_an_unknown_or_mistyped_hyperparameter_fails_before_any_aws_call():
    with pytest.raises(SageMakerError, match="^hyperparameters: unknown hyperparameters: lr"):
        job_hyperparameters("gym:CartPole-v1", {"lr": 0.1})
    with pytest.raises(SageMakerError, match="^hyperparameters: .*'many'"):
        job_hyperparameters("gym:CartPole-v1", {"max_steps": "many"})


def test_a_failed_job_reaches_the_user_as_its_failure_reason(account, aws):
    """moto completes every job at once; its backend (same process) is told this one failed."""
    from moto.sagemaker.models import sagemaker_backends

    name = start_training_job(load_config(None, account), job_hyperparameters("gym:CartPole-v1", {}))
    job = sagemaker_backends["123456789012"]["us-east-1"].training_jobs[name]
    job.training_job_status, job.secondary_status = "Failed", "Failed"
    job.failure_reason = "AlgorithmError: no env host answered at http://10.0.0.5:8000\n(see the logs)"
    lines: list[str] = []
    with pytest.raises(SageMakerError) as caught:
        wait_for_job(Aws(), name, echo=lines.append, poll_s=0.01)
    assert str(caught.value) == f"training job {name} failed: AlgorithmError: no env host answered at http://10.0.0.5:8000 (see the logs)"
    assert lines == [f"{name}: Failed (Failed)"]


def test_wait_streams_the_jobs_cloudwatch_lines(account, aws):
    name = start_training_job(load_config(None, account), job_hyperparameters("gym:CartPole-v1", {}))
    logs = aws.client("logs")
    logs.create_log_group(logGroupName="/aws/sagemaker/TrainingJobs")
    logs.create_log_stream(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=f"{name}/algo-1-1700000000")
    logs.put_log_events(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=f"{name}/algo-1-1700000000",
                        logEvents=[{"timestamp": int(time.time() * 1000) + i, "message": f"line {i}"} for i in range(3)])
    lines: list[str] = []
    wait_for_job(Aws(), name, echo=lines.append, poll_s=0.01)
    assert lines == [f"{name}: Completed (Completed)", "line 0", "line 1", "line 2"]
