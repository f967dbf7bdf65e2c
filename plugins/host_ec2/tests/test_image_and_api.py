"""The env-host image's Dockerfile and build context, and the seeds' Python API
``EnvLauncher.launch_on_cloud`` against moto."""

from __future__ import annotations

import shutil

import pytest

from agentgpt_host_ec2 import Ec2Error, Ec2Run, EnvLauncher
from agentgpt_host_ec2.image import build_context, dockerfile

from ec2_helpers import AMI, TRAINER, instances, make_profile, no_world_rule, run_groups, user_data


def test_the_dockerfile_is_the_host_install_plus_the_users_env_with_launch_as_entrypoint(tmp_path):
    package = tmp_path / "my_env_pkg"
    package.mkdir()
    (package / "pyproject.toml").write_text("[project]\nname = 'my-env'\nversion = '0'\n")
    loose = tmp_path / "my_env.py"
    loose.write_text("def make_env():\n    pass\n")
    context = build_context([str(package), str(loose)])
    try:
        text = (context / "Dockerfile").read_text()
        assert text.splitlines()[1] == "FROM python:3.12-slim"
        assert "RUN pip install /opt/agentgpt/src /opt/agentgpt/src/plugins/transport_ws /opt/agentgpt/src/plugins/transport_http" in text
        assert "pip install torch" not in text and "[train" not in text  # the light host install
        assert "RUN pip install /opt/agentgpt/user/0" in text and "COPY user/1/ /opt/agentgpt/files/" in text
        assert text.rstrip().endswith('ENTRYPOINT ["agentgpt", "launch"]')
        assert (context / "agentgpt" / "agentgpt_core" / "cli" / "launch.py").exists()
        assert (context / "agentgpt" / "plugins" / "transport_ws" / "pyproject.toml").exists()
        assert not list(context.rglob("tests")) and not list(context.rglob("__pycache__"))
        assert (context / "user" / "1" / "my_env.py").exists()
    finally:
        shutil.rmtree(context)
    assert dockerfile(from_source=False).count("pip install agentgpt-core agentgpt-transport-ws") == 1


def test_a_missing_package_is_refused():
    with pytest.raises(Ec2Error, match="does not exist"):
        build_context(["/no/such/package"])


def test_launch_on_cloud_returns_a_run_that_says_where_the_hosts_are_and_stops_them(aws, docker_log):
    run = EnvLauncher.launch_on_cloud("gym:CartPole-v1", connect=TRAINER, instances=2, num_envs=8, ami=AMI, wait=False,
                                      api_key="k-python", instance_profile=make_profile(aws))
    assert isinstance(run, Ec2Run)
    assert run.urls == [TRAINER] and len(run.instance_ids) == 2 and run.region == "us-east-1"
    assert "k-python" not in repr(run)
    assert {i["InstanceId"] for i in instances(aws)} == set(run.instance_ids)
    assert "--num-envs 8" in user_data(aws, run.instance_ids[0])
    with run:
        pass  # leaving the block stops it
    assert instances(aws) == [] and run_groups(aws) == []
    run.stop()  # idempotent


def test_launch_on_cloud_listening_with_a_generated_key(aws):
    with EnvLauncher.launch_on_cloud(["gym:CartPole-v1", "gym:Acrobot-v1"], image="x/y:1", allow_cidr="198.51.100.0/24",
                                     ami=AMI, wait=False) as run:
        assert run.api_key and len(run.api_key) >= 32
        assert run.urls[0].startswith("http://") and run.urls[0].endswith(":8000")
        (group,) = run_groups(aws)
        assert no_world_rule(group)
        assert "--env gym:Acrobot-v1" in user_data(aws, run.instance_ids[0])
    assert instances(aws) == []
