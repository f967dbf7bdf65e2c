"""``agentgpt launch --on ec2`` against moto in server mode: image, user-data, tags, security
groups, keys, and the clean-up after a failure."""

from __future__ import annotations

import json
import os
import stat

from agentgpt_host_ec2.tags import OWNER, RUN_ID, tag_dict

from ec2_helpers import AMI, KEY, TRAINER, instances, make_profile, no_world_rule, run_groups, user_data


def test_dial_out_builds_pushes_and_launches_tagged_hosts_with_no_inbound_port(aws, docker_log, agentgpt):
    profile = make_profile(aws)
    result = agentgpt("launch", "--on", "ec2", "--env", "gym:CartPole-v1", "--connect", TRAINER, "--num-envs", "4",
                      "--instances", "2", "--instance-type", "t3.small", "--region", "us-east-1", "--api-key", KEY,
                      "-o", f"ami={AMI}", "-o", f"instance_profile={profile}", "-o", "wait=false")
    assert result.exit_code == 0, result.output
    assert f"AGENTGPT_URL={TRAINER}" in result.stdout
    assert KEY not in result.output

    # ECR: the repository was made, and the image built, logged in (password on stdin) and pushed
    repos = aws.client("ecr").describe_repositories()["repositories"]
    assert [r["repositoryName"] for r in repos] == ["agentgpt-env-host"]
    calls = [json.loads(line) for line in docker_log.read_text().splitlines()]
    verbs = [c["args"][0] for c in calls]
    assert verbs == ["info", "build", "login", "push"]
    image = calls[-1]["args"][1]
    assert image.startswith(repos[0]["repositoryUri"] + ":")
    login = calls[2]
    assert login["stdin"] and login["stdin"] not in " ".join(login["args"])

    hosts = instances(aws)
    assert len(hosts) == 2
    run_id = tag_dict(hosts[0]["Tags"])[RUN_ID]
    for host in hosts:
        tags = tag_dict(host["Tags"])
        assert tags[RUN_ID] == run_id and tags[OWNER].startswith("arn:aws:")
        assert KEY not in json.dumps(host["Tags"])
        assert host["ImageId"] == AMI and host["InstanceType"] == "t3.small"
        script = user_data(aws, host["InstanceId"])
        assert script.startswith("#!/bin/bash")
        assert KEY not in script  # with an instance profile the key is read from SSM at boot
        assert f"--name /agentgpt/runs/{run_id}/api-key --with-decryption" in script
        assert "aws ecr get-login-password" in script and f"docker pull {image}" in script
        assert (f"docker run -d --name agentgpt-host --restart unless-stopped --network host -e AGENTGPT_API_KEY {image} "
                f"--transport ws --connect {TRAINER} --num-envs 4") in script
        assert "--env gym:CartPole-v1" in script
        assert "set -x" not in script

    parameter = aws.client("ssm").get_parameter(Name=f"/agentgpt/runs/{run_id}/api-key", WithDecryption=True)["Parameter"]
    assert parameter["Type"] == "SecureString" and parameter["Value"] == KEY

    groups = run_groups(aws)
    assert len(groups) == 1 and groups[0]["IpPermissions"] == []  # dial-out: no inbound rule at all
    assert {g["GroupId"] for h in hosts for g in h["SecurityGroups"]} == {groups[0]["GroupId"]}


def test_listening_mode_opens_one_port_to_the_callers_cidr_and_requires_a_generated_key(aws, no_docker_engine, agentgpt):
    image = "public.example.org/my-env:1"
    result = agentgpt("launch", "--on", "ec2", "--env", "gym:CartPole-v1", "--port", "8100", "--image", image,
                      "--allow-cidr", "203.0.113.7/32", "-o", f"ami={AMI}", "-o", "wait=false")
    assert result.exit_code == 0, result.output  # --image: no build, so no Docker engine needed
    hosts = instances(aws)
    assert len(hosts) == 1
    (group,) = run_groups(aws)
    assert group["IpPermissions"] == [{"FromPort": 8100, "ToPort": 8100, "IpProtocol": "tcp", "UserIdGroupPairs": [],
                                       "IpRanges": [{"CidrIp": "203.0.113.7/32", "Description": "agentgpt env host (caller only)"}],
                                       "Ipv6Ranges": [], "PrefixListIds": []}] or (
        [(p["FromPort"], p["ToPort"], [r["CidrIp"] for r in p["IpRanges"]]) for p in group["IpPermissions"]] == [(8100, 8100, ["203.0.113.7/32"])])
    assert no_world_rule(group)
    run_id = tag_dict(hosts[0]["Tags"])[RUN_ID]
    key_file = os.path.join(os.environ["AGENTGPT_HOME"], "runs", run_id, "api-key")
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    key = open(key_file).read().strip()
    assert len(key) >= 32 and key not in result.output
    script = user_data(aws, hosts[0]["InstanceId"])
    assert f"docker pull {image}" in script
    assert "--transport http --host 0.0.0.0 --port 8100 --env gym:CartPole-v1" in script
    assert "AGENTGPT_API_KEY=" + key in script  # no instance profile: the key travels in user-data
    assert key not in json.dumps(hosts[0]["Tags"])


def test_the_whole_internet_is_refused_before_anything_is_made(aws, agentgpt):
    for cidr in ("0.0.0.0/0", "::/0"):
        result = agentgpt("launch", "--on", "ec2", "--env", "gym:CartPole-v1", "--image", "x/y:1", "--allow-cidr", cidr)
        assert result.exit_code == 1
        assert "whole internet" in result.output
    assert run_groups(aws) == [] and instances(aws) == []


def test_run_instances_failing_after_the_security_group_removes_what_the_run_made(aws, agentgpt):
    result = agentgpt("launch", "--on", "ec2", "--env", "gym:CartPole-v1", "--connect", TRAINER, "--image", "x/y:1",
                      "--api-key", KEY, "-o", f"ami={AMI}", "-o", "instance_profile=no-such-profile")
    assert result.exit_code == 1
    assert "RunInstances failed" in result.output and KEY not in result.output
    assert result.output.strip().splitlines()[-1].startswith("Error: ec2: RunInstances failed")
    assert run_groups(aws) == [] and instances(aws) == []
    assert aws.client("ssm").get_parameters_by_path(Path="/agentgpt", Recursive=True)["Parameters"] == []


def test_hosts_that_never_come_up_time_out_with_the_console_tail_and_are_removed(aws, agentgpt):
    result = agentgpt("launch", "--on", "ec2", "--env", "gym:CartPole-v1", "--connect", TRAINER, "--image", "x/y:1",
                      "-o", f"ami={AMI}", "-o", "wait_timeout=0")
    assert result.exit_code == 1
    assert "did not come up within 0s" in result.output and "console tail:" in result.output
    assert run_groups(aws) == [] and instances(aws) == []


def test_a_private_ecr_image_without_an_instance_profile_is_refused_before_any_aws_call(aws, docker_log, agentgpt, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    for image in ([], ["--image", "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-env:1"]):
        result = agentgpt("launch", "--on", "ec2", "--env", "gym:CartPole-v1", "--connect", TRAINER, *image)
        assert result.exit_code == 1 and "-o instance_profile=NAME" in result.output


def test_the_old_host_spelling_still_launches_with_a_one_line_deprecation_notice(aws, agentgpt):
    result = agentgpt("launch", "--host", "ec2", "--env", "gym:CartPole-v1", "--connect", TRAINER, "--image", "x/y:1",
                      "-o", f"ami={AMI}", "-o", "wait=false")
    assert result.exit_code == 0, result.output
    assert f"AGENTGPT_URL={TRAINER}" in result.stdout and len(instances(aws)) == 1
    notice = [line for line in result.stderr.splitlines() if "deprecated" in line]
    assert notice == ["warning: --host ec2 for a Host plugin is deprecated; use --on ec2 (--host is the address to bind)"]
    assert "deprecated" not in result.stdout


def test_on_with_a_bind_address_or_a_missing_plugin_is_refused(agentgpt):
    result = agentgpt("launch", "--on", "ec2", "--host", "0.0.0.0", "--env", "gym:CartPole-v1", "--connect", TRAINER)
    assert result.exit_code == 2 and "--host is the address to bind" in result.output
    result = agentgpt("launch", "--on", "docker", "--env", "gym:CartPole-v1")
    assert result.exit_code == 2 and "pip install agentgpt-host-docker" in result.output
