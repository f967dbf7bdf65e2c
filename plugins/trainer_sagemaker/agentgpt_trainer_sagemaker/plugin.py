"""Entry point ``sagemaker``: the ``sagemaker`` trainer backend, the ``sagemaker://`` transport (client side) and the ``jobs``, ``endpoints``, ``image`` commands."""

from __future__ import annotations

from agentgpt_core.hookspecs import hookimpl


@hookimpl
def register_trainers(register):
    from .backend import SageMakerTrainer

    register(SageMakerTrainer())


@hookimpl
def register_transports(register):
    from .transport import SageMakerTransport

    register(SageMakerTransport())


@hookimpl
def register_commands(cli):
    from .cli import COMMANDS

    for command in COMMANDS:
        cli.add_command(command)
