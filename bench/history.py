"""Pages on a big history: the workspace, the Team Communicator and a contact page with 1,000,000 history rows,
and the callback analytics over 100,000 callbacks.

The rows are written by one INSERT … SELECT over a recursive series (the same SQL on SQLite and
PostgreSQL): 100,000 closed callbacks of 20,000 contacts, ten events each, spread over a year (one an
hour or so, each with its interaction and a dial: connected for those done, busy or unanswered for the
others); the measured agent has an open interaction whose callback has its own history, and a long
record of transfers (what the Team Communicator's "recent" list reads). The analytics rollup is then
settled (`manage.py rollup_analytics`, timed), and a supervisor's analytics pages (the last 30 days, the
whole year, the year's CSV by day) are measured beside the agent's pages. Each page is fetched over HTTP
from the running server (time: p50/p95/p99 of 30 requests) and once through Django's test client to
count its queries.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import date, timedelta

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
        "max_attempts, outcome, close_reason, customer_dials_in, customer_email, language, created_at, updated_at, closed_at) "
        + series + "SELECT 'H' || i, 'voice', 'immediate', 'api', 'completed', %s, %s + (i %% %s), 'Customer', "
        "'+3361' || i, 'UTC', '', '{}', 5, 0, 1, 3, 'Done', 'done', false, '', '', %s, %s, %s FROM s",
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
# Spread the callbacks over the year before now, about one an hour, closed half an hour after they were asked for;
# each has an interaction and a dial (connected when done), so the analytics have something to count.
with transaction.atomic(), connection.cursor() as c:
    year_ago = now - timezone.timedelta(days=365)
    step = 365 * 24 * 3600 / callbacks  # seconds between two callbacks
    if connection.vendor == "postgresql":
        at = "%s::timestamptz + ((id - %s) * %s) * interval '1 second'"
    else:
        at = "strftime('%%Y-%%m-%%d %%H:%%M:%%f', %s, '+' || ((id - %s) * %s) || ' seconds')"
    first = CallbackRequest.objects.order_by("id").values_list("id", flat=True).first()
    c.execute(
        f"UPDATE callbacks_callbackrequest SET created_at = {at}, "
        "close_reason = CASE WHEN id %% 10 < 7 THEN 'done' WHEN id %% 10 < 9 THEN 'expired' ELSE 'cancelled' END "
        "WHERE reference LIKE 'H%%'",
        [year_ago, first, step],
    )
    minutes = lambda n: f"created_at + interval '{n} minutes'" if connection.vendor == "postgresql" else (  # noqa: E731
        f"strftime('%%Y-%%m-%%d %%H:%%M:%%f', created_at, '+{n} minutes')"
    )
    c.execute(f"UPDATE callbacks_callbackrequest SET closed_at = {minutes(30)} WHERE reference LIKE 'H%%'", [])
    c.execute(
        "INSERT INTO callbacks_interaction (callback_id, agent_id, channel, state, last_outcome, closing_reason, "
        f"closing_note, created_at, ended_at) SELECT id, %s, 'voice', 'done', '', '', '', {minutes(5)}, {minutes(25)} "
        "FROM callbacks_callbackrequest WHERE reference LIKE 'H%%' AND close_reason <> 'cancelled'",
        [agent.pk],
    )
    connected = "CASE WHEN c.close_reason = 'done' THEN " + minutes(7).replace("created_at", "c.created_at") + " END"
    c.execute(
        "INSERT INTO callbacks_call (interaction_id, callback_id, switch_ref, number, attempt, state, outcome, "
        "started_at, connected_at, ended_at, hold_seconds, transfer_id, transfer_key, transfer_number, "
        "transfer_label, recording) "
        "SELECT i.id, c.id, 'HCALL-' || c.id, c.phone_number, 1, 'ended', "
        "CASE WHEN c.close_reason = 'done' THEN 'agent_hangup' WHEN c.id %% 2 = 0 THEN 'busy' ELSE 'no_answer' END, "
        f"{minutes(6).replace('created_at', 'c.created_at')}, {connected}, "
        f"{minutes(20).replace('created_at', 'c.created_at')}, 0, '', '', '', '', '' "
        "FROM callbacks_callbackrequest c JOIN callbacks_interaction i ON i.callback_id = c.id "
        "WHERE c.reference LIKE 'H%%'",
        [],
    )
# A supervisor of the queue, signed in (their session for the analytics pages).
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.auth.models import Group
from django.contrib.sessions.backends.db import SessionStore
from callbacks import roles
roles.ensure_roles()
sam = get_user_model().objects.create_user("bench-supervisor", "sam@example.com", "x")
sam.groups.add(Group.objects.get(name=roles.SUPERVISOR))
queue.supervisors.add(sam)
session = SessionStore()
session[SESSION_KEY], session[HASH_SESSION_KEY] = str(sam.pk), sam.get_session_auth_hash()
session["_auth_user_backend"] = "callbacks.auth.AgentBackend"
session.create()
# The measured agent works one callback of a history-rich contact.
callback = CallbackRequest.objects.create(queue=queue, contact_id=first_contact, phone_number="+33699999999",
                                          state="in_progress", customer_name="History Seed")
Interaction.objects.create(callback=callback, agent=agent, channel="voice", created_at=now)
for n in range(30):
    HistoryEvent.objects.create(callback=callback, contact_id=first_contact, kind="note", message=f"Note {n}", at=now)
if connection.vendor == "postgresql":
    with connection.cursor() as c:
        c.execute("ANALYZE")
print(json.dumps({"rows": HistoryEvent.objects.count(), "contact": first_contact, "callbacks": CallbackRequest.objects.count(), "supervisor": session.session_key}))
"""

COUNT = r"""
import django, json, sys
django.setup()
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from callbacks.models import Agent
from django.contrib.auth import get_user_model
agent, supervisor = Client(SERVER_NAME="127.0.0.1"), Client(SERVER_NAME="127.0.0.1")
agent.force_login(Agent.objects.order_by("id").first().user)
supervisor.force_login(get_user_model().objects.get(username="bench-supervisor"))
out = {}
for path in sys.argv[1:]:
    client = supervisor if path.startswith("/reports") else agent
    client.get(path)  # signed in: the login's bookkeeping is behind us
    with CaptureQueriesContext(connection) as q:
        status = client.get(path, **({"HTTP_HX_REQUEST": "true"} if path.startswith("/team") else {})).status_code
    assert status == 200, (path, status)
    out[path] = len(q.captured_queries)
print(json.dumps(out))
"""


def _python(env: dict, code: str, *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"the history set-up failed:\n{done.stderr[-3000:]}")
    return done.stdout.strip().splitlines()[-1]


def run(env: dict, scaled: bool, rows: int) -> dict:
    import json

    fixtures = prepare(env, scaled, 1)
    started = time.monotonic()
    seeded = json.loads(_python(env, SETUP, str(rows)))
    seconds = time.monotonic() - started
    started = time.monotonic()
    subprocess.run([sys.executable, "manage.py", "rollup_analytics"], cwd=ROOT, env=env, check=True, capture_output=True)
    settle_seconds = time.monotonic() - started
    today = date.today()
    month, year = (today - timedelta(days=29)).isoformat(), (today - timedelta(days=364)).isoformat()
    pages = [
        "/",
        "/team/?q=",
        f"/contacts/{seeded['contact']}/",
        f"/reports/analytics/?from={month}&to={today}",
        f"/reports/analytics/?from={year}&to={today}",
        f"/reports/analytics.csv?from={year}&to={today}&by=day",
    ]
    counts = json.loads(_python(env, COUNT, *pages))
    procs, ports = start(env, scaled, web=1, background=False)
    sessions = {"agent": fixtures["sessions"][0][1], "supervisor": seeded["supervisor"]}
    times: dict[str, list[float]] = {}
    try:
        for path in pages:
            who = "supervisor" if path.startswith("/reports") else "agent"
            headers = {"HX-Request": "true"} if path.startswith("/team") else {}
            with httpx.Client(base_url=f"http://127.0.0.1:{ports[0]}", cookies={"sessionid": sessions[who]}, timeout=60) as http:
                assert http.get(path, headers=headers).status_code == 200, path  # warm; a refusal fails the run
                for _ in range(30):
                    t = time.monotonic()
                    answer = http.get(path, headers=headers)
                    times.setdefault(path, []).append((time.monotonic() - t) * 1000)
                    assert answer.status_code == 200, (path, answer.status_code)
    finally:
        stop(procs)
    return {
        "rows": seeded["rows"],
        "callbacks": seeded["callbacks"],
        "seed_seconds": seconds,
        "settle_seconds": settle_seconds,
        "pages": {p: (pct(times[p], 50), pct(times[p], 95), pct(times[p], 99), counts[p]) for p in pages},
    }
