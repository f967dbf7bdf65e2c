"""A training job's secrets (the env hosts' API key, ngrok's auth token) kept out of its description.

A training job's ``Environment`` is returned in full by DescribeTrainingJob, to anyone
allowed to describe jobs (read-only roles usually are). So by default the CLI stores the
secrets in AWS Secrets Manager, one secret per job, and the job's environment carries only
the secret's ARN (``AGENTGPT_SECRETS_ARN``, also the job's ``agentgpt-secrets`` tag); the
container reads the values at start (``load_into_environment``), on every start, so a spot
job that restarts reads them again. The secret is deleted once the CLI sees the job end
(``wait_for_job``) or stops it.

The name starts with ``AmazonSageMaker-``: the AWS managed policy
``AmazonSageMakerFullAccess`` lets an execution role read secrets named so; a narrower role
needs ``secretsmanager:GetSecretValue`` on them (docs/cloud.md). ``secrets = "environment"``
in the config puts the values in the job's environment as before, for a role without it.
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any, Callable, Mapping, MutableMapping

from .aws import Aws, aws_errors, describe
from .errors import SageMakerError

POINTER = "AGENTGPT_SECRETS_ARN"
TAG = "agentgpt-secrets"  # the job's tag naming its secret, so the CLI can delete it at the end
NAME_PREFIX = "AmazonSageMaker-agentgpt-"
SECRET_VARIABLES = ("AGENTGPT_API_KEY", "NGROK_AUTHTOKEN")  # the only variables a secret may set


def job_environment(aws: Aws, store: str, secrets: Mapping[str, str]) -> dict[str, str]:
    """The job's environment for ``secrets``: a pointer to a new Secrets Manager secret, or the values themselves."""
    values = {k: v for k, v in secrets.items() if v}
    unknown = set(values) - set(SECRET_VARIABLES)
    if unknown:
        raise SageMakerError(f"not a job secret: {', '.join(sorted(unknown))} (job secrets: {', '.join(SECRET_VARIABLES)})")
    if not values:
        return {}
    if store == "environment":
        return values
    with aws_errors("could not store the job's secrets in Secrets Manager (or set secrets = \"environment\" in the config)"):
        created = aws.client("secretsmanager").create_secret(
            Name=f"{NAME_PREFIX}{uuid.uuid4().hex[:16]}", SecretString=json.dumps(values),
            Description="AgentGPT training job secrets; deleted when the job ends",
            Tags=[{"Key": "agentgpt", "Value": "job-secrets"}])
    return {POINTER: created["ARN"]}


def delete(aws: Aws, arn: str) -> None:
    """Delete one secret now (a job that never started); a missing one is no error."""
    client = aws.client("secretsmanager")
    try:
        client.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
    except client.exceptions.ResourceNotFoundException:
        pass


def forget(aws: Aws, job: Mapping[str, Any], echo: Callable[[str], None] = print) -> bool:
    """Delete the secret of the job ``job`` (its DescribeTrainingJob answer), if any; True when one was.

    The job's ``TAG`` tag names the secret (DescribeTrainingJob's Environment would too, but
    tags are what every SageMaker API stand-in keeps). The job is over when this runs, so a
    failure is echoed (what is left, where), never raised.
    """
    client = aws.client("secretsmanager")
    arn = None
    try:
        tags = aws.client("sagemaker").list_tags(ResourceArn=job["TrainingJobArn"])["Tags"]
        arn = next((tag["Value"] for tag in tags if tag["Key"] == TAG), None)
        if arn:
            client.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
    except client.exceptions.ResourceNotFoundException:
        return False  # deleted already: a second `jobs logs --follow`, `jobs stop` after the end
    except Exception as exc:
        echo(f"warning: could not delete the secret of job {job.get('TrainingJobName')} ({arn or 'see its tag ' + TAG}): "
             f"{describe(exc)}; delete it in Secrets Manager")
        return False
    return bool(arn)


def load_into_environment(environ: MutableMapping[str, str] | None = None) -> list[str]:
    """In the container: read the secret ``AGENTGPT_SECRETS_ARN`` names into ``environ``; the names set.

    Only ``SECRET_VARIABLES`` are set, whatever else the secret holds. The region is the
    ARN's. A failure is a RuntimeError whose one line says what the role lacks.
    """
    environ = os.environ if environ is None else environ
    arn = environ.get(POINTER)
    if not arn:
        return []
    try:
        import boto3

        client = boto3.client("secretsmanager", region_name=arn.split(":")[3])
        values = json.loads(client.get_secret_value(SecretId=arn)["SecretString"])
    except Exception as exc:
        raise RuntimeError(f"could not read the job's secrets from {arn}: {describe(exc)} "
                           "(give the execution role secretsmanager:GetSecretValue on it, see docs/cloud.md)") from None
    names = [name for name in SECRET_VARIABLES if isinstance(values.get(name), str) and values[name]]
    for name in names:
        environ[name] = values[name]
    return names
