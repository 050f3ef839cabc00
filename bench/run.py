"""Ringback's realtime benchmark: offer latency beside a bare push baseline, lifecycles per second, connections.

    scripts/bench                       # embedded default: SQLite, in-process layer, one Daphne
    scripts/bench --scaled              # PostgreSQL + Redis: two Daphne processes, a dispatcher, a task worker
    scripts/bench --agents 500 --rate 50 --duration 20

Clients are real HTTP and websocket clients in processes of their own. Agent
sessions are written in bulk the way Django's login stores them (500 password
hashes would take minutes). Each agent's client connects, goes Ready, and on
every offer acknowledges it over the socket (as the page does), clicks Accept
and Mark Done over HTTP. A load generator posts callbacks to the intake API
at a steady rate; each callback carries its send time in the customer's name,
so the agent's client measures API request sent → offer frame received. The
bare baseline is a Daphne app that pushes one frame per POST, measured in the
same run with the same number of sockets and the same rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import websockets

ROOT = Path(__file__).resolve().parents[1]
CSRF = "b" * 32  # a CSRF secret: the client sends it as cookie and header, as a page does
OFFER = re.compile(r'data-offer="(\d+)"')
MARK = re.compile(r"B(\d+)-(\d+)")
DONE = re.compile(r"/interactions/(\d+)/done/")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# --- Set-up -----------------------------------------------------------------------


def environment(scaled: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DJANGO_SETTINGS_MODULE="workspace.settings", PYTHONPATH=str(ROOT), RINGBACK_LOG_LEVEL="WARNING")
    if scaled:
        env.update(
            DATABASE_URL="postgres://postgres@127.0.0.1:5432/ringback_bench",
            REDIS_URL="redis://127.0.0.1:6379/3",
            RINGBACK_CHANNEL_PREFIX="bench",
            RINGBACK_DISPATCHER="external",
            DB_POOL_SIZE="20",
        )
    else:
        var = ROOT / "var" / "bench"
        shutil.rmtree(var, ignore_errors=True)
        var.mkdir(parents=True)
        env.update(RINGBACK_VAR_DIR=str(var), RINGBACK_DISPATCHER="inprocess")
    return env


def prepare(env: dict, scaled: bool, agents: int) -> dict:
    """A fresh database with one queue, `agents` agents with sessions, and an API token."""
    if scaled:
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c", "DROP DATABASE IF EXISTS ringback_bench"],
            check=True,
            capture_output=True,
        )
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c", "CREATE DATABASE ringback_bench"], check=True)
        subprocess.run(["redis-cli", "-n", "3", "FLUSHDB"], check=True, capture_output=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    out = subprocess.run(
        [sys.executable, "-m", "bench.fixtures", str(agents)], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout)


def start(env: dict, scaled: bool) -> tuple[list[subprocess.Popen], list[int]]:
    procs, ports = [], []
    log = open(ROOT / "var" / "bench-servers.log", "wb")
    for _ in range(2 if scaled else 1):
        port = free_port()
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "workspace.asgi:application"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        ports.append(port)
    if scaled:
        for command in (["dispatcher"], ["db_worker", "--queue-name", "*", "--interval", "0.1", "-v0"]):
            procs.append(
                subprocess.Popen([sys.executable, "manage.py", *command], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            )
    for port in ports:
        wait_port(port)
    return procs, ports


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()


# --- The agents' clients (one process each slice) ---------------------------------------


def agent_process(ports, sessions, go, load_done, out) -> None:
    asyncio.run(_agents(ports, sessions, go, load_done, out))


async def _agents(ports, sessions, go, load_done, out) -> None:
    latencies: list[float] = []
    lifecycles = 0
    seen: set[int] = set()
    done: set[int] = set()
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:

        def headers(session: str) -> dict:
            return {"Cookie": f"sessionid={session}; csrftoken={CSRF}", "X-CSRFToken": CSRF, "HX-Request": "true"}

        async def connect(i: int, session: str):
            port = ports[i % len(ports)]
            ws = await websockets.connect(
                f"ws://127.0.0.1:{port}/ws/agent/",
                additional_headers={"Cookie": f"sessionid={session}", "Origin": f"http://127.0.0.1:{port}"},
                open_timeout=60,
                ping_interval=None,
                max_size=None,
            )
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
                    await http.post(f"{base}/offers/{offer_id}/accept/", headers=headers(session))
                for interaction_id in {int(x) for x in DONE.findall(frame)} - done:
                    done.add(interaction_id)
                    r = await http.post(f"{base}/interactions/{interaction_id}/done/", headers=headers(session))
                    if r.status_code in (200, 204):
                        lifecycles += 1

        await asyncio.gather(*[work(port, ws, s) for (port, ws), (_, s) in zip(conns, sessions, strict=True)])
        for _, ws in conns:
            await ws.close()
    out.put(("result", latencies, lifecycles))


# --- The load generator -------------------------------------------------------------------


async def generate(ports: list[int], token: str, rate: float, duration: float) -> tuple[int, list[float]]:
    sent, api_ms = 0, []
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(timeout=30) as http:
        tasks = []
        t0 = time.monotonic()

        async def one(seq: int) -> None:
            body = {"queue": "bench", "phone_number": f"+3361{seq:07d}", "customer_name": f"B{seq}-{int(time.time() * 1000)}"}
            started = time.monotonic()
            r = await http.post(f"http://127.0.0.1:{ports[seq % len(ports)]}/api/v1/callbacks", json=body, headers=headers)
            if r.status_code in (200, 201):
                api_ms.append((time.monotonic() - started) * 1000)

        while time.monotonic() - t0 < duration:
            tasks.append(asyncio.create_task(one(sent)))
            sent += 1
            await asyncio.sleep(max(0.0, t0 + sent / rate - time.monotonic()))
        await asyncio.gather(*tasks)
    return sent, api_ms


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


# --- The run -------------------------------------------------------------------------------


def versions() -> str:
    import channels
    import daphne
    import django

    return f"Python {platform.python_version()}, Django {django.get_version()}, Channels {channels.__version__}, Daphne {daphne.__version__}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scaled", action="store_true", help="PostgreSQL + Redis, two web processes (default: embedded)")
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--rate", type=float, default=10, help="callbacks per second")
    parser.add_argument("--duration", type=float, default=20, help="seconds of load")
    parser.add_argument("--clients", type=int, default=2, help="agent client processes")
    args = parser.parse_args()

    env = environment(args.scaled)
    fixtures = prepare(env, args.scaled, args.agents)
    procs, ports = start(env, args.scaled)
    try:
        web_pid = procs[0].pid
        rss_before = rss_mb(web_pid)
        go, out = mp.Event(), mp.Queue()
        slices = [fixtures["sessions"][i :: args.clients] for i in range(args.clients)]
        load_done = mp.Event()
        clients = [mp.Process(target=agent_process, args=(ports, part, go, load_done, out)) for part in slices if part]
        for c in clients:
            c.start()
        connected = [out.get(timeout=300) for _ in clients]
        connect_seconds = max(c[2] for c in connected)
        rss_after = rss_mb(web_pid)
        go.set()
        for _ in clients:  # everyone Ready, and the pushes of going Ready drained, before the load starts
            out.get(timeout=300)
        sent, api_ms = asyncio.run(generate(ports, fixtures["token"], args.rate, args.duration))
        load_done.set()
        results = [out.get(timeout=args.duration + 120) for _ in clients]
        for c in clients:
            c.join(30)
    finally:
        stop(procs)
    latencies = [x for r in results for x in r[1]]
    lifecycles = sum(r[2] for r in results)
    base = asyncio.run(baseline(min(args.agents, 100), args.rate, min(args.duration, 10)))

    mode = (
        "scaled (PostgreSQL, Redis, 2 Daphne, dispatcher, task worker)"
        if args.scaled
        else "embedded (SQLite, in-process layer, 1 Daphne)"
    )
    rows = [
        ("date", time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())),
        (
            "machine",
            f"{os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, {platform.machine()}",
        ),
        ("versions", versions()),
        ("mode", mode),
        ("load", f"{args.agents} agents, {args.rate:g} callbacks/s for {args.duration:g} s"),
        ("baseline push latency p50 / p95 / p99", f"{pct(base, 50):.1f} / {pct(base, 95):.1f} / {pct(base, 99):.1f} ms"),
        ("offer latency p50 / p95 / p99", f"{pct(latencies, 50):.1f} / {pct(latencies, 95):.1f} / {pct(latencies, 99):.1f} ms"),
        ("offer p50 ÷ baseline p50", f"{pct(latencies, 50) / pct(base, 50):.1f}×" if base and latencies else "—"),
        ("offers seen / callbacks created", f"{len(latencies)} / {sent}"),
        ("lifecycles done (Accept + Mark Done) per second", f"{lifecycles / args.duration:.1f}"),
        ("intake API p50 / p99", f"{pct(api_ms, 50):.1f} / {pct(api_ms, 99):.1f} ms"),
        ("agents connected per second", f"{args.agents / connect_seconds:.0f}"),
        (
            "web process RSS idle → connected",
            f"{rss_before:.0f} → {rss_after:.0f} MB ({(rss_after - rss_before) * 1024 / max(1, args.agents // len(ports)):.0f} KB per connection)",
        ),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"\n{'measure'.ljust(width)} | value\n{'-' * width}-|------")
    for k, v in rows:
        print(f"{k.ljust(width)} | {v}")


if __name__ == "__main__":
    main()
