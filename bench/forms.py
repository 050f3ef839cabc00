"""Which form of request cycle and consumer costs least per lifecycle: `python -m bench.forms [--rounds N] [--json F]`.

Deliverable 5 of the realtime-cost issue: "measure async views and async consumer rendering for the hot endpoints,
and keep the form that costs less CPU per lifecycle". The same lifecycle (`bench.cpu`: create, offer pushed and
acknowledged, Accept and its push, Mark Done and its push) is timed in one process in each form, the forms taking
turns round after round so that a slower minute of the machine falls on all of them:

- skeleton one-thread: the whole middleware chain and the sync view in one thread per request (Ringback's form);
- skeleton chain: Django's default under ASGI, where each middleware hook is a thread hand-off before the view's;
- skeleton async: async views (`request.auser()`, `aupdate`, the push awaited), and a consumer that reads through
  the async ORM and renders on the event loop;
- skeleton sync-consumer: one-thread views, and a synchronous consumer (each event handled in a thread);
- Ringback one-thread (as shipped) and Ringback chain (`OneThreadMiddleware` taken out).

Django's ORM is synchronous underneath: an async ORM call is a thread hand-off of its own (`sync_to_async`), and
Django's own middleware (sessions, CSRF, authentication) are `MiddlewareMixin` hooks that hop to a thread in an
async chain. The table says what that costs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.run import ROOT, cpu_model, git_commit, versions

FORMS = [
    ("skeleton one-thread", "skeleton", {"SKELETON_FORM": "one-thread"}),
    ("skeleton chain", "skeleton", {"SKELETON_FORM": "chain"}),
    ("skeleton async", "skeleton", {"SKELETON_FORM": "async"}),
    ("skeleton sync-consumer", "skeleton", {"SKELETON_FORM": "sync-consumer"}),
    ("Ringback one-thread (shipped)", "ringback", {"RINGBACK_FORM": "one-thread"}),
    ("Ringback chain", "ringback", {"RINGBACK_FORM": "chain"}),
]


def one(kind: str, env: dict, lifecycles: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.cpu", kind, str(lifecycles)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=os.environ | {"PYTHONPATH": str(ROOT)} | env,
    )
    if out.returncode != 0:
        raise SystemExit(f"bench.cpu {kind} {env} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lifecycles", type=int, default=150)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    runs: dict[str, list[dict]] = {name: [] for name, _, _ in FORMS}
    for r in range(args.rounds):
        for name, kind, env in FORMS:
            runs[name].append(one(kind, env, args.lifecycles))
            print(f"round {r + 1}: {name}: {runs[name][-1]['median_ms']:.1f} ms", file=sys.stderr)
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "commit": git_commit(),
        "machine": f"{os.cpu_count()} cores, {cpu_model()}",
        "versions": versions(),
        "rounds": args.rounds,
        "lifecycles": args.lifecycles,
    }
    base = statistics.median(x["median_ms"] for x in runs["skeleton one-thread"])
    print(f"{'form':32} {'CPU per lifecycle, median of rounds':>36} {'÷ skeleton one-thread':>22} {'statements':>11}")
    for name, _, _ in FORMS:
        med = statistics.median(x["median_ms"] for x in runs[name])
        spread = ", ".join(f"{x['median_ms']:.1f}" for x in runs[name])
        print(
            f"{name:32} {med:>8.1f} ms ({spread}){'':>2} {med / base:>20.2f}× {runs[name][0]['statements_per_lifecycle']:>11.0f}"
        )
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "runs": runs}, indent=1) + "\n")


if __name__ == "__main__":
    main()
