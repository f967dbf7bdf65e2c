"""``agentgpt hosts list`` and ``agentgpt hosts down``: what EC2 runs made, and removing it.

``agentgpt hosts`` itself belongs to the ws transport (a gateway that shows dial-out hosts);
these two are its subcommands, added to that group when it exists (``attach``), so
``agentgpt hosts --listen ...`` keeps working unchanged.
"""

from __future__ import annotations

import json

import click

from .aws import Aws, Ec2Error
from .resources import find_runs, teardown


def _aws(region: str | None) -> Aws:
    try:
        return Aws(region)
    except Ec2Error as exc:
        raise click.ClickException(str(exc)) from None


@click.command("list")
@click.option("--region", default=None, help="AWS region (default: the session's).")
@click.option("--run-id", default=None, help="Only this run.")
@click.option("--all-owners", is_flag=True, help="Runs of every caller, not only yours.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def list_runs(region: str | None, run_id: str | None, all_owners: bool, as_json: bool) -> None:
    """Show EC2 env-host runs and what each made (instances, security groups, keys)."""
    aws = _aws(region)
    try:
        runs = find_runs(aws, run_id=run_id, owner=None if all_owners else aws.caller_arn())
    except Ec2Error as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps([run.summary() for run in runs.values()]))
        return
    if not runs:
        click.echo(f"no agentgpt runs in {aws.region}")
    for run in runs.values():
        instances = ", ".join(f"{i['id']} ({i['state']}{', ' + i['public_ip'] if i.get('public_ip') else ''})" for i in run.instances) or "none"
        click.echo(f"{run.run_id}  instances: {instances}  security groups: {', '.join(run.security_groups) or 'none'}"
                   f"  keys: {len(run.ssm_parameters)}")


@click.command("down")
@click.option("--region", default=None, help="AWS region (default: the session's).")
@click.option("--run-id", default=None, help="Only this run (default: every run of yours in the region).")
def down(region: str | None, run_id: str | None) -> None:
    """Terminate the instances and delete the security groups and keys that EC2 runs made."""
    aws = _aws(region)
    try:
        runs = find_runs(aws, run_id=run_id, owner=aws.caller_arn())
        if run_id and run_id not in runs:
            raise Ec2Error(f"no run {run_id!r} of yours in {aws.region}")
        for run in runs.values():
            click.echo(f"removing run {run.run_id}: {len(run.instances)} instances, {len(run.security_groups)} security groups, "
                       f"{len(run.ssm_parameters)} keys", err=True)
            teardown(aws, run)
    except Ec2Error as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"removed {len(runs)} run(s) in {aws.region}")


def attach(cli: click.Group) -> None:
    """Add ``list`` and ``down`` under ``agentgpt hosts``, making that group if no plugin did."""
    group = cli.commands.get("hosts")
    if not isinstance(group, click.Group):
        original = group
        group = HostsGroup(original)
        cli.add_command(group)
    group.add_command(list_runs)
    group.add_command(down)


class HostsGroup(click.Group):
    """``agentgpt hosts``: another plugin's ``hosts`` command (if any) runs when no subcommand is given."""

    def __init__(self, original: click.Command | None):
        @click.pass_context
        def run_original(ctx: click.Context, **kwargs):
            if ctx.invoked_subcommand is not None:
                return None
            if original is None or original.callback is None:
                click.echo(ctx.get_help())
                return None
            return ctx.invoke(original.callback, **kwargs)

        help_text = (original.help if original is not None and original.help else "Dial-out hosts and EC2 env-host runs.")
        super().__init__("hosts", params=list(original.params) if original is not None else [], invoke_without_command=True,
                         callback=run_original, help=help_text + "\n\nSubcommands `list` and `down` show and remove EC2 env-host runs.")
