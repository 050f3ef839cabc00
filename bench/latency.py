"""Offer latency beside a bare push baseline, and lifecycles per second.

Each agent's client connects, goes Ready, and on every offer acknowledges it over the socket (as the page
does), clicks Accept and Mark Done over HTTP. A load generator posts callbacks to the intake API at a
steady rate; each callback carries its send time in the customer's name, so the agent's client measures
API request sent → offer frame received. The bare baseline is a Daphne app that pushes one frame per
POST, measured in the same run with the same number of sockets and the same rate.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import re
import subprocess
import sys
import time
from collections import Counter

import httpx
import websockets

from .common import (
    CSRF,
    ROOT,
    agent_socket,
    cpu_seconds,
    free_port,
    is_skeleton,
    postgres_pids,
    prepare,
    rss_mb,
    start,
    stop,
    wait_port,
)

OFFER = re.compile(r'data-offer="(\d+)"')
MARK = re.compile(r"B(\d+)-(\d+)")
DONE = re.compile(r"/interactions/(\d+)/done/")


# --- The agents' clients (one process each slice) ---------------------------------------


def agent_process(ports, sessions, go, load_done, out) -> None:
    asyncio.run(_agents(ports, sessions, go, load_done, out))


async def _agents(ports, sessions, go, load_done, out) -> None:
    latencies: list[float] = []
    lifecycles = 0
    refused: Counter[str] = Counter()  # "Accept 409": how many; any entry fails the run
    seen: set[int] = set()
    done: set[int] = set()
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:

        def headers(session: str) -> dict:
            return {"Cookie": f"sessionid={session}; csrftoken={CSRF}", "X-CSRFToken": CSRF, "HX-Request": "true"}

        async def connect(i: int, session: str):
            port = ports[i % len(ports)]
            ws = await agent_socket(port, session)
            await ws.recv()  # the first full render
            return port, ws

        started = time.monotonic()
        conns = await asyncio.gather(*[connect(i, s) for i, (_, s) in enumerate(sessions)])
        out.put(("connected", len(conns), time.monotonic() - started))
        while not go.is_set():
            await asyncio.sleep(0.05)

        async def ready(port: int, session: str) -> None:
            r = await http.post(
                f"http://127.0.0.1:{port}/status/", data={"channel": "voice", "status": "ready"}, headers=headers(session)
            )
            assert r.status_code in (200, 204), r.status_code

        await asyncio.gather(*[ready(port, s) for (port, _), (_, s) in zip(conns, sessions, strict=True)])
        for _, ws in conns:  # the status pushes of going Ready
            while True:
                try:
                    await asyncio.wait_for(ws.recv(), timeout=0.5)
                except (TimeoutError, websockets.ConnectionClosed):
                    break
        out.put(("ready", len(conns), 0.0))

        async def work(port: int, ws, session: str) -> None:
            nonlocal lifecycles
            base = f"http://127.0.0.1:{port}"
            idle_since = time.monotonic()
            while True:
                try:
                    frame = await asyncio.wait_for(ws.recv(), timeout=1)
                except TimeoutError:
                    if load_done.is_set() and time.monotonic() - idle_since > 5:
                        break  # the load is over and nothing more comes
                    continue
                except websockets.ConnectionClosed:
                    break
                idle_since = time.monotonic()
                now = time.time()
                for offer_id in {int(x) for x in OFFER.findall(frame)} - seen:
                    seen.add(offer_id)
                    mark = MARK.search(frame)
                    if mark:
                        latencies.append(now * 1000 - int(mark.group(2)))
                    await ws.send(json.dumps({"ack": str(offer_id)}))
                    r = await http.post(f"{base}/offers/{offer_id}/accept/", headers=headers(session))
                    if r.status_code not in (200, 204):
                        refused[f"Accept {r.status_code}"] += 1
                for interaction_id in {int(x) for x in DONE.findall(frame)} - done:
                    done.add(interaction_id)
                    r = await http.post(f"{base}/interactions/{interaction_id}/done/", headers=headers(session))
                    if r.status_code in (200, 204):
                        lifecycles += 1
                    else:
                        refused[f"Mark Done {r.status_code}"] += 1

        await asyncio.gather(*[work(port, ws, s) for (port, ws), (_, s) in zip(conns, sessions, strict=True)])
        for _, ws in conns:
            await ws.close()
    out.put(("result", latencies, lifecycles, refused))


# --- The load generator -------------------------------------------------------------------


async def generate(ports: list[int], token: str, rate: float, duration: float) -> tuple[int, list[float], dict[str, int]]:
    """Callbacks at `rate` per second; the API's answer times, and every answer that was not a success, by status."""
    sent, api_ms, refused = 0, [], Counter()
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(timeout=30) as http:
        tasks = []
        t0 = time.monotonic()

        async def one(seq: int) -> None:
            body = {"queue": "bench", "phone_number": f"+3361{seq:07d}", "customer_name": f"B{seq}-{int(time.time() * 1000)}"}
            started = time.monotonic()
            try:
                r = await http.post(f"http://127.0.0.1:{ports[seq % len(ports)]}/api/v1/callbacks", json=body, headers=headers)
            except httpx.HTTPError as exc:
                refused[f"intake {type(exc).__name__}"] += 1
                return
            if r.status_code in (200, 201):
                api_ms.append((time.monotonic() - started) * 1000)
            else:
                refused[f"intake {r.status_code}"] += 1

        while time.monotonic() - t0 < duration:
            tasks.append(asyncio.create_task(one(sent)))
            sent += 1
            await asyncio.sleep(max(0.0, t0 + sent / rate - time.monotonic()))
        await asyncio.gather(*tasks)
    return sent, api_ms, refused


# --- The bare baseline ---------------------------------------------------------------------


async def baseline(sockets: int, rate: float, duration: float) -> list[float]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "bench.baseline:application"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port)
        conns = [await websockets.connect(f"ws://127.0.0.1:{port}/ws/{i}", ping_interval=None) for i in range(sockets)]
        latencies: list[float] = []

        async def read(ws) -> None:
            async for frame in ws:
                latencies.append(time.time() * 1000 - float(frame))

        readers = [asyncio.create_task(read(ws)) for ws in conns]
        async with httpx.AsyncClient(timeout=30) as http:
            t0, sent = time.monotonic(), 0
            while time.monotonic() - t0 < duration:
                await http.post(f"http://127.0.0.1:{port}/push/{sent % sockets}", content=str(time.time() * 1000))
                sent += 1
                await asyncio.sleep(max(0.0, t0 + sent / rate - time.monotonic()))
        await asyncio.sleep(0.5)
        for ws in conns:
            await ws.close()
        for r in readers:
            r.cancel()
        return latencies
    finally:
        proc.terminate()
        proc.wait(10)


# --- One steady-rate run -------------------------------------------------------------------


def run(env: dict, scaled: bool, agents: int, rate: float, duration: float, clients: int = 2) -> dict:
    """A fresh database, the servers, `agents` clients, callbacks at `rate` per second for `duration` s."""
    fixtures = prepare(env, scaled, agents)
    procs, ports = start(env, scaled)
    try:
        web_pid = procs[0].pid
        rss_before = rss_mb(web_pid)
        go, out, load_done = mp.Event(), mp.Queue(), mp.Event()
        slices = [fixtures["sessions"][i::clients] for i in range(clients)]
        workers = [mp.Process(target=agent_process, args=(ports, part, go, load_done, out)) for part in slices if part]
        for w in workers:
            w.start()
        connected = [out.get(timeout=300) for _ in workers]
        connect_seconds = max(c[2] for c in connected)
        rss_after = rss_mb(web_pid)
        go.set()
        for _ in workers:  # everyone Ready, and the pushes of going Ready drained, before the load starts
            out.get(timeout=300)
        ours = [p.pid for p in procs]
        cpu_before = (cpu_seconds(ours), cpu_seconds(postgres_pids()) if scaled else 0.0)
        each_before = [cpu_seconds([pid]) for pid in ours]
        sent, api_ms, refused = asyncio.run(generate(ports, fixtures["token"], rate, duration))
        load_done.set()
        results = [out.get(timeout=duration + 120) for _ in workers]
        cpu_after = (cpu_seconds(ours), cpu_seconds(postgres_pids()) if scaled else 0.0)
        each = [cpu_seconds([pid]) - before for pid, before in zip(ours, each_before, strict=True)]
        for w in workers:
            w.join(30)
        after = aftermath(env)
    finally:
        stop(procs)
    latencies = [x for r in results for x in r[1]]
    for r in results:
        refused.update(r[3])
    return {
        "refused": refused,
        "sent": sent,
        "latencies": latencies,
        "lifecycles": sum(r[2] for r in results),
        "api_ms": api_ms,
        "connect_rate": agents / connect_seconds,
        "rss": (rss_before, rss_after, len(ports)),
        "backlog": after["backlog"],
        "after": after,
        "created": len(api_ms),
        "cpu": (cpu_after[0] - cpu_before[0], cpu_after[1] - cpu_before[1]),
        "cpu_each": each,  # web processes, then (scaled) the dispatcher and the task worker
    }


SKELETON_AFTERMATH = """
import json, django
django.setup()
from bench.skeleton.models import Call
print(json.dumps({
    "backlog": Call.objects.exclude(state="done").count(),
    "stored": Call.objects.count(),
    "not_delivered": 0,
    "timed_out": 0,
    "burned": 0,
}))
"""

AFTERMATH = """
import json, django
django.setup()
from callbacks.models import CallbackRequest as C, Offer as O, AgentChannelStatus as S, HistoryEvent as H
print(json.dumps({
    "backlog": C.objects.exclude(state="completed").count(),
    "stored": C.objects.count(),
    "not_delivered": O.objects.filter(outcome="not_delivered").count(),
    "timed_out": O.objects.filter(outcome="timed_out").count(),
    "burned": S.objects.filter(status="not_ready", reason__system="missed_offer").count(),
}))
"""


def aftermath(env: dict) -> dict:
    """What the run left: callbacks not completed (a backlog, kept in the database), callbacks stored, offers that
    went back unseen or unanswered, and agents set Not Ready by a missed offer."""
    script = SKELETON_AFTERMATH if is_skeleton(env) else AFTERMATH  # the skeleton never withdraws an offer
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def baseline_latencies(agents: int, rate: float, duration: float) -> list[float]:
    return asyncio.run(baseline(min(agents, 100), rate, min(duration, 10)))
