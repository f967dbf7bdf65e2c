"""Tunnels for AgentGPT: ngrok (through pyngrok) and localtunnel."""
