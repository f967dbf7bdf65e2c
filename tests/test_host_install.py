"""The host install: core + HTTP + WS plugins, no extras, in a fresh venv. No torch, and it hosts.

A game developer who only hosts a simulator (``agentgpt launch``) installs this much;
the README quotes the size this test prints. It needs the package index (or pip's
cache, which makes it quick after the first run).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import venv
from pathlib import Path

import pytest

from agentgpt_core.remote import RemoteEnv

ROOT = Path(__file__).resolve().parents[1]
HOST_PACKAGES = {  # each distribution's directory, and what of it a build reads
    ROOT: ["pyproject.toml", "README.md", "agentgpt_core"],
    ROOT / "plugins" / "transport_http": ["pyproject.toml", "README.md", "agentgpt_transport_http"],
    ROOT / "plugins" / "transport_ws": ["pyproject.toml", "agentgpt_transport_ws"],
}
TRAIN_ONLY = ("torch", "tensorboard", "matplotlib")

pytestmark = [pytest.mark.host_install, pytest.mark.timeout(600)]


def size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / 2**20


def copy_sources(into: Path) -> list[Path]:
    """The three distributions' sources, copied: a build then leaves nothing (build/, egg-info) in the checkout."""
    copies = []
    for i, (source, parts) in enumerate(HOST_PACKAGES.items()):
        copy = into / f"dist{i}"
        for part in parts:
            if (source / part).is_dir():
                shutil.copytree(source / part, copy / part, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
            else:
                copy.mkdir(parents=True, exist_ok=True)
                shutil.copy(source / part, copy / part)
        copies.append(copy)
    return copies


@pytest.fixture(scope="module")
def host_venv(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("host")
    where = base / "venv"
    venv.create(where, with_pip=True)
    subprocess.run(
        [where / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *map(str, copy_sources(base))],
        check=True, capture_output=True, text=True, timeout=540,
    )  # fmt: skip
    return where


def test_the_host_install_has_no_training_stack(host_venv, record_property, capsys):
    probe = "import importlib.util as u; print([m for m in %r if u.find_spec(m)])" % (TRAIN_ONLY,)
    found = subprocess.run([host_venv / "bin" / "python", "-c", probe], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"
    megabytes = size_mb(host_venv)
    record_property("host_install_mb", round(megabytes))
    with capsys.disabled():
        print(f"\nhost install (core + http + ws, no extras): {megabytes:.0f} MB venv at {host_venv}")
    assert megabytes < 400  # the full install with the training stack is about 1.3 GB


def test_agentgpt_launch_from_the_host_install_serves_cartpole(host_venv):
    env = {k: v for k, v in os.environ.items() if k not in ("AGENTGPT_LOAD_PLUGINS", "PYTHONPATH")}
    process = subprocess.Popen(
        [host_venv / "bin" / "agentgpt", "launch", "--transport", "http", "--port", "0", "--env", "gym:CartPole-v1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        line = process.stdout.readline()
        assert line.startswith("AGENTGPT_URL="), line + process.stderr.read()
        with RemoteEnv(line.split("=", 1)[1].strip(), "CartPole-v1") as cartpole:  # this process's own client
            cartpole.reset(seed=0)
            steps, done = 0, False
            while not done:
                _, reward, terminated, truncated, _ = cartpole.step(steps % 2)
                steps, done = steps + 1, terminated or truncated
        assert steps > 5
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_training_from_the_host_install_says_what_to_install(host_venv):
    done = subprocess.run(
        [host_venv / "bin" / "agentgpt", "train", "--env", "gym:CartPole-v1"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0 and "pip install 'agentgpt-core[train]'" in done.stderr, done.stderr
