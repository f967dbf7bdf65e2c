"""Settings: defaults, then a TOML/YAML file, then explicit overrides; typos are refused."""

from __future__ import annotations

import pytest

from agentgpt_core.train import Hyperparameters, load_hyperparameters


def test_defaults_without_a_file():
    assert load_hyperparameters() == Hyperparameters()


def test_toml_then_overrides(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('[hyperparameters]\ngamma = 0.9\nlr_init = 3e-4\nenv_id = "Pendulum-v1"\n')
    hp = load_hyperparameters(path, {"gamma": 0.95, "max_steps": None})
    assert (hp.gamma, hp.lr_init, hp.env_id) == (0.95, 3e-4, "Pendulum-v1")
    assert hp.max_steps == Hyperparameters().max_steps  # None means "not given"


def test_yaml_top_level_and_command_line_strings(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("num_envs: 4\nnormalize_rewards: false\n")
    hp = load_hyperparameters(path, {"max_steps": "5000", "entropy_coef": "0.01", "normalize_observations": "false"})
    assert (hp.num_envs, hp.normalize_rewards, hp.max_steps) == (4, False, 5000)
    assert (hp.entropy_coef, hp.normalize_observations) == (0.01, False)


@pytest.mark.parametrize("overrides", [{"gama": 0.9}, {"num_envs": "many"}, {"batch_size": 1.5}])
def test_bad_settings_are_refused(overrides):
    with pytest.raises(ValueError):
        load_hyperparameters(None, overrides)
