"""The image's entrypoint: ``train`` and ``serve`` under SageMaker's container contracts.

``docker run IMAGE train`` (a training job) reads ``input/config/hyperparameters.json``
(every value a string, as SageMaker writes it), trains with the local trainer in
``checkpoints/`` (SageMaker syncs it to the job's checkpoint S3 path, and restores it
when a spot job restarts, so the run resumes), and leaves the policy in ``model/``
(uploaded as ``model.tar.gz``). A failure writes one line to ``output/failure``, which
SageMaker reports as the job's FailureReason, and exits 1.

``docker run IMAGE serve`` (an endpoint) serves the policy in ``model/`` over HTTP on
port 8080: ``GET /ping``, ``POST /invocations``.

The root is ``/opt/ml`` unless ``AGENTGPT_SAGEMAKER_ROOT`` names another directory, so the
same code runs on a laptop against a temporary directory laid out like ``/opt/ml``.
It imports the core only (the image has no SageMaker SDK), and boto3 only to read the job's
secrets from Secrets Manager when ``AGENTGPT_SECRETS_ARN`` names them (job_secrets.py).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import traceback
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT_ENV = "AGENTGPT_SAGEMAKER_ROOT"
DEFAULT_PORT = 8080
METRICS_PREFIX = "agentgpt-metrics"  # training.METRIC_DEFINITIONS match these lines
# Hyperparameters the entrypoint reads for itself; every other one is a trainer setting.
JOB_KEYS = ("env", "hosts", "listen", "min_hosts", "wait_timeout", "num_hosts", "transport", "tunnel", "agent_rows")
METRIC_NAMES = ("global_step", "episode_return", "steps_per_second", "episode_length", "update")
MODEL_FILES = ("checkpoint.pt", "metrics.jsonl", "metrics.csv")


def root() -> Path:
    return Path(os.environ.get(ROOT_ENV, "/opt/ml"))


def metrics_line(metrics: dict[str, Any]) -> str:
    """One log line per update: the metric definitions' regexes read it in CloudWatch."""
    parts = [f"{name}={metrics[name]:g}" if isinstance(metrics.get(name), float) else f"{name}={metrics[name]}"
             for name in METRIC_NAMES if metrics.get(name) is not None]
    return f"{METRICS_PREFIX} " + " ".join(parts)


def read_hyperparameters(base: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(job settings, trainer settings) from hyperparameters.json; a missing file means none."""
    path = base / "input" / "config" / "hyperparameters.json"
    values = json.loads(path.read_text()) if path.exists() else {}
    if not isinstance(values, dict):
        raise ValueError(f"{path} does not hold an object")
    job = {k: str(v) for k, v in values.items() if k in JOB_KEYS}
    settings = {k: v for k, v in values.items() if k not in JOB_KEYS and not k.startswith("sagemaker_")}
    return job, settings


def train(base: Path) -> Path:
    """Run the training contract under ``base``; returns the model directory."""
    import click

    from agentgpt_core.cli.signals import sigterm_unwinds_like_ctrl_c
    from agentgpt_core.cli.train_cmd import _env_spec, gateway_tunnel, open_training_envs
    from agentgpt_core.hosting import open_tunnel
    from agentgpt_core.train import load_hyperparameters
    from agentgpt_core.train import train as run_training

    job, settings = read_hyperparameters(base)
    if "env" not in job:
        raise ValueError("hyperparameter 'env' is missing: which env to train on (e.g. gym:CartPole-v1)")
    hp = load_hyperparameters(None, settings)
    spec = _env_spec(job["env"])
    if os.environ.get("AGENTGPT_SECRETS_ARN"):  # the key and token are in Secrets Manager (job_secrets.py)
        from .job_secrets import load_into_environment

        load_into_environment()
    api_key = os.environ.get("AGENTGPT_API_KEY") or None
    run_dir, model_dir = base / "checkpoints", base / "model"
    resume = (run_dir / "checkpoint.pt").exists()
    print(f"agentgpt: training {spec} ({'resuming from the checkpoint' if resume else 'fresh run'}); hyperparameters: {json.dumps(settings, sort_keys=True)}", flush=True)
    sigterm_unwinds_like_ctrl_c()  # StopTrainingJob and spot interruption send SIGTERM
    with ExitStack() as stack:
        listen = job.get("listen")
        tunnel = gateway_tunnel(job.get("tunnel"), listen, api_key=api_key, server=None, options=())  # train --tunnel's checks
        if tunnel is not None:
            public = open_tunnel(stack, tunnel, listen)
            print(f"AGENTGPT_URL={public}", flush=True)
            print(f"agentgpt: hosts join with: agentgpt launch --transport ws --connect {public} --env ...", flush=True)
        envs = open_training_envs(
            stack, spec, hp.num_envs, hosts=tuple(job.get("hosts", "").split()), listen=listen,
            num_hosts=int(job.get("num_hosts", 1)), transport=job.get("transport", "http"), api_key=api_key, seed=hp.seed,
            min_hosts=int(job.get("min_hosts", 1)), wait_timeout=float(job.get("wait_timeout", 600)),
            agent_rows=int(job["agent_rows"]) if job.get("agent_rows") else None,
        )
        try:
            result = run_training(envs, hp, run_dir, resume=resume, progress=False,
                                  on_update=lambda report: print(metrics_line(report.metrics), flush=True))
        except click.ClickException as exc:
            raise RuntimeError(exc.format_message()) from None
    model_dir.mkdir(parents=True, exist_ok=True)
    for name in MODEL_FILES:
        if (run_dir / name).exists():
            shutil.copy2(run_dir / name, model_dir / name)
    print(f"agentgpt: trained {result.global_step} env steps in {result.wall_seconds:.0f}s; policy in {model_dir}", flush=True)
    return model_dir


def serve(base: Path, *, host: str | None = None, port: int | None = None, ready=None) -> None:
    """Serve ``model/`` on ``host:port`` (0.0.0.0:8080 by default) until SIGTERM or Ctrl-C.

    SageMaker sends no Authorization header to the container (IAM authenticates
    InvokeEndpoint, and only SageMaker reaches the container), so the server binds without
    an API key there. ``AGENTGPT_API_KEY`` makes it demand one: for a run outside SageMaker
    only, since SageMaker could not send it.
    """
    import torch

    from agentgpt_core.cli.signals import wait_for_interrupt
    from agentgpt_core.plugins import get_plugin_manager
    from agentgpt_core.serve import InferenceService

    host = host or os.environ.get("AGENTGPT_SAGEMAKER_HOST", "0.0.0.0")
    port = int(port if port is not None else os.environ.get("SAGEMAKER_BIND_TO_PORT", DEFAULT_PORT))
    api_key = os.environ.get("AGENTGPT_API_KEY") or None
    torch.set_num_threads(int(os.environ.get("AGENTGPT_TORCH_THREADS", "1")))
    service = InferenceService.from_run(base / "model")
    server = get_plugin_manager().get("transports", "http").server(service, host="127.0.0.1", port=port, api_key=api_key)
    server.address = _ContainerAddress(host, port)  # the contract's bind, see the docstring
    server.url = server.address.url("http")
    server.start()
    print(f"AGENTGPT_URL={server.url}", flush=True)
    print(f"agentgpt: serving {base / 'model'} at {server.url} (GET /ping, POST /invocations)", flush=True)
    if ready is not None:
        ready(server)
    try:
        wait_for_interrupt()
    finally:
        server.stop()
        service.close()


class _ContainerAddress:
    """Where the inference container listens. Unlike ``BindAddress`` it allows an open bind
    off loopback: the container is reachable by SageMaker's front end only."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host.strip("[]"), port

    def url(self, scheme: str) -> str:
        shown = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"{scheme}://{shown}:{self.port}"


def _fail(base: Path, exc: BaseException) -> int:
    """Write the one-line reason SageMaker shows as FailureReason; the traceback goes to the log."""
    traceback.print_exc()
    reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:1000]
    try:
        (base / "output").mkdir(parents=True, exist_ok=True)
        (base / "output" / "failure").write_text(reason + "\n")
    except OSError:
        pass
    print(f"agentgpt: failed: {reason}", file=sys.stderr, flush=True)
    return 1


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv else ""
    base = root()
    if command not in ("train", "serve"):
        print("usage: python -m agentgpt_trainer_sagemaker.container train|serve "
              f"(root {base}, set {ROOT_ENV} to use another)", file=sys.stderr)
        return 2
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        if command == "train":
            train(base)
        else:
            serve(base)
    except KeyboardInterrupt:
        if command == "train":
            return _fail(base, RuntimeError("stopped (SIGTERM) before the run finished; a spot restart resumes from the checkpoint"))
        return 0
    except BaseException as exc:  # noqa: BLE001 - every failure must reach output/failure
        if isinstance(exc, SystemExit) and not exc.code:
            return 0
        return _fail(base, exc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
