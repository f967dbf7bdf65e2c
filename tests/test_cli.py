"""The CLI frame: help everywhere, clear refusals before anything starts."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from agentgpt_core.cli import cli


@pytest.mark.parametrize("command", [[], ["launch"], ["plugins"], ["train"], ["eval"], ["plot"]])
def test_help_everywhere(command):
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


@pytest.mark.parametrize(
    "args,message",
    [
        (["launch"], "at least one --env"),
        (["launch", "--env", "CartPole-v1"], "ADAPTER:TARGET"),
        (["launch", "--env", "gym:CartPole-v1", "--host", "0.0.0.0"], "--api-key"),
        (["launch", "--env", "gym:CartPole-v1", "--transport", "pigeon"], "no transport named 'pigeon'"),
        (["launch", "--env", "unity:./Build"], "no env adapter named 'unity'"),
    ],
)
def test_launch_refuses_bad_set_ups_with_what_to_fix(args, message, monkeypatch):
    monkeypatch.delenv("AGENTGPT_API_KEY", raising=False)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert message in result.output
