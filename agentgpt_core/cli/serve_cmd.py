"""``agentgpt serve`` and ``agentgpt export``: a trained policy as an endpoint, or as a file.

``serve`` runs an ``InferenceService`` behind a transport plugin (HTTP by default, on
port 8080 as SageMaker's inference contract asks: ``GET /ping``, ``POST /invocations``).
``serve --sagemaker`` deploys instead: a real-time endpoint made by the ``sagemaker``
trainer plugin, for the policy given (or the newest job's), or one reused by name.
``export`` writes the policy as an ONNX graph a game can embed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..plugins import PluginNotFound, get_plugin_manager
from ..protocol.errors import ProtocolError
from ..security import require_key_off_loopback
from .extras import needs_extra


@click.command()
@click.option("--policy", type=click.Path(exists=True, path_type=Path), default=None, help="Run directory or checkpoint (required unless --sagemaker).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (non-loopback needs an API key).")
@click.option("--port", default=8080, show_default=True, type=int, help="Port to bind (0 picks a free one).")
@click.option("--transport", default="http", show_default=True, help="Transport plugin: http (SageMaker-compatible) or ws.")
@click.option("--api-key", envvar="AGENTGPT_API_KEY", default=None, help="Bearer key callers must send [env: AGENTGPT_API_KEY].")
@click.option("--max-agents", default=4096, show_default=True, type=int, help="Live agents the server holds at most.")
@click.option("--agent-ttl", default=600.0, show_default=True, type=float, help="Seconds after which an idle agent is forgotten.")
@click.option("--batch-window-ms", default=5.0, show_default=True, type=float,
              help="How long a call may wait for concurrent calls to share its forward pass (a negative value turns batching off).")
@click.option("--control-value", default=1.0, show_default=True, type=click.FloatRange(0.0, 1.0), help="Default control value of new agents.")
@click.option("--threads", default=1, show_default=True, type=int, help="torch threads for the forward pass.")
@click.option("--seed", default=None, type=int, help="Seed for sampled and random (control value) actions.")
@click.option("--option", "-o", "transport_options", multiple=True, metavar="KEY=VALUE",
              help="A transport-specific setting, as for launch (e.g. -o inline_budget_s=0 for http). Repeatable.")
@click.option("--sagemaker", is_flag=True, help="Deploy to a SageMaker real-time endpoint instead (the sagemaker plugin).")
@click.option("--config", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help="With --sagemaker: its settings file (TOML or YAML).")
@click.option("--endpoint", default=None, metavar="NAME", help="With --sagemaker: reuse this endpoint if it exists, else create it under this name.")
@click.option("--model-data", default=None, metavar="S3_URI", help="With --sagemaker: the policy's model.tar.gz in S3 (default: --policy uploaded, or the newest job's).")
@click.option("--job", "job_name", default=None, metavar="NAME", help="With --sagemaker: serve this training job's policy.")
def serve(policy: Path | None, host: str, port: int, transport: str, api_key: str | None, max_agents: int, agent_ttl: float,
          batch_window_ms: float, control_value: float, threads: int, seed: int | None, transport_options: tuple[str, ...],
          sagemaker: bool = False, config: Path | None = None, endpoint: str | None = None, model_data: str | None = None,
          job_name: str | None = None) -> None:
    """Serve a trained policy for real-time decisions until interrupted (Ctrl-C).

    Prints ``AGENTGPT_URL=<url>`` once serving, so scripts can read where to connect.
    With ``--sagemaker`` it prints ``AGENTGPT_ENDPOINT=<name>`` once the endpoint is InService, and returns.
    """
    if sagemaker:
        try:
            backend = get_plugin_manager().get("trainers", "sagemaker")
        except PluginNotFound as exc:
            raise click.UsageError(f"--sagemaker needs the sagemaker plugin (pip install agentgpt-trainer-sagemaker): {exc}") from exc
        name = backend.deploy(config=config, endpoint=endpoint, policy=policy, options={"model_data": model_data, "job": job_name},
                              echo=lambda line: click.echo(line, err=True))
        click.echo(f"AGENTGPT_ENDPOINT={name}")
        return
    if policy is None:
        raise click.UsageError("Missing option '--policy' (a run directory or checkpoint to serve).")
    for flag, value in (("--config", config), ("--endpoint", endpoint), ("--model-data", model_data), ("--job", job_name)):
        if value is not None:
            raise click.UsageError(f"{flag} goes with --sagemaker")
    import torch

    from ..serve import InferenceService
    from .options import parse_options
    from .signals import wait_for_interrupt as _wait_for_interrupt

    try:
        require_key_off_loopback(host, api_key)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    try:
        plugin = get_plugin_manager().get("transports", transport)
    except PluginNotFound as exc:
        raise click.UsageError(str(exc)) from exc
    torch.set_num_threads(threads)
    try:
        service = InferenceService.from_run(
            policy, max_agents=max_agents, agent_ttl_s=agent_ttl, default_control=control_value, seed=seed,
            batch_window_s=batch_window_ms / 1e3 if batch_window_ms >= 0 else None,
        )  # fmt: skip
    except (ValueError, OSError) as exc:
        raise click.ClickException(f"cannot load the policy from {policy}: {exc}") from exc
    try:
        server = plugin.server(service, host=host, port=port, api_key=api_key, **parse_options(transport_options))
        server.start()
    except (ValueError, TypeError, OSError, ProtocolError) as exc:
        service.close()
        raise click.ClickException(str(exc)) from exc
    click.echo(f"AGENTGPT_URL={server.url}")
    click.echo(f"serving {policy} over {transport} at {server.url} (Ctrl-C to stop)", err=True)
    sys.stdout.flush()
    try:
        _wait_for_interrupt()
    finally:
        server.stop()
        service.close()
        click.echo("stopped", err=True)


@click.command(name="export")
@click.option("--policy", type=click.Path(exists=True, path_type=Path), required=True, help="Run directory or checkpoint.")
@click.option("--format", "fmt", type=click.Choice(["onnx"]), default="onnx", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="File to write.")
@click.option("--check/--no-check", default=True, show_default=True, help="Run the file in onnxruntime beside torch.")
@click.option("--json", "as_json", is_flag=True, help="Print the graph's inputs, outputs and check as JSON.")
def export(policy: Path, fmt: str, out: Path, check: bool, as_json: bool) -> None:
    """Write the policy as an ONNX graph (context window in; action and its distribution out)."""
    from ..policy import load_policy
    from ..serve.export import check_onnx, export_onnx

    try:
        model, _ = load_policy(policy)
    except (ValueError, OSError) as exc:
        raise click.ClickException(f"cannot load the policy from {policy}: {exc}") from exc
    export_onnx(model, out)
    report: dict = {"path": str(out)}
    if check:
        try:
            report.update(check_onnx(model, out))
        except ImportError:
            raise click.ClickException("checking needs onnxruntime: pip install 'agentgpt-core[serve]' (or pass --no-check)") from None
        if not report["same_discrete_actions"] or max(report["max_abs_diff"].values()) > 1e-3:
            raise click.ClickException(f"onnxruntime disagrees with torch: {report['max_abs_diff']}")
    if as_json:
        click.echo(json.dumps(report))
    else:
        click.echo(f"wrote {out}" + (" (onnxruntime agrees with torch)" if check else ""))


SERVE_EXTRA, SERVE_MODULES = "serve", ("torch",)
COMMANDS = [needs_extra(serve, SERVE_EXTRA, SERVE_MODULES), needs_extra(export, SERVE_EXTRA, SERVE_MODULES)]
