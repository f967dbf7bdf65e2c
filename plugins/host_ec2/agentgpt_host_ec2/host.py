"""The ``ec2`` Host plugin: the Host kind's ``launch``/``terminate`` over EC2 runs.

Its hosts outlive the command that started them (``detached``): ``agentgpt launch --host
ec2`` returns once they are up, and ``agentgpt hosts down`` (or ``Ec2Run.stop``) ends them.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Callable

from agentgpt_core.kinds import Host

from .launch import Ec2LaunchSettings, Ec2Run, launch_run

SETTINGS = {f.name for f in fields(Ec2LaunchSettings)}


def settings_from(env_specs: list[str], options: dict[str, Any]) -> Ec2LaunchSettings:
    """Host options (CLI flags, ``-o KEY=VALUE``, Python keywords) as settings; an unknown one is an error."""
    options = {key: value for key, value in options.items() if value is not None}
    options.pop("transport", None)  # the image serves ws when dialling out, http when listening
    unknown = sorted(set(options) - SETTINGS)
    if unknown:
        raise ValueError(f"the ec2 host has no option {', '.join(unknown)} (options: {', '.join(sorted(SETTINGS - {'env_specs'}))})")
    if isinstance(options.get("packages"), str):
        options["packages"] = [options["packages"]]
    return Ec2LaunchSettings(env_specs=list(env_specs), **options)


class Ec2Host(Host):
    """Env hosts on EC2 instances; each ``launch`` is one run (``instances`` machines)."""

    name = "ec2"
    detached = True

    def __init__(self) -> None:
        self.runs: list[Ec2Run] = []

    def launch_run(self, env_specs: list[str], *, log: Callable[[str], None] | None = None, **options: Any) -> Ec2Run:
        """One run (``instances`` machines, one security group, one key) as an ``Ec2Run``:
        what ``EnvLauncher.launch_on_cloud`` returns; ``log`` receives its progress lines."""
        run = launch_run(settings_from(env_specs, options), log=log or (lambda message: None))
        self.runs.append(run)
        return run

    def launch(self, env_specs: list[str], **options: Any) -> str:
        """One run; its first URL (the gateway when dialling out, else the first instance's)."""
        return self.launch_run(env_specs, **options).urls[0]

    def launch_many(self, env_specs: list[str], count: int, *, log: Callable[[str], None] | None = None,
                    **options: Any) -> list[str]:
        """``count`` instances in one run (one security group, one key)."""
        return self.launch_run(env_specs, instances=count, log=log, **options).urls

    def terminate(self) -> None:
        while self.runs:
            self.runs.pop().stop()
