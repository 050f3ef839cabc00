"""Real server processes for tests: a free port, a Daphne on the test database, and a clean stop."""

import socket
import subprocess
import sys
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
