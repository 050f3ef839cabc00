"""Signing in, taken apart: `python -m bench.signin [--runs N] [--scaled] [--json FILE]`.

An agent signs in in Debian's Chromium, in a fresh browser context each time (a first visit: nothing cached), on
a real Ringback (the embedded default, or the scaled set-up). From the browser's own Navigation Timing of the
workspace page and a mark when its socket is open:

- the login POST and its redirect (the server checks the password here: the hash is timed alone, in one process);
- the workspace page's request and response;
- the page's own work until it is interactive (DOMContentLoaded) and loaded (its styles and scripts);
- the socket: from load to `body[data-ws=open]`, when the desk is live.

The server's own time for the login POST comes from its access log, beside the browser's: Chromium runs on the same
two cores here, so the browser's figure also holds the time the password check waited for a core.

"Beyond the hash" is the whole, Sign in click to a live desk, less the password check. Prints a table and writes
JSON in the form `bench.report` prints.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from .common import ROOT, environment, prepare, start, stop, versions

SERVER_LOG = ROOT / "var" / "bench-servers.log"  # where `common.start` sends the servers' output
LOGIN_LINE = re.compile(r"POST /login/ → 302 in ([\d.]+) ms")

CHROMIUM = os.environ.get("RINGBACK_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "bench-password"  # bench.fixtures' shared password

TIMING = """() => {
  const n = performance.getEntriesByType("navigation")[0];
  return {redirect: n.redirectEnd - n.redirectStart, start: n.startTime, fetchStart: n.fetchStart,
          requestStart: n.requestStart, responseEnd: n.responseEnd,
          domContentLoaded: n.domContentLoadedEventEnd, load: n.loadEventEnd, live: performance.now()};
}"""


def hash_ms() -> float:
    """The password check alone, in one process (Django's hasher as configured)."""
    code = (
        "import time, django; django.setup();"
        "from django.contrib.auth.hashers import make_password, check_password;"
        "h = make_password('x'); t = time.perf_counter();"
        "[check_password('x', h) for _ in range(5)]; print((time.perf_counter() - t) / 5 * 1000)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment(False), capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def run(scaled: bool, runs: int) -> dict:
    from playwright.sync_api import sync_playwright

    env = environment(scaled) | {"RINGBACK_LOG_LEVEL": "INFO"}  # the access log: the server's time for each request
    fixtures = prepare(env, scaled, 1)
    mark = SERVER_LOG.stat().st_size if SERVER_LOG.exists() else 0
    procs, ports = start(env, scaled, web=1)
    phases: dict[str, list[float]] = {}
    try:
        base = f"http://127.0.0.1:{ports[0]}"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM)
            for i in range(runs + 1):  # the first warms the server's caches, and is not counted
                context = browser.new_context(base_url=base)
                page = context.new_page()
                page.goto("/login/")
                page.get_by_label("Username").fill("bench0000")
                page.get_by_label("Password").fill(PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_selector("body[data-ws=open]", timeout=30000)
                t = page.evaluate(TIMING)
                context.close()
                if i == 0:
                    continue
                for name, value in {
                    "login POST and redirect (the password check inside)": t["redirect"],
                    "workspace page: request to last byte": t["responseEnd"] - t["requestStart"],
                    "page work until interactive (DOMContentLoaded)": t["domContentLoaded"] - t["responseEnd"],
                    "styles, scripts, images until loaded": t["load"] - t["domContentLoaded"],
                    "socket: from loaded to a live desk": t["live"] - t["load"],
                    "Sign in click to a live desk": t["live"],
                }.items():
                    phases.setdefault(name, []).append(value)
            browser.close()
    finally:
        stop(procs)
    with SERVER_LOG.open("rb") as log:
        log.seek(mark)
        served = [float(ms) for ms in LOGIN_LINE.findall(log.read().decode(errors="replace"))]
    if len(served) != runs + 1:
        raise SystemExit(f"the server logged {len(served)} sign-ins, not {runs + 1}: the access log is off or lost lines")
    phases["login POST on the server (its access log)"] = served[1:]  # the first warmed the caches
    return {"phases": phases, "agents": len(fixtures["sessions"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--scaled", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    check = hash_ms()
    r = run(args.scaled, args.runs)
    commit = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    rows = [
        ("date", time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())),
        ("commit", commit),
        ("machine", f"{os.cpu_count()} cores, {platform.machine()}"),
        ("versions", versions()),
        ("mode", "scaled" if args.scaled else "embedded"),
        ("settings", " ".join(sys.argv[1:]) or "(defaults)"),
        ("signin: password check alone, in one process", f"{check:.0f} ms"),
    ]
    for name, values in r["phases"].items():
        rows.append((f"signin: {name}, median / max", f"{statistics.median(values):.0f} / {max(values):.0f} ms"))
    whole = statistics.median(r["phases"]["Sign in click to a live desk"])
    rows.append(("signin: beyond the password check, median", f"{whole - check:.0f} ms (of {args.runs} sign-ins)"))
    served = statistics.median(r["phases"]["login POST on the server (its access log)"])
    rows.append(("signin: the server's login POST beyond the password check, median", f"{served - check:.0f} ms"))
    results = {"meta": {"commit": commit}, "rows": rows, "raw": r | {"hash_ms": check}}
    from .report import table

    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
        print(f"\nwritten to {args.json}")


if __name__ == "__main__":
    main()
