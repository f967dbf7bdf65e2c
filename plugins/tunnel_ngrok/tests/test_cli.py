"""``agentgpt launch --tunnel`` and ``train --listen --tunnel``: refusals, the printed URL, cleanup on Ctrl-C and SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from click.testing import CliRunner

from agentgpt_core.cli import cli
from agentgpt_core.remote import RemoteEnv
from agentgpt_core.testing import free_port

LAUNCH = [sys.executable, "-m", "agentgpt_core", "launch", "--port", "0", "--env", "gym:CartPole-v1"]


def ctrl_c_reaches_the_child() -> None:
    """Run in the child before exec: undo an inherited 'ignore SIGINT' (a test run started in the
    background by a non-interactive shell, or under nohup, passes one on), so the child sees
    Ctrl-C as it would in a terminal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("tunnel", ["ngrok", "localtunnel"])
def test_a_public_tunnel_without_an_api_key_is_refused(tunnel):
    result = CliRunner().invoke(cli, ["launch", "--env", "gym:CartPole-v1", "--tunnel", tunnel])
    assert result.exit_code == 2 and "makes this server public" in result.output


def test_a_secret_is_never_a_tunnel_option(key):
    result = CliRunner(env={"AGENTGPT_API_KEY": key}).invoke(
        cli, ["launch", "--env", "gym:CartPole-v1", "--tunnel", "ngrok", "--tunnel-option", "authtoken=abc"])
    assert result.exit_code == 2 and "never taken from the command line" in result.output


def test_train_tunnels_only_a_gateway_with_a_fixed_port(key):
    runner = CliRunner(env={"AGENTGPT_API_KEY": key})
    result = runner.invoke(cli, ["train", "--env", "gym:CartPole-v1", "--tunnel", "ngrok"])
    assert result.exit_code == 2 and "--listen" in result.output
    result = runner.invoke(cli, ["train", "--env", "gym:CartPole-v1", "--listen", "ws://127.0.0.1:0", "--tunnel", "ngrok"])
    assert result.exit_code == 2 and "fixed port" in result.output
    result = CliRunner().invoke(cli, ["train", "--env", "gym:CartPole-v1", "--listen", "ws://127.0.0.1:8765", "--tunnel", "ngrok"])
    assert result.exit_code == 2 and "makes this server public" in result.output


def test_a_failed_tunnel_is_one_line_and_exit_1(fake_ngrok, monkeypatch, key, token):
    monkeypatch.setenv("FAKE_NGROK_MODE", "refuse-token")
    monkeypatch.setenv("AGENTGPT_API_KEY", key)
    done = subprocess.run([*LAUNCH, "--tunnel", "ngrok", *fake_ngrok.cli_options()], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().count("\n") == 0 and "ERR_NGROK_107" in done.stderr and "Traceback" not in done.stderr
    assert token not in done.stdout + done.stderr


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
@pytest.mark.parametrize("transport", ["http", "ws"])
def test_launch_through_ngrok_prints_the_url_and_closes_the_tunnel_on_exit(fake_ngrok, monkeypatch, key, token, gone, stop, transport):
    monkeypatch.setenv("AGENTGPT_API_KEY", key)
    process = subprocess.Popen([*LAUNCH, "--transport", transport, "--tunnel", "ngrok", "--tunnel-option", "region=eu",
                                *fake_ngrok.cli_options()], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=ctrl_c_reaches_the_child)
    try:
        line = process.stdout.readline()
        assert line.startswith("AGENTGPT_URL="), line + process.stderr.read()
        url = line.split("=", 1)[1].strip()
        assert url.startswith(f"{transport}://127.0.0.1:")
        with RemoteEnv(url, "CartPole-v1", api_key=key) as env:
            env.reset(seed=0)
            assert env.step(1)[1] == 1.0
        agent = fake_ngrok.record()["pid"]
        process.send_signal(stop)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    record = fake_ngrok.record()
    assert record["token_from"] == "config" and not record["argv_has_token"]
    assert record["requests"][-1]["method"] == "DELETE", "the endpoint was deleted"
    assert gone(agent), "the ngrok agent was stopped"
    output = process.stdout.read() + process.stderr.read()
    assert "stopped" in output and token not in output + line


def test_launch_through_localtunnel_with_a_custom_server(localtunnel_server, monkeypatch, key):
    monkeypatch.setenv("AGENTGPT_API_KEY", key)
    process = subprocess.Popen([*LAUNCH, "--tunnel", "localtunnel", "--tunnel-server", localtunnel_server.url],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("AGENTGPT_URL="), line + process.stderr.read()
        with RemoteEnv(line.split("=", 1)[1].strip(), "CartPole-v1", api_key=key) as env:
            env.reset(seed=0)
            assert env.step(0)[1] == 1.0
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert localtunnel_server.requests == ["/?new"]


def test_train_gathers_a_dial_out_host_through_the_tunnel(localtunnel_server, tmp_path, key):
    """A trainer behind a tunnel: the host dials the printed URL, and training runs on its env."""
    port = free_port()
    env = {**os.environ, "AGENTGPT_API_KEY": key}
    trainer = subprocess.Popen(
        [sys.executable, "-m", "agentgpt_core", "train", "--env", "CartPole-v1", "--num-envs", "2", "--max-steps", "256",
         "--listen", f"ws://127.0.0.1:{port}", "--wait-timeout", "60", "--tunnel", "localtunnel",
         "--tunnel-server", localtunnel_server.url, "--out", str(tmp_path / "run"), "--no-progress", "--eval-episodes", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    host = None
    try:
        line = trainer.stdout.readline()
        assert line.startswith("AGENTGPT_URL=ws://127.0.0.1:"), line + trainer.stderr.read()
        host = subprocess.Popen([sys.executable, "-m", "agentgpt_core", "launch", "--transport", "ws", "--connect",
                                 line.split("=", 1)[1].strip(), "--num-envs", "2", "--env", "gym:CartPole-v1"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        out, err = trainer.communicate(timeout=240)
        assert trainer.returncode == 0, err[-2000:]
        assert "trained" in out
    finally:
        for process in (trainer, host):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=30)
