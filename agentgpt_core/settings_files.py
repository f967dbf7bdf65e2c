"""Settings files (trainer hyperparameters, a cloud plugin's config): TOML or YAML, read one way.

Torch-free and light, so a plugin's CLI can read its config without loading the trainer.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any


def read_settings_file(path: str | Path) -> dict[str, Any]:
    """A settings file as a dict (TOML by suffix .toml, YAML by .yaml/.yml); every mistake a one-line ValueError."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".yaml", ".yml"):
        raise ValueError(f"{path}: config files are .toml, .yaml or .yml")
    try:
        text = path.read_text()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    if suffix == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path} is not valid TOML: {' '.join(str(exc).split())}") from None
    else:
        import yaml

        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ValueError(f"{path} is not valid {suffix[1:].upper()}: {' '.join(str(exc).split())}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a table of settings")
    return data
