"""Issue 16, item 9 (client side): a server that drips its answer cannot hold a call past its timeout."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from agentgpt_core.protocol.errors import TransportError
from agentgpt_transport_http import HttpClient


class DrippingServer:
    """Answers every request with headers and a body sent one byte every ``interval`` seconds."""

    def __init__(self, interval: float = 0.1):
        self.interval, self.stop = interval, threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = "http://127.0.0.1:%d" % self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.listener.close()
        self.thread.join(5)

    def _serve(self):
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        with conn:
            conn.recv(65536)  # the request (small)
            answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{" + b" " * 398 + b"}"
            for byte in answer:
                if self.stop.wait(self.interval):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return


@pytest.mark.timeout(30)
def test_a_dripping_answer_is_cut_off_at_the_calls_timeout():
    with DrippingServer() as server:
        client = HttpClient(server.url, codec="json", timeout=1.0)
        began = time.monotonic()
        with pytest.raises(TransportError, match="ping"):
            client.call("ping")
        assert time.monotonic() - began < 2.0  # every byte came within the timeout; the answer did not
        client.close()
