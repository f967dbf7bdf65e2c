"""Issue 16, item 10: slow HTTP clients (slow headers, slow bodies) are timed out."""

from __future__ import annotations

import json
import socket
import time

from agentgpt_core.envs.service import EnvService
from agentgpt_transport_http import HttpClient, HttpServer


def open_socket(url: str) -> socket.socket:
    host, port = url.rsplit("//", 1)[1].split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def closed_within(sock: socket.socket, seconds: float) -> tuple[bool, bytes]:
    """Whether the server closed ``sock`` within ``seconds`` (reading what it sent)."""
    sock.settimeout(seconds)
    data = b""
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return True, data
            data += chunk
    except socket.timeout:
        return False, data
    except ConnectionResetError:
        return True, data


def test_slow_headers_and_slow_bodies_are_cut_off_and_the_host_serves_on():
    service = EnvService(["gym:CartPole-v1"])
    with HttpServer(service, header_timeout_s=0.5, body_timeout_s=0.5) as server:
        silent = open_socket(server.url)  # connects and sends nothing
        slowloris = open_socket(server.url)
        slowloris.sendall(b"POST /make HTTP/1.1\r\nHost: x\r\n")  # and never ends its headers
        began = time.monotonic()
        assert closed_within(silent, 3)[0] and closed_within(slowloris, 3)[0]
        assert time.monotonic() - began < 3

        trickle = open_socket(server.url)
        body = json.dumps({"env_name": "CartPole-v1"}).encode()
        trickle.sendall(b"POST /make HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body))
        trickle.sendall(body[:3])  # the rest never comes
        closed, answer = closed_within(trickle, 3)
        assert answer.startswith(b"HTTP/1.1 400") and b"did not arrive within" in answer, answer

        client = HttpClient(server.url)
        try:
            assert client.call("make", {"env_name": "CartPole-v1"})["env_key"]
        finally:
            client.close()
        for sock in (silent, slowloris, trickle):
            sock.close()
    service.close()
