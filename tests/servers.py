"""Real server processes for tests: a free port, a Daphne on the test database, and a clean stop."""

import http.server
import socket
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def daphne(port: int, env: dict, log_name: str, proxy_headers: bool = False) -> subprocess.Popen:
    """Daphne serving Ringback on 127.0.0.1:`port`, its output in var/`log_name` (behind nginx: proxy_headers)."""
    log = open(ROOT / "var" / log_name, "ab")
    return subprocess.Popen(
        [sys.executable, "-m", "daphne", *(["--proxy-headers"] if proxy_headers else [])]
        + ["-b", "127.0.0.1", "-p", str(port), "workspace.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def stop(proc: subprocess.Popen) -> None:
    """Terminate, then kill: Daphne has no graceful drain, and with a connection pool it can linger."""
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class WebhookEndpoint:
    """An integration's webhook endpoint on 127.0.0.1: records each call as (headers, body) and answers the
    statuses queued in `answers` (status, body, extra headers) in turn, then 204."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict, bytes]] = []
        self.answers: list[tuple[int, bytes, dict]] = []
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                endpoint.calls.append((dict(self.headers), body))
                status, text, headers = endpoint.answers.pop(0) if endpoint.answers else (204, b"", {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
