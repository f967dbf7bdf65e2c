"""A stand-in for the ngrok agent, run by pyngrok exactly as it runs ngrok.

It takes ``start --none --log stdout [--config P] [--authtoken T] [--region R]``, needs a
token (``--authtoken``, else ``authtoken:`` in the ``--config`` file) as ngrok does,
serves the agent's local API (``/api/endpoints`` for pyngrok's config v3,
``/api/tunnels`` for v2) on 127.0.0.1, prints ngrok's logfmt start-up lines once that
API answers, and for each endpoint created forwards a loopback port to the upstream,
byte for byte (WebSockets pass through). ``FAKE_NGROK_MODE`` picks a failure to play:
``refuse-token``, ``limit``, ``crash``, or public URLs that are ``https`` (not
forwarded) or ``plain-public`` (http on a public host). ``FAKE_NGROK_RECORD`` names a
JSON file where it records its pid, argv, where its token came from (and the token, so
a test can check it is the right one), its config file and that file's mode, and requests.
Standard library only: the test copies it with this interpreter as its ``#!``.
"""

import json
import os
import re
import socket
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

MODE = os.environ.get("FAKE_NGROK_MODE", "ok")
RECORD = os.environ.get("FAKE_NGROK_RECORD")
ENDPOINTS = {}
STATE = {"pid": os.getpid(), "argv": sys.argv[1:], "argv_has_token": "--authtoken" in sys.argv, "region": None,
         "config_path": None, "config_mode": None, "token": None, "token_from": None, "requests": [], "forwarders": []}
if "--region" in sys.argv:
    STATE["region"] = sys.argv[sys.argv.index("--region") + 1]


def find_token():
    """The auth token as ngrok takes it: ``--authtoken`` first, else ``authtoken:`` in the ``--config`` file."""
    if "--authtoken" in sys.argv:
        return sys.argv[sys.argv.index("--authtoken") + 1], "argv"
    if "--config" in sys.argv:
        path = sys.argv[sys.argv.index("--config") + 1]
        STATE["config_path"] = path
        try:
            STATE["config_mode"] = oct(os.stat(path).st_mode & 0o777)
            with open(path) as file:
                found = re.search(r"^\s*authtoken:\s*['\"]?([^'\"\s]+)", file.read(), re.MULTILINE)
        except OSError:
            found = None
        if found:
            return found.group(1), "config"
    return None, None


STATE["token"], STATE["token_from"] = find_token()


def record():
    if RECORD:
        with open(RECORD + ".tmp", "w") as file:
            json.dump(STATE, file)
        os.replace(RECORD + ".tmp", RECORD)


def log(level, msg, **fields):
    extra = " ".join(f'{k}="{v}"' if " " in str(v) else f"{k}={v}" for k, v in fields.items())
    print(f't=2026-01-01T00:00:00+0000 lvl={level} msg="{msg}" {extra}'.rstrip(), flush=True)


def pipe(source, sink):
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def forward(listener, upstream):
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        try:
            server = socket.create_connection(upstream, timeout=5)
            server.settimeout(None)
        except OSError:
            client.close()
            continue
        threading.Thread(target=pipe, args=(client, server), daemon=True).start()
        threading.Thread(target=pipe, args=(server, client), daemon=True).start()


class Api(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body=None):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        kind = self.path.rstrip("/").split("/")[-1]
        if kind in ("endpoints", "tunnels"):
            return self.answer(200, {kind: list(ENDPOINTS.values()), "uri": self.path})
        return self.answer(404, {"error_code": 100, "msg": "not found"})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        STATE["requests"].append({"method": "POST", "path": self.path, "body": body})
        upstream = body.get("upstream", {}).get("url") or body.get("addr")
        target = urlsplit(upstream if "://" in upstream else f"http://{upstream}")
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        port = listener.getsockname()[1]
        STATE["forwarders"].append(port)
        threading.Thread(target=forward, args=(listener, (target.hostname, target.port)), daemon=True).start()
        public = {"https": "https://fake-endpoint.ngrok.app", "plain-public": "http://fake-endpoint.ngrok.app"}.get(
            MODE, f"http://127.0.0.1:{port}")
        name = body.get("name") or str(uuid.uuid4())
        kind = "endpoints" if "endpoints" in self.path else "tunnels"
        ENDPOINTS[name] = {"id": name, "name": name, "uri": f"/api/{kind}/{name}", "url": public,
                           "public_url": public, "upstream": {"url": upstream}}
        record()
        log("info", "started tunnel", obj="tunnels", name=name, addr=upstream, url=public)
        self.answer(201, ENDPOINTS[name])

    def do_DELETE(self):
        STATE["requests"].append({"method": "DELETE", "path": self.path})
        record()
        if ENDPOINTS.pop(self.path.rstrip("/").split("/")[-1], None) is None:
            return self.answer(404, {"error_code": 101, "msg": "no such endpoint"})
        self.answer(204)


def main():
    record()
    if MODE == "crash":
        sys.exit(1)
    if STATE["token"] is None:  # as ngrok: no session without a token
        log("eror", "session closing", obj="tunnels.session",
            err="authentication failed: Usage of ngrok requires a verified account and authtoken.\\r\\n\\r\\nERR_NGROK_4018\\r\\n")
        sys.exit(1)
    if MODE in ("refuse-token", "limit"):
        err = {"refuse-token": "authentication failed: The authtoken you specified is properly formed, but it is invalid.",
               "limit": "Your account is limited to 1 simultaneous ngrok agent sessions."}[MODE]
        code = {"refuse-token": "ERR_NGROK_107", "limit": "ERR_NGROK_108"}[MODE]
        log("eror", "session closing", obj="tunnels.session", err=f"{err}\\r\\n\\r\\n{code}\\r\\n")
        sys.exit(1)
    api = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    log("info", "no configuration paths supplied")
    log("info", "starting web service", obj="web", addr=f"127.0.0.1:{api.server_address[1]}", allow_hosts="[]")
    log("info", "tunnel session started", obj="tunnels.session")
    log("info", "client session established", obj="csess", id="fake")
    threading.Event().wait()


if __name__ == "__main__":
    main()
