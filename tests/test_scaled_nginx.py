"""Scaled mode behind nginx: the whole flow crosses processes, and losing a web process and a
dispatcher mid-flow loses nothing.

nginx (Debian's package, as `scripts/run` starts it) balances two Daphne processes; two dispatchers
and a task worker run beside them on PostgreSQL and Redis. Agents are real websocket and HTTP clients
that only ever talk to nginx: they go Ready, acknowledge each offer, Accept and Mark Done. Callbacks
come in through the intake API, also through nginx. Halfway, one Daphne and one dispatcher are
SIGKILLed. The agents whose sockets it held reconnect through nginx (to the live process), and every
callback, before and after the kill, ends Completed exactly once.
"""

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time

import httpx
import pytest
import websockets
from django.core.management import call_command
from django.db import connections

from callbacks.enums import CallbackState
from callbacks.models import CallbackRequest, Interaction

from .factories import database_url, make_agent, make_api_client, make_queue, numbers, session_key_for
from .servers import ROOT, daphne, free_port, stop

NGINX = os.environ.get("RINGBACK_NGINX", "/usr/sbin/nginx")
pytestmark = [
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="the scaled set-up runs on PostgreSQL and Redis"),
    pytest.mark.skipif(not shutil.which(NGINX), reason="scripts/test installs Debian's nginx in scaled mode"),
]

AGENTS = 6
BEFORE, AFTER = 10, 10  # callbacks created before and after the kill
CSRF = "c" * 32
OFFER = re.compile(r'data-offer="(\d+)"')
DONE = re.compile(r"/interactions/(\d+)/done/")


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/login/", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answers on {port}")


@pytest.fixture
def cluster(transactional_db, tmp_path):
    env = dict(os.environ, DATABASE_URL=database_url(), RINGBACK_DISPATCHER="external", DB_POOL_SIZE="10")
    web_ports = [free_port(), free_port()]
    webs = [daphne(port, env, f"nginx-test-web-{port}.log", proxy_headers=True) for port in web_ports]
    conf = tmp_path / "nginx.conf"
    port = free_port()
    with conf.open("w") as f:
        call_command(
            "nginx_conf", "--listen", str(port), *[f"--upstream={p}" for p in web_ports], "--dir", str(tmp_path), stdout=f
        )
    log = open(ROOT / "var" / f"nginx-test-{port}.log", "ab")
    nginx = subprocess.Popen([NGINX, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)

    def manage(*args):
        return subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    dispatchers = [manage("dispatcher"), manage("dispatcher")]
    task_worker = manage("db_worker", "--queue-name", "*", "--interval", "0.1", "-v0")
    try:
        for p in web_ports:
            wait_port(p)
        wait_port(port)
        yield {"port": port, "webs": webs, "dispatchers": dispatchers}
    finally:
        for proc in [*webs, *dispatchers, task_worker, nginx]:
            if proc.poll() is None:
                stop(proc)
        log.close()


class Agents:
    """Agents whose browsers only know nginx: they reconnect when their socket drops, as the page does."""

    def __init__(self, port: int, sessions: list[str]):
        self.port, self.sessions = port, sessions
        self.connects = 0
        self.failed_clicks = 0
        self.stopping = asyncio.Event()

    def headers(self, session: str) -> dict:
        return {"Cookie": f"sessionid={session}; csrftoken={CSRF}", "X-CSRFToken": CSRF, "HX-Request": "true"}

    async def click(self, http, session: str, path: str, data=None) -> int:
        try:
            r = await http.post(f"http://127.0.0.1:{self.port}{path}", data=data, headers=self.headers(session))
            return r.status_code
        except httpx.HTTPError:
            return 0

    async def agent(self, http, session: str) -> None:
        url = f"ws://127.0.0.1:{self.port}/ws/agent/"
        headers = {"Cookie": f"sessionid={session}", "Origin": f"http://127.0.0.1:{self.port}"}
        first = True
        while not self.stopping.is_set():
            try:
                async with websockets.connect(url, additional_headers=headers, open_timeout=10, ping_interval=None) as ws:
                    self.connects += 1
                    if first:
                        assert await self.click(http, session, "/status/", {"channel": "voice", "status": "ready"}) in (200, 204)
                        first = False
                    await self.work(http, session, ws)
            except (OSError, websockets.InvalidHandshake, websockets.ConnectionClosed, TimeoutError):
                await asyncio.sleep(0.3)  # the page's reconnect back-off, shortened

    async def work(self, http, session: str, ws) -> None:
        handled: set[str] = set()  # per connection: a fresh page acts on what its first render shows
        while not self.stopping.is_set():
            try:
                frame = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            for offer_id in set(OFFER.findall(frame)):
                if f"o{offer_id}" in handled:
                    continue
                handled.add(f"o{offer_id}")
                await ws.send(json.dumps({"ack": offer_id}))
                if await self.click(http, session, f"/offers/{offer_id}/accept/") in (0, 502, 503, 504):
                    self.failed_clicks += 1
                    await ws.send("{}")  # as the page does after a failed request: show me the truth again
            for interaction_id in set(DONE.findall(frame)):
                if f"i{interaction_id}" in handled:
                    continue
                handled.add(f"i{interaction_id}")
                if await self.click(http, session, f"/interactions/{interaction_id}/done/") in (0, 502, 503, 504):
                    self.failed_clicks += 1
                    await ws.send("{}")


def completed() -> int:
    try:
        return CallbackRequest.objects.filter(state=CallbackState.COMPLETED).count()
    finally:
        connections.close_all()  # this runs on a helper thread: leave no connection open


def test_flow_through_nginx_survives_killing_a_web_process_and_a_dispatcher(cluster):
    port = cluster["port"]
    queue = make_queue("sales", offer_timeout_seconds=30)
    sessions = [session_key_for(make_agent(f"agent{i}", queue).user) for i in range(AGENTS)]
    _, token = make_api_client()
    phones = numbers(BEFORE + AFTER)
    agents = Agents(port, sessions)
    api_answers: list[int] = []

    async def create(http, phone: str) -> None:
        r = await http.post(
            f"http://127.0.0.1:{port}/api/v1/callbacks",
            json={"queue": "sales", "phone_number": phone, "customer_name": "Through nginx"},
            headers={"Authorization": f"Bearer {token}"},
        )
        api_answers.append(r.status_code)

    async def until(condition, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not await asyncio.to_thread(condition):
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            await asyncio.sleep(0.2)

    async def scenario():
        async with httpx.AsyncClient(timeout=30) as http:
            clients = [asyncio.create_task(agents.agent(http, s)) for s in sessions]
            await until(lambda: agents.connects >= AGENTS, 30, "every agent connected")
            for phone in phones[:BEFORE]:
                await create(http, phone)
                await asyncio.sleep(0.2)
            await until(lambda: completed() >= BEFORE // 2, 60, "half the first callbacks done")
            cluster["webs"][0].kill()  # mid-flow: offers ringing, interactions open, sockets on it
            cluster["dispatchers"][0].kill()
            for phone in phones[BEFORE:]:
                await create(http, phone)
                await asyncio.sleep(0.2)
            await until(lambda: completed() == BEFORE + AFTER, 120, "every callback completed")
            agents.stopping.set()
            await asyncio.gather(*clients)

    asyncio.run(scenario())

    assert api_answers == [201] * (BEFORE + AFTER), "nginx sends intake to the live process"
    assert agents.connects > AGENTS, "the agents of the killed process reconnected through nginx"
    assert set(CallbackRequest.objects.values_list("state", flat=True)) == {CallbackState.COMPLETED}
    per_callback = [
        Interaction.objects.filter(callback=c).count() for c in CallbackRequest.objects.all()
    ]  # one interaction each: nothing worked twice
    assert per_callback == [1] * (BEFORE + AFTER)
