"""``agentgpt launch`` through the plugin kinds: dial-out refusals, tunnels, the local Host, extras."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from agentgpt_core.cli import cli, extras
from agentgpt_core.remote import RemoteEnv

LAUNCH = [sys.executable, "-m", "agentgpt_core", "launch"]


def test_a_transport_that_cannot_dial_out_says_so_in_one_line():
    done = subprocess.run(
        [*LAUNCH, "--transport", "http", "--connect", "ws://127.0.0.1:9", "--env", "gym:CartPole-v1"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert "cannot dial out" in done.stderr and "Traceback" not in done.stderr


def test_launch_opens_the_named_tunnel_and_prints_its_url():
    process = subprocess.Popen(
        [*LAUNCH, "--transport", "http", "--port", "0", "--tunnel", "memory", "--env", "gym:CartPole-v1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = process.stdout.readline()
        assert line.startswith("AGENTGPT_URL="), line + process.stderr.read()
        url = line.split("=", 1)[1].strip()
        assert f"(tunnel memory to {url})" in process.stderr.readline()
        with RemoteEnv(url, "CartPole-v1") as env:
            env.reset(seed=0)
            assert env.step(0)[1] == 1.0
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_an_unknown_tunnel_is_refused_before_anything_starts():
    result = CliRunner().invoke(cli, ["launch", "--env", "gym:CartPole-v1", "--tunnel", "carrier-pigeon"])
    assert result.exit_code == 2 and "no tunnel named 'carrier-pigeon'" in result.output


def test_train_uses_the_registered_local_host():
    from agentgpt_core.cli.hosts import local_hosts
    from agentgpt_core.plugins import get_plugin_manager

    host = get_plugin_manager().get("hosts", "local")
    with local_hosts(["gym:CartPole-v1"], 1) as urls:
        assert [process.url for process in host.processes] == urls
    assert host.processes == []


@pytest.mark.parametrize("command", ["train", "eval", "plot"])
def test_training_commands_without_the_train_extra_say_what_to_install(command, monkeypatch, tmp_path):
    monkeypatch.setattr(extras, "missing", lambda modules=extras.TRAIN_MODULES: ["torch"])
    args = {"train": ["--env", "gym:CartPole-v1"], "eval": ["--policy", str(tmp_path), "--env", "CartPole-v1"], "plot": [str(tmp_path)]}
    result = CliRunner().invoke(cli, [command, *args[command]])
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"Error: agentgpt {command} needs the 'train' extra (torch missing): pip install 'agentgpt-core[train]'"
    )


def test_the_extra_check_finds_what_is_installed():
    assert extras.missing(("json", "no_such_module_here")) == ["no_such_module_here"]
    assert isinstance(extras.needs_extra(click.Command("x", callback=lambda: None)), click.Command)


def test_launch_on_the_local_host_plugin_serves_until_interrupted():
    """``--on PLUGIN`` with a plugin whose hosts are not detached: it prints each URL and stops them on Ctrl-C."""
    process = subprocess.Popen([*LAUNCH, "--on", "local", "--env", "gym:CartPole-v1"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # undo an inherited ignore
    try:
        line = process.stdout.readline()
        assert line.startswith("AGENTGPT_URL=http://127.0.0.1:"), line + process.stderr.read()
        url = line.split("=", 1)[1].strip()
        with RemoteEnv(url, "CartPole-v1") as env:
            env.reset(seed=0)
            assert env.step(0)[1] == 1.0
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "deprecated" not in process.stderr.read()
    with pytest.raises(ConnectionRefusedError):  # the plugin's host process was stopped with the command
        socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=5).close()

