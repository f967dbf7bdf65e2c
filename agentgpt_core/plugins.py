"""The plugin manager: built-ins from a list of modules, third parties from entry points.

Plugins load once, lazily, on first use. ``AGENTGPT_LOAD_PLUGINS`` (comma-separated
entry-point or distribution names) is an allow-list for third-party plugins: set it
to an empty string to load none (tests do). ``AGENTGPT_BLOCK_PLUGINS`` names
plugins never to load. Two plugins registering one name is an error naming both.
"""

from __future__ import annotations

import importlib
import os
import threading
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from . import hookspecs
from .kinds import EnvAdapter, Host, TrainerBackend, Transport, Tunnel

ENTRY_POINT_GROUP = "agentgpt"
BUILTIN_PLUGINS = (
    "agentgpt_core.builtins.env_gym",
    "agentgpt_core.builtins.env_pettingzoo",
    "agentgpt_core.builtins.transport_memory",
    "agentgpt_core.builtins.trainer_local",
    "agentgpt_core.builtins.host_local",
    "agentgpt_core.builtins.tunnel_memory",
)
KINDS: dict[str, tuple[str, type]] = {
    "transports": ("register_transports", Transport),
    "tunnels": ("register_tunnels", Tunnel),
    "hosts": ("register_hosts", Host),
    "env_adapters": ("register_env_adapters", EnvAdapter),
    "trainers": ("register_trainers", TrainerBackend),
}


class PluginConflictError(RuntimeError):
    """Two plugins claim the same name for the same kind."""


class PluginNotFound(LookupError):
    """No loaded plugin provides the requested name."""


@dataclass
class PluginInfo:
    """What ``agentgpt plugins`` shows about one plugin."""

    name: str
    package: str
    version: str
    hooks: list[str] = field(default_factory=list)
    registers: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class _Registered:
    obj: Any
    plugin: str
    package: str


class PluginManager:
    """Loads plugins once and answers "which transport/adapter/... is called NAME"."""

    def __init__(self, builtins: tuple[str, ...] = BUILTIN_PLUGINS, load_entry_points: bool = True):
        self._builtins = builtins
        self._load_entry_points = load_entry_points
        self._pm: pluggy.PluginManager | None = None
        self._packages: dict[str, tuple[str, str]] = {}
        self._registry: dict[str, dict[str, _Registered]] = {}
        self._lock = threading.Lock()

    @property
    def pm(self) -> pluggy.PluginManager:
        if self._pm is None:
            with self._lock:
                if self._pm is None:
                    self._pm = self._load()
        return self._pm

    def _load(self) -> pluggy.PluginManager:
        pm = pluggy.PluginManager("agentgpt")
        pm.add_hookspecs(hookspecs)
        version = _version("agentgpt-core")
        for module_name in self._builtins:
            pm.register(importlib.import_module(module_name), name=module_name)
            self._packages[module_name] = ("agentgpt-core", version)
        if self._load_entry_points:
            allowed, blocked = _env_list("AGENTGPT_LOAD_PLUGINS"), _env_list("AGENTGPT_BLOCK_PLUGINS") or set()
            for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
                dist = ep.dist.name if ep.dist else ep.value
                if {ep.name, dist} & blocked or (allowed is not None and not {ep.name, dist} & allowed):
                    continue
                if pm.has_plugin(ep.name):
                    continue
                pm.register(ep.load(), name=ep.name)
                self._packages[ep.name] = (dist, ep.dist.version if ep.dist else "unknown")
        self._registry = self._collect(pm)
        return pm

    def _collect(self, pm: pluggy.PluginManager) -> dict[str, dict[str, _Registered]]:
        registry: dict[str, dict[str, _Registered]] = {kind: {} for kind in KINDS}
        for plugin_name, plugin in pm.list_name_plugin():
            package = self._packages.get(plugin_name, ("unknown", ""))[0]
            for kind, (hook_name, base) in KINDS.items():
                impl = getattr(plugin, hook_name, None)
                if impl is None:
                    continue

                def register(obj: Any, _kind: str = kind, _base: type = base) -> None:
                    if not isinstance(obj, _base):
                        raise TypeError(f"{plugin_name} registered {obj!r} as {_kind}, which needs a {_base.__name__}")
                    existing = registry[_kind].get(obj.name)
                    if existing is not None:
                        raise PluginConflictError(
                            f"{_kind[:-1]} name {obj.name!r} is claimed by both {existing.package} "
                            f"({existing.plugin}) and {package} ({plugin_name}); uninstall or block one "
                            f"with AGENTGPT_BLOCK_PLUGINS"
                        )
                    registry[_kind][obj.name] = _Registered(obj, plugin_name, package)

                impl(register=register)
        return registry

    def get(self, kind: str, name: str) -> Any:
        """The registered object of ``kind`` called ``name``; PluginNotFound lists the choices."""
        self.pm
        try:
            return self._registry[kind][name].obj
        except KeyError:
            choices = ", ".join(sorted(self._registry.get(kind, {}))) or "none"
            raise PluginNotFound(f"no {kind[:-1].replace('_', ' ')} named {name!r}; available: {choices}") from None

    def env_adapters(self) -> dict[str, EnvAdapter]:
        """Every registered env adapter by name: what an ``EnvService`` is built with."""
        self.pm
        return {name: entry.obj for name, entry in self._registry["env_adapters"].items()}

    def names(self, kind: str) -> list[str]:
        self.pm
        return sorted(self._registry[kind])

    def transport_for_url(self, url: str) -> Transport:
        """The transport whose schemes include ``url``'s scheme."""
        scheme = url.split("://", 1)[0].lower() if "://" in url else ""
        for entry in self._registry_for("transports"):
            if scheme in entry.obj.schemes:
                return entry.obj
        schemes = sorted(s for e in self._registry_for("transports") for s in e.obj.schemes)
        raise PluginNotFound(f"no transport handles {scheme or url!r} URLs; installed schemes: {', '.join(schemes)}")

    def _registry_for(self, kind: str) -> list[_Registered]:
        self.pm
        return list(self._registry[kind].values())

    def add_commands(self, cli: Any) -> None:
        self.pm.hook.register_commands(cli=cli)

    def info(self) -> list[PluginInfo]:
        """One PluginInfo per loaded plugin, with what it registers."""
        infos = []
        for plugin_name, plugin in self.pm.list_name_plugin():
            package, version = self._packages.get(plugin_name, ("unknown", ""))
            hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
            registers = {
                kind: sorted(n for n, e in entries.items() if e.plugin == plugin_name)
                for kind, entries in self._registry.items()
            }
            infos.append(PluginInfo(plugin_name, package, version, hooks, {k: v for k, v in registers.items() if v}))
        return infos


def _env_list(variable: str) -> set[str] | None:
    value = os.environ.get(variable)
    if value is None:
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


_manager: PluginManager | None = None


def get_plugin_manager() -> PluginManager:
    """The process-wide plugin manager (created on first use)."""
    global _manager
    if _manager is None:
        _manager = PluginManager()
    return _manager


def reset_plugin_manager() -> None:
    """Forget loaded plugins (tests change the allow/block lists)."""
    global _manager
    _manager = None
