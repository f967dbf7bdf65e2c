"""Plugin manager: built-ins, real entry points, allow/block lists, name conflicts."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest
from click.testing import CliRunner

from agentgpt_core.cli import cli
from agentgpt_core.plugins import PluginConflictError, PluginManager, PluginNotFound


def install_fake_plugin(site, dist: str, module: str, adapter_name: str) -> None:
    """Write a real installed distribution (dist-info + entry point) into ``site``."""
    (site / f"{module}.py").write_text(
        textwrap.dedent(
            f"""
            from agentgpt_core.hookspecs import hookimpl
            from agentgpt_core.builtins.env_gym import GymAdapter

            class Adapter(GymAdapter):
                name = {adapter_name!r}

            @hookimpl
            def register_env_adapters(register):
                register(Adapter())
            """
        )
    )
    info = site / f"{dist.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(f"[agentgpt]\n{module} = {module}\n")


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [n for n in sys.modules if n.startswith("fake_")]:
        del sys.modules[name]


def test_builtins_register_like_any_plugin():
    manager = PluginManager(load_entry_points=False)
    assert manager.names("env_adapters") == ["gym", "pettingzoo"]
    assert "memory" in manager.names("transports") and manager.names("trainers") == ["local"]
    assert manager.names("hosts") == ["local"]


def test_entry_point_plugins_load_and_report_their_package(site, monkeypatch):
    install_fake_plugin(site, "agentgpt-env-fake", "fake_adapter", "fake")
    monkeypatch.setenv("AGENTGPT_LOAD_PLUGINS", "fake_adapter")
    manager = PluginManager()
    assert manager.get("env_adapters", "fake").name == "fake"
    info = {i.name: i for i in manager.info()}["fake_adapter"]
    assert (info.package, info.version, info.registers) == ("agentgpt-env-fake", "1.2.3", {"env_adapters": ["fake"]})


def test_allow_list_and_block_list(site, monkeypatch):
    install_fake_plugin(site, "agentgpt-env-fake", "fake_adapter", "fake")
    monkeypatch.setenv("AGENTGPT_LOAD_PLUGINS", "")
    assert "fake" not in PluginManager().names("env_adapters")
    monkeypatch.setenv("AGENTGPT_LOAD_PLUGINS", "agentgpt-env-fake")
    monkeypatch.setenv("AGENTGPT_BLOCK_PLUGINS", "fake_adapter")
    assert "fake" not in PluginManager().names("env_adapters")


def test_two_plugins_claiming_one_name_is_an_error_naming_both(site, monkeypatch):
    install_fake_plugin(site, "agentgpt-env-shadow", "fake_shadow", "gym")
    monkeypatch.setenv("AGENTGPT_LOAD_PLUGINS", "fake_shadow")
    with pytest.raises(PluginConflictError, match=r"agentgpt-core.*agentgpt-env-shadow"):
        PluginManager().names("env_adapters")


def test_unknown_names_list_the_choices():
    manager = PluginManager(load_entry_points=False)
    with pytest.raises(PluginNotFound, match="available: gym"):
        manager.get("env_adapters", "unity")
    with pytest.raises(PluginNotFound, match="gopher"):
        manager.transport_for_url("gopher://x")


def test_plugins_command_prints_json():
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    listed = {p["name"]: p for p in json.loads(result.output)}
    assert listed["agentgpt_core.builtins.env_gym"]["registers"] == {"env_adapters": ["gym"]}
    assert all({"name", "package", "version", "hooks", "registers"} <= set(p) for p in listed.values())
