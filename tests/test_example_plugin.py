"""docs/plugins.md's worked example (tests/example_plugin), installed and found through its entry point."""

from __future__ import annotations

import json

from click.testing import CliRunner

from agentgpt_core.cli import cli
from agentgpt_core.envs import EnvService
from agentgpt_core.plugins import PluginManager, get_plugin_manager, reset_plugin_manager
from agentgpt_core.remote import RemoteEnv


def test_the_example_package_is_discovered_through_the_entry_point_group(monkeypatch):
    monkeypatch.setenv("AGENTGPT_LOAD_PLUGINS", "agentgpt-env-example")
    manager = PluginManager()
    assert manager.names("env_adapters") == ["countdown", "gym", "pettingzoo"]
    [info] = [i for i in manager.info() if i.name == "countdown"]
    assert (info.package, info.version, info.registers) == ("agentgpt-env-example", "0.1.0", {"env_adapters": ["countdown"]})


def test_its_envs_serve_like_any_other(monkeypatch):
    monkeypatch.setenv("AGENTGPT_LOAD_PLUGINS", "countdown")
    reset_plugin_manager()
    try:
        manager = get_plugin_manager()
        service = EnvService(["three=countdown:3"], adapters=manager.env_adapters())
        with manager.get("transports", "memory").server(service) as server:
            with RemoteEnv(server.url, "three") as env:
                env.reset()
                steps = [env.step(0) for _ in range(3)]
        assert [s[1] for s in steps] == [0.0, 0.0, 1.0] and steps[-1][2] is True
        listed = json.loads(CliRunner().invoke(cli, ["plugins", "--json"]).output)
        assert {"name": "countdown", "package": "agentgpt-env-example"}.items() <= next(p for p in listed if p["name"] == "countdown").items()
    finally:
        reset_plugin_manager()
