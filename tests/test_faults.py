"""Faults on the scaled set-up, as real processes (`bench.cluster`): nginx, two Daphnes, dispatchers and a
task worker on PostgreSQL and Redis, with simulated agents' pages (`bench.floor`) that only know nginx.

Each test breaks one part while callbacks flow, lets it come back, and then asserts that no callback was
lost (every request the API took exists), duplicated (one callback per request, one interaction each) or
stuck (all ended Completed, no offer still rings, no agent is left with work, and reconciliation finds
nothing to repair):
- a dispatcher SIGKILLed mid-offer, and the task worker SIGKILLed in the middle of a webhook call;
- Redis stopped and started again (empty: it keeps nothing on disk);
- PostgreSQL unreachable for a few seconds (through a proxy that resets and refuses connections);
- a web process SIGKILLed and started again.
"""

import asyncio
import http.server
import os
import shutil
import threading
import time

import httpx
import pytest
from django.db import connections

from bench.cluster import NGINX, REDIS_SERVER, Cluster
from bench.floor import Floor, sleepy, until
from callbacks import lifecycle
from callbacks.enums import AgentStatus, CallbackState, EffectKind, EffectStatus, InteractionState, OfferOutcome
from callbacks.lifecycle.webhooks import changes_after
from callbacks.models import (
    WEBHOOK_EVENTS,
    AgentChannelStatus,
    ApiClient,
    CallbackRequest,
    Effect,
    Interaction,
    Offer,
    WebhookSubscription,
)

from .factories import database_url, make_agent, make_api_client, make_queue, numbers, session_key_for

pytestmark = [
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="the scaled set-up runs on PostgreSQL and Redis"),
    pytest.mark.skipif(not shutil.which(NGINX), reason="scripts/test installs Debian's nginx in scaled mode"),
    pytest.mark.skipif(not shutil.which(REDIS_SERVER), reason="the Redis fault runs a private redis-server"),
]

AGENTS = 4


def db(fn):
    """Run `fn` on a helper thread's own connection, and close it (the floor's loop polls from threads)."""

    def run():
        try:
            return fn()
        finally:
            connections.close_all()

    return run


@pytest.fixture
def cluster_of(transactional_db, tmp_path):
    started: list[Cluster] = []

    def build(**options) -> Cluster:
        env = dict(
            os.environ,
            DATABASE_URL=database_url(),
            DB_POOL_SIZE="10",
            RINGBACK_LOG_LEVEL="WARNING",
            RINGBACK_WEBHOOK_ALLOW_PRIVATE="1",  # the receiver is on 127.0.0.1
        )
        env.update(options.pop("env", {}))
        cluster = Cluster(env, tmp_path, log_name="faults", **options)
        started.append(cluster)
        return cluster.start()

    yield build
    for cluster in started:
        cluster.stop()


class Receiver(http.server.ThreadingHTTPServer):
    """An API client's webhook endpoint: records each delivery's key; with `hang_first`, the first call never
    gets an answer (the worker making it is killed meanwhile)."""

    def __init__(self, hang_first: bool):
        self.deliveries: list[str] = []
        self.hang_first = hang_first
        self.hanging = threading.Event()
        super().__init__(("127.0.0.1", 0), ReceiverHandler)
        self.url = f"http://127.0.0.1:{self.server_port}/hook"
        threading.Thread(target=self.serve_forever, daemon=True).start()


class ReceiverHandler(http.server.BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self):  # noqa: N802 - the standard library's name
        self.rfile.read(int(self.headers["Content-Length"]))
        self.server.deliveries.append(self.headers["X-Ringback-Delivery"])
        if self.server.hang_first and not self.server.hanging.is_set():
            self.server.hanging.set()
            time.sleep(30)
            return
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook_receiver():
    receivers: list[Receiver] = []

    def start(hang_first: bool = False) -> Receiver:
        receivers.append(Receiver(hang_first))
        return receivers[-1]

    yield start
    for receiver in receivers:
        receiver.shutdown()


def floor_for(queue, n: int = AGENTS) -> list[str]:
    return [session_key_for(make_agent(f"agent{i}", queue).user) for i in range(n)]


class Intake:
    """Callbacks through the public API, through nginx; a refused request (503) is retried after Retry-After,
    as the API's clients are told to."""

    def __init__(self, cluster: Cluster, queue: str):
        self.url = f"{cluster.url}/api/v1/callbacks"
        self.queue = queue
        _, self.token = make_api_client()
        self.created: list[str] = []
        self.refused: list[int] = []

    async def create(self, http: httpx.AsyncClient, phone: str, retry: bool = True) -> int:
        while True:
            r = await http.post(
                self.url,
                json={"queue": self.queue, "phone_number": phone, "customer_name": "Through a fault"},
                headers={"Authorization": f"Bearer {self.token}", "Idempotency-Key": f"fault-{phone}"},
            )
            if r.status_code in (200, 201):  # 200: a retry whose first try did commit, replayed by its key
                reference = r.json()["reference"]
                if reference not in self.created:
                    self.created.append(reference)
                return r.status_code
            assert r.status_code == 503 and r.headers.get("Retry-After"), (r.status_code, r.text[:300])
            self.refused.append(r.status_code)
            if not retry:
                return r.status_code
            await asyncio.sleep(0.5)


def completed() -> int:
    return CallbackRequest.objects.filter(state=CallbackState.COMPLETED).count()


def assert_nothing_lost_duplicated_or_stuck(references: list[str]) -> None:
    assert len(references) == len(set(references))
    callbacks = CallbackRequest.objects.all()
    assert sorted(callbacks.values_list("reference", flat=True)) == sorted(references), "one callback per request taken"
    assert set(callbacks.values_list("state", flat=True)) == {CallbackState.COMPLETED}
    per_callback = [Interaction.objects.filter(callback=c).count() for c in callbacks]
    assert per_callback == [1] * len(references), "each callback was worked once"
    assert not Offer.objects.filter(outcome=OfferOutcome.OPEN).exists(), "no offer still rings"
    assert not Interaction.objects.filter(state=InteractionState.OPEN).exists(), "no agent is left with open work"
    assert lifecycle.inconsistent_callbacks() == [], "reconciliation finds nothing to repair"


async def feed(intake: Intake, http, phones: list[str], gap: float = 0.15) -> None:
    for phone in phones:
        await intake.create(http, phone)
        await asyncio.sleep(gap)


async def flowing(floor: Floor, intake: Intake, http, phones: list[str]) -> None:
    """The floor at work before the fault: every page connected, `phones` called in and all completed."""
    floor.start()
    await until(lambda: floor.connects >= AGENTS, 30, "every agent connected")
    await feed(intake, http, phones)
    await until(db(lambda: completed() == len(phones)), 60, "the first callbacks completed")


def test_dispatcher_killed_mid_offer_and_worker_killed_mid_webhook(cluster_of, webhook_receiver):
    """Both dispatchers die while offers ring (one agent lets them ring): a dispatcher started later times the
    offers out and the callbacks reach the other agents. The worker dies while a webhook call hangs: after the
    effect's lease, a new worker performs it again with the same delivery key, and it ends Done."""
    receiver = webhook_receiver(hang_first=True)
    queue = make_queue("sales", offer_timeout_seconds=3)
    sessions = floor_for(queue)
    cluster = cluster_of(env={"RINGBACK_EFFECT_LEASE_SECONDS": "6", "RINGBACK_EFFECT_STALE_SECONDS": "1"})
    intake = Intake(cluster, "sales")
    subscribe_every_client(receiver.url)
    phones = numbers(12)

    async def scenario():
        async with Floor(cluster.url, sessions) as floor, httpx.AsyncClient(timeout=30) as http:
            floor.pages[0].behaviour = sleepy  # lets its offers ring out
            floor.start()
            await until(lambda: floor.connects >= AGENTS, 30, "every agent connected")
            await feed(intake, http, phones[:1])
            await until(receiver.hanging.is_set, 30, "the first webhook call in flight")
            for worker in cluster.workers:
                worker.kill()
            await feed(intake, http, phones[1:6])
            await until(
                db(lambda: Offer.objects.filter(outcome=OfferOutcome.OPEN, agent__user__username="agent0").exists()),
                30,
                "an offer ringing at the sleepy desk",
            )
            for dispatcher in cluster.dispatchers:
                dispatcher.kill()
            await feed(intake, http, phones[6:])
            await asyncio.sleep(1)
            cluster.dispatchers[0].start()
            cluster.workers[0].start()
            await until(db(lambda: completed() == len(phones)), 90, "every callback completed")
            # Webhooks are queued from the history by the clock a moment after each change: wait for both.
            await until(db(webhooks_settled), 60, "every state change queued as a webhook and delivered")

    asyncio.run(scenario())
    assert_nothing_lost_duplicated_or_stuck(intake.created)
    webhooks = Effect.objects.filter(kind=EffectKind.WEBHOOK)
    assert set(webhooks.values_list("status", flat=True)) == {EffectStatus.DONE}
    first = receiver.deliveries[0]
    assert receiver.deliveries.count(first) == 2, "the call the dead worker left was made again, with the same delivery key"
    assert webhooks.get(key=first).attempts == 2


def test_redis_stopped_and_started_again(cluster_of):
    """While Redis is down, HTTP keeps working (the workspace, the status, the API take requests) and
    /readyz says what is wrong; once Redis is back (empty), the agents' pages reconnect and pushes flow by
    themselves, and every callback taken before, during and after is worked once."""
    queue = make_queue("sales", offer_timeout_seconds=20)
    sessions = floor_for(queue)
    bystander = session_key_for(make_agent("bystander", queue).user)  # logged in, not at the floor's pages
    cluster = cluster_of(redis=True)
    intake = Intake(cluster, "sales")
    phones = numbers(14)
    during: list[tuple[str, int]] = []

    async def scenario():
        async with Floor(cluster.url, sessions) as floor, httpx.AsyncClient(timeout=30) as http:
            await flowing(floor, intake, http, phones[:5])
            connects = floor.connects
            cluster.redis.stop()
            async with httpx.AsyncClient(timeout=30, cookies={"sessionid": bystander, "csrftoken": "f" * 32}) as desk:
                page = await desk.get(f"{cluster.url}/")
                during.append(("workspace", page.status_code))
                status = await desk.post(
                    f"{cluster.url}/status/",
                    data={"channel": "voice", "status": "not_ready"},
                    headers={"X-CSRFToken": "f" * 32, "HX-Request": "true"},
                )
                during.append(("status", status.status_code))
            ready = await http.get(f"{cluster.url}/readyz")
            during.append(("readyz", ready.status_code))
            during.append(("readyz says", "redis" in ready.text.lower() or "cache" in ready.text.lower()))
            for phone in phones[5:9]:
                during.append(("api", await intake.create(http, phone, retry=False)))
            await asyncio.sleep(2)
            cluster.redis.start().wait_ready()
            await feed(intake, http, phones[9:])
            await until(db(lambda: completed() == len(phones)), 90, "every callback completed")
            assert floor.connects > connects, "the pages reconnected by themselves"

    asyncio.run(scenario())
    assert during == [
        ("workspace", 200),
        ("status", 204),
        ("readyz", 503),
        ("readyz says", True),
        *[("api", 201)] * 4,
    ]
    assert_nothing_lost_duplicated_or_stuck(intake.created)
    bystander_status = AgentChannelStatus.objects.get(agent__user__username="bystander", channel="voice").status
    assert bystander_status == AgentStatus.NOT_READY, "the click taken while Redis was down was kept"


def subscribe_every_client(url: str) -> None:
    for api_client in ApiClient.objects.all():
        WebhookSubscription.objects.create(api_client=api_client, url=url, events=list(WEBHOOK_EVENTS))


def webhooks_settled() -> bool:
    """Every webhook's changes are queued (its cursor is at the last one) and no effect is still pending."""
    unqueued = any(changes_after(subscription, 1).exists() for subscription in WebhookSubscription.objects.all())
    return not unqueued and not Effect.objects.filter(status=EffectStatus.PENDING).exists()


def test_postgres_unreachable_for_a_few_seconds(cluster_of, webhook_receiver):
    """The servers' connections to PostgreSQL are reset and new ones refused for a few seconds: every request
    answers 503 with Retry-After (never 500: the workspace, a click, the API, /readyz), /healthz still says the
    process is alive, and once the database is back everything recovers by itself; the API's clients retry
    the refused requests with their Idempotency-Key, and each becomes one callback."""
    queue = make_queue("sales", offer_timeout_seconds=20)
    sessions = floor_for(queue)
    bystander = session_key_for(make_agent("bystander", queue).user)
    cluster = cluster_of(db_proxy=True, env={"DB_POOL_TIMEOUT": "3"})
    intake = Intake(cluster, "sales")
    receiver = webhook_receiver()
    subscribe_every_client(receiver.url)
    phones = numbers(14)
    during: dict[str, set] = {}

    def seen(what: str, r: httpx.Response) -> None:
        retry = r.headers.get("Retry-After", "")
        during.setdefault(what, set()).add((r.status_code, retry.isdigit()))

    async def scenario():
        async with Floor(cluster.url, sessions) as floor, httpx.AsyncClient(timeout=30) as http:
            await flowing(floor, intake, http, phones[:5])
            cluster.db_proxy.pause()
            headers = {"X-CSRFToken": "f" * 32, "HX-Request": "true"}
            async with httpx.AsyncClient(timeout=30, cookies={"sessionid": bystander, "csrftoken": "f" * 32}) as desk:
                # All at once, twice each (a reset connection, then a refused one): the outage lasts seconds.
                answers = await asyncio.gather(
                    *[desk.get(f"{cluster.url}/") for _ in range(2)],
                    *[
                        desk.post(f"{cluster.url}/status/", data={"channel": "voice", "status": "not_ready"}, headers=headers)
                        for _ in range(2)
                    ],
                    http.get(f"{cluster.url}/readyz"),
                    http.get(f"{cluster.url}/healthz"),
                    *[intake.create(http, phone, retry=False) for phone in phones[5:8]],
                )
            for what, answer in zip(["workspace"] * 2 + ["click"] * 2 + ["readyz", "healthz"], answers, strict=False):
                seen(what, answer)
            await asyncio.sleep(3)
            cluster.db_proxy.resume()
            await feed(intake, http, phones[5:])  # the refused three again (same keys), then the rest
            await until(db(lambda: completed() == len(phones)), 90, "every callback completed")
            # Webhooks are queued from the history by the clock a moment after each change: wait for both.
            await until(db(webhooks_settled), 60, "every state change queued as a webhook and delivered")
            assert 500 not in floor.answers, floor.answers

    asyncio.run(scenario())
    assert during == {
        "workspace": {(503, True)},
        "click": {(503, True)},
        "readyz": {(503, True)},
        "healthz": {(200, False)},
    }
    assert intake.refused == [503] * 3
    assert_nothing_lost_duplicated_or_stuck(intake.created)
    assert [s.name for s in cluster.services() if not s.alive] == [], "every process outlived the outage"
    webhooks = Effect.objects.filter(kind=EffectKind.WEBHOOK)
    assert set(webhooks.values_list("status", flat=True)) == {EffectStatus.DONE}
    # Each state change is told, under its own idempotency key. A delivery whose acknowledgement the outage swallowed
    # (sent, then the database went before the worker could mark it done) is sent again with the same key: webhooks
    # are at least once, and the receiver drops the repeat by its key.
    keys = sorted(webhooks.values_list("key", flat=True))
    assert sorted(set(receiver.deliveries)) == keys, "each state change told"
    assert len(receiver.deliveries) - len(keys) <= 2, "a repeat only for a delivery the outage cut short"
