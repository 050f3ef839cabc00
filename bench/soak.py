"""The soak: the scaled set-up under a random but steady floor for a bounded time, then checked.

    scripts/soak                         20 minutes, 30 agents, about one callback a second
    scripts/soak --minutes 2 --agents 20 --sample 10     the test command's version (tests/test_soak.py)

nginx, two web processes, two dispatchers and two task workers run on PostgreSQL and Redis (`bench.cluster`),
on a database of their own (ringback_soak). Simulated agents (`bench.floor` pages) go Ready and Not Ready,
accept, reject or let offers ring out, call (the simulated switch answers, is busy or does not answer),
hang up, mark done, and log out and back in, each at random; callbacks arrive at random through the API,
some for a few minutes later. When the time is up, intake stops and the floor drains what is left.

Then it checks, and exits 1 if any check fails:
- every callback is in a state of the lifecycle, reached by a path the lifecycle table allows, and its
  history's last state is its state (explained by its history);
- nothing is stuck: no offer rings past its deadline, no interaction is open, no callback due is left
  unworked, reconciliation finds nothing to repair;
- memory is flat: each Ringback process's resident memory, sampled every `--sample` seconds, has a
  least-squares slope under `--max-slope` MB per hour after the warm-up (`--warmup`, by default the first
  quarter of the run, at most 5 minutes: imports, template and connection caches fill up then).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from .cluster import Cluster
from .common import environment, prepare, versions
from .floor import CSRF, DONE, FAILED, OFFER, Floor, Page

CALL = re.compile(r"/interactions/(\d+)/call/")
END = re.compile(r"/interactions/(\d+)/end/")


def slope_per_hour(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) samples, in MB per hour."""
    if len(samples) < 2:
        return 0.0
    n = len(samples)
    mean_t = sum(t for t, _ in samples) / n
    mean_m = sum(m for _, m in samples) / n
    var = sum((t - mean_t) ** 2 for t, _ in samples)
    if var == 0:
        return 0.0
    return sum((t - mean_t) * (m - mean_m) for t, m in samples) / var * 3600


class Soak:
    def __init__(self, args, cluster: Cluster, fixtures: dict):
        self.args, self.cluster = args, cluster
        self.token = fixtures["token"]
        self.rng = random.Random(args.seed)
        self.counts: dict[str, int] = {}
        self.intake_answers: dict[int, int] = {}
        self.memory: dict[str, list[tuple[float, float]]] = {}
        self.started = time.monotonic()
        self.floor = Floor(cluster.url, [s for _, s in fixtures["sessions"]])
        for i, page in enumerate(self.floor.pages):
            page.username = f"bench{i:04d}"
            page.rng = random.Random(args.seed * 1000 + i)

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    # --- The agents ----------------------------------------------------------------------------

    async def on_frame(self, page: Page, frame: str) -> None:
        for offer_id in set(OFFER.findall(frame)) - page.handled:
            page.handled.add(offer_id)
            await page.socket.send(json.dumps({"ack": offer_id}))
            roll = page.rng.random()
            if roll < 0.75:
                asyncio.create_task(self.later(page, page.rng.uniform(0.2, 2.0), f"/offers/{offer_id}/accept/", "accept"))
            elif roll < 0.87:
                asyncio.create_task(self.later(page, page.rng.uniform(0.2, 2.0), f"/offers/{offer_id}/reject/", "reject"))
            else:
                self.count("ring out")
        for interaction_id in set(DONE.findall(frame)):
            key = f"i{interaction_id}"
            if key not in page.handled:
                page.handled.add(key)
                asyncio.create_task(self.work(page, interaction_id, bool(CALL.search(frame))))

    async def later(self, page: Page, delay: float, path: str, what: str) -> None:
        await asyncio.sleep(delay)
        status = await page.click(path)
        self.count(f"{what} {status}")
        if status in FAILED:
            await page.resync()

    async def work(self, page: Page, interaction_id: str, can_call: bool) -> None:
        """Preview, maybe call and hang up, then Mark Done (again after ending a call that was still up)."""
        await asyncio.sleep(page.rng.uniform(0.5, 3.0))
        if can_call and page.rng.random() < 0.6:
            self.count(f"call {await page.click(f'/interactions/{interaction_id}/call/')}")
            await asyncio.sleep(page.rng.uniform(1.0, 5.0))
            self.count(f"end {await page.click(f'/interactions/{interaction_id}/end/')}")
        for _ in range(5):
            status = await page.click(f"/interactions/{interaction_id}/done/")
            self.count(f"done {status}")
            if status in (204, 404):  # done, or gone (done by a retry); a 302 means logged out meanwhile
                return
            await page.click(f"/interactions/{interaction_id}/end/")  # a call still up (or dialling): end it
            await asyncio.sleep(1.0)
        page.handled.discard(f"i{interaction_id}")  # the next frame that shows it tries again

    async def life(self, page: Page) -> None:
        """Breaks and log-outs, at random, until the floor stops."""
        while not self.floor.stopping.is_set():
            await asyncio.sleep(page.rng.uniform(15, 45))
            roll = page.rng.random()
            if roll < 0.6:
                self.count(f"not ready {await page.click('/status/', {'channel': 'voice', 'status': 'not_ready'})}")
                await asyncio.sleep(page.rng.uniform(3, 8))
                self.count(f"ready {await page.click('/status/', {'channel': 'voice', 'status': 'ready'})}")
            elif roll < 0.75:
                await self.log_out_and_in(page)

    async def log_out_and_in(self, page: Page) -> None:
        self.count(f"log out {await page.click('/logout/')}")
        await asyncio.sleep(page.rng.uniform(2, 6))
        http = self.floor.http
        try:
            r = await http.post(
                f"{self.cluster.url}/login/",
                data={"username": page.username, "password": "bench-password", "csrfmiddlewaretoken": CSRF},
                headers={"Cookie": f"csrftoken={CSRF}", "Referer": f"{self.cluster.url}/login/"},
            )
        except httpx.HTTPError:
            self.count("log in failed")
            return
        session = r.cookies.get("sessionid")
        self.count(f"log in {r.status_code}")
        if session:
            page.session = session
            if page.socket is not None:
                await page.socket.close()  # the old session's socket: the page opens one with the new session
            self.count(f"ready {await page.click('/status/', {'channel': 'voice', 'status': 'ready'})}")

    # --- Intake and memory ---------------------------------------------------------------------

    async def intake(self, until: float) -> None:
        n = 0
        while time.monotonic() < until:
            await asyncio.sleep(self.rng.expovariate(self.args.rate))
            n += 1
            body = {"queue": "bench", "phone_number": f"+336{20000000 + n:08d}", "customer_name": f"Soak {n}"}
            if self.rng.random() < 0.15:
                when = datetime.now(UTC) + timedelta(seconds=self.rng.uniform(20, 180))
                body["desired_time"] = when.isoformat()
            try:
                r = await self.floor.http.post(
                    f"{self.cluster.url}/api/v1/callbacks", json=body, headers={"Authorization": f"Bearer {self.token}"}
                )
                status = r.status_code
            except httpx.HTTPError:
                status = 0
            self.intake_answers[status] = self.intake_answers.get(status, 0) + 1

    def sample_memory(self) -> None:
        at = time.monotonic() - self.started
        for name, mb in self.cluster.memory().items():
            self.memory.setdefault(name, []).append((at, mb))

    async def sampler(self) -> None:
        while not self.floor.stopping.is_set():
            self.sample_memory()
            await asyncio.sleep(self.args.sample)

    async def run(self) -> None:
        async with self.floor:
            self.floor.start(self.on_frame)
            lives = [asyncio.create_task(self.life(p)) for p in self.floor.pages]
            sampler = asyncio.create_task(self.sampler())
            await self.intake(time.monotonic() + self.args.minutes * 60)
            self.sample_memory()
            await asyncio.to_thread(self.drain)
            self.floor.stopping.set()
            await asyncio.gather(*lives, sampler, return_exceptions=True)

    def drain(self) -> None:
        """Wait (bounded) until nothing is waiting, ringing or being worked: the scheduled ones fall due first."""
        from callbacks.enums import OPEN_CALLBACK_STATES  # noqa: PLC0415 - Django is set up by main()
        from callbacks.models import CallbackRequest  # noqa: PLC0415

        deadline = time.monotonic() + self.args.drain
        while time.monotonic() < deadline and CallbackRequest.objects.filter(state__in=OPEN_CALLBACK_STATES).exists():
            time.sleep(1)


# --- The checks ------------------------------------------------------------------------------------


def check_callbacks() -> list[str]:
    """Every callback's history replays through the lifecycle table and ends in the callback's state."""
    from callbacks import callbackstate, lifecycle  # noqa: PLC0415
    from callbacks.enums import OPEN_CALLBACK_STATES, InteractionState, OfferOutcome  # noqa: PLC0415
    from callbacks.models import CallbackRequest, HistoryEvent, Interaction, Offer  # noqa: PLC0415

    problems = []
    states: dict[int, list[str]] = {}
    for callback_id, state in (
        HistoryEvent.objects.filter(data__has_key="state").order_by("pk").values_list("callback_id", "data__state")
    ):
        states.setdefault(callback_id, []).append(state)
    for callback in CallbackRequest.objects.all():
        path = states.get(callback.pk, [])
        if not path or path[-1] != callback.state:
            problems.append(f"{callback.reference}: state {callback.state}, history says {path[-1:] or 'nothing'}")
            continue
        before = None
        for state in path:
            if not any(callbackstate.target_of(e, before) == state for e in callbackstate.allowed_events(before)):
                problems.append(f"{callback.reference}: {before} → {state} is not in the lifecycle table")
            before = state
    open_left = CallbackRequest.objects.filter(state__in=OPEN_CALLBACK_STATES, desired_time__lte=datetime.now(UTC))
    problems += [f"{c.reference}: still {c.state} after the drain" for c in open_left.exclude(state="scheduled")]
    late = Offer.objects.filter(outcome=OfferOutcome.OPEN, deadline__lt=datetime.now(UTC) - timedelta(seconds=30))
    problems += [f"offer {o.pk} rings past its deadline" for o in late]
    problems += [f"interaction {i.pk} still open" for i in Interaction.objects.filter(state=InteractionState.OPEN)]
    problems += [f"callback {pk} needs reconciliation" for pk in lifecycle.inconsistent_callbacks()]
    return problems


def summary() -> dict:
    from django.db.models import Count  # noqa: PLC0415

    from callbacks.models import Call, CallbackRequest, HistoryEvent, Offer  # noqa: PLC0415

    by_state = dict(CallbackRequest.objects.values_list("state").annotate(n=Count("pk")))
    offers = dict(Offer.objects.values_list("outcome").annotate(n=Count("pk")))
    calls = dict(Call.objects.values_list("outcome").annotate(n=Count("pk")))
    return {"callbacks": by_state, "offers": offers, "calls": calls, "history rows": HistoryEvent.objects.count()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=20)
    parser.add_argument("--agents", type=int, default=30)
    parser.add_argument("--rate", type=float, default=1.0, help="callbacks per second, on average (Poisson)")
    parser.add_argument("--sample", type=float, default=30, help="seconds between memory samples")
    parser.add_argument("--drain", type=float, default=240, help="at most this many seconds to drain at the end")
    parser.add_argument("--max-slope", type=float, default=20, help="MB per hour a process may grow")
    parser.add_argument("--warmup", type=float, help="seconds of samples left out of the slope (a quarter, at most 300)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--database", default="ringback_soak", help="PostgreSQL database (dropped and made again)")
    parser.add_argument("--redis-db", type=int, default=4, help="Redis database number (emptied)")
    args = parser.parse_args(argv)

    env = environment(scaled=True)
    env.update(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{args.database}",
        REDIS_URL=f"redis://127.0.0.1:6379/{args.redis_db}",
        RINGBACK_CHANNEL_PREFIX=args.database,
        SIM_NO_ANSWER_SECONDS="6",
        RINGBACK_LOG_LEVEL="WARNING",
    )
    fixtures = prepare(env, scaled=True, agents=args.agents)
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "RINGBACK_CHANNEL_PREFIX", "DJANGO_SETTINGS_MODULE")})
    import django  # noqa: PLC0415 - set up for this database only now

    django.setup()
    from callbacks.models import Queue  # noqa: PLC0415

    Queue.objects.filter(slug="bench").update(offer_timeout_seconds=8)
    started = datetime.now(UTC)
    with Cluster(env, Path(tempfile.mkdtemp(prefix="soak-")), webs=2, dispatchers=2, workers=2, log_name="soak") as cluster:
        soak = Soak(args, cluster, fixtures)
        asyncio.run(soak.run())
        alive = {s.name: s.alive for s in cluster.services()}
    problems = check_callbacks()
    problems += [f"{name} died" for name, ok in alive.items() if not ok]
    warmup = args.warmup if args.warmup is not None else min(300.0, args.minutes * 15)
    slopes = {name: slope_per_hour([(t, mb) for t, mb in samples if t >= warmup]) for name, samples in soak.memory.items()}
    problems += [f"{name} grows {s:+.1f} MB/h" for name, s in slopes.items() if s > args.max_slope]
    result = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "versions": versions(),
        "load": f"{args.agents} agents, {args.rate:g} callbacks/s for {args.minutes:g} min",
        "intake": soak.intake_answers,
        "actions": dict(sorted(soak.counts.items())),
        **summary(),
        "memory warm-up (s)": warmup,
        "memory MB (first → last, slope MB/h after the warm-up)": {
            name: f"{samples[0][1]:.0f} → {samples[-1][1]:.0f} ({slopes[name]:+.1f})" for name, samples in soak.memory.items()
        },
        "samples": len(next(iter(soak.memory.values()), [])),
        "problems": problems,
    }
    print(json.dumps(result, indent=2, default=str))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
