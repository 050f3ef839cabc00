"""Monday 9:00: 2,000 scheduled callbacks fall due within one minute. How late does the clock see them?

The callbacks are written in bulk, due evenly over `window` seconds starting `lead` seconds from now.
The clock (the in-process runner of the embedded default, or two `manage.py dispatcher` processes in
scaled mode) puts each in its queue; lateness is the clock's own enqueue time minus the desired time.
Nobody is Ready, so this measures the clock alone, not routing.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

from .common import ROOT, pct, prepare, start, stop

SEED = r"""
import django, sys
from datetime import timedelta
django.setup()
from django.utils import timezone
from callbacks.models import CallbackRequest, Queue
n, lead, window = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
queue = Queue.objects.get(slug="bench")
start = timezone.now() + timedelta(seconds=lead)
CallbackRequest.objects.bulk_create(
    [
        CallbackRequest(queue=queue, phone_number=f"+3362{i:07d}", type="scheduled", state="scheduled",
                        desired_time=start + timedelta(seconds=window * i / n), customer_name=f"Due {i}")
        for i in range(n)
    ],
    batch_size=500,
)
"""

MEASURE = r"""
import django, json
django.setup()
from callbacks.models import CallbackRequest
rows = CallbackRequest.objects.filter(customer_name__startswith="Due ").values_list("desired_time", "enqueued_at")
print(json.dumps({"late_ms": [(e - d).total_seconds() * 1000 for d, e in rows if e], "waiting": sum(1 for _, e in rows if not e)}))
"""


def run(env: dict, scaled: bool, callbacks: int, window: float, lead: float = 15) -> dict:
    prepare(env, scaled, 1)
    procs, _ = start(env, scaled, web=1, background=False)
    if scaled:  # two clocks, as scripts/run starts them
        log = open(ROOT / "var" / "bench-servers.log", "ab")
        procs += [
            subprocess.Popen([sys.executable, "manage.py", "dispatcher"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            for _ in range(2)
        ]
    try:
        subprocess.run([sys.executable, "-c", SEED, str(callbacks), str(lead), str(window)], cwd=ROOT, env=env, check=True)
        time.sleep(max(0.0, lead + window + 5))
        result = json.loads(
            subprocess.run([sys.executable, "-c", MEASURE], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
            .stdout.strip()
            .splitlines()[-1]
        )
    finally:
        stop(procs)
    late = result["late_ms"]
    return {
        "callbacks": callbacks,
        "window": window,
        "enqueued": len(late),
        "waiting": result["waiting"],
        "late": (pct(late, 50), pct(late, 99), max(late) if late else float("nan")),
    }
