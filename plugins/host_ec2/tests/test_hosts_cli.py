"""``agentgpt hosts list`` / ``hosts down``: show and remove exactly what runs made, and nothing
else, including a run whose own clean-up failed half way."""

from __future__ import annotations

import json

import agentgpt_host_ec2.launch as launch_module
from agentgpt_host_ec2.aws import Ec2Error
from agentgpt_host_ec2.tags import RUN_ID, tag_dict

from ec2_helpers import AMI, TRAINER, instances, run_groups


def launch(agentgpt, *extra):
    result = agentgpt("launch", "--on", "ec2", "--env", "gym:CartPole-v1", "--connect", TRAINER, "--image", "x/y:1",
                      "-o", f"ami={AMI}", "-o", "wait=false", *extra)
    assert result.exit_code == 0, result.output
    return result


def run_ids(session):
    return sorted({tag_dict(i.get("Tags"))[RUN_ID] for i in instances(session) if RUN_ID in tag_dict(i.get("Tags"))})


def test_down_removes_one_run_and_leaves_the_other_and_unrelated_resources(aws, agentgpt):
    ec2 = aws.client("ec2")
    stranger = ec2.run_instances(ImageId=AMI, InstanceType="t3.micro", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    stranger_group = ec2.create_security_group(GroupName="not-ours", Description="someone else's")["GroupId"]
    launch(agentgpt, "--instances", "2")
    launch(agentgpt)
    first, second = run_ids(aws)

    listed = agentgpt("hosts", "list", "--json")
    assert listed.exit_code == 0, listed.output
    runs = {run["run_id"]: run for run in json.loads(listed.stdout)}
    assert set(runs) == {first, second}
    assert sum(len(run["instances"]) for run in runs.values()) == 3
    assert stranger not in listed.stdout and stranger_group not in listed.stdout
    assert first in agentgpt("hosts", "list").stdout

    result = agentgpt("hosts", "down", "--run-id", first)
    assert result.exit_code == 0, result.output
    assert run_ids(aws) == [second]
    assert {tag_dict(g["Tags"])[RUN_ID] for g in run_groups(aws)} == {second}

    result = agentgpt("hosts", "down")
    assert result.exit_code == 0, result.output
    assert run_ids(aws) == [] and run_groups(aws) == []
    alive = [i["InstanceId"] for i in instances(aws)]
    assert alive == [stranger]
    assert stranger_group in [g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]]
    assert agentgpt("hosts", "down", "--run-id", first).exit_code == 1  # nothing of it left


def test_down_finishes_a_run_whose_own_clean_up_failed(aws, agentgpt, monkeypatch):
    def broken_teardown(aws_, run, **kwargs):
        raise Ec2Error("simulated: the clean-up lost its connection")

    real_teardown = launch_module.teardown
    monkeypatch.setattr(launch_module, "teardown", broken_teardown)
    result = agentgpt("launch", "--on", "ec2", "--env", "gym:CartPole-v1", "--connect", TRAINER, "--image", "x/y:1",
                      "--api-key", "k", "-o", f"ami={AMI}", "-o", "instance_profile=no-such-profile")
    assert result.exit_code == 1
    assert "retry: agentgpt hosts down --run-id" in result.output
    run_id = result.output.split("--run-id ")[1].split(")")[0]
    assert [tag_dict(g["Tags"])[RUN_ID] for g in run_groups(aws)] == [run_id]  # left behind, but tagged

    monkeypatch.setattr(launch_module, "teardown", real_teardown)
    result = agentgpt("hosts", "down", "--run-id", run_id)
    assert result.exit_code == 0, result.output
    assert run_groups(aws) == []
    assert aws.client("ssm").get_parameters_by_path(Path="/agentgpt", Recursive=True)["Parameters"] == []


def test_ws_hosts_gateway_command_still_runs_without_a_subcommand(agentgpt):
    result = agentgpt("hosts", "--help")
    assert "--listen" in result.output and "down" in result.output and "list" in result.output
