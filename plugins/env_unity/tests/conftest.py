"""Fixtures for the unity plugin's tests: the fake player as a "build", free ports, leftover processes.

The tests run in ``.venv-unity`` (mlagents-envs needs protobuf < 3.21; the Makefile builds
it). Every test copies the fake player into its own folder, so a test can tell its own
player processes from anyone else's by path (``leftover_processes``).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # --import-mode=importlib: let the tests import unity_helpers
    sys.path.insert(0, str(HERE))
os.environ.setdefault("AGENTGPT_FAKE_PLAYER_PYTHON", sys.executable)  # the players need this venv's mlagents-envs


@pytest.fixture
def build(tmp_path: Path) -> Path:
    """A private copy of the fake player: ``unity:<build>`` starts it."""
    folder = tmp_path / "Build"
    folder.mkdir()
    for name in ("fake_player", "fake_player.py"):
        shutil.copy2(HERE / name, folder / name)
    return folder / "fake_player"
