"""Test-wide settings: only first-party plugins load, never a stray installed one."""

import os

os.environ.setdefault("AGENTGPT_LOAD_PLUGINS", "http,ws,ngrok,ec2,sagemaker,unity")
os.environ.setdefault("MPLBACKEND", "Agg")
