"""Agents on one web process: connect rate, memory per connection, and an idle hold.

N agents' pages connect their websockets to one Daphne process at once (from several client
processes, each keeping many handshakes in flight), the way a reconnect storm does after a web
process restarts. Each client does what the page does: it connects, says hello with the time of the
page it already shows, and counts as connected when the server has answered (a render if anything
changed since, nothing otherwise). Then every socket stays idle for `hold` seconds; any close the
server makes (a 1011 from a Redis read timeout, say) is counted.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import time

import websockets

from .common import agent_socket, cpu_seconds, prepare, rss_mb, start, stop

IN_FLIGHT = 50  # handshakes each client process keeps going at once


def client_process(port: int, sessions: list, since: float, go, out, hold: float) -> None:
    asyncio.run(_clients(port, sessions, since, go, out, hold))


async def _clients(port, sessions, since, go, out, hold) -> None:
    gate = asyncio.Semaphore(IN_FLIGHT)
    sockets = []

    retries = 0

    async def connect(session: str):
        nonlocal retries
        async with gate:
            for attempt in range(30):  # as the page does: a refused or dropped handshake is tried again
                try:
                    ws = await agent_socket(port, session, "?hello=1")
                    break
                except (OSError, websockets.InvalidHandshake, websockets.InvalidMessage, TimeoutError):
                    retries += 1
                    await asyncio.sleep(min(2.0, 0.05 * 2**attempt))
            else:
                return
            await ws.send(json.dumps({"hello": since}))
            try:  # the answer to hello: a render when something changed since, else a short "in sync"
                await asyncio.wait_for(ws.recv(), 60)
            except TimeoutError:
                pass
            sockets.append(ws)

    while not go.is_set():
        await asyncio.sleep(0.01)
    started = time.monotonic()
    await asyncio.gather(*[connect(s) for _, s in sessions])
    out.put(("connected", len(sockets), time.monotonic() - started, retries))
    await asyncio.sleep(hold)
    closes = [ws.close_code for ws in sockets if ws.close_code is not None]
    out.put(("held", len(sockets), closes))
    for ws in sockets:
        await ws.close()


def run(env: dict, scaled: bool, agents: int, hold: float, clients: int = 4) -> dict:
    fixtures = prepare(env, scaled, agents)
    procs, ports = start(env, scaled, web=1, background=False)
    try:
        pid, port = procs[0].pid, ports[0]
        time.sleep(1)
        rss_idle = rss_mb(pid)
        go, out = mp.Event(), mp.Queue()
        since = fixtures["rendered_at"]  # the pages were rendered after the fixtures were written
        slices = [fixtures["sessions"][i::clients] for i in range(clients)]
        workers = [mp.Process(target=client_process, args=(port, part, since, go, out, hold)) for part in slices if part]
        for w in workers:
            w.start()
        time.sleep(2)  # every client process is up before the storm starts
        cpu_before = cpu_seconds([pid])
        go.set()
        connected = [out.get(timeout=600) for _ in workers]
        cpu_connect = cpu_seconds([pid]) - cpu_before
        rss_connected = rss_mb(pid)
        held = [out.get(timeout=hold + 600) for _ in workers]
        for w in workers:
            w.join(60)
    finally:
        stop(procs)
    n = sum(c[1] for c in connected)
    return {
        "agents": n,
        "connect_rate": n / max(c[2] for c in connected),
        "rss": (rss_idle, rss_connected),
        "kb_per_connection": (rss_connected - rss_idle) * 1024 / max(1, n),
        "server_ms_per_connect": cpu_connect * 1000 / max(1, n),
        "retries": sum(c[3] for c in connected),
        "hold": hold,
        "closes": [code for h in held for code in h[2]],
    }
