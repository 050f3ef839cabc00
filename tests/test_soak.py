"""The soak's 2-minute version (`scripts/soak`, see bench/soak.py): 20 random agents on the scaled set-up, then
every callback legal and explained by its history, nothing stuck, no process died, memory bounded.

It runs the soak command as a user would, on a database of its own, and reads the JSON it writes. Two minutes
are mostly warm-up for memory, so the bound here is loose (150 MB/h would still show a leak of a few MB a
minute); the 20-minute run on the performance page (docs/performance.md) holds the flat-memory figure.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

from bench.cluster import NGINX

from .servers import ROOT

pytestmark = [
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="the soak runs the scaled set-up (PostgreSQL and Redis)"),
    pytest.mark.skipif(not shutil.which(NGINX), reason="scripts/test installs Debian's nginx in scaled mode"),
]


def test_two_minute_soak_leaves_every_callback_explained_nothing_stuck_and_memory_bounded(tmp_path):
    out = tmp_path / "soak.json"
    args = ["--minutes", "2", "--agents", "20", "--sample", "10", "--drain", "120", "--max-slope", "150"]
    args += ["--database", f"ringback_soak_test_{os.getpid()}", "--redis-db", "5", "--json", str(out)]
    run = subprocess.run([sys.executable, "-m", "bench.soak", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.exists(), run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["problems"] == [], result
    assert run.returncode == 0
    assert result["intake"].get("201", 0) >= 60, "about a callback a second came in"
    done = result["callbacks"].get("completed", 0)
    assert done >= 50 and set(result["callbacks"]) <= {"completed", "scheduled", "cancelled", "failed"}, result["callbacks"]
    actions = result["actions"]
    for what in ("accept 204", "reject 204", "ring out", "call 204", "done 204", "not ready 204", "log out 302", "log in 302"):
        assert actions.get(what, 0) > 0, f"the agents did “{what}” at least once: {actions}"
    assert result["samples"] >= 10
