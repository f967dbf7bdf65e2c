"""Unity ML-Agents builds as AgentGPT envs (``--env unity:./Build``)."""
