"""A baresip process driven over ctrl_tcp: netstring-framed JSON commands in, responses and events out.

ctrl_tcp has no authentication: it listens on 127.0.0.1 only. A command is `{"command", "params", "token"}` and
its response carries the same token; events (`{"event": true, "type": "CALL_INCOMING", "id": <SIP Call-ID>,
"accountaor": ...}`) arrive in between, in order, and go to `on_event` (on the reader thread) and to `events`.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable


def netstring(payload: bytes) -> bytes:
    return str(len(payload)).encode() + b":" + payload + b","


def read_netstrings(buffer: bytes) -> tuple[list[dict], bytes]:
    """The complete messages at the start of `buffer`, and what is left of it."""
    messages = []
    while b":" in buffer:
        length, _, rest = buffer.partition(b":")
        size = int(length)
        if len(rest) < size + 1:
            break
        messages.append(json.loads(rest[:size]))
        buffer = rest[size + 1 :]
    return messages, buffer


class Control:
    """The control connection to one baresip."""

    def __init__(self, port: int, name: str = "baresip", on_event: Callable[[dict], None] | None = None):
        self.port, self.name = port, name
        self.on_event = on_event
        self.events: list[dict] = []
        self.answers: dict[str, dict] = {}
        self.sock: socket.socket | None = None
        self.lock = threading.Lock()
        self.closed = threading.Event()

    def connect(self) -> Control:
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        self.sock.settimeout(None)  # the reader waits as long as the line is quiet
        threading.Thread(target=self._read, name=f"ctrl-{self.name}", daemon=True).start()
        return self

    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            messages, buffer = read_netstrings(buffer + chunk)
            for message in messages:
                if message.get("response"):
                    self.answers[message.get("token", "")] = message
                    continue
                with self.lock:
                    self.events.append(message)
                if self.on_event is not None:
                    self.on_event(message)
        self.closed.set()

    def send(self, command: str, params: str = "") -> str:
        """Send a command; its token (the response comes later, see `command`)."""
        token = f"t{time.monotonic_ns()}"
        payload = json.dumps({"command": command, "params": params, "token": token}).encode()
        with self.lock:
            self.sock.sendall(netstring(payload))
        return token

    def command(self, command: str, params: str = "", timeout: float = 5) -> dict:
        """Send a command and wait for its response."""
        token = self.send(command, params)
        deadline = time.monotonic() + timeout
        while token not in self.answers:
            if time.monotonic() > deadline or self.closed.is_set():
                raise TimeoutError(f"{self.name} did not answer {command}")
            time.sleep(0.01)
        return self.answers.pop(token)

    def seen(self, kind: str) -> list[dict]:
        with self.lock:
            return [e for e in self.events if e.get("type") == kind]

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
