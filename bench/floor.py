"""Simulated agents' pages, as a browser runs them: a websocket that reconnects whenever it drops (after a
restarted process, a Redis outage, nginx sending it elsewhere), and clicks over HTTP through nginx.

`Floor.diligent` agents acknowledge every offer, Accept it and Mark it Done: the fault tests count on every
callback ending Completed exactly once. The soak's agents (`bench.soak`) choose at random instead.
"""

from __future__ import annotations

import asyncio
import json
import random
import re

import httpx
import websockets

CSRF = "f" * 32
OFFER = re.compile(r'data-offer="(\d+)"')
DONE = re.compile(r"/interactions/(\d+)/done/")
FAILED = (0, 502, 503, 504)  # the request did not reach a live process, or its database: the page resyncs


class Page:
    """One agent's browser tab: its session, its socket and what its last frames showed."""

    def __init__(self, floor: Floor, session: str, name: str = ""):
        self.floor, self.session, self.name = floor, session, name
        self.connects = 0
        self.frames = 0
        self.handled: set[str] = set()
        self.socket = None
        self.behaviour = None  # what it does with a frame; the floor's default when None
        self.username = ""  # to log in again (the soak's agents log out and back in)
        self.rng = random.Random(0)

    def headers(self) -> dict:
        return {"Cookie": f"sessionid={self.session}; csrftoken={CSRF}", "X-CSRFToken": CSRF, "HX-Request": "true"}

    async def click(self, path: str, data: dict | None = None) -> int:
        """POST as htmx does; the status code, or 0 when nothing answered."""
        try:
            r = await self.floor.http.post(f"{self.floor.base}{path}", data=data, headers=self.headers())
        except httpx.HTTPError:
            self.floor.answers[0] = self.floor.answers.get(0, 0) + 1
            return 0
        self.floor.answers[r.status_code] = self.floor.answers.get(r.status_code, 0) + 1
        return r.status_code

    async def resync(self) -> None:
        """After a failed click the page asks its socket for the truth again."""
        if self.socket is not None:
            try:
                await self.socket.send("{}")
            except websockets.ConnectionClosed:
                pass

    async def run(self, on_frame) -> None:
        """Keep a socket open until the floor stops, calling `on_frame(page, frame)` (or the page's own
        behaviour) for each frame."""
        on_frame = self.behaviour or on_frame
        ws_url = self.floor.base.replace("http", "ws", 1) + "/ws/agent/"
        while not self.floor.stopping.is_set():
            headers = {"Cookie": f"sessionid={self.session}", "Origin": self.floor.base}  # the session may change
            try:
                async with websockets.connect(ws_url, additional_headers=headers, open_timeout=10, ping_interval=None) as ws:
                    self.socket = ws
                    self.connects += 1
                    self.handled = set()  # a fresh page acts on what its first render shows
                    await self.floor.on_connect(self)
                    while not self.floor.stopping.is_set():
                        try:
                            frame = await asyncio.wait_for(ws.recv(), 0.5)
                        except TimeoutError:
                            continue
                        self.frames += 1
                        await on_frame(self, frame)
            except (OSError, websockets.InvalidHandshake, websockets.ConnectionClosed, TimeoutError):
                self.socket = None
                await asyncio.sleep(self.floor.backoff)  # the page's reconnect back-off, shortened


async def sleepy(page: Page, frame: str) -> None:
    """Show each offer (acknowledge it) and never answer it: it rings until its time runs out."""
    for offer_id in set(OFFER.findall(frame)) - page.handled:
        page.handled.add(offer_id)
        await page.socket.send(json.dumps({"ack": offer_id}))


async def diligent(page: Page, frame: str) -> None:
    """Acknowledge, Accept and Mark Done whatever the frame offers or shows."""
    for offer_id in set(OFFER.findall(frame)):
        if f"o{offer_id}" in page.handled:
            continue
        page.handled.add(f"o{offer_id}")
        await page.socket.send(json.dumps({"ack": offer_id}))
        if await page.click(f"/offers/{offer_id}/accept/") in FAILED:
            page.floor.failed_clicks += 1
            page.handled.discard(f"o{offer_id}")
            await page.resync()
    for interaction_id in set(DONE.findall(frame)):
        if f"i{interaction_id}" in page.handled:
            continue
        page.handled.add(f"i{interaction_id}")
        if await page.click(f"/interactions/{interaction_id}/done/") in FAILED:
            page.floor.failed_clicks += 1
            page.handled.discard(f"i{interaction_id}")
            await page.resync()


class Floor:
    """The agents' pages of one run, sharing one HTTP client."""

    def __init__(self, base: str, sessions: list[str], backoff: float = 0.3):
        self.base = base
        self.backoff = backoff
        self.pages = [Page(self, s, f"agent{i}") for i, s in enumerate(sessions)]
        self.stopping = asyncio.Event()
        self.failed_clicks = 0
        self.answers: dict[int, int] = {}
        self.http: httpx.AsyncClient | None = None
        self.tasks: list[asyncio.Task] = []

    async def on_connect(self, page: Page) -> None:
        """Every agent goes Ready when their page first opens; a reconnecting page changes nothing."""
        if page.connects == 1 and await page.click("/status/", {"channel": "voice", "status": "ready"}) in FAILED:
            await page.resync()

    @property
    def connects(self) -> int:
        return sum(p.connects for p in self.pages)

    async def __aenter__(self) -> Floor:
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        self.http = httpx.AsyncClient(timeout=30, limits=limits)
        return self

    def start(self, on_frame=diligent) -> None:
        self.tasks = [asyncio.create_task(p.run(on_frame)) for p in self.pages]

    async def __aexit__(self, *exc) -> None:
        self.stopping.set()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.http.aclose()


async def until(condition, timeout: float, what: str, interval: float = 0.2) -> None:
    """Wait, without blocking the floor's loop, until `condition()` (run on a thread) holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await asyncio.to_thread(condition):
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(interval)
