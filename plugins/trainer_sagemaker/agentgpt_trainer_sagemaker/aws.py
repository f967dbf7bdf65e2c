"""boto3 session and clients for one region, and AWS errors as one line.

botocore itself honours ``AWS_ENDPOINT_URL`` and the per-service ``AWS_ENDPOINT_URL_SAGEMAKER``,
``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME``, ``AWS_ENDPOINT_URL_S3`` ..., so the tests point every
client (ours and the SageMaker SDK's) at moto in server mode, or the runtime client at a
local ``agentgpt serve``, without a branch in this code. ``AWS_MAX_ATTEMPTS`` and
``AWS_RETRY_MODE`` set the retries (standard mode, 4 attempts when unset).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any, Iterator

import boto3
import botocore.exceptions
from botocore.config import Config

from .config import SageMakerConfig
from .errors import SageMakerError

__all__ = ["Aws", "SageMakerError", "aws_errors", "client_config", "describe"]


def client_config() -> Config:
    # total_max_attempts counts the first try, as AWS_MAX_ATTEMPTS does (max_attempts would not)
    retries: dict[str, Any] = {"mode": os.environ.get("AWS_RETRY_MODE", "standard"),
                               "total_max_attempts": int(os.environ.get("AWS_MAX_ATTEMPTS", "4"))}
    return Config(retries=retries, connect_timeout=10, read_timeout=70, user_agent_extra="agentgpt-sagemaker")


class Aws:
    """The clients one command needs, made once, in the config's region (or the session's)."""

    def __init__(self, region: str | None = None):
        self.session = boto3.session.Session(region_name=region or None)
        self.region = self.session.region_name
        if not self.region:
            raise SageMakerError("no AWS region: set region in the config, pass --region, or set AWS_REGION")
        if self.session.get_credentials() is None:
            raise SageMakerError("no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        self._clients: dict[str, Any] = {}

    @classmethod
    def for_config(cls, config: SageMakerConfig) -> Aws:
        return cls(config.region)

    def client(self, service: str) -> Any:
        """A cached client (its endpoint: the environment's, see the module docstring)."""
        if service not in self._clients:
            self._clients[service] = self.session.client(service, config=client_config())
        return self._clients[service]


def describe(exc: BaseException) -> str:
    """One line for an AWS (or SDK) error: its code and message, never a traceback."""
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        text = f"{error.get('Code', 'Error')}: {error.get('Message', '')}"
    else:
        text = str(exc) or type(exc).__name__
    return (" ".join(text.split()) or type(exc).__name__)[:500]


@contextmanager
def aws_errors(action: str) -> Iterator[None]:
    """Turn botocore and SDK errors raised inside the block into one-line SageMakerErrors."""
    try:
        yield
    except SageMakerError:
        raise
    except Exception as exc:
        if isinstance(exc, (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)) or _is_sdk_error(exc):
            raise SageMakerError(f"{action}: {describe(exc)}") from exc
        raise


def _is_sdk_error(exc: BaseException) -> bool:
    """The SageMaker SDK's own refusals (a role that does not exist, a failed validation)."""
    module = type(exc).__module__ or ""
    return module.startswith("sagemaker") or (isinstance(exc, ValueError) and "role" in str(exc).lower())
