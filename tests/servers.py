"""Real server processes for tests: a free port, a Daphne on the test database, and a clean stop."""

import base64
import http.server
import json
import os
import secrets
import socket
import socketserver
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
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


class SmsGateway:
    """A Twilio-compatible SMS gateway on 127.0.0.1: `POST /Accounts/<account>/Messages.json` with HTTP Basic and a
    form (To, From, Body, StatusCallback), answered 201 `{"sid": "SM…"}`; a wrong password is a 401, as the real one
    answers. Each accepted text is kept as its form; `fail_next` answers 500 that many times first."""

    def __init__(self, account: str = "AC-test", token: str = "gateway-token") -> None:
        self.account, self.token = account, token
        self.texts: list[dict[str, str]] = []
        self.fail_next = 0
        gateway = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                expected = "Basic " + base64.b64encode(f"{gateway.account}:{gateway.token}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    return self.answer(401, {"code": 20003, "message": "Authenticate"})
                if gateway.fail_next > 0:
                    gateway.fail_next -= 1
                    return self.answer(500, {"message": "gateway busy"})
                form = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode()).items()}
                gateway.texts.append(form)
                return self.answer(201, {"sid": f"SM{len(gateway.texts):032d}", "status": "queued"})

            def answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/2010-04-01/Accounts/{account}/Messages.json"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class S3Server:
    """An S3-compatible object store on 127.0.0.1 (moto's server, a real HTTP S3 API in a process of its own), with
    one bucket; `objects()` lists what it holds."""

    def __init__(self, bucket: str = "ringback-recordings") -> None:
        import boto3

        self.port, self.bucket = free_port(), bucket
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.client = boto3.client(
            "s3", endpoint_url=self.url, aws_access_key_id="ringback", aws_secret_access_key="s3-secret", region_name="eu-west-1"
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                self.client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
                break
            except Exception:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.close()
                    raise RuntimeError("the S3 server did not start") from None
                time.sleep(0.2)

    def objects(self) -> list[str]:
        return [o["Key"] for o in self.client.list_objects_v2(Bucket=self.bucket).get("Contents", [])]

    def close(self) -> None:
        stop(self.proc)


class SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321) to accept a message."""

    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self):
        self.reply("220 test ESMTP")
        while line := self.rfile.readline():
            verb = line.decode().strip().split(" ")[0].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 test")
            elif verb == "DATA":
                self.reply("354 go ahead")
                body = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    body += chunk
                self.server.messages.append(body.decode())
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


class OidcProvider:
    """A real OpenID Connect provider on 127.0.0.1 (tests/oidc_provider: django-oauth-toolkit, in a process of its
    own, its SQLite file and RSA key in a temporary directory). `client()` registers a client and `user()` a person
    with their groups and queues claims (both through its /fixture/ page); `environment()` is the RINGBACK_OIDC_* a
    Ringback needs to sign in with it, its endpoints read from the provider's discovery document."""

    CLIENT_ID, CLIENT_SECRET = "ringback", "ringback-client-secret"

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.issuer = f"{self.url}/o"
        self.ringback_urls: list[str] = []
        self.token = secrets.token_urlsafe(16)
        self.env = dict(
            os.environ,
            DJANGO_SETTINGS_MODULE="tests.oidc_provider.settings",
            OIDC_PROVIDER_DIR=str(directory),
            OIDC_PROVIDER_ISSUER=self.issuer,
            OIDC_PROVIDER_FIXTURE_TOKEN=self.token,
            PYTHONUNBUFFERED="1",
        )
        for name in [n for n in self.env if n.startswith(("DATABASE_URL", "RINGBACK_"))]:
            del self.env[name]
        subprocess.run([sys.executable, "-m", "django", "migrate", "--run-syncdb", "-v0"], cwd=ROOT, env=self.env, check=True)
        log = open(ROOT / "var" / f"oidc-provider-{self.port}.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "django", "runserver", "--noreload", f"127.0.0.1:{self.port}"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{self.issuer}/.well-known/openid-configuration", timeout=2) as answer:
                    self.discovery = json.loads(answer.read())
                break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.close()
                    raise RuntimeError("the OpenID Connect provider did not start; see var/oidc-provider-*.log") from None
                time.sleep(0.2)

    def setup(self, **body) -> None:
        request = urllib.request.Request(
            f"{self.url}/fixture/",
            data=json.dumps(body).encode(),
            headers={"X-Fixture-Token": self.token, "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10):
            pass

    def allow(self, ringback_url: str) -> None:
        """Ringback's client may come back to this Ringback (its callback, and its sign-in page after logout)."""
        self.ringback_urls.append(ringback_url)
        self.client(self.ringback_urls)

    def client(self, ringback_urls: list[str], client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> None:
        """A client whose redirect URIs are each Ringback's callback, and whose logout may return to its sign-in page."""
        self.setup(
            clients=[
                {
                    "client_id": client_id,
                    "client_secret": secret,
                    "redirect_uris": [f"{url}/oidc/callback/" for url in ringback_urls],
                    "post_logout_redirect_uris": [f"{url}/login/" for url in ringback_urls],
                }
            ]
        )

    def user(self, username: str, password: str, groups: list[str], queues: list[str] | None = None, **extra) -> None:
        self.setup(users=[{"username": username, "password": password, "groups": groups, "queues": queues, **extra}])

    def environment(self, **overrides: str) -> dict[str, str]:
        found = self.discovery
        return {
            "RINGBACK_OIDC_PROVIDER_NAME": "Test ID",
            "RINGBACK_OIDC_ISSUER": found["issuer"],
            "RINGBACK_OIDC_CLIENT_ID": self.CLIENT_ID,
            "RINGBACK_OIDC_CLIENT_SECRET": self.CLIENT_SECRET,
            "RINGBACK_OIDC_AUTHORIZATION_ENDPOINT": found["authorization_endpoint"],
            "RINGBACK_OIDC_TOKEN_ENDPOINT": found["token_endpoint"],
            "RINGBACK_OIDC_USERINFO_ENDPOINT": found["userinfo_endpoint"],
            "RINGBACK_OIDC_JWKS_ENDPOINT": found["jwks_uri"],
            "RINGBACK_OIDC_END_SESSION_ENDPOINT": found.get("end_session_endpoint", ""),
            "RINGBACK_OIDC_ROLES": "callback-agents=Agent,callback-leads=Supervisor,it-admins=Admin",
            **overrides,
        }

    def close(self) -> None:
        stop(self.proc)
