"""``agentgpt hosts``: run a gateway and show which dial-out hosts reached it.

The first thing to check when a simulator "does not connect": start this where the
trainer will run, launch hosts with ``--connect``, and watch them register. Step
rates come from each host's ``info`` (steps of every env it runs), so the command
also shows a live training's hosts when pointed at nothing else.
"""

from __future__ import annotations

import json
import time
from typing import Any

import click

from agentgpt_core.protocol.errors import ProtocolError
from agentgpt_core.protocol.names import NUM_ENVS, OPEN, STEPS, Method
from agentgpt_core.kinds import Gateway

INFO_TIMEOUT = 5.0


class StepRates:
    """Steps per second per host, from successive ``info`` step counts."""

    def __init__(self) -> None:
        self._last: dict[str, tuple[float, int]] = {}

    def update(self, host_id: str, steps: int, now: float) -> float:
        previous = self._last.get(host_id)
        self._last[host_id] = (now, steps)
        if previous is None or now <= previous[0] or steps < previous[1]:
            return 0.0
        return (steps - previous[1]) / (now - previous[0])


def snapshot(gateway: Gateway, rates: StepRates) -> list[dict[str, Any]]:
    """One row per live host: who, from where, what it serves, and how fast it steps."""
    rows = []
    for link in gateway.hosts():
        try:
            info = link.call(Method.INFO)
            open_envs = info.get(OPEN, [])
            steps, error = sum(int(env.get(STEPS, 0)) for env in open_envs), None
        except ProtocolError as exc:
            open_envs, steps, error = [], 0, str(exc)
        now = time.monotonic()
        rows.append(
            {
                "host_id": link.host_id,
                "address": link.address,
                "envs": link.envs,
                "capacity": link.capacity,
                "running": sum(int(env.get(NUM_ENVS, 1)) for env in open_envs),
                "steps": steps,
                "steps_per_s": round(rates.update(link.host_id, steps, now), 1),
                "connected_s": round(time.time() - getattr(link, "connected_at", time.time()), 1),
                "error": error,
            }
        )
    return rows


def render(url: str, rows: list[dict[str, Any]]) -> Any:
    from rich.table import Table

    table = Table(title=f"env hosts at {url}  ({len(rows)} connected)")
    for column in ("host id", "address", "envs", "offers", "running", "steps", "steps/s", "connected"):
        table.add_column(column, justify="right" if column in ("offers", "running", "steps", "steps/s") else "left")
    for row in rows:
        table.add_row(
            row["host_id"],
            row["address"],
            ", ".join(row["envs"]),
            str(row["capacity"]),
            str(row["running"]),
            str(row["steps"]),
            f"{row['steps_per_s']:.1f}",
            row["error"] or f"{row['connected_s']:.0f} s",
        )
    return table


@click.command()
@click.option("--listen", default="ws://127.0.0.1:8765", show_default=True, help="Gateway address hosts dial (ws:// or wss://).")
@click.option("--api-key", envvar="AGENTGPT_API_KEY", default=None, help="Key hosts must send [env: AGENTGPT_API_KEY].")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per refresh instead of a table.")
@click.option("--watch", default=2.0, show_default=True, type=click.FloatRange(min=0.1), metavar="SECONDS", help="Refresh interval.")
@click.option("--count", default=0, type=click.IntRange(min=0), help="Stop after this many refreshes (0: until Ctrl-C).")
def hosts(listen: str, api_key: str | None, as_json: bool, watch: float, count: int) -> None:
    """Run a gateway at --listen and show the dial-out hosts that connect to it."""
    from agentgpt_core.kinds import Unsupported
    from agentgpt_core.plugins import PluginNotFound, get_plugin_manager

    try:
        transport = get_plugin_manager().transport_for_url(listen)
        gateway = transport.gateway(listen, api_key=api_key, timeout=INFO_TIMEOUT)
        gateway.start()
    except (PluginNotFound, Unsupported, ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"gateway listening at {gateway.url}; hosts join with: agentgpt launch --transport ws --connect {gateway.url} ...", err=True)
    rates, shown = StepRates(), 0
    try:
        if as_json:
            while count == 0 or shown < count:
                time.sleep(watch)
                click.echo(json.dumps({"url": gateway.url, "time": time.time(), "hosts": snapshot(gateway, rates)}))
                shown += 1
        else:
            from rich.live import Live

            with Live(render(gateway.url, []), refresh_per_second=4) as live:
                while count == 0 or shown < count:
                    time.sleep(watch)
                    live.update(render(gateway.url, snapshot(gateway, rates)))
                    shown += 1
    except KeyboardInterrupt:
        pass
    finally:
        gateway.stop()
