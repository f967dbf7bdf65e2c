"""Ctrl-C and SIGTERM end a long-running command the same way: by unwinding.

A server, a gateway and above all a tunnel must close whatever stage the command is at
(a tunnel left open keeps a host public), so SIGTERM raises KeyboardInterrupt like
Ctrl-C does, and ``with`` blocks and ExitStacks release everything on the way out.
"""

from __future__ import annotations

import os
import signal
import threading

import click


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def sigterm_unwinds_like_ctrl_c() -> None:
    """Make SIGTERM raise KeyboardInterrupt in the main thread from now on."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)


def wait_for_interrupt() -> None:
    """Block until Ctrl-C or SIGTERM, then return normally."""
    sigterm_unwinds_like_ctrl_c()
    try:
        while not threading.Event().wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    if os.environ.get("AGENTGPT_DEBUG"):
        click.echo("interrupted", err=True)
