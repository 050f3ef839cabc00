"""CPU per lifecycle in one process, beside a skeleton floor: `python -m bench.cpu ringback|skeleton [N]`.

One lifecycle is what an agent's day is made of, through the real ASGI application in this process (middleware,
sessions, CSRF, authentication, the channel layer, the agent's consumer): the intake API creates a callback and
routing offers it; the offer is pushed to the agent's socket, whose page acknowledges it; Accept, and its push;
Mark Done, and its push; every tenth lifecycle the whole workspace page too. Only Daphne's own Twisted work is
left out (the floor leaves it out the same way). CPU is `time.process_time()`, every thread of the process, so
a render on the thread pool counts; waiting does not. The figure is the median of N lifecycles after a warm-up.

The skeleton (`bench.skeleton`) is the least any Django + Channels design can spend on the same lifecycle: three
HTTP requests through the same middleware, each one trivial UPDATE, three pushes each rendering a small partial
from one read by primary key, and the acknowledgement's one UPDATE. Ringback's figure divided by the skeleton's
says how far from that floor the product is.

Prints one JSON line: {"median_ms", "p90_ms", "lifecycles", "statements_per_lifecycle", "frames_per_lifecycle",
"steps"}: "steps" gives each step's median CPU and statements (intake with routing and the offer's push, the
acknowledgement, Accept and its push, Mark Done and its push, and Ringback's workspace page every tenth lifecycle).
The acknowledgement has no answer: the lifecycle waits 30 ms after sending it, so its work counts in its own step.

Django and the apps are imported inside the functions: which settings module to load (Ringback's or the
skeleton's) is only known once the command line is read.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

WARM_UP = 20
CSRF = "c" * 32
OFFER = re.compile(r'data-offer="(\d+)"')
DONE = re.compile(r"/interactions/(\d+)/done/")


def _setup(kind: str) -> None:
    var = Path(tempfile.mkdtemp(prefix=f"bench-cpu-{kind}-"))
    os.environ["RINGBACK_VAR_DIR"] = str(var)
    os.environ["RINGBACK_DISPATCHER"] = "external"  # no clock in this process: only the lifecycle's own work counts
    os.environ["RINGBACK_LOG_LEVEL"] = "WARNING"
    os.environ["RINGBACK_ACCESS_LOG"] = "0"
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "workspace.settings" if kind == "ringback" else "bench.skeleton.settings"
    import django

    django.setup()
    if kind == "ringback" and os.environ.get("RINGBACK_FORM") == "chain":  # Django's default chain (bench.forms)
        from django.conf import settings

        settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.endswith(".OneThreadMiddleware")]
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


class Counter:
    """Counts the statements the process runs (every connection, every thread)."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, execute, sql, params, many, context):
        self.n += 1
        return execute(sql, params, many, context)


async def _frames(comm, until, limit: float = 10.0) -> list[str]:
    """Frames from the socket until `until(frames)` holds, then until it is quiet (what the same change still sends)."""
    frames: list[str] = []
    deadline = time.monotonic() + limit
    while not until(frames):
        if time.monotonic() > deadline:
            raise RuntimeError(f"waited {limit:g} s for a push; got {len(frames)} frames")
        frames.append(await comm.receive_from(timeout=limit))
    while not await comm.receive_nothing(timeout=0.02, interval=0.002):  # (a timed-out receive would cancel the app)
        frames.append(await comm.receive_from())
    return frames


def _statement_counter(counter: Counter):
    """Install `counter` on every connection this process opens from now on (threads open their own)."""
    from django.db.backends.signals import connection_created

    def wrap(sender, connection, **kwargs):
        if counter not in connection.execute_wrappers:  # a wrapper object outlives its connection's reconnects
            connection.execute_wrappers.append(counter)

    connection_created.connect(wrap, weak=False)
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        if counter not in conn.execute_wrappers:
            conn.execute_wrappers.append(counter)


async def _socket(application, path: str, cookie: str):
    """The page's socket, connected, and a counter of the statements the process runs from now on."""
    from asgiref.sync import sync_to_async
    from channels.testing import WebsocketCommunicator

    comm = WebsocketCommunicator(application, path, headers=[(b"cookie", cookie.encode()), (b"origin", b"http://127.0.0.1")])
    connected, _ = await comm.connect(timeout=10)
    if not connected:
        raise RuntimeError(f"the socket to {path} was refused")
    counter = Counter()
    await sync_to_async(_statement_counter)(counter)
    return comm, counter


async def ringback(n: int) -> dict:
    from asgiref.sync import sync_to_async
    from httpx import ASGITransport, AsyncClient

    from workspace.asgi import application

    fixtures = await sync_to_async(_ringback_fixtures)()
    session, token = fixtures["session"], fixtures["token"]
    cookie = f"sessionid={session}; csrftoken={CSRF}"
    page = {"Cookie": cookie, "X-CSRFToken": CSRF, "HX-Request": "true", "Origin": "http://127.0.0.1"}
    api = {"Authorization": f"Bearer {token}"}
    comm, counter = await _socket(application, "/ws/agent/", cookie)
    await _frames(comm, lambda f: bool(f))
    cpu: list[float] = []
    statements: list[int] = []
    frames_seen: list[int] = []
    async with AsyncClient(transport=ASGITransport(app=application), base_url="http://127.0.0.1") as http:
        r = await http.post("/status/", data={"channel": "voice", "status": "ready"}, headers=page)
        assert r.status_code in (200, 204), r.status_code
        await _frames(comm, lambda f: any("Ready" in x for x in f))
        steps = Steps(counter)
        for i in range(WARM_UP + n):
            t0, s0 = time.process_time(), counter.n
            steps.start()
            body = {"queue": "bench", "phone_number": f"+3361{i:07d}", "customer_name": f"Customer {i}"}
            r = await http.post("/api/v1/callbacks", json=body, headers=api)
            if r.status_code != 201:
                raise RuntimeError(f"the intake API answered {r.status_code}: {r.text[:200]}")
            frames = await _frames(comm, lambda f: any(OFFER.search(x) for x in f))
            offer_id = next(int(m.group(1)) for x in frames if (m := OFFER.search(x)))
            steps.mark("intake, routing, the offer pushed")
            await _acknowledge(comm, offer_id)
            steps.mark("acknowledgement")
            r = await http.post(f"/offers/{offer_id}/accept/", headers=page)
            if r.status_code not in (200, 204):
                raise RuntimeError(f"Accept answered {r.status_code}")
            more = await _frames(comm, lambda f: any(DONE.search(x) for x in f))
            interaction_id = next(int(m.group(1)) for x in more if (m := DONE.search(x)))
            steps.mark("Accept, its push")
            r = await http.post(f"/interactions/{interaction_id}/done/", headers=page)
            if r.status_code not in (200, 204):
                raise RuntimeError(f"Mark Done answered {r.status_code}")
            last = await _frames(comm, lambda f: bool(f))
            steps.mark("Mark Done, its push")
            if i % 10 == 9:
                r = await http.get("/", headers={"Cookie": cookie})
                assert r.status_code == 200
                steps.mark("the workspace page (every tenth)")
            if i >= WARM_UP:
                steps.keep()
                cpu.append(time.process_time() - t0)
                statements.append(counter.n - s0)
                frames_seen.append(len(frames) + len(more) + len(last))
    await comm.disconnect()
    return _figures(cpu, statements, frames_seen) | {"steps": steps.medians()}


def _ringback_fixtures() -> dict:
    from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.auth.models import Group
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone

    from callbacks import roles
    from callbacks.enums import Channel
    from callbacks.models import Agent, AgentChannelStatus, ApiClient, Queue

    queue = Queue.objects.create(name="Bench", slug="bench", offer_timeout_seconds=60)
    user = get_user_model().objects.create_user("bench", password="bench-password-1")
    agent = Agent.objects.create(user=user, display_name="Bench")
    AgentChannelStatus.objects.create(agent=agent, channel=Channel.WEB_CALLBACK, enabled=False, since=timezone.now())
    agent.queues.add(queue)
    roles.ensure_roles()
    user.groups.add(Group.objects.get(name=roles.AGENT))
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session["_auth_user_backend"] = "callbacks.auth.AgentBackend"
    session.create()
    client = ApiClient(name="Bench", requests_per_minute=0)  # unthrottled: a refusal would fail the run
    token = client.issue_token()
    client.save()
    return {"session": session.session_key, "token": token}


async def skeleton(n: int) -> dict:
    from asgiref.sync import sync_to_async
    from httpx import ASGITransport, AsyncClient

    from bench.skeleton.app import application, fixtures

    session = await sync_to_async(fixtures)()
    cookie = f"sessionid={session}; csrftoken={CSRF}"
    page = {"Cookie": cookie, "X-CSRFToken": CSRF, "Origin": "http://127.0.0.1"}
    comm, counter = await _socket(application, "/ws/", cookie)
    cpu: list[float] = []
    statements: list[int] = []
    frames_seen: list[int] = []
    async with AsyncClient(transport=ASGITransport(app=application), base_url="http://127.0.0.1") as http:
        steps = Steps(counter)
        for i in range(WARM_UP + n):
            t0, s0 = time.process_time(), counter.n
            steps.start()
            seen = 0
            for step in ("create", "accept", "done"):
                r = await http.post(f"/{step}/", headers=page)
                if r.status_code != 204:
                    raise RuntimeError(f"the skeleton's {step} answered {r.status_code}")
                frames = await _frames(comm, lambda f, step=step: any(step in x for x in f))
                seen += len(frames)
                steps.mark(SKELETON_STEPS[step])
                if step == "create":
                    await _acknowledge(comm, i)
                    steps.mark("acknowledgement")
            if i >= WARM_UP:
                steps.keep()
                cpu.append(time.process_time() - t0)
                statements.append(counter.n - s0)
                frames_seen.append(seen)
    await comm.disconnect()
    return _figures(cpu, statements, frames_seen) | {"steps": steps.medians()}


SKELETON_STEPS = {"create": "intake, routing, the offer pushed", "accept": "Accept, its push", "done": "Mark Done, its push"}
ACK_SETTLE = 0.03  # seconds: the acknowledgement has no answer; its work is done well within this


async def _acknowledge(comm, offer_id) -> None:
    """The page's acknowledgement of a shown offer, and time for the server to handle it (so its CPU counts here)."""
    await comm.send_to(text_data=json.dumps({"ack": str(offer_id)}))
    await asyncio.sleep(ACK_SETTLE)


class Steps:
    """CPU and statements of each step of a lifecycle, as medians over the lifecycles kept."""

    def __init__(self, counter: Counter) -> None:
        self.counter = counter
        self.kept: list[dict[str, tuple[float, int]]] = []
        self.marks: list[tuple[str, float, int]] = []

    def start(self) -> None:
        self.marks = [("", time.process_time(), self.counter.n)]

    def mark(self, name: str) -> None:
        self.marks.append((name, time.process_time(), self.counter.n))

    def keep(self) -> None:
        pairs = zip(self.marks, self.marks[1:], strict=False)
        self.kept.append({b[0]: ((b[1] - a[1]) * 1000, b[2] - a[2]) for a, b in pairs})

    def medians(self) -> dict[str, dict[str, float]]:
        names = list(dict.fromkeys(name for row in self.kept for name in row))
        return {
            name: {
                "cpu_ms": statistics.median(row[name][0] for row in self.kept if name in row),
                "statements": statistics.median(row[name][1] for row in self.kept if name in row),
            }
            for name in names
        }


def _figures(cpu: list[float], statements: list[int], frames: list[int]) -> dict:
    ordered = sorted(cpu)
    return {
        "median_ms": statistics.median(cpu) * 1000,
        "p90_ms": ordered[int(0.9 * (len(ordered) - 1))] * 1000,
        "lifecycles": len(cpu),
        "statements_per_lifecycle": statistics.median(statements),
        "frames_per_lifecycle": statistics.median(frames),
    }


def main() -> None:
    kind = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 150
    _setup(kind)
    result = asyncio.run(ringback(n) if kind == "ringback" else skeleton(n))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
