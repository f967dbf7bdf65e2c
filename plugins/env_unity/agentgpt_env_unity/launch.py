"""Start a build (or wait for the Editor) through ML-Agents' own ``UnityEnvironment``, cleanly.

ML-Agents does the launching and the gRPC server (here on loopback only); this module adds
what a host needs on top: each failure as one sentence that says what to do (``UnityStartError``), and nothing
left behind when the start fails. ``UnityEnvironment`` kills a build that times out but
does not reap it, and when the build dies before connecting it neither stops its gRPC
server (the port stays taken until the process exits) nor the build; ``ManagedUnity``
closes both on every failure and reaps the process on close.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
from mlagents_envs.communicator_objects.unity_to_external_pb2_grpc import add_UnityToExternalProtoServicer_to_server
from mlagents_envs.environment import UnityEnvironment
from mlagents_envs.exception import (
    UnityEnvironmentException,
    UnityTimeOutException,
    UnityWorkerInUseException,
)
from mlagents_envs.rpc_communicator import RpcCommunicator, UnityToExternalServicerImplementation
from mlagents_envs.side_channel.engine_configuration_channel import EngineConfigurationChannel
from mlagents_envs.side_channel.environment_parameters_channel import EnvironmentParametersChannel

from agentgpt_core.kinds.env_adapter import EnvStartError

from .settings import UnitySettings


class UnityStartError(EnvStartError):
    """The build could not start or connect; the message is one line that names the fix."""


class _Communicator(RpcCommunicator):
    """ML-Agents' communicator, on loopback only, checking on the build every 0.1 s while it waits.

    ML-Agents' own server listens on every interface with no authentication (for builds in
    other containers); a host here runs its builds on its own machine, so nothing off the
    machine may drive them. And the original checks on the build every ``timeout / 10`` s
    (6 s at the default 60 s, a busy loop below 10 s): a build that died at once was
    reported seconds later.
    """

    def create_server(self) -> None:
        self.check_port(self.port)
        try:
            self.server = grpc.server(thread_pool=ThreadPoolExecutor(max_workers=10), options=(("grpc.so_reuseport", 1),))
            self.unity_to_external = UnityToExternalServicerImplementation()
            add_UnityToExternalProtoServicer_to_server(self.unity_to_external, self.server)
            self.server.add_insecure_port(f"localhost:{self.port}")  # 127.0.0.1 and ::1, as the C# client dials
            self.server.start()
            self.is_open = True
        except Exception:
            raise UnityWorkerInUseException(self.worker_id) from None

    def poll_for_timeout(self, poll_callback: Any = None) -> None:
        deadline = time.monotonic() + self.timeout_wait
        while time.monotonic() < deadline:
            if self.unity_to_external.parent_conn.poll(0.1):
                return
            if poll_callback:
                poll_callback()
        raise UnityTimeOutException("The Unity environment took too long to respond.")  # caught by open_unity


class ManagedUnity(UnityEnvironment):
    """``UnityEnvironment`` that leaves no gRPC server or process behind, whatever fails."""

    @staticmethod
    def _get_communicator(worker_id: int, base_port: int, timeout_wait: int) -> RpcCommunicator:
        return _Communicator(worker_id, base_port, timeout_wait)

    def __init__(self, **kwargs: Any):
        try:
            super().__init__(**kwargs)
        except BaseException:
            self._close(0)
            raise

    def _close(self, timeout: int | None = None) -> None:
        process = getattr(self, "_process", None)
        if hasattr(self, "_communicator"):  # absent when the port was taken
            super()._close(timeout)
        if process is not None:
            if process.poll() is None:
                process.kill()
            process.wait()  # reap it: no zombie for a long-lived host
        self._process = None
        atexit.unregister(self._close)


_used_workers: set[int] = set()
_workers_lock = threading.Lock()


def take_worker(first: int) -> int:
    """The lowest worker id from ``first`` on that no env of this process holds."""
    with _workers_lock:
        worker = first
        while worker in _used_workers:
            worker += 1
        _used_workers.add(worker)
        return worker


def release_worker(worker: int) -> None:
    with _workers_lock:
        _used_workers.discard(worker)


def open_unity(settings: UnitySettings, worker_id: int) -> tuple[ManagedUnity, EngineConfigurationChannel, EnvironmentParametersChannel]:
    """A connected ``UnityEnvironment`` for ``settings`` on ``worker_id``, or UnityStartError."""
    if settings.is_editor and worker_id != 0:
        raise UnityStartError("unity:editor is one Editor on one port: serve it with --num-envs 1")
    path = None if settings.is_editor else _check_build(settings.path)
    engine, parameters = EngineConfigurationChannel(), EnvironmentParametersChannel()
    port = (settings.base_port if settings.base_port is not None
            else UnityEnvironment.DEFAULT_EDITOR_PORT if settings.is_editor
            else UnityEnvironment.BASE_ENVIRONMENT_PORT) + worker_id  # fmt: skip
    if settings.is_editor:  # the one start that needs a person: say so where they look
        print(f"waiting up to {settings.timeout} s for the Unity Editor on port {port}: press Play", file=sys.stderr, flush=True)
    try:
        env = ManagedUnity(file_name=path, worker_id=worker_id, base_port=settings.base_port, seed=settings.seed,
                           no_graphics=not settings.graphics, timeout_wait=settings.timeout,
                           side_channels=[engine, parameters], log_folder=settings.log_folder)
    except UnityWorkerInUseException:
        raise UnityStartError(
            f"port {port} (base port + worker id {worker_id}) is in use: another Unity env or program holds it; "
            f"stop it or give this host another worker_id (unity:...?worker_id=N)") from None
    except UnityTimeOutException:
        waited = "the Editor did not connect (press Play in the Editor)" if settings.is_editor else f"{settings.describe()} did not connect"
        raise UnityStartError(f"{waited} within {settings.timeout} s on port {port}; "
                              "raise the wait with unity:...?timeout=SECONDS") from None
    except UnityEnvironmentException as exc:
        text = str(exc).strip().splitlines()[0]
        if "shut down with return code" in text:
            code = text.rsplit("return code", 1)[1].strip(" .")
            log = f" (its log: {settings.log_folder}/Player-{worker_id}.log)" if settings.log_folder else ""
            raise UnityStartError(f"{settings.describe()} exited with code {code} before it connected{log}") from None
        if "permissions" in text:
            raise UnityStartError(f"{settings.describe()} is not executable: chmod +x {path}") from None
        raise UnityStartError(f"{settings.describe()} did not start: {text}") from None
    apply_side_channels(settings, engine, parameters)
    return env, engine, parameters


def apply_side_channels(settings: UnitySettings, engine: EngineConfigurationChannel,
                         parameters: EnvironmentParametersChannel) -> None:
    """Queue the settings; ML-Agents sends them with the next reset or step."""
    values = dict(settings.engine)
    if values:
        engine.set_configuration_parameters(**{k: (float(v) if k == "time_scale" else int(v)) for k, v in values.items()})
    for name, value in settings.parameters.items():
        parameters.set_float_parameter(name, float(value))


def _check_build(path: str) -> str:
    """``path`` as ML-Agents will find it, or UnityStartError when there is no runnable build."""
    from mlagents_envs.env_utils import validate_environment_path

    found = validate_environment_path(path)
    if found is None:
        raise UnityStartError(f"Unity build {path!r} not found: no such file (nor {path}.x86_64 / .x86 / .app / .exe)")
    if os.path.isdir(found):
        raise UnityStartError(f"Unity build {path!r} is a folder: give the player file inside it")
    if not os.access(found, os.X_OK):
        raise UnityStartError(f"Unity build {path!r} is not executable: chmod +x {found}")
    return path


def stop(env: UnityEnvironment) -> None:
    """Close ``env`` (status 400 to the build, then wait for it, then kill); never raises."""
    try:
        env.close()
    except (UnityEnvironmentException, OSError, subprocess.SubprocessError):
        pass
