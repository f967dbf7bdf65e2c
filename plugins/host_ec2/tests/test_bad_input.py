"""Bad input: one clear line, exit code 1, and nothing made. Where the check needs no AWS call
the endpoint is a closed port, so an AWS call would fail differently."""

from __future__ import annotations

import pytest

from ec2_helpers import AMI, TRAINER, instances, run_groups

LAUNCH = ("launch", "--on", "ec2", "--env", "gym:CartPole-v1", "--connect", TRAINER, "-o", f"ami={AMI}", "-o", "wait=false",
          "-o", "instance_profile=agentgpt-host")


def one_error_line(result) -> str:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    assert len(errors) == 1 and "Traceback" not in result.output, result.output
    return errors[0]


@pytest.fixture
def unreachable_aws(aws, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard port: any AWS call would fail


def test_unknown_region(unreachable_aws, agentgpt):
    line = one_error_line(agentgpt(*LAUNCH, "--image", "x/y:1", "--region", "mars-north-1"))
    assert "unknown AWS region 'mars-north-1'" in line


def test_missing_credentials(unreachable_aws, agentgpt, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    line = one_error_line(agentgpt(*LAUNCH, "--image", "x/y:1"))
    assert "no AWS credentials found" in line


def test_no_docker_engine_stops_before_any_aws_call(unreachable_aws, no_docker_engine, agentgpt):
    line = one_error_line(agentgpt(*LAUNCH))
    assert "no Docker engine reachable" in line and "--image" in line


def test_no_docker_client_at_all(unreachable_aws, agentgpt, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    line = one_error_line(agentgpt(*LAUNCH))
    assert "no Docker engine" in line


def test_instance_type_that_does_not_exist_leaves_nothing(aws, docker_log, agentgpt):
    line = one_error_line(agentgpt(*LAUNCH, "--instance-type", "t9.gigantic"))
    assert "instance type 't9.gigantic' does not exist in us-east-1" in line
    assert instances(aws) == [] and run_groups(aws) == []
    assert aws.client("ecr").describe_repositories()["repositories"] == []
    assert [c for c in docker_log.read_text().splitlines() if '"build"' in c] == []


def test_unknown_host_option(aws, agentgpt):
    line = one_error_line(agentgpt(*LAUNCH, "--image", "x/y:1", "-o", "colour=blue"))
    assert "no option colour" in line


def test_cloud_options_without_a_host_plugin(agentgpt):
    result = agentgpt("launch", "--env", "gym:CartPole-v1", "--instances", "3")
    assert result.exit_code == 2 and "need --on PLUGIN" in result.output


def test_hosts_down_with_bad_region_and_no_credentials(unreachable_aws, agentgpt, monkeypatch):
    assert "unknown AWS region" in one_error_line(agentgpt("hosts", "down", "--region", "nowhere-1"))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    assert "no AWS credentials" in one_error_line(agentgpt("hosts", "list"))
