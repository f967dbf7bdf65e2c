"""``SageMakerConfig``: where and how a job or endpoint runs, checked before any AWS call.

Every field is named once with its default. A file (TOML or YAML) holds the fields at its
top level or under a ``sagemaker`` table; the same file may carry a ``hyperparameters``
table for the trainer, so ``agentgpt train --trainer sagemaker --config FILE`` needs one
file. Flags override the file. Each mistake is one ``ConfigError`` line naming the field.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from agentgpt_core.settings_files import read_settings_file


MAX_RUN_LIMIT_S = 28 * 24 * 3600  # SageMaker's ceiling for MaxRuntimeInSeconds
_ROLE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_IMAGE = re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9._/-]+(:[\w.-]{1,128}|@sha256:[0-9a-f]{64})?$")
_S3 = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$")
_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")  # jobs, models, endpoints


class ConfigError(ValueError):
    """A SageMaker setting that cannot work; the message is one line naming the field."""


@dataclass
class SageMakerConfig:
    role_arn: str = ""  # the execution role SageMaker assumes (docs/cloud.md lists its permissions)
    region: str = ""  # empty: the AWS session's default region
    image_uri: str = ""  # the image built by `agentgpt image build` and pushed to ECR
    instance_type: str = "ml.m5.large"  # training instances
    instance_count: int = 1
    volume_size_gb: int = 30
    output_path: str = ""  # s3://bucket/prefix: the job writes JOB/output/model.tar.gz under it
    max_run_seconds: int = 24 * 3600
    spot: bool = False  # managed spot training: cheaper, may be interrupted and resumed
    max_wait_seconds: int = 0  # spot only: run + waiting for capacity (0: twice max_run_seconds)
    checkpoint_path: str = ""  # s3://...; required with spot: an interrupted job resumes from it
    base_job_name: str = "agentgpt"
    tags: dict[str, str] = field(default_factory=dict)
    endpoint_instance_type: str = "ml.m5.large"
    endpoint_instance_count: int = 1
    secrets: str = "secretsmanager"  # where a job's API key / ngrok token go: "secretsmanager", or "environment" (visible to DescribeTrainingJob)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError for the first setting that cannot work."""
        if not _ROLE.match(self.role_arn):
            raise ConfigError(f"role_arn {self.role_arn!r} is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)")
        if self.region and not _REGION.match(self.region):
            raise ConfigError(f"region {self.region!r} is not an AWS region name (e.g. us-east-1)")
        if not _IMAGE.match(self.image_uri):
            raise ConfigError(f"image_uri {self.image_uri!r} is not an ECR image (ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO:TAG); "
                              "build and push one with `agentgpt image build --push`")
        for name in ("instance_type", "endpoint_instance_type"):
            if not str(getattr(self, name)).startswith("ml."):
                raise ConfigError(f"{name} {getattr(self, name)!r} is not a SageMaker instance type (e.g. ml.m5.large)")
        for name in ("instance_count", "endpoint_instance_count", "volume_size_gb"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ConfigError(f"{name} must be a whole number of at least 1, got {getattr(self, name)!r}")
        if not _S3.match(self.output_path):
            raise ConfigError(f"output_path {self.output_path!r} is not an S3 URI (s3://bucket/prefix)")
        if not 1 <= self.max_run_seconds <= MAX_RUN_LIMIT_S:
            raise ConfigError(f"max_run_seconds must be between 1 and {MAX_RUN_LIMIT_S} (28 days), got {self.max_run_seconds}")
        if self.spot:
            if not _S3.match(self.checkpoint_path):
                raise ConfigError("spot = true needs checkpoint_path (s3://bucket/prefix): an interrupted spot job resumes from it")
            if self.max_wait_seconds and self.max_wait_seconds < self.max_run_seconds:
                raise ConfigError(f"max_wait_seconds ({self.max_wait_seconds}) must be at least max_run_seconds ({self.max_run_seconds})")
        elif self.max_wait_seconds:
            raise ConfigError("max_wait_seconds applies to spot jobs only: set spot = true or remove it")
        if self.checkpoint_path and not _S3.match(self.checkpoint_path):
            raise ConfigError(f"checkpoint_path {self.checkpoint_path!r} is not an S3 URI (s3://bucket/prefix)")
        if not _NAME.match(self.base_job_name) or len(self.base_job_name) > 48:
            raise ConfigError(f"base_job_name {self.base_job_name!r}: letters, digits and hyphens, at most 48")
        if self.secrets not in ("secretsmanager", "environment"):
            raise ConfigError(f"secrets {self.secrets!r}: \"secretsmanager\" (the default: the job reads them from AWS Secrets Manager) "
                              "or \"environment\" (the job's environment, which DescribeTrainingJob shows)")
        if not isinstance(self.tags, dict) or len(self.tags) > 40:
            raise ConfigError("tags must be a table of at most 40 KEY = \"VALUE\" pairs")
        for key, value in self.tags.items():
            if not isinstance(key, str) or not isinstance(value, str) or not key or key.lower().startswith("aws:"):
                raise ConfigError(f"tag {key!r} = {value!r}: keys and values are strings; keys are non-empty and never start with 'aws:'")

    @property
    def max_wait(self) -> int | None:
        """MaxWaitTimeInSeconds for a spot job (None for on-demand)."""
        return (self.max_wait_seconds or 2 * self.max_run_seconds) if self.spot else None

    def tag_list(self) -> list[dict[str, str]]:
        """Tags as AWS wants them, with ``agentgpt = "1"`` so `jobs list` can tell ours."""
        return [{"Key": k, "Value": v} for k, v in {"agentgpt": "1", **self.tags}.items()]


def read_file(path: str | Path) -> dict[str, Any]:
    """A settings file as a dict (TOML by suffix .toml, YAML by .yaml/.yml)."""
    try:
        return read_settings_file(path)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def load_config(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> SageMakerConfig:
    """Defaults, then the file's ``sagemaker`` table (or its top level), then ``overrides`` (None skipped)."""
    given: dict[str, Any] = {}
    if path is not None:
        data = read_file(path)
        given = dict(data.get("sagemaker", {k: v for k, v in data.items() if k != "hyperparameters"}))
    given.update({k: v for k, v in (overrides or {}).items() if v is not None})
    known = {f.name: f for f in dataclasses.fields(SageMakerConfig)}
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ConfigError(f"unknown SageMaker settings: {', '.join(unknown)} (known: {', '.join(known)})")
    for name, value in given.items():
        default = SageMakerConfig.__dataclass_fields__[name].default
        if isinstance(default, bool) and not isinstance(value, bool):
            raise ConfigError(f"{name} must be true or false, got {value!r}")
        if isinstance(default, int) and not isinstance(default, bool) and (isinstance(value, bool) or not isinstance(value, int)):
            raise ConfigError(f"{name} must be a whole number, got {value!r}")
        if isinstance(default, str) and not isinstance(value, str):
            raise ConfigError(f"{name} must be a string, got {value!r}")
    return SageMakerConfig(**given)


def file_hyperparameters(path: str | Path | None) -> dict[str, Any]:
    """The ``hyperparameters`` table of a config file ({} when absent)."""
    if path is None:
        return {}
    table = read_file(path).get("hyperparameters", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: 'hyperparameters' must be a table")
    return dict(table)
