"""EC2 host plugin for AgentGPT: env hosts on AWS from one command, with no port open to the world.

``agentgpt launch --on ec2 --connect wss://TRAINER --env gym:CartPole-v1 --instances 4``
builds the env-host image (or takes ``--image``), pushes it to ECR, and starts tagged
instances whose hosts dial out to the trainer; ``agentgpt hosts down`` removes them.
"""

from .aws import Ec2Error
from .launch import Ec2LaunchSettings, Ec2Run, launch_run
from .launcher import EnvLauncher

__all__ = ["Ec2Error", "Ec2LaunchSettings", "Ec2Run", "EnvLauncher", "launch_run"]
