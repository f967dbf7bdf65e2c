"""``agentgpt train``, ``eval`` and ``plot``: the main job and its read-outs.

``train`` finds its envs in one of three ways, all through the Remote Gymnasium
protocol: hosts it starts on this machine (the default), hosts that listen
(``--hosts URL``), or hosts that dial in to it (``--listen ws://...``).
"""

from __future__ import annotations

import json
import logging
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click

from ..envs import EnvSpec
from ..plugins import get_plugin_manager
from ..protocol.errors import ProtocolError
from .tunnels import open_tunnel, resolve_tunnel, tunnel_options


def _env_spec(value: str) -> EnvSpec:
    try:
        return EnvSpec.parse(value) if ":" in value else EnvSpec(value, "gym", value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--env") from exc


def open_training_envs(stack: ExitStack, spec: EnvSpec, num_envs: int, *, hosts: tuple[str, ...], listen: str | None,
                       num_hosts: int, transport: str, api_key: str | None, seed: int | None,
                       min_hosts: int = 1, wait_timeout: float = 600.0, agent_rows: int | None = None) -> Any:
    """The VectorEnv to train on, with everything it started registered on ``stack``.

    With ``listen`` the pool has ``num_envs`` rows whatever the hosts offer: training starts
    once ``min_hosts`` hosts are present (waiting up to ``wait_timeout`` seconds), rows no
    host holds yet are ``alive == False`` filler, and each host that dials in takes free rows.
    For a multi-agent env each of the ``num_envs`` envs is ``agent_rows`` rows (default: its
    initial agents).
    """
    from ..remote import RemoteVectorEnv
    from .hosts import local_hosts

    if listen:
        envs = RemoteVectorEnv.from_hosts(listen, spec.name, num_envs, api_key=api_key,
                                          min_hosts=min_hosts, wait_timeout=wait_timeout, agent_rows=agent_rows)
    else:
        urls = list(hosts) or stack.enter_context(local_hosts([str(spec)], num_hosts, transport=transport, api_key=api_key))
        if len(urls) == 1:
            envs = RemoteVectorEnv(urls[0], spec.name, num_envs, api_key=api_key, seed=seed, agent_rows=agent_rows)
        else:
            from ..remote.pool import HostPoolVectorEnv

            if num_envs % len(urls):
                raise click.UsageError(f"--num-envs {num_envs} must divide evenly over {len(urls)} hosts")
            envs = HostPoolVectorEnv.from_urls(urls, spec.name, num_envs // len(urls), api_key=api_key, agent_rows=agent_rows)
    stack.callback(envs.close)
    return envs


@click.command()
@click.option("--env", "env", required=True, metavar="SPEC", help="Env to learn: gym:CartPole-v1, ALIAS=gym:pkg.mod:factory, pettingzoo:pkg.module, or a name the hosts serve.")
@click.option("--num-envs", type=int, default=None, help="Parallel envs in total (default: the config's num_envs).")
@click.option("--max-steps", type=int, default=None, help="Env steps to train for.")
@click.option("--out", "out", type=click.Path(path_type=Path), default=Path("runs/latest"), show_default=True, help="Run directory.")
@click.option("--config", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help="Hyperparameters file (TOML or YAML); flags override it.")
@click.option("--seed", type=int, default=None, help="Random seed.")
@click.option("--resume", is_flag=True, help="Continue from the checkpoint in --out.")
@click.option("--hosts", multiple=True, metavar="URL", help="Drive env hosts that listen at URL (repeatable).")
@click.option("--listen", default=None, metavar="URL", help="Wait for hosts that dial in (agentgpt launch --connect), e.g. ws://0.0.0.0:8765.")
@click.option("--min-hosts", type=int, default=1, show_default=True, help="With --listen: hosts to wait for before training starts.")
@click.option("--wait-timeout", type=float, default=600.0, show_default=True, help="With --listen: seconds to wait for them.")
@click.option("--num-hosts", type=int, default=1, show_default=True, help="With no --hosts/--listen: how many local host processes to start.")
@click.option("--transport", default="http", show_default=True, help="Transport for local hosts.")
@click.option("--api-key", envvar="AGENTGPT_API_KEY", default=None, help="Key for the env hosts [env: AGENTGPT_API_KEY].")
@click.option("--agent-rows", type=int, default=None, help="Multi-agent envs: batch rows per env, one per agent slot (default: the env's initial agents).")
@click.option("--backend", "--trainer", "backend", default="local", show_default=True, help="Trainer backend plugin (local, or e.g. sagemaker: a cloud job).")
@click.option("--wait/--no-wait", default=True, help="Remote trainers: follow the job to its end (default), or return once it started.")
@click.option("--algorithm", type=click.Choice(["ppo", "offpolicy"]), default=None, help="Learner (default: the config's algorithm, ppo).")
@click.option("--eval-episodes", type=int, default=20, show_default=True, help="Episodes to evaluate the final policy on (0 to skip).")
@click.option("--progress/--no-progress", default=True, help="Show the live progress bar.")
@tunnel_options
def train(env: str, num_envs: int | None, max_steps: int | None, out: Path, config: Path | None, seed: int | None, resume: bool,
          hosts: tuple[str, ...], listen: str | None, min_hosts: int, wait_timeout: float, num_hosts: int, transport: str, api_key: str | None, agent_rows: int | None,
          backend: str, eval_episodes: int, progress: bool, tunnel: str | None, tunnel_server: str | None,
          tunnel_options: tuple[str, ...], algorithm: str | None = None, wait: bool = True) -> None:
    """Train the GPT actor-critic policy on remote (or local) simulators.

    With ``--listen ws://127.0.0.1:PORT --tunnel NAME`` the gateway gets a public
    ``wss://`` URL (printed as ``AGENTGPT_URL=...``) that dial-out hosts connect to,
    so a trainer with no inbound port can still gather hosts.
    """
    from ..train import load_hyperparameters

    spec = _env_spec(env)
    overrides = {k: v for k, v in {"num_envs": num_envs, "max_steps": max_steps, "seed": seed, "algorithm": algorithm}.items() if v is not None}
    trainer = get_plugin_manager().get("trainers", backend)
    if trainer.remote:  # a cloud job: it opens the envs (--hosts, --listen/--tunnel) where it runs
        if resume:
            raise click.UsageError(f"--resume continues a run in --out; the {backend} trainer's jobs resume from their own checkpoints")
        job = {"hosts": hosts, "listen": listen, "min_hosts": min_hosts if listen else None, "wait_timeout": wait_timeout if listen else None,
               "num_hosts": num_hosts if not hosts and not listen else None, "transport": transport, "tunnel": tunnel, "agent_rows": agent_rows,
               "api_key": api_key}
        click.echo(trainer.submit(str(spec), config=config, settings=overrides, job=job, wait=wait, echo=lambda line: click.echo(line, err=True)))
        return
    hp = load_hyperparameters(config, overrides)
    opener = gateway_tunnel(tunnel, listen, api_key=api_key, server=tunnel_server, options=tunnel_options)
    if hosts or listen:
        _show_host_events()
    if opener is not None:
        from .signals import sigterm_unwinds_like_ctrl_c

        sigterm_unwinds_like_ctrl_c()  # SIGTERM closes the tunnel too
    with ExitStack() as stack:
        if opener is not None:
            public = open_tunnel(stack, opener, listen)
            click.echo(f"AGENTGPT_URL={public}")
            click.echo(f"gateway {listen} is public at {public} (tunnel {tunnel}); hosts join with: "
                       f"agentgpt launch --transport ws --connect {public} --env ...", err=True)
        try:
            envs = open_training_envs(stack, spec, hp.num_envs, hosts=hosts, listen=listen, num_hosts=num_hosts,
                                      transport=transport, api_key=api_key, seed=hp.seed,
                                      min_hosts=min_hosts, wait_timeout=wait_timeout, agent_rows=agent_rows)
        except (ValueError, OSError, ProtocolError) as exc:  # no key off loopback, a busy port, no hosts: one line, no traceback
            raise click.ClickException(str(exc)) from exc
        result = trainer.train(envs, hp, out, resume=resume, progress=progress)
    click.echo(f"trained {result.global_step} env steps in {result.wall_seconds:.0f}s; policy: {out}")
    if eval_episodes and spec.adapter == "gym" and not hosts and not listen:
        report = _evaluate(out, spec, eval_episodes, seed=hp.seed)
        click.echo(f"evaluation of the final policy over {report['episodes']} episodes: "
                   f"mean return {report['mean_return']:.1f} ± {report['std_return']:.1f}")
    from ..train import plot_run

    click.echo(f"learning curve: {plot_run(out)}")


def gateway_tunnel(name: str | None, listen: str | None, **settings: Any) -> Any:
    """The Tunnel for ``train --tunnel``: only with ``--listen`` on a fixed port, and never without an API key."""
    if name is not None:
        from urllib.parse import urlsplit

        if not listen:
            raise click.UsageError("--tunnel gives the trainer's gateway a public URL: use it with --listen ws://127.0.0.1:PORT")
        if not urlsplit(listen).port:
            raise click.UsageError(f"--listen {listen} needs a fixed port for --tunnel, e.g. ws://127.0.0.1:8765")
    return resolve_tunnel(name, **settings)


def _show_host_events() -> None:
    """Print the host pool's events (which rows each host takes, spares, losses) on stderr."""
    logger = logging.getLogger("agentgpt")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def _evaluate(policy: Path, spec: EnvSpec, episodes: int, *, seed: int | None, url: str | None = None, api_key: str | None = None) -> dict:
    from ..train import evaluate

    if url:
        from ..remote import RemoteEnv

        def factory():
            return RemoteEnv(url, spec.name, api_key=api_key)
    else:
        adapter = get_plugin_manager().get("env_adapters", spec.adapter)

        def factory():
            return adapter.make(spec.target)

    return evaluate(policy, factory, episodes, seed=seed)


@click.command(name="eval")
@click.option("--policy", type=click.Path(exists=True, path_type=Path), required=True, help="Run directory or checkpoint.")
@click.option("--env", "env", required=True, metavar="SPEC", help="Env to evaluate on (as for train).")
@click.option("--episodes", type=int, default=20, show_default=True)
@click.option("--seed", type=int, default=None)
@click.option("--url", default=None, help="Evaluate on a remote host instead of locally.")
@click.option("--api-key", envvar="AGENTGPT_API_KEY", default=None)
@click.option("--json", "as_json", is_flag=True, help='Print {"mean_return", "std_return", "episodes"}.')
def evaluate_cmd(policy: Path, env: str, episodes: int, seed: int | None, url: str | None, api_key: str | None, as_json: bool) -> None:
    """Run a trained policy deterministically and report its returns."""
    report = _evaluate(policy, _env_spec(env), episodes, seed=seed, url=url, api_key=api_key)
    if as_json:
        click.echo(json.dumps(report))
    else:
        click.echo(f"mean return {report['mean_return']:.2f} ± {report['std_return']:.2f} over {report['episodes']} episodes")


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out", type=click.Path(path_type=Path), default=None, help="PNG path (default: RUN_DIR/learning_curve.png).")
def plot(run_dir: Path, out: Path | None) -> None:
    """Write a learning-curve PNG for a run."""
    from ..train import plot_run

    click.echo(str(plot_run(run_dir, out)))


COMMANDS = [train, evaluate_cmd, plot]
