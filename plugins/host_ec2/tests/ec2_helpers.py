"""Shared helpers for the ec2 plugin's tests (a unique module name: tests/ dirs are not packages)."""

from __future__ import annotations

import base64

from agentgpt_host_ec2.tags import RUN_ID

AMI = "ami-12c6146b"
TRAINER = "wss://trainer.example.org:8765"
KEY = "s3cret-key-never-in-tags-or-logs"


def instances(session, run_id=None):
    filters = [{"Name": "instance-state-name", "Values": ["pending", "running"]}]
    if run_id:
        filters.append({"Name": f"tag:{RUN_ID}", "Values": [run_id]})
    reservations = session.client("ec2").describe_instances(Filters=filters)["Reservations"]
    return [i for r in reservations for i in r["Instances"]]


def user_data(session, instance_id):
    value = session.client("ec2").describe_instance_attribute(InstanceId=instance_id, Attribute="userData")["UserData"]["Value"]
    return base64.b64decode(value).decode()


def run_groups(session):
    groups = session.client("ec2").describe_security_groups(Filters=[{"Name": "tag-key", "Values": [RUN_ID]}])["SecurityGroups"]
    return groups


def no_world_rule(group):
    ranges = [r["CidrIp"] for p in group["IpPermissions"] for r in p.get("IpRanges", [])]
    ranges += [r["CidrIpv6"] for p in group["IpPermissions"] for r in p.get("Ipv6Ranges", [])]
    return "0.0.0.0/0" not in ranges and "::/0" not in ranges


def make_profile(session, name="agentgpt-host"):
    iam = session.client("iam")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")
    iam.create_instance_profile(InstanceProfileName=name)
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    return name
