"""Pages on a big history: the workspace, the Team Communicator and a contact page with 1,000,000 history rows.

The rows are written by one INSERT … SELECT over a recursive series (the same SQL on SQLite and
PostgreSQL): 100,000 closed callbacks of 20,000 contacts, ten events each, spread over a year; the
measured agent has an open interaction whose callback has its own history, and a long record of
transfers (what the Team Communicator's "recent" list reads). Each page is fetched over HTTP from the
running server (time: p50/p99 of 30 requests) and once through Django's test client to count its
queries.
"""

from __future__ import annotations

import subprocess
import sys
import time

import httpx

from .common import ROOT, pct, prepare, start, stop

SETUP = r"""
import django, json, sys
django.setup()
from django.db import connection, transaction
from django.utils import timezone
from callbacks.models import Agent, CallbackRequest, Contact, Interaction, HistoryEvent, Queue

rows = int(sys.argv[1])
callbacks = max(1, rows // 10)
contacts = max(1, callbacks // 5)
queue = Queue.objects.get(slug="bench")
agent = Agent.objects.order_by("id").first()
now = timezone.now()
JSON = "::jsonb" if connection.vendor == "postgresql" else ""
with transaction.atomic(), connection.cursor() as c:
    first_contact = Contact.objects.create(first_name="History", last_name="Seed").pk
    series = "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < %s) "
    c.execute(
        "INSERT INTO callbacks_contact (first_name, last_name, timezone, notes, created_at, updated_at) "
        + series + "SELECT 'Customer', 'C' || i, 'UTC', '', %s, %s FROM s",
        [contacts - 1, now, now],
    )
    c.execute(
        "INSERT INTO callbacks_callbackrequest (reference, channel, type, origin, state, queue_id, contact_id, "
        "customer_name, phone_number, customer_timezone, instructions, data, priority, type_rank, attempts, "
        "max_attempts, outcome, created_at, updated_at, closed_at) "
        + series + "SELECT 'H' || i, 'voice', 'immediate', 'api', 'completed', %s, %s + (i %% %s), 'Customer', "
        "'+3361' || i, 'UTC', '', '{}', 5, 0, 1, 3, 'Done', %s, %s, %s FROM s",
        [callbacks, queue.pk, first_contact, contacts, now, now, now],
    )
    first_callback = CallbackRequest.objects.order_by("id").values_list("id", flat=True).first()
    c.execute(
        "INSERT INTO callbacks_historyevent (callback_id, contact_id, agent_id, kind, message, data, at) "
        + series + "SELECT %s + (i %% %s), %s + (i %% %s), CASE WHEN i %% 1000 = 0 THEN %s END, "
        "CASE WHEN i %% 1000 = 0 THEN 'transfer' ELSE 'note' END, 'Event ' || i, "
        "(CASE WHEN i %% 1000 = 0 THEN '{\"target\": \"queue:1\"}' ELSE '{}' END)" + JSON + ", %s FROM s",
        [rows, first_callback, callbacks, first_contact, contacts, agent.pk, now],
    )
# The measured agent works one callback of a history-rich contact.
callback = CallbackRequest.objects.create(queue=queue, contact_id=first_contact, phone_number="+33699999999",
                                          state="in_progress", customer_name="History Seed")
Interaction.objects.create(callback=callback, agent=agent, channel="voice", created_at=now)
for n in range(30):
    HistoryEvent.objects.create(callback=callback, contact_id=first_contact, kind="note", message=f"Note {n}", at=now)
if connection.vendor == "postgresql":
    with connection.cursor() as c:
        c.execute("ANALYZE")
print(json.dumps({"rows": HistoryEvent.objects.count(), "contact": first_contact}))
"""

COUNT = r"""
import django, json, sys
django.setup()
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from callbacks.models import Agent
client = Client(SERVER_NAME="127.0.0.1")
client.force_login(Agent.objects.order_by("id").first().user)
out = {}
for path in sys.argv[1:]:
    with CaptureQueriesContext(connection) as q:
        status = client.get(path, **({"HTTP_HX_REQUEST": "true"} if path.startswith("/team") else {})).status_code
    assert status == 200, (path, status)
    out[path] = len(q.captured_queries)
print(json.dumps(out))
"""


def _python(env: dict, code: str, *args: str) -> str:
    return (
        subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
        .stdout.strip()
        .splitlines()[-1]
    )


def run(env: dict, scaled: bool, rows: int) -> dict:
    import json

    fixtures = prepare(env, scaled, 1)
    started = time.monotonic()
    seeded = json.loads(_python(env, SETUP, str(rows)))
    seconds = time.monotonic() - started
    pages = ["/", "/team/?q=", f"/contacts/{seeded['contact']}/"]
    counts = json.loads(_python(env, COUNT, *pages))
    procs, ports = start(env, scaled, web=1, background=False)
    session = fixtures["sessions"][0][1]
    times: dict[str, list[float]] = {}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{ports[0]}", cookies={"sessionid": session}, timeout=60) as http:
            for path in pages:
                headers = {"HX-Request": "true"} if path.startswith("/team") else {}
                assert http.get(path, headers=headers).status_code == 200, path  # warm
                for _ in range(30):
                    t = time.monotonic()
                    http.get(path, headers=headers)
                    times.setdefault(path, []).append((time.monotonic() - t) * 1000)
    finally:
        stop(procs)
    return {
        "rows": seeded["rows"],
        "seed_seconds": seconds,
        "pages": {p: (pct(times[p], 50), pct(times[p], 99), counts[p]) for p in pages},
    }
