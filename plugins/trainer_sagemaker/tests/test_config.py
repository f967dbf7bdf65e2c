"""SageMakerConfig: one clear line per mistake, from TOML, YAML and flags."""

from __future__ import annotations

import pytest

from agentgpt_trainer_sagemaker.config import ConfigError, SageMakerConfig, file_hyperparameters, load_config

GOOD = {"role_arn": "arn:aws:iam::123456789012:role/AgentGPTSageMaker", "image_uri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/agentgpt:1",
        "output_path": "s3://my-bucket/agentgpt"}


@pytest.mark.parametrize("change, message", [
    ({"role_arn": "AgentGPTSageMaker"}, r"^role_arn 'AgentGPTSageMaker' is not an IAM role ARN"),
    ({"image_uri": "agentgpt:latest"}, r"^image_uri 'agentgpt:latest' is not an ECR image"),
    ({"region": "Europe"}, r"^region 'Europe' is not an AWS region name"),
    ({"instance_type": "m5.large"}, r"^instance_type 'm5.large' is not a SageMaker instance type"),
    ({"endpoint_instance_type": "t3.micro"}, r"^endpoint_instance_type 't3.micro'"),
    ({"instance_count": 0}, r"^instance_count must be a whole number of at least 1, got 0"),
    ({"output_path": "my-bucket/out"}, r"^output_path 'my-bucket/out' is not an S3 URI"),
    ({"max_run_seconds": 0}, r"^max_run_seconds must be between 1 and 2419200"),
    ({"spot": True}, r"^spot = true needs checkpoint_path"),
    ({"spot": True, "checkpoint_path": "s3://bkt/c", "max_run_seconds": 100, "max_wait_seconds": 50}, r"^max_wait_seconds \(50\) must be at least"),
    ({"max_wait_seconds": 100}, r"^max_wait_seconds applies to spot jobs only"),
    ({"base_job_name": "my_job"}, r"^base_job_name 'my_job': letters, digits and hyphens"),
    ({"tags": {"aws:x": "1"}}, r"^tag 'aws:x' = '1'"),
    ({"instance_count": "2"}, r"^instance_count must be a whole number, got '2'"),
    ({"spot": "yes"}, r"^spot must be true or false"),
    ({"secrets": "vault"}, r"^secrets 'vault': \"secretsmanager\" \(the default"),
    ({"rol_arn": "x"}, r"^unknown SageMaker settings: rol_arn \(known: role_arn, "),
])
def test_each_mistake_is_one_line_naming_the_field(change, message):
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(None, {**GOOD, **change})
    assert "\n" not in str(caught.value)


def test_toml_and_yaml_files_and_flags(tmp_path):
    toml = tmp_path / "sm.toml"
    toml.write_text('[sagemaker]\nrole_arn = "%s"\nimage_uri = "%s"\noutput_path = "%s"\nspot = true\n'
                    'checkpoint_path = "s3://my-bucket/ckpt"\n[sagemaker.tags]\nteam = "rl"\n\n[hyperparameters]\nmax_steps = 200000\n'
                    % (GOOD["role_arn"], GOOD["image_uri"], GOOD["output_path"]))
    config = load_config(toml, {"instance_type": "ml.c5.2xlarge", "region": None})
    assert (config.spot, config.max_wait, config.instance_type, config.tags) == (True, 2 * 24 * 3600, "ml.c5.2xlarge", {"team": "rl"})
    assert config.tag_list() == [{"Key": "agentgpt", "Value": "1"}, {"Key": "team", "Value": "rl"}]
    assert file_hyperparameters(toml) == {"max_steps": 200000}
    yaml_file = tmp_path / "sm.yaml"
    yaml_file.write_text("".join(f"{k}: {v}\n" for k, v in GOOD.items()) + "region: eu-west-1\n")
    assert load_config(yaml_file) == SageMakerConfig(**GOOD, region="eu-west-1")
    assert file_hyperparameters(yaml_file) == {}
    broken = tmp_path / "broken.toml"
    broken.write_text("role_arn = \n")
    with pytest.raises(ConfigError, match=r"^.*broken.toml is not valid TOML: "):
        load_config(broken)
    with pytest.raises(ConfigError, match=r"config files are .toml, .yaml or .yml"):
        (tmp_path / "x.json").write_text("{}")
        load_config(tmp_path / "x.json")
