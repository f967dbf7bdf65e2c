"""``agentgpt launch --on NAME``: hand the envs to a Host plugin (e.g. ``ec2``) instead of serving here.

(``--host NAME`` still selects a registered Host plugin, with a deprecation notice:
``--host`` is the address to bind.) Detached hosts (cloud machines) keep running after
this command returns; others run until Ctrl-C, as a plain ``launch`` does.
"""

from __future__ import annotations

from typing import Any, Callable

import click

from ..kinds import Host, HostError


def launch_on_host(plugin: Host, env_specs: list[str], *, instances: int, host_options: dict[str, Any],
                   wait: Callable[[], None]) -> None:
    """Start ``instances`` hosts through ``plugin``, print ``AGENTGPT_URL=`` per host, then wait or return."""
    options = {key: value for key, value in host_options.items() if value is not None}
    try:
        urls = plugin.launch_many(env_specs, instances, log=lambda message: click.echo(message, err=True), **options)
    except (HostError, ValueError) as exc:
        plugin_name = getattr(plugin, "name", "host")
        raise click.ClickException(f"{plugin_name}: {' '.join(str(exc).split())}") from None
    for url in dict.fromkeys(urls):
        click.echo(f"AGENTGPT_URL={url}")
    if getattr(plugin, "detached", False):
        click.echo(f"{instances} {plugin.name} host(s) up; they keep running after this command", err=True)
        return
    try:
        wait()  # until Ctrl-C, as a plain launch
    finally:
        plugin.terminate()
