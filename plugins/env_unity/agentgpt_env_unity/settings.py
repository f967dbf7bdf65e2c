"""What ``unity:TARGET`` means: the build (or the Editor) and its settings, parsed once.

``unity:./Build`` starts a player build (ML-Agents adds ``.x86_64``/``.x86`` on Linux,
``.app`` on macOS, ``.exe`` on Windows); ``unity:editor`` attaches to an Editor in Play mode.
Settings follow a ``?`` as ``key=value`` pairs joined by ``&``, e.g.
``unity:./Build?behaviour=Seeker&time_scale=20&param.difficulty=2``. The operator writes
the target; a remote caller's ``make`` kwargs may change only ``RUNTIME_KEYS`` (the
behaviour and the engine settings), never the path, ports, log folder or launch arguments.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

EDITOR = "editor"
PARAMETER_PREFIX = "param."
ENGINE_KEYS = ("width", "height", "quality_level", "time_scale", "target_frame_rate", "capture_frame_rate")
RUNTIME_KEYS = ("behaviour", *ENGINE_KEYS)


@dataclass(frozen=True)
class UnitySettings:
    """One ``unity:`` target. Defaults: no graphics, ML-Agents' ports (5005 + worker id; Editor 5004)."""

    path: str | None  # None: the Editor
    behaviour: str | None = None  # which behaviour this env serves (needed when the build has several)
    worker_id: int = 0  # first worker id; copies take the next free ones (port = base_port + worker id)
    base_port: int | None = None
    timeout: int = 60  # seconds the build (or the Editor's Play button) has to connect
    graphics: bool = False
    seed: int = 0  # the seed ML-Agents hands the build at initialisation
    log_folder: str | None = None  # the player writes Player-<worker id>.log here
    engine: dict[str, float] = field(default_factory=dict)  # engine-configuration side channel
    parameters: dict[str, float] = field(default_factory=dict)  # environment-parameters side channel

    @property
    def is_editor(self) -> bool:
        return self.path is None

    def describe(self) -> str:
        return "the Unity Editor" if self.is_editor else f"Unity build {self.path!r}"

    @classmethod
    def parse(cls, target: str) -> UnitySettings:
        path, _, query = target.partition("?")
        path = path.strip()
        if not path:
            raise ValueError("unity: needs a build path or 'editor', e.g. unity:./Build or unity:editor")
        settings = cls(path=None if path == EDITOR else path)
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
        return settings.with_options(dict(pairs), allowed=None)

    def with_options(self, options: dict[str, Any], *, allowed: tuple[str, ...] | None = RUNTIME_KEYS) -> UnitySettings:
        """These settings with ``options`` applied; ``allowed`` limits the keys (a remote caller's kwargs)."""
        changes: dict[str, Any] = {}
        engine, parameters = dict(self.engine), dict(self.parameters)
        for key, value in options.items():
            key = "behaviour" if key == "behavior" else key
            if allowed is not None and key not in allowed:
                raise ValueError(f"unity envs take only {', '.join(allowed)} from make kwargs, not {key!r}")
            if key == "behaviour":
                changes[key] = str(value)
            elif key in ("worker_id", "base_port", "timeout", "seed"):
                changes[key] = _integer(key, value, minimum=1 if key == "timeout" else 0)
            elif key == "graphics":
                changes[key] = _boolean(key, value)
            elif key == "log_folder":
                changes[key] = os.path.abspath(str(value))  # ML-Agents needs an absolute path
            elif key in ENGINE_KEYS:
                engine[key] = _number(key, value) if key == "time_scale" else _integer(key, value, minimum=-1)
            elif key.startswith(PARAMETER_PREFIX) and len(key) > len(PARAMETER_PREFIX):
                parameters[key[len(PARAMETER_PREFIX):]] = _number(key, value)
            else:
                known = "behaviour, worker_id, base_port, timeout, graphics, seed, log_folder, " + ", ".join(ENGINE_KEYS)
                raise ValueError(f"unknown unity setting {key!r}; known: {known}, and param.NAME for environment parameters")
        if ("width" in engine) != ("height" in engine):
            raise ValueError("unity settings width and height go together (the screen resolution)")
        return dataclasses.replace(self, engine=engine, parameters=parameters, **changes)


def _integer(key: str, value: Any, *, minimum: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"unity setting {key} must be an integer, got {value!r}") from None
    if isinstance(value, bool) or number < minimum or (isinstance(value, float) and number != value):
        raise ValueError(f"unity setting {key} must be an integer of at least {minimum}, got {value!r}")
    return number


def _number(key: str, value: Any) -> float:
    try:
        if isinstance(value, bool):
            raise ValueError
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"unity setting {key} must be a number, got {value!r}") from None


def _boolean(key: str, value: Any) -> bool:
    text = str(value).lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"unity setting {key} must be true or false, got {value!r}")
