"""Docker and ECR for the plugins that ship an image (``host_ec2``'s env host, ``sagemaker``'s trainer).

Both build with the local ``docker`` command and push to an ECR repository, and both must say
in one line what is missing (no ``docker``, no engine, a failed step) before any AWS call, and
never put the registry password on a command line or in a log. One copy of that here; each
plugin turns ``DockerError`` into its own error type and adds its own hint. Standard library
only: the ECR client is passed in, so the core does not need boto3.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

# What a build context never needs from a source checkout.
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "tests", ".venv", "*.egg-info", "build")


class DockerError(RuntimeError):
    """A Docker step that failed, in one line (the plugin re-raises it as its own error)."""


@contextmanager
def docker_errors_as(error_type: type[Exception]) -> Iterator[None]:
    """Re-raise a DockerError from the block as the plugin's own one-line error type."""
    try:
        yield
    except DockerError as exc:
        raise error_type(str(exc)) from None


def docker(*args: str, input: str | None = None, timeout: float = 1800, hint: str = "") -> subprocess.CompletedProcess:
    """Run ``docker ARGS``; DockerError when the command is missing or does not finish in time."""
    try:
        return subprocess.run(["docker", *args], input=input, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        raise DockerError(f"no Docker engine: the `docker` command is not installed{hint}") from None
    except subprocess.TimeoutExpired:
        raise DockerError(f"`docker {args[0]}` did not finish within {timeout:.0f}s") from None


def last_line(result: subprocess.CompletedProcess, default: str = "?") -> str:
    """The last line of a failed command's stderr: what Docker says went wrong."""
    return (result.stderr.strip().splitlines() or [default])[-1]


def run_docker(*args: str, input: str | None = None, timeout: float = 1800, hint: str = "") -> None:
    """``docker ARGS`` that must succeed: DockerError "docker STEP failed: why" otherwise."""
    result = docker(*args, input=input, timeout=timeout, hint=hint)
    if result.returncode != 0:
        raise DockerError(f"docker {args[0]} failed: {last_line(result)}")


def check_docker_engine(hint: str = "") -> None:
    """DockerError unless a Docker engine answers (called before any build or AWS call)."""
    result = docker("info", "--format", "{{.ServerVersion}}", timeout=30, hint=hint)
    if result.returncode != 0:
        raise DockerError(f"no Docker engine reachable ({last_line(result, 'no answer')}){hint}")


def ecr_repository_uri(ecr: Any, name: str, tags: list[dict[str, str]]) -> str:
    """The ECR repository's URI, creating it (tagged, scanned on push) if missing."""
    try:
        return ecr.describe_repositories(repositoryNames=[name])["repositories"][0]["repositoryUri"]
    except ecr.exceptions.RepositoryNotFoundException:
        pass
    return ecr.create_repository(repositoryName=name, tags=tags,
                                 imageScanningConfiguration={"scanOnPush": True})["repository"]["repositoryUri"]


def login_and_push(ecr: Any, image: str, *, local_tag: str | None = None) -> None:
    """Log Docker in to ECR (password on stdin, never on a command line) and push ``image``.

    ``local_tag``: a locally built tag to retag as ``image`` first.
    """
    auth = ecr.get_authorization_token()["authorizationData"][0]
    user, _, password = base64.b64decode(auth["authorizationToken"]).decode().partition(":")
    registry = auth["proxyEndpoint"].removeprefix("https://")
    if local_tag is not None and local_tag != image:
        run_docker("tag", local_tag, image)
    run_docker("login", "--username", user, "--password-stdin", registry, input=password)
    run_docker("push", image)


def copy_sources(root: Path, names: Iterable[str], destination: Path) -> None:
    """Copy ``root/NAME`` (files or folders, without caches, venvs and tests) to ``destination/NAME``."""
    for name in names:
        source, target = root / name, destination / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=IGNORED)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
