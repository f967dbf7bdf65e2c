"""Real-time endpoints with plain boto3: model, endpoint config, endpoint; reuse; list; delete.

The SDK's resource classes for models and endpoint configs expect describe answers that
stand-ins do not give, and these are three calls each, so boto3 it is. An endpoint is
named by the user (``--endpoint NAME``) or after the model; one that exists already is
reused as it is (no new model, no update). Everything made is tagged ``agentgpt = 1``,
and ``delete_endpoint`` removes the endpoint with the config and model it made.
"""

from __future__ import annotations

import io
import tarfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from .aws import Aws, SageMakerError, aws_errors
from .config import SageMakerConfig

VARIANT = "AllTraffic"
GONE = ("Deleting", "Failed")


def unique_name(base: str) -> str:
    """``BASE-YYYYmmdd-HHMMSS-fff``: at most 63 characters, as SageMaker names allow."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-%f")[:-3]
    return f"{base[:63 - len(stamp) - 1]}-{stamp}"


def find_endpoint(aws: Aws, name: str) -> dict | None:
    """DescribeEndpoint's answer, or None when there is no such endpoint."""
    sagemaker = aws.client("sagemaker")
    try:
        return sagemaker.describe_endpoint(EndpointName=name)
    except sagemaker.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("ValidationException", "ResourceNotFound"):
            return None
        raise SageMakerError(f"could not describe endpoint {name}: {exc}") from None


def upload_policy(aws: Aws, config: SageMakerConfig, policy: Path, name: str) -> str:
    """A local run directory's policy as ``model.tar.gz`` under the config's output path; its S3 URI."""
    from agentgpt_core.policy.artifact import checkpoint_path

    checkpoint = checkpoint_path(policy)
    if not checkpoint.is_file():
        raise SageMakerError(f"no policy at {policy} (expected {checkpoint})")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(checkpoint, arcname="checkpoint.pt")
    bucket, _, prefix = config.output_path.removeprefix("s3://").partition("/")
    key = "/".join(part for part in (prefix.strip("/"), "models", name, "model.tar.gz") if part)
    with aws_errors(f"could not upload the policy to s3://{bucket}/{key}"):
        aws.client("s3").put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())
    return f"s3://{bucket}/{key}"


def deploy(aws: Aws, config: SageMakerConfig, model_data: str | None, endpoint_name: str | None = None, *,
           echo: Callable[[str], None] = print, poll_s: float = 30.0) -> str:
    """The name of an InService endpoint: ``endpoint_name`` reused if it exists, else created for ``model_data``."""
    if endpoint_name:
        found = find_endpoint(aws, endpoint_name)
        if found is not None and found["EndpointStatus"] not in GONE:
            echo(f"reusing endpoint {endpoint_name} ({found['EndpointStatus']})")
            return wait_in_service(aws, endpoint_name, echo=echo, poll_s=poll_s)
        if found is not None:
            raise SageMakerError(f"endpoint {endpoint_name} is {found['EndpointStatus']}: "
                                 f"`agentgpt endpoints delete {endpoint_name}` first, or choose another name")
    if not model_data:
        raise SageMakerError(f"no endpoint {endpoint_name!r} to reuse: give the policy to deploy (--policy DIR, --model-data S3_URI or --job NAME)")
    name = endpoint_name or unique_name(config.base_job_name)
    sagemaker, tags = aws.client("sagemaker"), config.tag_list()
    with aws_errors(f"could not create endpoint {name}"):
        sagemaker.create_model(ModelName=name, ExecutionRoleArn=config.role_arn, Tags=tags,
                               PrimaryContainer={"Image": config.image_uri, "ModelDataUrl": model_data, "Mode": "SingleModel"})
        sagemaker.create_endpoint_config(EndpointConfigName=name, Tags=tags, ProductionVariants=[{
            "VariantName": VARIANT, "ModelName": name, "InitialInstanceCount": config.endpoint_instance_count,
            "InstanceType": config.endpoint_instance_type, "InitialVariantWeight": 1.0}])
        sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name, Tags=tags)
    echo(f"creating endpoint {name} ({config.endpoint_instance_count} x {config.endpoint_instance_type}) for {model_data}")
    return wait_in_service(aws, name, echo=echo, poll_s=poll_s)


def wait_in_service(aws: Aws, name: str, *, echo: Callable[[str], None] = print, poll_s: float = 30.0, timeout_s: float = 1800.0) -> str:
    """Wait for InService (about 5-10 minutes for a new endpoint); a failed one is its FailureReason."""
    started, last = time.monotonic(), None
    while True:
        with aws_errors(f"could not describe endpoint {name}"):
            found = aws.client("sagemaker").describe_endpoint(EndpointName=name)
        status = found["EndpointStatus"]
        if status != last and status != "InService":
            echo(f"endpoint {name}: {status}")
        last = status
        if status == "InService":
            return name
        if status in ("Failed", "OutOfService", "Deleting"):
            reason = " ".join(found.get("FailureReason", "no reason given").split())
            raise SageMakerError(f"endpoint {name} is {status}: {reason}")
        if time.monotonic() - started > timeout_s:
            raise SageMakerError(f"endpoint {name} still {status} after {timeout_s:.0f}s")
        time.sleep(poll_s)


def list_endpoints(aws: Aws) -> list[dict]:
    with aws_errors("could not list endpoints"):
        return aws.client("sagemaker").list_endpoints(SortBy="CreationTime", SortOrder="Descending", MaxResults=100)["Endpoints"]


def delete_endpoint(aws: Aws, name: str) -> list[str]:
    """Delete the endpoint, then the endpoint config and model it used when we made them; what went."""
    sagemaker = aws.client("sagemaker")
    found = find_endpoint(aws, name)
    if found is None:
        raise SageMakerError(f"no endpoint {name} in {aws.region}")
    removed = [f"endpoint {name}"]
    with aws_errors(f"could not delete endpoint {name}"):
        config_name = found["EndpointConfigName"]
        sagemaker.delete_endpoint(EndpointName=name)
        config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
        if _ours(aws, config["EndpointConfigArn"]):
            sagemaker.delete_endpoint_config(EndpointConfigName=config_name)
            removed.append(f"endpoint config {config_name}")
            for variant in config["ProductionVariants"]:
                model = sagemaker.describe_model(ModelName=variant["ModelName"])
                if _ours(aws, model["ModelArn"]):
                    sagemaker.delete_model(ModelName=variant["ModelName"])
                    removed.append(f"model {variant['ModelName']}")
    return removed


def _ours(aws: Aws, arn: str) -> bool:
    tags = aws.client("sagemaker").list_tags(ResourceArn=arn).get("Tags", [])
    return any(t["Key"] == "agentgpt" for t in tags)
