"""Commands that need an optional extra say so, in one line, before they start.

A host install (``pip install agentgpt-core agentgpt-transport-http``) has no torch,
tensorboard or matplotlib: ``agentgpt launch`` and ``RemoteEnv`` need none of them.
``train``, ``eval`` and ``plot`` do; without them they exit with the one ``pip
install`` line that fixes it, rather than an ImportError from deep inside.
"""

from __future__ import annotations

import functools
import importlib.util
from typing import Any, Callable

import click

TRAIN_EXTRA = "train"
TRAIN_MODULES = ("torch", "tensorboard", "matplotlib", "yaml")  # what agentgpt-core[train] adds


def missing(modules: tuple[str, ...] = TRAIN_MODULES) -> list[str]:
    """The modules of ``modules`` that cannot be imported here."""
    return [name for name in modules if importlib.util.find_spec(name) is None]


def needs_extra(command: click.Command, extra: str = TRAIN_EXTRA, modules: tuple[str, ...] = TRAIN_MODULES) -> click.Command:
    """Make ``command`` exit with what to install when any of ``modules`` is missing."""
    callback: Callable[..., Any] = command.callback  # type: ignore[assignment]

    @functools.wraps(callback)
    def checked(*args: Any, **kwargs: Any) -> Any:
        absent = missing(modules)
        if absent:
            raise click.ClickException(
                f"agentgpt {command.name} needs the '{extra}' extra ({', '.join(absent)} missing): "
                f"pip install 'agentgpt-core[{extra}]'"
            )
        return callback(*args, **kwargs)

    command.callback = checked
    return command
