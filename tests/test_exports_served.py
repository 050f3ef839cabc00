"""The CSV exports as a supervisor downloads them: from a real Daphne process, straight and through nginx, on this
run's database (SQLite on the embedded pass, PostgreSQL on the scaled one).

Django's test client never runs the body through an ASGI server's event loop, so it could not see the export that
answered 200 and then never ended under Daphne (SynchronousOnlyOperation inside the stream). Here the whole body
must arrive, down to its last row, and the server's peak memory may not grow by the file's size.
"""

import csv
import io
import os
import shutil
from pathlib import Path

import httpx
import pytest
from django.utils import timezone

from bench.cluster import NGINX, Cluster
from callbacks.enums import CallbackState
from callbacks.models import CallbackRequest

from .factories import database_url, make_queue, session_key_for
from .test_reports import admin_user

ROWS = 60_000
WARM_UP = 5_000  # rows in a second queue, exported first: a few chunks of the cursor


def peak_rss(pid: int) -> int:
    """The process's peak resident memory so far, in bytes (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


@pytest.fixture
def served(transactional_db, tmp_path):
    """One Daphne behind nginx, as `scripts/run` starts them (no clock or worker: an export needs neither)."""
    env = dict(os.environ, DATABASE_URL=database_url(), RINGBACK_LOG_LEVEL="WARNING", DB_POOL_SIZE="4")
    cluster = Cluster(env, tmp_path, webs=1, dispatchers=0, workers=0, log_name="exports")
    yield cluster.start()
    cluster.stop()


def get(url: str, session: str) -> httpx.Response:
    response = httpx.get(url, cookies={"sessionid": session}, timeout=60)
    assert response.status_code == 200, response.text[:300]
    return response


@pytest.mark.skipif(not shutil.which(NGINX), reason="scripts/test installs Debian's nginx")
def test_both_exports_stream_to_the_last_row_from_daphne_and_through_nginx(served, queue):
    session = session_key_for(admin_user())
    now = timezone.now()
    small = make_queue("support")
    CallbackRequest.objects.bulk_create(
        [
            CallbackRequest(
                reference=f"CB-{i:08d}",
                queue=queue if i >= WARM_UP else small,
                phone_number=f"+3361{i:07d}",
                customer_name=f"=Customer {i}" if i % 2 else f"Customer {i}",
                state=CallbackState.COMPLETED,
                desired_time=now,
                created_at=now,
            )
            for i in range(ROWS)
        ],
        batch_size=5000,
    )
    web = served.webs[0]
    direct = f"http://127.0.0.1:{web.port}"
    for base in (direct, served.url):  # warm both paths up: the first requests import, compile and fill caches
        assert get(f"{base}/reports/callbacks.csv?queue={small.pk}", session).text.count("\n") == WARM_UP + 1
        assert get(f"{base}/reports/agents.csv", session).text.startswith("agent,channel,")
    before = peak_rss(web.pid)

    for base in (direct, served.url):
        body = get(f"{base}/reports/callbacks.csv", session).text
        rows = list(csv.reader(io.StringIO(body, newline="")))
        assert len(rows) == ROWS + 1
        assert rows[-1][0] == f"CB-{ROWS - 1:08d}", "the last row arrived"
        assert rows[-1][rows[0].index("customer_name")] == f"'=Customer {ROWS - 1}"
        agents = get(f"{base}/reports/agents.csv", session)
        assert agents.headers["content-disposition"].startswith('attachment; filename="agent-activity-')

    grown = peak_rss(web.pid) - before
    print(f"\n{ROWS:,} callbacks: {len(body) / 1e6:.1f} MB of CSV, twice; the server's peak grew {grown / 1e6:.1f} MB")
    assert grown < len(body) / 2, "the server held the file (or its rows) in memory"
