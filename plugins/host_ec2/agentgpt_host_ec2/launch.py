"""One EC2 run: check everything locally, then image, key, security group, instances, wait.

Order matters. Every check that needs no AWS call (mode, CIDR, region, Docker engine,
credentials present) comes first; then the checks that create nothing (who we are, the
instance type, the AMI, the VPC); only then is anything made, each thing recorded as it is
made, and any failure from there on removes what this run made before re-raising.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import secrets
import shutil
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import botocore.exceptions

from . import image as image_mod
from .aws import Aws, Ec2Error, describe, resolve_region
from .resources import RunResources, find_runs, teardown
from .tags import ssm_key_name, tag_list
from .userdata import ECR_HOST, FAILED, REGISTERED, SERVING, HostCommand, render

DEFAULT_AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
CHECKIP_URL = "https://checkip.amazonaws.com"


@dataclass
class Ec2LaunchSettings:
    """Everything ``agentgpt launch --on ec2`` and ``EnvLauncher.launch_on_cloud`` accept."""

    env_specs: list[str]
    connect: str | None = None  # the trainer's gateway (ws:// or wss://): dial-out, no inbound port
    num_envs: int = 1  # envs each host offers the gateway
    instances: int = 1
    instance_type: str = "t3.small"
    region: str | None = None
    image: str | None = None  # an image URI already pushed: no Dockerfile, no build
    packages: list[str] = field(default_factory=list)  # the user's env packages or files for the image
    api_key: str | None = None  # dial-out: the gateway's key; listening: generated when absent
    allow_cidr: str | None = None  # listening mode: who may connect (default: this machine's public IP /32)
    port: int = 8000  # listening mode's one port
    ami: str | None = None
    instance_profile: str | None = None  # lets instances pull from ECR and read the key from SSM
    subnet_id: str | None = None
    repository: str = "agentgpt-env-host"
    wait: bool = True  # until the hosts register (dial-out) or serve (listening)
    wait_timeout: float = 900.0

    @property
    def dial_out(self) -> bool:
        return self.connect is not None


@dataclass
class Ec2Run:
    """Where a run's hosts are, and how to stop them (``stop()``, or ``agentgpt hosts down --run-id``)."""

    run_id: str
    region: str
    image: str
    instance_ids: list[str]
    urls: list[str]  # dial-out: the gateway the hosts joined; listening: http://IP:PORT per instance
    security_group: str
    api_key: str | None = field(default=None, repr=False)
    api_key_file: str | None = None

    def stop(self) -> None:
        """Terminate the instances and delete what the run made (idempotent)."""
        aws = Aws(self.region)
        for run in find_runs(aws, run_id=self.run_id).values():
            teardown(aws, run)

    def __enter__(self) -> "Ec2Run":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def check_settings(settings: Ec2LaunchSettings) -> None:
    """Local checks: what can be wrong before asking AWS anything."""
    if not settings.env_specs:
        raise Ec2Error("give at least one --env, e.g. --env gym:CartPole-v1")
    if settings.instances < 1 or settings.num_envs < 1:
        raise Ec2Error("--instances and --num-envs must be at least 1")
    if settings.dial_out:
        if not settings.connect.startswith(("ws://", "wss://")):
            raise Ec2Error(f"--connect must be a ws:// or wss:// gateway URL, got {settings.connect!r}")
        if settings.allow_cidr:
            raise Ec2Error("--allow-cidr is for listening hosts; a dial-out host (--connect) opens no port")
    elif not 1 <= settings.port <= 65535:
        raise Ec2Error(f"--port must be 1-65535, got {settings.port}")
    if settings.allow_cidr:
        check_cidr(settings.allow_cidr)
    private_ecr = settings.image is None or ECR_HOST.match(settings.image)
    if private_ecr and not settings.instance_profile:
        raise Ec2Error("instances pull from ECR with their own role: pass -o instance_profile=NAME "
                       "(ECR read and SSM GetParameter), or --image of a public image")


def check_cidr(cidr: str) -> str:
    """A CIDR that is not the whole internet."""
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        raise Ec2Error(f"--allow-cidr {cidr!r} is not a CIDR (e.g. 203.0.113.7/32)") from None
    if network.prefixlen == 0:
        raise Ec2Error(f"--allow-cidr {cidr} would open the port to the whole internet; give your own address range")
    return str(network)


def detect_cidr(timeout: float = 10.0) -> str:
    """This machine's public IPv4 as a /32, for the listening port's only rule."""
    try:
        with urllib.request.urlopen(CHECKIP_URL, timeout=timeout) as response:
            return check_cidr(response.read().decode().strip() + "/32")
    except (OSError, Ec2Error):
        raise Ec2Error("could not detect this machine's public IP; pass --allow-cidr ADDRESS/32") from None


def launch_run(settings: Ec2LaunchSettings, log: Callable[[str], None] = lambda message: None) -> Ec2Run:
    """Start ``settings.instances`` env hosts on EC2; return the run once they are up."""
    check_settings(settings)
    region = resolve_region(settings.region)
    context = None
    if settings.image is None:
        image_mod.check_docker_engine()
    aws = Aws(region)
    owner = aws.caller_arn()
    ec2 = aws.client("ec2")
    check_instance_type(aws, settings.instance_type)
    ami = settings.ami or latest_ami(aws)
    vpc_id = find_vpc(aws, settings.subnet_id)
    cidr = None if settings.dial_out else (check_cidr(settings.allow_cidr) if settings.allow_cidr else detect_cidr())
    api_key = settings.api_key or (None if settings.dial_out else secrets.token_urlsafe(32))

    run_id = uuid.uuid4().hex[:12]
    made = RunResources(run_id, owner)
    log(f"run {run_id}: {settings.instances} x {settings.instance_type} in {region}")
    try:
        image = settings.image
        if image is None:
            context = image_mod.build_context(settings.packages)
            repository = image_mod.ensure_repository(aws, settings.repository, tag_list(run_id, owner, "image"))
            image = f"{repository}:{run_id}"
            log(f"building and pushing {image}")
            image_mod.build_and_push(aws, context, image)
        ssm_parameter = None
        if api_key and settings.instance_profile:
            ssm_parameter = ssm_key_name(run_id)
            aws.client("ssm").put_parameter(Name=ssm_parameter, Value=api_key, Type="SecureString",
                                            Tags=tag_list(run_id, owner, "api-key"))
            made.ssm_parameters.append(ssm_parameter)
        group = ec2.create_security_group(
            GroupName=f"agentgpt-{run_id}", VpcId=vpc_id,
            Description="AgentGPT env hosts: " + ("no inbound port (dial-out)" if settings.dial_out else f"port {settings.port} from {cidr} only"),
            TagSpecifications=[{"ResourceType": "security-group", "Tags": tag_list(run_id, owner, "security-group")}])["GroupId"]
        made.security_groups.append(group)
        if not settings.dial_out:
            ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[{
                "IpProtocol": "tcp", "FromPort": settings.port, "ToPort": settings.port,
                "IpRanges": [{"CidrIp": cidr, "Description": "agentgpt env host (caller only)"}]}])
        command = HostCommand(settings.env_specs, connect=settings.connect, num_envs=settings.num_envs, port=settings.port)
        user_data = render(image, command, region=region, run_id=run_id, ssm_parameter=ssm_parameter,
                           api_key=None if ssm_parameter else api_key, wait_seconds=int(settings.wait_timeout))
        request = dict(
            ImageId=ami, InstanceType=settings.instance_type, MinCount=settings.instances, MaxCount=settings.instances,
            UserData=user_data, SecurityGroupIds=[group], MetadataOptions={"HttpTokens": "required"},
            InstanceInitiatedShutdownBehavior="terminate",
            TagSpecifications=[{"ResourceType": kind, "Tags": tag_list(run_id, owner, "host")} for kind in ("instance", "volume")])
        if settings.subnet_id:
            request["SubnetId"] = settings.subnet_id
        if settings.instance_profile:
            request["IamInstanceProfile"] = {"Name": settings.instance_profile}
        try:
            reservation = ec2.run_instances(**request)
        except botocore.exceptions.ClientError as exc:
            raise Ec2Error(f"RunInstances failed: {describe(exc)}") from exc
        ids = [instance["InstanceId"] for instance in reservation["Instances"]]
        made.instances += [{"id": i, "state": "pending"} for i in ids]
        log(f"instances {', '.join(ids)} starting")
        ec2.get_waiter("instance_running").wait(InstanceIds=ids, WaiterConfig={"Delay": 5, "MaxAttempts": 120})
        described = [i for r in ec2.describe_instances(InstanceIds=ids)["Reservations"] for i in r["Instances"]]
        if settings.dial_out:
            urls = [settings.connect]
        else:
            urls = [f"http://{i.get('PublicIpAddress') or i.get('PrivateIpAddress')}:{settings.port}" for i in described]
        if settings.wait:
            wait_for_hosts(aws, ids, REGISTERED if settings.dial_out else SERVING, settings.wait_timeout, log)
    except BaseException as exc:
        log(f"run {run_id} failed; removing what it made")
        try:
            teardown(aws, made)
        except Ec2Error as cleanup:
            raise Ec2Error(f"{one_line(exc)}; and clean-up failed: {cleanup} (retry: agentgpt hosts down --run-id {run_id})") from exc
        if isinstance(exc, (botocore.exceptions.ClientError, botocore.exceptions.WaiterError)):
            raise Ec2Error(describe(exc)) from exc
        raise
    finally:
        if context is not None:
            shutil.rmtree(context, ignore_errors=True)
    key_file = save_key(run_id, api_key) if api_key and not settings.api_key else None
    return Ec2Run(run_id, region, image, ids, urls, group, api_key=api_key, api_key_file=key_file)


def one_line(exc: BaseException) -> str:
    return describe(exc) if not isinstance(exc, Ec2Error) else str(exc)


def check_instance_type(aws: Aws, instance_type: str) -> None:
    try:
        found = aws.client("ec2").describe_instance_types(InstanceTypes=[instance_type])["InstanceTypes"]
    except botocore.exceptions.ClientError as exc:
        if "InvalidInstanceType" in exc.response.get("Error", {}).get("Code", ""):
            raise Ec2Error(f"instance type {instance_type!r} does not exist in {aws.region}") from None
        raise Ec2Error(describe(exc)) from exc
    if not found:
        raise Ec2Error(f"instance type {instance_type!r} does not exist in {aws.region}")


def latest_ami(aws: Aws) -> str:
    """Amazon Linux 2023's current AMI (it has docker in its repositories and the aws CLI)."""
    try:
        return aws.client("ssm").get_parameter(Name=DEFAULT_AMI_PARAMETER)["Parameter"]["Value"]
    except botocore.exceptions.ClientError as exc:
        raise Ec2Error(f"could not find the Amazon Linux AMI ({describe(exc)}); pass --ami / ami=") from exc


def find_vpc(aws: Aws, subnet_id: str | None) -> str:
    ec2 = aws.client("ec2")
    try:
        if subnet_id:
            return ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"][0]["VpcId"]
        vpcs = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    except botocore.exceptions.ClientError as exc:
        raise Ec2Error(describe(exc)) from exc
    if not vpcs:
        raise Ec2Error(f"no default VPC in {aws.region}; pass a subnet (-o subnet_id=subnet-...)")
    return vpcs[0]["VpcId"]


def console_text(aws: Aws, instance_id: str) -> str:
    """An instance's console output, decoded (EC2 sends it base64-encoded)."""
    output = aws.client("ec2").get_console_output(InstanceId=instance_id).get("Output") or ""
    try:
        return base64.b64decode(output, validate=True).decode(errors="replace")
    except ValueError:
        return output


def wait_for_hosts(aws: Aws, ids: list[str], marker: str, timeout: float, log: Callable[[str], None], poll: float = 10.0) -> None:
    """Until every instance's console shows ``marker``; a failure or timeout raises with the console's tail."""
    pending = set(ids)
    deadline = time.monotonic() + timeout
    log(f"waiting up to {timeout:.0f}s for the hosts ({marker!r} on their consoles)")
    while True:
        for instance_id in sorted(pending):
            text = console_text(aws, instance_id)
            if marker in text:
                pending.discard(instance_id)
            elif FAILED in text:
                raise Ec2Error(f"host on {instance_id} failed; console tail: {tail(text)}")
        if not pending:
            return
        if time.monotonic() >= deadline:
            instance_id = sorted(pending)[0]
            raise Ec2Error(f"hosts did not come up within {timeout:.0f}s ({len(pending)} waiting); {instance_id} console tail: {tail(console_text(aws, instance_id))}")
        time.sleep(poll)


def tail(text: str, lines: int = 5) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:] if line.strip()) or "(empty)"


def save_key(run_id: str, api_key: str) -> str:
    """A generated key goes to a 0600 file, never to the terminal or a log."""
    directory = Path(os.environ.get("AGENTGPT_HOME", Path.home() / ".agentgpt")) / "runs" / run_id
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "api-key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(api_key + "\n")
    return str(path)
