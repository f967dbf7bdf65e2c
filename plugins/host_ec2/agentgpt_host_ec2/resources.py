"""Find and remove what runs made, by their tags: instances, security groups, SSM keys.

Only resources carrying ``agentgpt:run-id`` (and, by default, our ``agentgpt:owner``) are
ever touched, so ``hosts down`` cannot remove anything it did not start. ECR repositories
are kept: later runs push to the same one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import botocore.exceptions

from .aws import Aws, Ec2Error, describe
from .tags import OWNER, RUN_ID, SSM_PREFIX, tag_dict

LIVE_STATES = ["pending", "running", "stopping", "stopped", "shutting-down"]


@dataclass
class RunResources:
    """What one run owns in one region."""

    run_id: str
    owner: str = ""
    instances: list[dict] = field(default_factory=list)  # {"id", "state", "type", "public_ip"}
    security_groups: list[str] = field(default_factory=list)
    ssm_parameters: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        return {"run_id": self.run_id, "owner": self.owner, "instances": self.instances,
                "security_groups": self.security_groups, "ssm_parameters": self.ssm_parameters}


def find_runs(aws: Aws, *, run_id: str | None = None, owner: str | None = None, states: list[str] | None = None) -> dict[str, RunResources]:
    """Every run (or just ``run_id``) with something left, keyed by run id."""
    ec2 = aws.client("ec2")
    filters = [{"Name": f"tag:{RUN_ID}", "Values": [run_id]} if run_id else {"Name": "tag-key", "Values": [RUN_ID]}]
    if owner:
        filters.append({"Name": f"tag:{OWNER}", "Values": [owner]})
    runs: dict[str, RunResources] = {}

    def run_of(tags: dict[str, str]) -> RunResources:
        rid = tags[RUN_ID]
        return runs.setdefault(rid, RunResources(rid, tags.get(OWNER, "")))

    for page in ec2.get_paginator("describe_instances").paginate(
            Filters=filters + [{"Name": "instance-state-name", "Values": states or LIVE_STATES}]):
        for reservation in page["Reservations"]:
            for instance in reservation["Instances"]:
                run_of(tag_dict(instance.get("Tags"))).instances.append({
                    "id": instance["InstanceId"], "state": instance["State"]["Name"],
                    "type": instance.get("InstanceType"), "public_ip": instance.get("PublicIpAddress")})
    for page in ec2.get_paginator("describe_security_groups").paginate(Filters=filters):
        for group in page["SecurityGroups"]:
            run_of(tag_dict(group.get("Tags"))).security_groups.append(group["GroupId"])
    ssm = aws.client("ssm")
    path = f"{SSM_PREFIX}/{run_id}" if run_id else SSM_PREFIX
    for page in ssm.get_paginator("get_parameters_by_path").paginate(Path=path, Recursive=True):
        for parameter in page["Parameters"]:  # values are not decrypted: we only need the names
            rid = parameter["Name"][len(SSM_PREFIX) + 1:].split("/")[0]
            if rid in runs or not owner:
                runs.setdefault(rid, RunResources(rid)).ssm_parameters.append(parameter["Name"])
            elif _ssm_owner(ssm, parameter["Name"]) == owner:
                runs.setdefault(rid, RunResources(rid, owner)).ssm_parameters.append(parameter["Name"])
    return runs


def _ssm_owner(ssm, name: str) -> str | None:
    tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name).get("TagList", [])
    return tag_dict(tags).get(OWNER)


def teardown(aws: Aws, run: RunResources, *, wait_timeout: float = 600.0) -> None:
    """Terminate the run's instances, then delete its security groups (which must wait for them) and keys."""
    ec2 = aws.client("ec2")
    errors: list[str] = []
    ids = [i["id"] for i in run.instances if i["state"] not in ("terminated",)]
    if ids:
        try:
            ec2.terminate_instances(InstanceIds=ids)
            ec2.get_waiter("instance_terminated").wait(InstanceIds=ids, WaiterConfig={"Delay": 5, "MaxAttempts": max(1, int(wait_timeout // 5))})
        except (botocore.exceptions.ClientError, botocore.exceptions.WaiterError) as exc:
            errors.append(f"terminating {', '.join(ids)}: {describe(exc)}")
    for group in run.security_groups:
        deadline = time.monotonic() + 120
        while True:  # AWS keeps a group "in use" for a while after its instances terminate
            try:
                ec2.delete_security_group(GroupId=group)
                break
            except botocore.exceptions.ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code == "InvalidGroup.NotFound":
                    break
                if code == "DependencyViolation" and time.monotonic() < deadline:
                    time.sleep(5)
                    continue
                errors.append(f"deleting {group}: {describe(exc)}")
                break
    for name in run.ssm_parameters:
        try:
            aws.client("ssm").delete_parameter(Name=name)
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ParameterNotFound":
                errors.append(f"deleting {name}: {describe(exc)}")
    if errors:
        raise Ec2Error(f"run {run.run_id} not fully removed: " + "; ".join(errors))
