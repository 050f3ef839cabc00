"""Ringback's benchmark: realtime latency beside a bare push baseline, throughput, connections, the clock, big history.

    scripts/bench                        # embedded default: SQLite, in-process layer, one Daphne
    scripts/bench --scaled               # PostgreSQL + Redis: two Daphne processes, a dispatcher, a task worker
    scripts/bench --agents 500 --rate 50 --duration 20 --phases latency
    scripts/bench --scaled --phases connect --connect-agents 2000 --hold 600   # the 10-minute idle hold

Phases (all by default, in this order):
  cpu        CPU per lifecycle in one process (median of 150), beside the skeleton floor (bench.cpu)
  latency    offer latency p50/p95/p99 at a steady rate with N agents, beside a bare ASGI push baseline
  ramp       the highest rate whose lifecycles all complete and whose offers keep up (p95 < 1 s): max sustained/s
  connect    N agents connecting to one web process at once: rate, memory per connection, idle hold closes
  scheduled  2,000 scheduled callbacks due within one minute: how late the clock enqueues them
  history    workspace, Team Communicator and contact pages with 1,000,000 history rows: time and queries

The latency, ramp and connect phases run twice, unless --no-floor: on Ringback, then on the skeleton desk
(`bench.skeleton.desk`: the same URLs and markers, the same parts, one trivial statement per step), so each of
Ringback's figures has the floor of a bare Django + Channels design beside it, measured in the same command.

Clients are real HTTP and websocket clients in processes of their own. Agent sessions are written in bulk
the way Django's login stores them (500 password hashes would take minutes). The API client is unthrottled, and
any request refused or failed (a 429, a 409 on Accept, a reset) fails the run: the table is printed, says what
was refused, and the command exits 1.

The table is also written as JSON (--json, by default var/bench-results/<date>-<mode>-<commit>.json) with the
commit, the machine and the settings; `python -m bench.report FILE` prints the same table from it, which is how
the published figures are made.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

from . import connect, history, latency, scheduled
from .common import ROOT, environment, pct, skeleton_environment, versions
from .report import table

PHASES = ("cpu", "latency", "ramp", "connect", "scheduled", "history")
SUSTAINED_P95_MS = 1000


def history_page_name(path: str) -> str:
    if path.startswith("/reports/analytics.csv"):
        return "analytics CSV, a year by day"
    if path.startswith("/reports/analytics/"):
        days = (date.fromisoformat(path.split("to=")[1][:10]) - date.fromisoformat(path.split("from=")[1][:10])).days + 1
        return f"analytics page, {days} days"
    return {"/": "workspace page", "/team/?q=": "Team Communicator"}.get(path, "contact page")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scaled", action="store_true", help="PostgreSQL + Redis, two web processes (default: embedded)")
    parser.add_argument("--phases", default=",".join(PHASES), help=f"comma-separated, of: {', '.join(PHASES)}")
    parser.add_argument("--agents", type=int, default=100, help="agents for latency and ramp")
    parser.add_argument("--rate", type=float, default=10, help="callbacks per second (latency)")
    parser.add_argument("--duration", type=float, default=20, help="seconds of load (latency)")
    parser.add_argument("--clients", type=int, default=2, help="agent client processes")
    parser.add_argument("--ramp", default="5,10,20,40", help="rates tried by the ramp, 10 s each")
    parser.add_argument("--connect-agents", type=int, default=2000)
    parser.add_argument("--hold", type=float, default=20, help="idle hold after connecting, seconds (600: the 10-minute check)")
    parser.add_argument("--scheduled", type=int, default=2000, help="scheduled callbacks")
    parser.add_argument("--window", type=float, default=60, help="seconds over which they fall due")
    parser.add_argument("--history-rows", type=int, default=1_000_000)
    parser.add_argument("--lifecycles", type=int, default=150, help="lifecycles timed by the cpu phase")
    parser.add_argument(
        "--no-floor",
        dest="floor",
        action="store_false",
        help="skip the skeleton desk (bench.skeleton.desk) run beside Ringback in latency, ramp and connect",
    )
    parser.add_argument("--json", type=Path, help="where to write the results (default: var/bench-results/…)")
    args = parser.parse_args()
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    unknown = set(phases) - set(PHASES)
    if unknown:
        parser.error(f"unknown phase(s): {', '.join(sorted(unknown))}")

    env = environment(args.scaled)
    mode = (
        "scaled (PostgreSQL, Redis, 2 Daphne, dispatcher, task worker)"
        if args.scaled
        else "embedded (SQLite, in-process layer, 1 Daphne with the in-process clock and worker)"
    )
    commit = git_commit()
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "commit": commit,
        "machine": f"{os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB,"
        f" {platform.machine()}, {platform.processor() or cpu_model()}",
        "versions": versions(),
        "mode": mode,
        "settings": " ".join(sys.argv[1:]) or "(defaults)",
        "arguments": vars(args) | {"json": str(args.json) if args.json else None},
    }
    rows = [(k, meta[k]) for k in ("date", "commit", "machine", "versions", "mode", "settings")]
    raw: dict = {}
    refused: Counter[str] = Counter()

    if "cpu" in phases:
        ours, floor = cpu_phase("ringback", args.lifecycles), cpu_phase("skeleton", args.lifecycles)
        raw["cpu"] = {"ringback": ours, "skeleton": floor}
        rows += [
            (
                "cpu: Ringback, CPU per lifecycle in one process, median / p90",
                f"{ours['median_ms']:.1f} / {ours['p90_ms']:.1f} ms (median of {ours['lifecycles']})",
            ),
            (
                "cpu: skeleton floor (bare Django + Channels), median / p90",
                f"{floor['median_ms']:.1f} / {floor['p90_ms']:.1f} ms",
            ),
            ("cpu: Ringback ÷ skeleton", f"{ours['median_ms'] / floor['median_ms']:.1f}×"),
            (
                "cpu: statements per lifecycle, Ringback / skeleton",
                f"{ours['statements_per_lifecycle']:.0f} / {floor['statements_per_lifecycle']:.0f}",
            ),
            (
                "cpu: frames pushed per lifecycle, Ringback / skeleton",
                f"{ours['frames_per_lifecycle']:.0f} / {floor['frames_per_lifecycle']:.0f}",
            ),
        ]
        for step, mine in ours["steps"].items():
            bare = floor["steps"].get(step)
            rows.append(
                (
                    f"cpu: step: {step}, CPU / statements, Ringback | skeleton",
                    f"{mine['cpu_ms']:.1f} ms / {mine['statements']:.0f}"
                    + (f" | {bare['cpu_ms']:.1f} ms / {bare['statements']:.0f}" if bare else " | —"),
                )
            )

    targets = [("", env)] + ([("skeleton desk ", skeleton_environment(env))] if args.floor else [])
    if "latency" in phases:
        base = latency.baseline_latencies(args.agents, args.rate, args.duration)
        for label, target_env in targets:
            r = latency.run(target_env, args.scaled, args.agents, args.rate, args.duration, args.clients)
            refused.update({f"{label}{k}": n for k, n in r["refused"].items()})
            raw["latency" + ("_skeleton" if label else "")] = r | {"baseline": base}
            rows += latency_rows(f"latency: {label}", r, base, args)

    if "ramp" in phases:
        for label, target_env in targets:
            best = None
            for rate in [float(x) for x in args.ramp.split(",")]:
                r = latency.run(target_env, args.scaled, args.agents, rate, 10, args.clients)
                refused.update({f"{label}{k}": n for k, n in r["refused"].items()})
                raw.setdefault("ramp" + ("_skeleton" if label else ""), []).append(r | {"rate": rate})
                done = r["lifecycles"]
                # Sustained: everything finished, and offers kept up during the step (a growing backlog shows as
                # offer latency climbing into seconds before the drain).
                sustained = done >= 0.95 * r["sent"] and r["backlog"] == 0 and pct(r["latencies"], 95) < SUSTAINED_P95_MS
                rows.append(
                    (
                        f"ramp: {label}{rate:g} callbacks/s for 10 s",
                        f"{done / 10:.1f} lifecycles/s, {r['backlog']} left over,"
                        f" offer p50 / p95 {pct(r['latencies'], 50):.0f} / {pct(r['latencies'], 95):.0f} ms,"
                        f" CPU per lifecycle {cpu_per_lifecycle(r)}" + ("" if sustained else " — not sustained"),
                    )
                )
                if not sustained:
                    break
                best = done / 10
            rows.append((f"ramp: {label}max sustained lifecycles per second", f"{best:.1f}" if best else "below the first rate"))

    if "connect" in phases:
        for label, target_env in targets:
            r = connect.run(target_env, args.scaled, args.connect_agents, args.hold)
            raw["connect" + ("_skeleton" if label else "")] = r
            closes = r["closes"]
            rows += [
                (f"connect: {label}agents on one web process (handshakes retried)", f"{r['agents']} ({r['retries']})"),
                (
                    f"connect: {label}agents connected per second (web process CPU per connection)",
                    f"{r['connect_rate']:.0f} ({r['server_ms_per_connect']:.1f} ms)",
                ),
                (
                    f"connect: {label}web process RSS idle → connected",
                    f"{r['rss'][0]:.0f} → {r['rss'][1]:.0f} MB ({r['kb_per_connection']:.0f} KB per connection)",
                ),
                (
                    f"connect: {label}closes during a {r['hold']:g} s idle hold",
                    f"{len(closes)}" + (f" (codes {sorted(set(closes))})" if closes else ""),
                ),
            ]

    if "scheduled" in phases:
        r = scheduled.run(env, args.scaled, args.scheduled, args.window)
        p50, p99, worst = r["late"]
        rows += [
            (
                "scheduled: callbacks due",
                f"{r['callbacks']} within {r['window']:g} s ({r['enqueued']} enqueued, {r['waiting']} not)",
            ),
            ("scheduled: lateness p50 / p99 / max", f"{p50:.0f} / {p99:.0f} / {worst:.0f} ms"),
        ]

    if "history" in phases:
        r = history.run(env, args.scaled, args.history_rows)
        rows.append(("history: rows", f"{r['rows']:,} (written in {r['seed_seconds']:.0f} s)"))
        rows.append(("history: callbacks, rollup settled in", f"{r['callbacks']:,}, {r['settle_seconds']:.0f} s"))
        for path, (p50, p95, p99, queries) in r["pages"].items():
            name = history_page_name(path)
            rows.append((f"history: {name} p50 / p95 / p99, queries", f"{p50:.1f} / {p95:.1f} / {p99:.1f} ms, {queries} queries"))

    rows.append(("refused or failed requests", ", ".join(f"{k}: {n}" for k, n in sorted(refused.items())) or "none"))
    results = {"meta": meta, "rows": rows, "refused": dict(refused), "raw": raw}
    path = (
        args.json
        or ROOT
        / "var"
        / "bench-results"
        / f"{time.strftime('%Y%m%d-%H%M', time.gmtime())}-{'scaled' if args.scaled else 'embedded'}-{commit}.json"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1, default=str))
    print(table(results))
    print(f"\nwritten to {path}")
    if refused:
        print(
            f"\nRUN FAILED: {sum(refused.values())} requests were refused or failed ({dict(refused)}): the figures above do not count them.",
            file=sys.stderr,
        )
        sys.exit(1)


def ms3(values) -> str:
    return f"{pct(values, 50):.1f} / {pct(values, 95):.1f} / {pct(values, 99):.1f} ms"


def cpu_per_lifecycle(r: dict) -> str:
    """The servers' CPU + PostgreSQL's per finished lifecycle, and each server process's share."""
    n = max(1, r["lifecycles"])
    each = " / ".join(f"{c * 1000 / n:.0f}" for c in r["cpu_each"])
    return f"{r['cpu'][0] * 1000 / n:.0f} + {r['cpu'][1] * 1000 / n:.0f} ms (per process: {each})"


def latency_rows(prefix: str, r: dict, base: list[float], args) -> list[tuple[str, str]]:
    seen = r["latencies"]
    rss_before, rss_after, webs = r["rss"]
    return [
        (f"{prefix}load", f"{args.agents} agents, {args.rate:g} callbacks/s for {args.duration:g} s"),
        (f"{prefix}bare baseline push p50 / p95 / p99", ms3(base)),
        (f"{prefix}offer p50 / p95 / p99", ms3(seen)),
        (f"{prefix}offer p50 ÷ baseline p50", f"{pct(seen, 50) / pct(base, 50):.1f}×" if base and seen else "—"),
        (f"{prefix}offers seen / callbacks created", f"{len(seen)} / {r['sent']}"),
        (
            f"{prefix}after the run (nothing lost, nobody burned)",
            f"{r['after']['stored']} stored of {r['created']} accepted by the API, {r['backlog']} still waiting; "
            f"offers back unseen {r['after']['not_delivered']}, unanswered {r['after']['timed_out']}; "
            f"agents set Not Ready by a missed offer {r['after']['burned']}",
        ),
        (f"{prefix}lifecycles (Accept + Mark Done) per second", f"{r['lifecycles'] / args.duration:.1f}"),
        (f"{prefix}intake API p50 / p99", f"{pct(r['api_ms'], 50):.1f} / {pct(r['api_ms'], 99):.1f} ms"),
        (
            f"{prefix}CPU per lifecycle, {'the skeleton' if 'skeleton' in prefix else 'Ringback'}'s processes + PostgreSQL",
            cpu_per_lifecycle(r),
        ),
        (f"{prefix}web process RSS idle → connected", f"{rss_before:.0f} → {rss_after:.0f} MB with {args.agents // webs} agents"),
    ]


def cpu_phase(kind: str, lifecycles: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.cpu", kind, str(lifecycles)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
    )
    if out.returncode != 0:
        raise SystemExit(f"bench.cpu {kind} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def git_commit() -> str:
    """The commit measured, with "+changes" when the work tree differs from it."""
    head = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return (head or "unknown") + ("+changes" if dirty else "")


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown processor"


if __name__ == "__main__":
    main()
