"""``agentgpt launch``: host envs behind a transport until Ctrl-C."""

from __future__ import annotations

import sys

import click
from click.core import ParameterSource

from ..envs import EnvSpec
from ..hosting import EnvHost, LaunchError, host_plugin
from ..kinds import Host
from ..plugins import PluginNotFound, get_plugin_manager
from .launch_remote import launch_on_host
from .options import parse_options
from .signals import sigterm_unwinds_like_ctrl_c, wait_for_interrupt
from .tunnels import resolve_tunnel, tunnel_options


def parse_env_specs(values: tuple[str, ...]) -> list[EnvSpec]:
    """Parse repeated ``--env`` options into EnvSpecs, as a click error if one is wrong."""
    if not values:
        raise click.UsageError("give at least one --env, e.g. --env gym:CartPole-v1")
    try:
        return [EnvSpec.parse(value) for value in values]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--env") from exc


@click.command()
@click.option("--transport", default="http", show_default=True, help="Transport plugin (see `agentgpt plugins`).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (non-loopback needs an API key).")
@click.option("--on", "on", default=None, metavar="PLUGIN",
              help="Run the envs on machines a Host plugin starts instead of here, e.g. --on ec2 (see `agentgpt plugins`).")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to bind (0 picks a free one).")
@click.option("--env", "envs", multiple=True, metavar="SPEC", help="An env to serve: gym:CartPole-v1 or ALIAS=gym:pkg.module:factory. Repeatable.")
@click.option("--api-key", envvar="AGENTGPT_API_KEY", default=None, help="Bearer key callers must send [env: AGENTGPT_API_KEY].")
@click.option("--connect", default=None, metavar="URL", help="Dial out to a trainer's gateway (ws://...) instead of listening.")
@click.option("--num-envs", default=None, type=int, help="With --connect: how many envs to offer the gateway.")
@tunnel_options
@click.option("--option", "-o", "transport_options", multiple=True, metavar="KEY=VALUE",
              help="A transport-specific setting, e.g. -o max_body_bytes=1048576 (see the transport's docs). Repeatable.")
@click.option("--instances", default=1, show_default=True, type=click.IntRange(min=1), help="With --on PLUGIN: how many hosts (machines) to start.")
@click.option("--instance-type", default=None, help="With --on PLUGIN: machine type (e.g. t3.small for ec2).")
@click.option("--region", default=None, help="With --on PLUGIN: cloud region (default: the cloud SDK's).")
@click.option("--image", default=None, metavar="URI", help="With --on PLUGIN: an env-host image already pushed (skips the build).")
@click.option("--allow-cidr", default=None, metavar="CIDR", help="With --on PLUGIN and no --connect: who may reach the listening port (default: your public IP).")
def launch(transport: str, host: str, on: str | None, port: int, envs: tuple[str, ...], api_key: str | None, connect: str | None,
           num_envs: int | None, tunnel: str | None, tunnel_server: str | None, tunnel_options: tuple[str, ...],
           transport_options: tuple[str, ...], instances: int, instance_type: str | None, region: str | None,
           image: str | None, allow_cidr: str | None) -> None:
    """Host envs over a transport until interrupted (Ctrl-C).

    Prints ``AGENTGPT_URL=<url>`` once serving (the tunnel's public URL with
    ``--tunnel``), so scripts can read where to connect. The tunnel closes on exit,
    Ctrl-C and SIGTERM. With ``--on PLUGIN`` (e.g. ``ec2``) the envs run on that
    Host plugin's machines instead; cloud hosts keep running after this command returns.
    """
    specs = parse_env_specs(envs)
    plugin = _chosen_host_plugin(on, host)
    if plugin is not None:
        if tunnel is not None:
            raise click.UsageError("--tunnel is for a host served here, not one started by --on PLUGIN")
        host_options = dict(connect=connect, num_envs=num_envs, api_key=api_key, port=port, instance_type=instance_type,
                            region=region, image=image, allow_cidr=allow_cidr, **parse_options(transport_options))
        launch_on_host(plugin, list(envs), instances=instances, host_options=host_options, wait=wait_for_interrupt)
        return
    if instances != 1 or any(v is not None for v in (instance_type, region, image, allow_cidr)):
        raise click.UsageError("--instances, --instance-type, --region, --image and --allow-cidr need --on PLUGIN (e.g. --on ec2)")
    try:
        opener = resolve_tunnel(tunnel, api_key=api_key, server=tunnel_server, options=tunnel_options)
        served = EnvHost(specs, transport=transport, host=host, port=port, api_key=api_key, connect=connect,
                         num_envs=num_envs, tunnel=opener, transport_options=parse_options(transport_options))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    sigterm_unwinds_like_ctrl_c()  # from here on a SIGTERM unwinds whatever stage start() is at, tunnel included
    try:
        _start(served)
        with served:
            names = ", ".join(served.names)
            click.echo(f"AGENTGPT_URL={served.url}", err=False)
            via = f" (tunnel {tunnel} to {served.local_url})" if opener is not None else ""
            click.echo(f"serving {names} over {transport} at {served.url}{via} (Ctrl-C to stop)", err=True)
            sys.stdout.flush()
            wait_for_interrupt()
    except KeyboardInterrupt:
        pass
    click.echo("stopped", err=True)


def _start(served: EnvHost) -> None:
    """Start serving; an env the adapters refuse is a usage error, a failure while starting a one-line error."""
    try:
        served.start()
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    except LaunchError as exc:
        raise click.ClickException(str(exc)) from exc


def _chosen_host_plugin(on: str | None, host: str) -> Host | None:
    """The Host plugin ``--on`` names; None to serve here.

    ``--host NAME`` once chose the plugin too (``--host ec2``); a ``--host`` value that is a
    registered Host plugin's name still does, with a one-line deprecation notice.
    """
    if on is not None:
        if click.get_current_context().get_parameter_source("host") is ParameterSource.COMMANDLINE:
            raise click.UsageError("--host is the address to bind here; with --on PLUGIN the plugin's machines serve")
        try:
            return host_plugin(on)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
    if not host.isidentifier():
        return None
    try:
        plugin = get_plugin_manager().get("hosts", host)
    except PluginNotFound:
        return None
    click.echo(f"warning: --host {host} for a Host plugin is deprecated; use --on {host} (--host is the address to bind)",
               err=True)
    return plugin
