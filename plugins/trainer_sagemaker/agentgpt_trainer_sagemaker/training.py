"""Training jobs: start one through the SageMaker SDK's ``ModelTrainer``, follow it, list, stop.

The job runs this plugin's image with ``train`` (container.py): the same local trainer,
under SageMaker's training contract. Its hyperparameters are the trainer's settings plus
the job's own keys (``JOB_KEYS``: which env, where its hosts are), all sent as strings as
SageMaker stores them. The trainer prints one ``METRICS_PREFIX`` line per update; the
metric definitions below turn those lines into CloudWatch metrics.

Following a job (``wait_for_job``) is plain boto3: DescribeTrainingJob for the status and
CloudWatch Logs for the container's lines, so ``--no-wait`` then ``agentgpt jobs logs``
shows the same thing later.
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable, Iterator, Mapping

from . import job_secrets
from .aws import Aws, SageMakerError, aws_errors
from .config import SageMakerConfig

from .container import JOB_KEYS, METRICS_PREFIX

LOG_GROUP = "/aws/sagemaker/TrainingJobs"
METRIC_DEFINITIONS = [
    {"Name": "episode_return", "Regex": rf"{METRICS_PREFIX} .*\bepisode_return=(-?[0-9.eE+-]+)"},
    {"Name": "steps_per_second", "Regex": rf"{METRICS_PREFIX} .*\bsteps_per_second=([0-9.eE+-]+)"},
    {"Name": "global_step", "Regex": rf"{METRICS_PREFIX} .*\bglobal_step=([0-9]+)"},
]
FINAL_STATES = ("Completed", "Failed", "Stopped")


def job_hyperparameters(env: str, settings: Mapping[str, Any], **job: Any) -> dict[str, str]:
    """The job's hyperparameters: trainer settings (checked here, before any AWS call) and job keys.

    ``hosts`` (a list of URLs) travels as one space-separated string; None values are dropped.
    """
    from agentgpt_core.train.hyperparameters import load_hyperparameters

    try:
        load_hyperparameters(None, dict(settings))  # an unknown name or a wrong type fails here, not in the job
    except ValueError as exc:
        raise SageMakerError(f"hyperparameters: {exc}") from None
    unknown = set(job) - set(JOB_KEYS)
    if unknown:
        raise SageMakerError(f"unknown job settings: {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {"env": env, **{k: v for k, v in job.items() if v not in (None, (), [])}, **settings}
    if "hosts" in values and not isinstance(values["hosts"], str):
        values["hosts"] = " ".join(values["hosts"])
    return {k: (json.dumps(v) if isinstance(v, bool) else str(v)) for k, v in values.items() if v is not None}


def _role_exists(aws: Aws, role_arn: str) -> None:
    """Refuse a role that does not exist (SageMaker would only say so once the job starts)."""
    iam = aws.client("iam")
    name = role_arn.split(":role/", 1)[1].rsplit("/", 1)[-1]
    try:
        iam.get_role(RoleName=name)
    except iam.exceptions.NoSuchEntityException:
        raise SageMakerError(f"the execution role {role_arn} does not exist: create it (docs/cloud.md, step 2) or fix role_arn") from None
    except Exception:  # no iam:GetRole for this caller: SageMaker itself will judge the role
        return


def start_training_job(config: SageMakerConfig, hyperparameters: Mapping[str, str], *,
                       environment: Mapping[str, str] | None = None, tags: Mapping[str, str] | None = None,
                       aws: Aws | None = None) -> str:
    """Create the training job with ``ModelTrainer`` and return its name (it is not waited for)."""
    import os

    aws = aws or Aws.for_config(config)
    _role_exists(aws, config.role_arn)
    # The role was just checked; the SDK's own check simulates IAM policies, which needs
    # iam:SimulatePrincipalPolicy that most users lack and no stand-in answers.
    os.environ.setdefault("SAGEMAKER_VALIDATE_ROLE", "false")
    from sagemaker.core.helper.session_helper import Session
    from sagemaker.core.training.configs import CheckpointConfig, Compute, MetricDefinition, OutputDataConfig, StoppingCondition, Tag
    from sagemaker.train import ModelTrainer

    with aws_errors("could not start the training job"):
        trainer = ModelTrainer(
            sagemaker_session=Session(boto_session=aws.session, sagemaker_client=aws.client("sagemaker")),
            training_image=config.image_uri,
            role=config.role_arn,
            base_job_name=config.base_job_name,
            compute=Compute(instance_type=config.instance_type, instance_count=config.instance_count,
                            volume_size_in_gb=config.volume_size_gb, enable_managed_spot_training=config.spot or None),
            stopping_condition=StoppingCondition(max_runtime_in_seconds=config.max_run_seconds, max_wait_time_in_seconds=config.max_wait),
            output_data_config=OutputDataConfig(s3_output_path=config.output_path, compression_type="GZIP"),
            hyperparameters=dict(hyperparameters),
            environment=dict(environment or {}),
            tags=[Tag(key=t["Key"], value=t["Value"]) for t in config.tag_list()] + [Tag(key=k, value=v) for k, v in (tags or {}).items()],
        ).with_metric_definitions([MetricDefinition(name=m["Name"], regex=m["Regex"]) for m in METRIC_DEFINITIONS])
        if config.checkpoint_path:
            trainer = trainer.with_checkpoint_config(CheckpointConfig(s3_uri=config.checkpoint_path, local_path="/opt/ml/checkpoints"))
        trainer.train(wait=False, logs=False)
    return trainer._latest_training_job.training_job_name


def describe_job(aws: Aws, name: str) -> dict:
    with aws_errors(f"could not describe training job {name}"):
        return aws.client("sagemaker").describe_training_job(TrainingJobName=name)


def job_log_lines(aws: Aws, name: str, tokens: dict[str, str] | None = None) -> Iterator[str]:
    """New lines of every log stream of the job (``tokens`` remembers where each stream was left)."""
    logs = aws.client("logs")
    tokens = {} if tokens is None else tokens
    try:
        streams = logs.describe_log_streams(logGroupName=LOG_GROUP, logStreamNamePrefix=f"{name}/")["logStreams"]
    except logs.exceptions.ResourceNotFoundException:
        return  # no job has logged in this region yet
    for stream in streams:
        stream_name = stream["logStreamName"]
        while True:
            args = {"logGroupName": LOG_GROUP, "logStreamName": stream_name, "startFromHead": True}
            if stream_name in tokens:
                args["nextToken"] = tokens[stream_name]
            with aws_errors(f"could not read the logs of {name}"):
                page = logs.get_log_events(**args)
            for event in page["events"]:
                yield event["message"]
            if page.get("nextForwardToken") in (None, tokens.get(stream_name)):
                break
            tokens[stream_name] = page["nextForwardToken"]
            if not page["events"]:
                break


def wait_for_job(aws: Aws, name: str, *, echo: Callable[[str], None] = print, poll_s: float = 15.0) -> str:
    """Follow the job to its end, echoing status changes and log lines; return the model's S3 URI.

    A job that fails or is stopped raises SageMakerError with SageMaker's FailureReason.
    """
    tokens: dict[str, str] = {}
    last_status = None
    while True:
        job = describe_job(aws, name)
        status = (job["TrainingJobStatus"], job.get("SecondaryStatus"))
        if status != last_status:
            echo(f"{name}: {status[0]} ({status[1]})")
            last_status = status
        for line in job_log_lines(aws, name, tokens):
            echo(line)
        if status[0] in FINAL_STATES:
            job_secrets.forget(aws, job, echo)
            break
        time.sleep(poll_s)
    if status[0] != "Completed":
        reason = " ".join(job.get("FailureReason", "no reason given").split())
        raise SageMakerError(f"training job {name} {status[0].lower()}: {reason}")
    return job["ModelArtifacts"]["S3ModelArtifacts"]


def list_jobs(aws: Aws, *, limit: int = 20) -> list[dict]:
    """The newest training jobs of this region, newest first."""
    with aws_errors("could not list training jobs"):
        found = aws.client("sagemaker").list_training_jobs(MaxResults=min(max(limit, 1), 100), SortBy="CreationTime", SortOrder="Descending")
    return found["TrainingJobSummaries"]


def stop_job(aws: Aws, name: str, echo: Callable[[str], None] = print) -> None:
    """Stop the job and delete its secret (a stopped job never starts again)."""
    with aws_errors(f"could not stop training job {name}"):
        aws.client("sagemaker").stop_training_job(TrainingJobName=name)
    job_secrets.forget(aws, describe_job(aws, name), echo)
