"""AWS session, input checks and errors: every mistake a user can make is caught here,
before the first AWS call, and told in one line (``Ec2Error``), so nothing is left behind.

``AWS_ENDPOINT_URL`` (honoured by boto3 itself) points every client at a stand-in such as
moto in server mode: the tests run this very code path, only the far end differs.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
import botocore.exceptions
from botocore.config import Config

from agentgpt_core.kinds import HostError


class Ec2Error(HostError):
    """A launch or clean-up that cannot go on; the message is one line for the user."""


CLIENT_CONFIG = Config(retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=10, read_timeout=60)


def known_regions() -> set[str]:
    """Every region botocore knows for EC2, in every partition (aws, aws-cn, aws-us-gov...)."""
    session = boto3.session.Session()
    regions: set[str] = set()
    for partition in session.get_available_partitions():
        regions.update(session.get_available_regions("ec2", partition_name=partition, allow_non_regional=False))
    return regions


def resolve_region(region: str | None) -> str:
    """The region to use (given, or the session's default); an unknown one is an Ec2Error."""
    region = region or boto3.session.Session().region_name
    if not region:
        raise Ec2Error("no AWS region: pass --region (e.g. us-east-1) or set AWS_REGION")
    if region not in known_regions():
        raise Ec2Error(f"unknown AWS region {region!r} (e.g. us-east-1, eu-west-1)")
    return region


class Aws:
    """boto3 clients for one region, made once credentials are known to exist."""

    def __init__(self, region: str | None = None):
        self.region = resolve_region(region)
        self.session = boto3.session.Session(region_name=self.region)
        if self.session.get_credentials() is None:
            raise Ec2Error("no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        """A cached boto3 client (endpoint from ``AWS_ENDPOINT_URL`` when set)."""
        if service not in self._clients:
            self._clients[service] = self.session.client(service, config=CLIENT_CONFIG, endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)
        return self._clients[service]

    def caller_arn(self) -> str:
        """Who we are: the ``agentgpt:owner`` tag. Also the first call, so bad credentials fail here."""
        try:
            return self.client("sts").get_caller_identity()["Arn"]
        except botocore.exceptions.ClientError as exc:
            raise Ec2Error(f"AWS refused the credentials: {describe(exc)}") from exc


def describe(exc: BaseException) -> str:
    """One line for a botocore error: its code and message, never a traceback."""
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'Error')}: {error.get('Message', '')}".strip().splitlines()[0]
    return " ".join(str(exc).split())
