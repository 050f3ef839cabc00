"""REST API v1 as an integrator meets it: list and filter, reschedule, position, queues and free slots, and every
refusal (oversized, mistyped, throttled, duplicate, idempotency) as JSON with a code."""

import base64
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from callbacks import lifecycle
from callbacks.enums import CallbackState, HistoryKind
from callbacks.lifecycle.transitions import record
from callbacks.models import CallbackRequest, Offer

from .factories import make_agent, make_api_client, make_calendar, make_queue, set_ready

PARIS = ZoneInfo("Europe/Paris")
BASE = "/api/v1"


@pytest.fixture
def ivr(queue):
    return make_api_client("IVR")


@pytest.fixture
def web(queue):
    return make_api_client("Website")


def call(client, method, path, token, body=None, **headers):
    kw = {"HTTP_AUTHORIZATION": f"Bearer {token}", **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}}
    if body is not None:
        kw.update(data=json.dumps(body), content_type="application/json")
    elif method == "post":
        kw.update(data="", content_type="application/json")
    return getattr(client, method)(BASE + path, **kw)


def create(client, token, phone="+33612345678", **body):
    return call(client, "post", "/callbacks", token, {"queue": "billing", "phone_number": phone, **body})


# --- Listing --------------------------------------------------------------------------------------------------------


def test_list_filters_and_pages_only_the_clients_own_callbacks(client, ivr, web):
    for i in range(5):
        assert create(client, ivr[1], phone=f"+3361234500{i}").status_code == 201
    create(client, web[1], phone="+33612345099")
    page = call(client, "get", "/callbacks?limit=2&offset=1", ivr[1]).json()
    assert page["count"] == 5 and len(page["items"]) == 2 and page["limit"] == 2 and page["offset"] == 1
    everything = call(client, "get", "/callbacks?limit=200", ivr[1]).json()["items"]
    assert "+33612345099" not in {c["phone_number"] for c in everything}
    one = call(client, "get", "/callbacks?phone_number=%2B33612345003", ivr[1]).json()
    assert [c["phone_number"] for c in one["items"]] == ["+33612345003"]
    assert call(client, "get", "/callbacks?state=completed", ivr[1]).json()["count"] == 0
    assert call(client, "get", "/callbacks?queue=billing&state=queued", ivr[1]).json()["count"] == 5
    later = (timezone.now() + timedelta(minutes=5)).isoformat().replace("+", "%2B")
    assert call(client, "get", f"/callbacks?created_after={later}", ivr[1]).json()["count"] == 0


@pytest.mark.parametrize("query", ["limit=0", "limit=999", "offset=-1", "state=nope", "created_after=yesterday"])
def test_bad_list_filters_are_422(client, ivr, query):
    response = call(client, "get", f"/callbacks?{query}", ivr[1])
    assert response.status_code == 422 and response.json()["code"] == "invalid"


# --- Reschedule and position ---------------------------------------------------------------------------------------


@pytest.fixture
def office(queue):
    queue.calendar = make_calendar(hours={d: [("08:00", "20:00")] for d in range(7)}, slot_minutes=30, capacity=1)
    queue.save()
    return queue


@time_machine.travel(datetime(2026, 12, 1, 9, tzinfo=UTC), tick=True)
def test_reschedule_moves_to_a_free_slot_and_refuses_a_full_one(client, office, ivr):
    ten = datetime(2026, 12, 2, 10, tzinfo=PARIS)
    taken = create(client, ivr[1], phone="+33612345001", type="scheduled", desired_time=ten.isoformat()).json()
    mine = create(client, ivr[1], phone="+33612345002").json()
    refused = call(client, "post", f"/callbacks/{mine['reference']}/reschedule", ivr[1], {"desired_time": ten.isoformat()})
    assert refused.status_code == 400 and refused.json()["code"] == "slot_full"
    assert ten.isoformat() not in {s["start"] for s in refused.json()["suggested_slots"]}
    moved = call(
        client,
        "post",
        f"/callbacks/{mine['reference']}/reschedule",
        ivr[1],
        {"desired_time": (ten + timedelta(minutes=30)).isoformat()},
    )
    assert moved.status_code == 200, moved.content
    body = moved.json()
    assert body["state"] == "scheduled" and body["type"] == "scheduled"
    assert datetime.fromisoformat(body["desired_time"]) == ten + timedelta(minutes=30)
    assert taken["reference"] != mine["reference"]


def test_reschedule_is_refused_once_an_agent_works_it(client, queue, ivr):
    alice = make_agent("alice", queue)
    set_ready(alice)
    ref = create(client, ivr[1]).json()["reference"]
    lifecycle.do_accept_offer(user=alice.user, offer_id=Offer.objects.get(callback__reference=ref).pk)
    soon = (timezone.now() + timedelta(hours=2)).isoformat()
    response = call(client, "post", f"/callbacks/{ref}/reschedule", ivr[1], {"desired_time": soon})
    assert response.status_code == 409 and response.json()["code"] == "in_progress"


def test_a_ringing_offer_is_withdrawn_when_the_customer_moves_the_callback(client, queue, ivr):
    alice = make_agent("alice", queue)
    set_ready(alice)
    ref = create(client, ivr[1]).json()["reference"]
    offer = Offer.objects.get(callback__reference=ref)
    soon = (timezone.now() + timedelta(hours=2)).isoformat()
    assert call(client, "post", f"/callbacks/{ref}/reschedule", ivr[1], {"desired_time": soon}).status_code == 200
    offer.refresh_from_db()
    assert offer.outcome == "withdrawn"
    assert CallbackRequest.objects.get(reference=ref).state == CallbackState.SCHEDULED


def test_position_counts_the_line_ahead(client, queue, ivr):
    refs = [create(client, ivr[1], phone=f"+3361234500{i}").json()["reference"] for i in range(3)]
    positions = [call(client, "get", f"/callbacks/{r}/position", ivr[1]).json() for r in refs]
    assert [p["position"] for p in positions] == [1, 2, 3]
    assert positions[2]["estimated_wait_seconds"] > positions[0]["estimated_wait_seconds"]
    later = create(
        client, ivr[1], phone="+33612345009", type="scheduled", desired_time=(timezone.now() + timedelta(hours=1)).isoformat()
    )
    pos = call(client, "get", f"/callbacks/{later.json()['reference']}/position", ivr[1]).json()
    assert pos["position"] is None and 3500 < pos["estimated_wait_seconds"] <= 3600


def test_another_clients_callback_is_unknown_everywhere(client, ivr, web):
    ref = create(client, ivr[1]).json()["reference"]
    for method, path, body in [
        ("get", f"/callbacks/{ref}", None),
        ("get", f"/callbacks/{ref}/position", None),
        ("post", f"/callbacks/{ref}/cancel", None),
        ("post", f"/callbacks/{ref}/reschedule", {"desired_time": (timezone.now() + timedelta(hours=3)).isoformat()}),
    ]:
        response = call(client, method, path, web[1], body)
        assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_a_duplicate_of_another_client_is_refused_without_naming_it(client, ivr, web):
    first = create(client, ivr[1]).json()
    response = create(client, web[1])
    assert response.status_code == 409 and response.json()["code"] == "duplicate"
    assert first["reference"] not in response.content.decode()
    assert "queued" not in response.content.decode()


# --- Queues and availability --------------------------------------------------------------------------------------------


@time_machine.travel(datetime(2026, 12, 1, 9, tzinfo=UTC), tick=True)
def test_availability_lists_free_slots_in_the_requested_zone(client, office, ivr):
    ten = datetime(2026, 12, 2, 10, tzinfo=PARIS)
    create(client, ivr[1], type="scheduled", desired_time=ten.isoformat())
    start = datetime(2026, 12, 2, 9, tzinfo=PARIS).isoformat().replace("+", "%2B")
    end = datetime(2026, 12, 2, 12, tzinfo=PARIS).isoformat().replace("+", "%2B")
    body = call(client, "get", f"/queues/billing/availability?start={start}&end={end}&timezone=America/New_York", ivr[1]).json()
    assert body["timezone"] == "America/New_York" and body["slot_minutes"] == 30
    starts = [s["start"] for s in body["slots"]]
    # 09:00–12:00 Paris in half hours, 10:00 taken: written in New York time.
    assert starts == [
        "2026-12-02T03:00:00-05:00",
        "2026-12-02T03:30:00-05:00",
        "2026-12-02T04:30:00-05:00",
        "2026-12-02T05:00:00-05:00",
        "2026-12-02T05:30:00-05:00",
    ]
    assert all(s["remaining"] == 1 for s in body["slots"])
    queues = call(client, "get", "/queues", ivr[1]).json()
    assert queues[0]["slug"] == "billing" and queues[0]["open_now"] is True


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("timezone=Mars/Olympus", 400, "invalid"),
        ("start=2026-12-01T10:00:00%2B00:00&end=2027-02-01T10:00:00%2B00:00", 400, "invalid"),
        ("start=2026-12-03T10:00:00%2B00:00&end=2026-12-02T10:00:00%2B00:00", 400, "invalid"),
        ("limit=0", 422, "invalid"),
    ],
)
def test_bad_availability_queries_are_refused(client, ivr, query, status, code):
    response = call(client, "get", f"/queues/billing/availability?{query}", ivr[1])
    assert (response.status_code, response.json()["code"]) == (status, code)


def test_availability_of_an_unknown_queue_is_404(client, ivr):
    assert call(client, "get", "/queues/nope/availability", ivr[1]).status_code == 404


# --- Idempotency ---------------------------------------------------------------------------------------------------------


def test_the_same_idempotency_key_and_body_replays_the_first_answer(client, ivr):
    body = {"queue": "billing", "phone_number": "+33612345678"}
    first = call(client, "post", "/callbacks", ivr[1], body, **{"Idempotency-Key": "order-42"})
    again = call(client, "post", "/callbacks", ivr[1], body, **{"Idempotency-Key": "order-42"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and again["Idempotent-Replayed"] == "true"
    other = call(client, "post", "/callbacks", ivr[1], {**body, "customer_name": "X"}, **{"Idempotency-Key": "order-42"})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_mismatch"
    assert CallbackRequest.objects.count() == 1


def test_an_idempotent_refusal_is_replayed_too(client, ivr):
    body = {"queue": "nope", "phone_number": "+33612345678"}
    first = call(client, "post", "/callbacks", ivr[1], body, **{"Idempotency-Key": "k1"})
    again = call(client, "post", "/callbacks", ivr[1], body, **{"Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 400 and first.json() == again.json()


def test_a_cancel_retried_with_its_key_gets_the_first_answer_not_a_409(client, ivr):
    """A cancel whose answer was lost: retried with the same Idempotency-Key it answers 200 again (replayed), where
    a plain retry would be a 409 (it is cancelled now). The same key on another callback is another request: 422."""
    token = ivr[1]
    first_ref, second_ref = create(client, token).json()["reference"], create(client, token, "+33612345679").json()["reference"]
    first = call(client, "post", f"/callbacks/{first_ref}/cancel", token, **{"Idempotency-Key": "cancel-1"})
    again = call(client, "post", f"/callbacks/{first_ref}/cancel", token, **{"Idempotency-Key": "cancel-1"})
    assert first.status_code == again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert first.json() == again.json() and first.json()["state"] == "cancelled"
    plain = call(client, "post", f"/callbacks/{first_ref}/cancel", token)
    assert plain.status_code == 409
    other = call(client, "post", f"/callbacks/{second_ref}/cancel", token, **{"Idempotency-Key": "cancel-1"})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_mismatch"
    assert CallbackRequest.objects.get(reference=second_ref).state == CallbackState.QUEUED


def test_a_reschedule_retried_with_its_key_is_replayed(client, queue, ivr):
    token = ivr[1]
    reference = create(client, token).json()["reference"]
    when = (timezone.now() + timedelta(hours=3)).replace(minute=0, second=0, microsecond=0).isoformat()
    first = call(
        client, "post", f"/callbacks/{reference}/reschedule", token, {"desired_time": when}, **{"Idempotency-Key": "m-1"}
    )
    again = call(
        client, "post", f"/callbacks/{reference}/reschedule", token, {"desired_time": when}, **{"Idempotency-Key": "m-1"}
    )
    assert first.status_code == again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert CallbackRequest.objects.get(reference=reference).history.filter(message__startswith="Moved by").count() == 1


# --- Throttles, caps, bodies ------------------------------------------------------------------------------------------------


def test_a_client_over_its_minute_budget_gets_429_with_retry_after(client, ivr):
    ivr[0].requests_per_minute = 3
    ivr[0].save()
    answers = [call(client, "get", "/callbacks", ivr[1]) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[3].json()["code"] == "rate_limited" and 1 <= int(answers[3]["Retry-After"]) <= 61


def test_a_number_over_its_daily_budget_gets_429(client, queue, ivr):
    queue.daily_requests_per_number = 2
    queue.save()
    ref = create(client, ivr[1]).json()["reference"]
    call(client, "post", f"/callbacks/{ref}/cancel", ivr[1])
    assert create(client, ivr[1]).status_code == 201
    third = create(client, ivr[1])
    assert third.status_code == 429 and third.json()["code"] == "number_limit" and int(third["Retry-After"]) > 0
    assert create(client, ivr[1], phone="+33612345000").status_code == 201  # another number is not affected


def test_a_full_queue_refuses_immediate_callbacks_with_503(client, queue, ivr):
    queue.max_queued = 1
    queue.save()
    assert create(client, ivr[1]).status_code == 201
    full = create(client, ivr[1], phone="+33612345000")
    assert full.status_code == 503 and full.json()["code"] == "queue_full"
    later = (timezone.now() + timedelta(hours=2)).isoformat()
    assert create(client, ivr[1], phone="+33612345001", type="scheduled", desired_time=later).status_code == 201


def test_an_oversized_body_is_413_json(client, ivr):
    response = client.post(
        f"{BASE}/callbacks", data="x" * (5 * 1024 * 1024), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {ivr[1]}"
    )
    assert response.status_code == 413 and response.json()["code"] == "too_large"


def test_a_body_that_is_not_json_is_415(client, ivr):
    body = json.dumps({"queue": "billing", "phone_number": "+33612345678"})
    response = client.post(f"{BASE}/callbacks", data=body, content_type="text/plain", HTTP_AUTHORIZATION=f"Bearer {ivr[1]}")
    assert response.status_code == 415 and response.json()["code"] == "unsupported_media_type"
    assert not CallbackRequest.objects.exists()


def test_an_empty_queue_is_a_schema_refusal(client, ivr):
    response = create(client, ivr[1], queue="")
    assert response.status_code == 422 and response.json()["field"] == "queue"


def test_the_openapi_document_declares_every_refusal(client):
    schema = client.get(f"{BASE}/openapi.json").json()
    create_op = schema["paths"][f"{BASE}/callbacks"]["post"]
    assert {"200", "201", "400", "401", "409", "413", "415", "422", "429", "503"} <= set(create_op["responses"])
    assert f"{BASE}/queues/{{slug}}/availability" in schema["paths"]
    # A read declares only what can happen: no body to be too large or of another type, nothing to conflict with.
    for path, operations in schema["paths"].items():
        if "get" in operations and "openapi" not in path and "docs" not in path:
            assert not {"409", "413", "415"} & set(operations["get"]["responses"]), path
    assert "404" not in schema["paths"][f"{BASE}/callbacks"]["get"]["responses"]


def test_a_second_queue_keeps_its_own_numbers(client, ivr):
    make_queue("sales")
    assert create(client, ivr[1]).status_code == 201
    assert create(client, ivr[1], queue="sales").status_code == 201


def test_offsets_postgresql_cannot_hold_are_taken_in_utc(client, ivr):
    # Python accepts offsets up to ±23:59; PostgreSQL only ±15:59 (schemathesis found the 500).
    odd = "2026-12-02T10:00:00%2B17:38"
    assert call(client, "get", f"/callbacks?desired_before={odd}", ivr[1]).status_code == 200
    assert call(client, "get", "/callbacks?created_after=0090-11-16T17:40:49%2B17:38", ivr[1]).status_code == 200
    later = (timezone.now() + timedelta(days=2)).astimezone(timezone.get_fixed_timezone(17 * 60 + 38)).replace(microsecond=0)
    created = create(client, ivr[1], type="scheduled", desired_time=later.isoformat())
    assert created.status_code == 201, created.content
    assert datetime.fromisoformat(created.json()["desired_time"]) == later


def test_an_address_sending_wrong_tokens_is_refused_for_a_while(client, transactional_db, settings):
    settings.RINGBACK_BAD_TOKEN_LIMIT = 5
    _, token = make_api_client("Website")
    for _ in range(5):
        assert client.get("/api/v1/callbacks", HTTP_AUTHORIZATION="Bearer rb_guess", REMOTE_ADDR="10.1.1.1").status_code == 401
    refused = client.get("/api/v1/callbacks", HTTP_AUTHORIZATION=f"Bearer {token}", REMOTE_ADDR="10.1.1.1")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert refused.json()["code"] == "too_many_bad_tokens"
    # Another address with the right token is served; the GMS API counts the same wrong tokens.
    assert client.get("/api/v1/callbacks", HTTP_AUTHORIZATION=f"Bearer {token}", REMOTE_ADDR="10.1.1.2").status_code == 200
    basic = base64.b64encode(f"Website:{token}".encode()).decode()
    gms = client.get("/genesys/1/service/callback?_id=CB-X", HTTP_AUTHORIZATION=f"Basic {basic}", REMOTE_ADDR="10.1.1.1")
    assert gms.status_code == 503


def test_a_callback_shows_its_origin_attempts_and_last_disposition(client, queue, ivr):
    """An integrator reads how many calls were placed and how the last agent closed it, without the export."""
    from callbacks.models import DispositionCode

    _, token = ivr
    alice = make_agent("alice", queue)
    set_ready(alice)
    body = create(client, token).json()
    assert (body["origin"], body["attempts"], body["max_attempts"], body["last_disposition"]) == ("api", 0, 3, None)
    interaction = lifecycle.do_accept_offer(user=alice.user, offer_id=Offer.objects.get().pk)
    lifecycle.do_call(user=alice.user, interaction_id=interaction.pk)
    code = DispositionCode.objects.create(code="sale", label="Sale")
    lifecycle.do_set_disposition(user=alice.user, interaction_id=interaction.pk, code_id=code.pk)
    got = call(client, "get", f"/callbacks/{body['reference']}", token).json()
    assert (got["attempts"], got["last_disposition"]) == (1, "sale")
    listed = call(client, "get", "/callbacks", token).json()["items"]
    assert [(c["reference"], c["last_disposition"]) for c in listed] == [(body["reference"], "sale")]


def test_the_document_declares_the_headers_the_prose_names(client):
    """Idempotency-Key on create, Idempotent-Replayed on its answers, Retry-After on every 429 and 503."""
    schema = client.get(f"{BASE}/openapi.json").json()
    create_op = schema["paths"][f"{BASE}/callbacks"]["post"]
    assert [p["name"] for p in create_op["parameters"] if p["in"] == "header"] == ["Idempotency-Key"]
    for unsafe in ("cancel", "reschedule"):
        op = schema["paths"][f"{BASE}/callbacks/{{reference}}/{unsafe}"]["post"]
        assert (
            "Idempotency-Key" in [p["name"] for p in op["parameters"]]
            and "Idempotent-Replayed" in op["responses"]["200"]["headers"]
        )
    for status in ("200", "201"):
        assert "Idempotent-Replayed" in create_op["responses"][status]["headers"]
    throttled = [
        op["responses"][s]
        for ops in schema["paths"].values()
        for op in ops.values()
        for s in ("429", "503")
        if s in op.get("responses", {})
    ]
    assert throttled and all("Retry-After" in answer["headers"] for answer in throttled)


# --- Changing a callback: attached data, a cancel's reason, a new window; its events -------------------------------------


def test_patch_merges_attached_data_and_renames_the_customer(client, ivr):
    token = ivr[1]
    reference = create(client, token, customer_name="Ana", data={"account": "A-1", "order": "77"}).json()["reference"]
    patched = call(
        client, "patch", f"/callbacks/{reference}", token, {"data": {"order": None, "basket": 3}, "customer_name": "Ana Lopez"}
    )
    assert patched.status_code == 200, patched.content
    assert patched.json()["data"] == {"account": "A-1", "basket": 3} and patched.json()["customer_name"] == "Ana Lopez"
    stored = CallbackRequest.objects.get(reference=reference)
    assert stored.data == {"account": "A-1", "basket": 3} and stored.customer_name == "Ana Lopez"
    assert stored.history.filter(message__contains="the customer's name, basket, order").exists()


@pytest.mark.parametrize(
    "body, status, field",
    [
        ({}, 400, None),
        ({"state": "completed"}, 422, "state"),
        ({"customer_name": "x" * 201}, 422, "customer_name"),
        ({"data": {"big": "x" * 20001}}, 400, "data"),
        ({"data": {"nul": "a\u0000b"}}, 400, "data"),
    ],
)
def test_a_patch_that_cannot_apply_changes_nothing(client, ivr, body, status, field):
    token = ivr[1]
    reference = create(client, token, data={"account": "A-1"}).json()["reference"]
    response = call(client, "patch", f"/callbacks/{reference}", token, body)
    assert response.status_code == status and response.json().get("field") == field, response.content
    assert CallbackRequest.objects.get(reference=reference).data == {"account": "A-1"}


def test_a_closed_callback_cannot_be_patched(client, ivr):
    token = ivr[1]
    reference = create(client, token).json()["reference"]
    call(client, "post", f"/callbacks/{reference}/cancel", token)
    response = call(client, "patch", f"/callbacks/{reference}", token, {"data": {"a": "b"}})
    assert response.status_code == 409 and response.json()["code"] == "closed"


def test_another_clients_callback_cannot_be_patched(client, ivr, web):
    reference = create(client, web[1]).json()["reference"]
    response = call(client, "patch", f"/callbacks/{reference}", ivr[1], {"data": {"a": "b"}})
    assert response.status_code == 404
    assert CallbackRequest.objects.get(reference=reference).data == {}


def test_a_cancel_keeps_its_reason_in_the_outcome_and_history(client, ivr):
    token = ivr[1]
    reference = create(client, token).json()["reference"]
    response = call(client, "post", f"/callbacks/{reference}/cancel", token, {"reason": "Solved in the chat"})
    assert response.status_code == 200 and response.json()["outcome"] == "Cancelled by IVR: Solved in the chat"
    assert CallbackRequest.objects.get(reference=reference).history.filter(message__endswith="Solved in the chat").exists()
    other = create(client, token, "+33612340001").json()["reference"]
    long = call(client, "post", f"/callbacks/{other}/cancel", token, {"reason": "x" * 201})
    assert long.status_code == 422 and long.json()["field"] == "reason"


@time_machine.travel(datetime(2026, 12, 1, 9, tzinfo=UTC), tick=True)
def test_a_reschedule_with_a_window_replaces_the_window_and_must_fall_inside_it(client, office, ivr):
    token = ivr[1]
    old_start, old_end = datetime(2026, 12, 2, 9, tzinfo=PARIS), datetime(2026, 12, 2, 12, tzinfo=PARIS)
    reference = create(client, token, window_start=old_start.isoformat(), window_end=old_end.isoformat()).json()["reference"]
    friday = datetime(2026, 12, 4, 15, tzinfo=PARIS)
    outside = call(client, "post", f"/callbacks/{reference}/reschedule", token, {"desired_time": friday.isoformat()})
    assert outside.status_code == 400 and outside.json()["code"] == "window"
    moved = call(
        client,
        "post",
        f"/callbacks/{reference}/reschedule",
        token,
        {"desired_time": friday.isoformat(), "window_start": friday.replace(hour=14).isoformat(), "window_end": None},
    )
    assert moved.status_code == 200, moved.content
    body = moved.json()
    assert datetime.fromisoformat(body["window_start"]) == friday.replace(hour=14) and body["window_end"] is None
    stored = CallbackRequest.objects.get(reference=reference)
    assert stored.desired_time == friday and stored.window_end is None
    backwards = {"desired_time": friday.isoformat(), "window_start": friday.isoformat(), "window_end": old_start.isoformat()}
    refused = call(client, "post", f"/callbacks/{reference}/reschedule", token, backwards)
    assert refused.status_code == 400 and refused.json()["field"] == "window_end"
    assert CallbackRequest.objects.get(reference=reference).window_start == friday.replace(hour=14)


def test_events_list_the_trail_oldest_first_without_the_desks_own_rows(client, queue, ivr):
    token = ivr[1]
    alice = make_agent("alice", queue)
    reference = create(client, token, phone="+33612345001").json()["reference"]
    callback = CallbackRequest.objects.get(reference=reference)
    call(client, "patch", f"/callbacks/{reference}", token, {"data": {"account": "A-1"}})
    record(HistoryKind.NOTE, "Note: customer sounded upset", callback=callback, agent=alice)
    record(HistoryKind.DTMF, "Sent 4111 1111", callback=callback, agent=alice)
    call(client, "post", f"/callbacks/{reference}/cancel", token, {"reason": "done elsewhere"})
    page = call(client, "get", f"/callbacks/{reference}/events", token).json()
    kinds = [e["kind"] for e in page["items"]]
    assert kinds == ["created", "contact", "cancelled"] and page["count"] == 3
    assert page["items"][0]["state"] == "queued" and page["items"][-1]["state"] == "cancelled"
    assert page["items"][1]["state"] is None and page["items"][1]["label"] == "Contact"
    assert [e["id"] for e in page["items"]] == sorted(e["id"] for e in page["items"])
    second = call(client, "get", f"/callbacks/{reference}/events?limit=1&offset=1", token).json()
    assert [e["kind"] for e in second["items"]] == ["contact"] and second["count"] == 3


def test_events_of_another_clients_callback_are_unknown(client, ivr, web):
    reference = create(client, web[1]).json()["reference"]
    assert call(client, "get", f"/callbacks/{reference}/events", ivr[1]).status_code == 404
