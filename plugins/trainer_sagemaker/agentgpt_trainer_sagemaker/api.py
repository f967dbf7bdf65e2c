"""The seeds' one-call entry points: ``train_on_cloud`` and ``run_on_cloud``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping

from . import job_secrets
from .aws import Aws, SageMakerError, aws_errors
from .config import SageMakerConfig
from .endpoints import deploy, unique_name, upload_policy
from .runtime import SageMakerRuntimeClient
from .training import JOB_KEYS, job_hyperparameters, start_training_job, wait_for_job


def train_on_cloud(config: SageMakerConfig, hyperparameters: Mapping[str, Any], *, wait: bool = True,
                   environment: Mapping[str, str] | None = None, secrets: Mapping[str, str] | None = None,
                   echo: Callable[[str], None] = print, poll_s: float = 15.0) -> str:
    """Start a training job; with ``wait`` follow it and return the policy's S3 URI, else return the job's name.

    ``hyperparameters``: ``env`` (required, e.g. ``"gym:CartPole-v1"``), the job keys
    (``hosts``, ``listen``, ``tunnel``...: training.JOB_KEYS) and any trainer setting
    (``max_steps``, ``lr_init``...: agentgpt_core.train.Hyperparameters). ``environment``: the
    container's plain variables (SageMaker shows them to whoever may DescribeTrainingJob).
    ``secrets``: ``AGENTGPT_API_KEY`` (the env hosts' key) and ``NGROK_AUTHTOKEN``, stored as
    ``config.secrets`` says (job_secrets.py: Secrets Manager by default, deleted when the job ends).
    """
    values = dict(hyperparameters)
    env = values.pop("env", None)
    if not env:
        raise SageMakerError("hyperparameters need 'env': the env to train on, e.g. gym:CartPole-v1")
    job = {k: values.pop(k) for k in JOB_KEYS if k in values}
    aws = Aws.for_config(config)
    hyperparameters = job_hyperparameters(env, values, **job)  # checked before a secret is stored
    hidden = job_secrets.job_environment(aws, config.secrets, secrets or {})
    secret = hidden.get(job_secrets.POINTER)
    try:
        name = start_training_job(config, hyperparameters, environment={**(environment or {}), **hidden},
                                  tags={job_secrets.TAG: secret} if secret else None, aws=aws)
    except BaseException:
        if secret:
            job_secrets.delete(aws, secret)
        raise
    if secret:
        echo(f"the job reads its secrets from Secrets Manager ({secret}); "
             "they are deleted when the job's end is followed (`agentgpt jobs logs NAME --follow`) or it is stopped")
    echo(f"started training job {name} in {aws.region}")
    if not wait:
        return name
    return wait_for_job(aws, name, echo=echo, poll_s=poll_s)


def job_model_data(aws: Aws, job_name: str) -> str:
    """The S3 URI of a completed job's policy."""
    with aws_errors(f"could not find training job {job_name}"):
        job = aws.client("sagemaker").describe_training_job(TrainingJobName=job_name)
    if job["TrainingJobStatus"] != "Completed":
        raise SageMakerError(f"training job {job_name} is {job['TrainingJobStatus']}: only a completed job has a policy to serve")
    return job["ModelArtifacts"]["S3ModelArtifacts"]


def latest_model_data(aws: Aws, config: SageMakerConfig) -> str | None:
    """The policy of the newest completed job named after ``base_job_name`` (None when there is none)."""
    with aws_errors("could not list training jobs"):
        found = aws.client("sagemaker").list_training_jobs(NameContains=config.base_job_name, StatusEquals="Completed",
                                                           SortBy="CreationTime", SortOrder="Descending", MaxResults=1)
    jobs = found["TrainingJobSummaries"]
    return job_model_data(aws, jobs[0]["TrainingJobName"]) if jobs else None


def resolve_model_data(aws: Aws, config: SageMakerConfig, endpoint_name: str | None, *, model_data: str | None = None,
                       job_name: str | None = None, policy: str | Path | None = None) -> str | None:
    """The policy a new endpoint would serve (None when ``endpoint_name`` exists and will be reused)."""
    from .endpoints import find_endpoint

    if model_data or (endpoint_name and find_endpoint(aws, endpoint_name) is not None):
        return model_data
    if job_name:
        return job_model_data(aws, job_name)
    if policy is not None:
        return upload_policy(aws, config, Path(policy), endpoint_name or unique_name(config.base_job_name))
    return latest_model_data(aws, config)


def run_on_cloud(config: SageMakerConfig, user_endpoint_name: str | None = None, *, model_data: str | None = None,
                 job_name: str | None = None, policy: str | Path | None = None, codec: str = "msgpack",
                 echo: Callable[[str], None] = print, poll_s: float = 30.0) -> Any:
    """A ``GPTAPI`` on a SageMaker endpoint: ``user_endpoint_name`` reused when it exists, else one created.

    The policy a new endpoint serves: ``model_data`` (s3://.../model.tar.gz), else the job
    ``job_name``'s, else a local run directory ``policy`` (uploaded), else the newest
    completed job of ``config.base_job_name``. Calls go through boto3's sagemaker-runtime.
    """
    from agentgpt_core.serve.client import GPTAPI

    aws = Aws.for_config(config)
    model_data = resolve_model_data(aws, config, user_endpoint_name, model_data=model_data, job_name=job_name, policy=policy)
    name = deploy(aws, config, model_data, user_endpoint_name, echo=echo, poll_s=poll_s)
    client = SageMakerRuntimeClient(name, aws=aws, codec=codec)
    try:
        return GPTAPI(client)
    except BaseException:
        client.close()
        raise
