"""The ngrok tunnel through pyngrok, against a fake agent that speaks ngrok's local API."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
import yaml

from agentgpt_core.kinds import TunnelError
from agentgpt_core.plugins import get_plugin_manager
from agentgpt_core.remote import RemoteEnv


def ngrok(fake, **options):
    return get_plugin_manager().get("tunnels", "ngrok").configure(**fake.options(**options))


def test_remote_env_steps_cartpole_through_the_tunnel(fake_ngrok, cartpole_server, caplog, capfd, key, token, gone):
    caplog.set_level(logging.DEBUG)
    with ngrok(fake_ngrok, region="eu") as tunnel:
        url = tunnel.open(cartpole_server.url)
        scheme = cartpole_server.url.split("://")[0]
        assert url.startswith(f"{scheme}://127.0.0.1:") and url != cartpole_server.url
        with RemoteEnv(url, "CartPole-v1", api_key=key) as env:
            env.reset(seed=0)
            assert env.step(0)[1] == 1.0
        record = fake_ngrok.record()
        assert record["token_from"] == "config" and record["region"] == "eu"
        created = record["requests"][0]
        assert created["path"] == "/api/endpoints"  # pyngrok 9.1's default config_version 3
        assert created["body"]["upstream"]["url"].endswith(cartpole_server.url.rsplit(":", 1)[1])
    record = fake_ngrok.record()
    assert record["requests"][-1]["method"] == "DELETE"
    assert gone(record["pid"]), "closing the tunnel stops the agent"
    out, err = capfd.readouterr()
    assert token not in caplog.text + out + err


def test_the_token_reaches_the_agent_in_a_private_file_never_on_its_command_line(fake_ngrok, cartpole_server, key, token):
    fake_ngrok.config.write_text('version: "3"\nagent:\n  log_level: info\n  console_ui: false\n')
    users_config = fake_ngrok.config.read_text()
    with ngrok(fake_ngrok) as tunnel:
        url = tunnel.open(cartpole_server.url)
        record = fake_ngrok.record()
        assert record["token_from"] == "config" and record["token"] == token, "the agent authenticated"
        assert token not in " ".join(record["argv"])
        cmdline = Path(f"/proc/{record['pid']}/cmdline").read_bytes().decode()  # what `ps` shows every user
        assert "--config" in cmdline and token not in cmdline
        private = Path(record["config_path"])
        assert private != fake_ngrok.config and record["config_mode"] == "0o600"
        assert private.parent.stat().st_mode & 0o777 == 0o700
        merged = yaml.safe_load(private.read_text())
        assert merged == {"version": "3", "agent": {"log_level": "info", "console_ui": False, "authtoken": token}}
        with RemoteEnv(url, "CartPole-v1", api_key=key) as env:
            env.reset(seed=0)
            assert env.step(0)[1] == 1.0
    assert not private.exists() and not private.parent.exists(), "close() removed the private config"
    assert fake_ngrok.config.read_text() == users_config, "the user's own config is never written"


def test_a_v2_config_and_no_config_at_all(fake_ngrok, cartpole_server, tmp_path, token):
    fake_ngrok.config.write_text('version: "2"\nauthtoken: stale-token\nregion: us\n')
    with ngrok(fake_ngrok) as tunnel:
        tunnel.open(cartpole_server.url)
        record = fake_ngrok.record()
        merged = yaml.safe_load(Path(record["config_path"]).read_text())
        assert merged == {"version": "2", "authtoken": token, "region": "us"}  # NGROK_AUTHTOKEN wins, as with pyngrok
    absent = tmp_path / "nowhere" / "ngrok.yml"
    with ngrok(fake_ngrok, config_path=str(absent)) as tunnel:
        tunnel.open(cartpole_server.url)
        record = fake_ngrok.record()
        assert record["token"] == token and not absent.exists(), "pyngrok's default config is not written for us"
    assert not Path(record["config_path"]).exists()


def test_a_failed_start_removes_the_private_config(fake_ngrok, monkeypatch):
    monkeypatch.setenv("FAKE_NGROK_MODE", "refuse-token")
    with pytest.raises(TunnelError, match="ERR_NGROK_107"), ngrok(fake_ngrok, startup_timeout=10) as tunnel:
        tunnel.open("http://127.0.0.1:8000")
    assert fake_ngrok.record()["token_from"] == "config"
    assert not Path(fake_ngrok.record()["config_path"]).exists()


def test_an_unreadable_user_config_is_a_one_line_error_that_never_quotes_it(fake_ngrok, token):
    fake_ngrok.config.write_text(f"agent: [authtoken: {token}\n")
    with pytest.raises(TunnelError, match="cannot read ngrok's config") as caught, ngrok(fake_ngrok) as tunnel:
        tunnel.open("http://127.0.0.1:8000")
    assert token not in str(caught.value) and "\n" not in str(caught.value) and fake_ngrok.record() == {}


def test_an_https_endpoint_becomes_wss_for_a_websocket_server(fake_ngrok, monkeypatch):
    monkeypatch.setenv("FAKE_NGROK_MODE", "https")
    with ngrok(fake_ngrok, domain="trainer.example.app") as tunnel:
        assert tunnel.open("ws://127.0.0.1:8765") == "wss://fake-endpoint.ngrok.app"
        assert fake_ngrok.record()["requests"][0]["body"]["url"] == "https://trainer.example.app"


def test_a_plain_http_public_url_is_refused_and_the_agent_stopped(fake_ngrok, monkeypatch, gone):
    monkeypatch.setenv("FAKE_NGROK_MODE", "plain-public")
    with pytest.raises(TunnelError, match="plain-http"), ngrok(fake_ngrok) as tunnel:
        tunnel.open("http://127.0.0.1:8000")
    assert gone(fake_ngrok.record()["pid"])


def test_a_missing_token_is_a_one_line_error_before_the_agent_runs(fake_ngrok, monkeypatch):
    monkeypatch.delenv("NGROK_AUTHTOKEN")
    with pytest.raises(TunnelError, match="NGROK_AUTHTOKEN") as caught, ngrok(fake_ngrok) as tunnel:
        tunnel.open("http://127.0.0.1:8000")
    assert "\n" not in str(caught.value) and fake_ngrok.record() == {}


def test_a_token_in_ngrok_config_is_enough(fake_ngrok, monkeypatch, cartpole_server, token):
    monkeypatch.delenv("NGROK_AUTHTOKEN")
    fake_ngrok.config.write_text(f'version: "3"\nagent:\n  authtoken: {token}\n')
    with ngrok(fake_ngrok) as tunnel:
        tunnel.open(cartpole_server.url)
        assert not fake_ngrok.record()["argv_has_token"]  # ngrok reads it from its own config


def test_a_missing_agent_is_an_error_not_a_download(tmp_path, fake_ngrok):
    tunnel = get_plugin_manager().get("tunnels", "ngrok").configure(ngrok_path=str(tmp_path / "nowhere" / "ngrok"))
    with pytest.raises(TunnelError, match="not installed"), tunnel:
        tunnel.open("http://127.0.0.1:8000")


def test_pyngroks_own_ngrok_script_on_path_is_not_taken_for_the_agent(tmp_path, monkeypatch, fake_ngrok):
    wrapper = tmp_path / "bin" / "ngrok"
    wrapper.parent.mkdir()
    wrapper.write_text("#!/usr/bin/python3\nfrom pyngrok.ngrok import main\nmain()\n")
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", str(wrapper.parent))
    monkeypatch.setattr("pyngrok.conf.DEFAULT_NGROK_PATH", str(tmp_path / "absent" / "ngrok"))
    tunnel = get_plugin_manager().get("tunnels", "ngrok").configure(config_path=str(fake_ngrok.config))
    with pytest.raises(TunnelError, match="not installed"), tunnel:
        tunnel.open("http://127.0.0.1:8000")
    monkeypatch.setenv("PATH", f"{fake_ngrok.path.parent}{os.pathsep}{wrapper.parent}")
    with tunnel:
        assert tunnel.open("http://127.0.0.1:8000").startswith("http://127.0.0.1:")
    assert fake_ngrok.record()["pid"]


@pytest.mark.parametrize("mode, message", [
    ("refuse-token", "refused the auth token (ERR_NGROK_107)"),
    ("limit", "a limit of your ngrok plan (ERR_NGROK_108)"),
    ("crash", "unable to start"),
])
def test_a_failed_start_is_a_typed_one_line_error(fake_ngrok, monkeypatch, mode, message, caplog, token, gone):
    monkeypatch.setenv("FAKE_NGROK_MODE", mode)
    with pytest.raises(TunnelError) as caught, ngrok(fake_ngrok, startup_timeout=10) as tunnel:
        tunnel.open("http://127.0.0.1:8000")
    text = str(caught.value)
    assert message in text and "\n" not in text and token not in text + caplog.text
    assert gone(fake_ngrok.record()["pid"])


def test_options_are_checked():
    template = get_plugin_manager().get("tunnels", "ngrok")
    with pytest.raises(ValueError, match="no option colour"):
        template.configure(colour="blue")
