"""``KEY=VALUE`` settings on the command line (transport ``-o`` and ``--tunnel-option``)."""

from __future__ import annotations

import json
from typing import Any

import click


def parse_options(values: tuple[str, ...], param_hint: str = "--option") -> dict[str, Any]:
    """``KEY=VALUE`` pairs; values that read as JSON numbers/booleans become those, the rest stay text."""
    options: dict[str, Any] = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key.isidentifier():
            raise click.BadParameter(f"{value!r} must look like KEY=VALUE", param_hint=param_hint)
        try:
            options[key] = json.loads(text)
        except ValueError:
            options[key] = text
    return options
