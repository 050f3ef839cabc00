"""GMS compatibility, exercised by a GMS client written from the public GMS documentation (tests/gms_client.py):
every endpoint and every refusal, over real HTTP semantics (an in-process WSGI transport)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone

from callbacks import lifecycle, roles
from callbacks.enums import CallbackState
from callbacks.models import CallbackRequest, HistoryEvent, Offer

from .factories import make_agent, make_api_client, make_calendar, make_queue, set_ready
from .gms_client import GmsClient, GmsFailure, from_gms, to_gms


@pytest.fixture
def billing(queue):
    queue.gms_service = "billing-cb"
    queue.save()
    return queue


@pytest.fixture
def http(gms_http):
    return gms_http


@pytest.fixture
def gms(http, billing):
    return GmsClient(http)


# --- The tester's checklist (GMS.md §6) ------------------------------------------------------------------------------------


def test_start_and_query_by_id(gms, billing):
    answer = gms.start("billing-cb", "+33612345678", CB_SUBSCRIPTION_ID="sub-1")
    callback_id = answer["_id"]
    # GMS.md §3: a USERTERMINATED immediate start, without waiting.
    assert answer["_action"] == "ConfirmationDialog" and {"_text", "_ok_title", "_dialog_id"} <= set(answer)
    records = gms.query_id(callback_id)
    assert len(records) == 1
    record = records[0]
    assert record["_id"] == callback_id and record["_callback_state"] == "QUEUED"
    assert record["_service_name"] == "billing-cb" and record["_customer_number"] == "+33612345678"
    assert record["CB_SUBSCRIPTION_ID"] == "sub-1"
    assert record["_url"].endswith(f"/genesys/1/service/callback/billing-cb?_id={callback_id}")
    assert {"_desired_time", "_expiration_time"} <= set(record)
    assert all(isinstance(v, str) for v in record.values())
    assert gms.query_id("CB-NOTHING") == []


def test_a_desired_time_makes_it_scheduled(gms):
    tomorrow = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
    record = gms.query_id(gms.start("billing-cb", "+33612345678", desired_time=tomorrow)["_id"])[0]
    assert record["_callback_state"] == "SCHEDULED"
    assert from_gms(record["_desired_time"]) == tomorrow
    assert record["_desired_time"].endswith(".000Z")


def test_form_encoded_start_works_like_json(gms):
    callback_id = gms.start("billing-cb", "+33612345678", form=True, order="A-1")["_id"]
    assert gms.query_id(callback_id)[0]["order"] == "A-1"


def test_reschedule_and_remove_a_property(gms):
    callback_id = gms.start("billing-cb", "+33612345678", CB_X="1", keep="yes")["_id"]
    when = (timezone.now() + timedelta(hours=5)).replace(microsecond=0)
    gms.reschedule("billing-cb", callback_id, when)
    gms.update("billing-cb", callback_id, CB_X="")
    record = gms.query_id(callback_id)[0]
    assert record["_callback_state"] == "SCHEDULED" and from_gms(record["_desired_time"]) == when
    assert "CB_X" not in record and record["keep"] == "yes"


def test_cancel_keeps_the_record_as_completed_cancelled(gms):
    callback_id = gms.start("billing-cb", "+33612345678")["_id"]
    gms.cancel("billing-cb", callback_id)
    record = gms.query_id(callback_id)[0]
    assert (record["_callback_state"], record["_callback_reason"]) == ("COMPLETED", "CANCELLED")
    with pytest.raises(GmsFailure) as failure:
        gms.cancel("billing-cb", callback_id)
    assert failure.value.status == 400 and "already cancelled" in failure.value.message


@time_machine.travel(datetime(2026, 12, 1, 9, tzinfo=UTC), tick=True)
def test_availability_maps_slot_starts_to_remaining_capacity(http, billing):
    billing.calendar = make_calendar(hours={d: [("08:00", "20:00")] for d in range(7)}, slot_minutes=60, capacity=2)
    billing.save()
    gms = GmsClient(http)
    noon = datetime(2026, 12, 2, 11, tzinfo=UTC)  # 12:00 Paris
    gms.start("billing-cb", "+33612345001", desired_time=noon)
    gms.start("billing-cb", "+33612345002", desired_time=noon)
    raw = http.get(
        "/genesys/1/service/callback/billing-cb/availability", params={"start": to_gms(datetime(2026, 12, 2, tzinfo=UTC))}
    ).json()
    assert raw[to_gms(noon)] == 0 and raw[to_gms(noon + timedelta(hours=1))] == 2
    assert min(raw) == "2026-12-02T07:00:00.000Z"  # 08:00 Paris
    free = gms.availability("billing-cb", datetime(2026, 12, 2, tzinfo=UTC), max_slots=5)
    assert noon not in free and len(free) == 4


def test_same_number_limit_is_503_with_gms_message(gms, billing):
    billing.daily_requests_per_number = 2
    billing.save()
    first = gms.start("billing-cb", "+33612345678")["_id"]
    gms.cancel("billing-cb", first)
    gms.start("billing-cb", "+33612345678")
    with pytest.raises(GmsFailure) as failure:
        gms.start("billing-cb", "+33612345678")
    assert failure.value.status == 503
    assert failure.value.exception.endswith("CallbackExceptionServiceUnavailable")
    assert failure.value.message == (
        "Callback for _customer_number=+33612345678 rejected because previous callbacks for this parameter "
        "were requested for more than 2 times today."
    )


def test_queue_cap_is_503_with_gms_message(gms, billing):
    billing.max_queued = 1
    billing.save()
    gms.start("billing-cb", "+33612345001")
    with pytest.raises(GmsFailure) as failure:
        gms.start("billing-cb", "+33612345002")
    assert (failure.value.status, failure.value.message) == (503, "Limit of queued callbacks for billing-cb is reached.")


def test_an_impossible_number_is_kept_as_keyed_by_default_as_gms_does(gms):
    """The tester's first check: {"_customer_number": "5115"} → 200 (GMS's _disallow_impossible_phone_numbers is
    off unless a service turns it on)."""
    callback_id = gms.start("billing-cb", "5115")["_id"]
    assert gms.query_id(callback_id)[0]["_customer_number"] == "5115"
    assert gms.query_id(gms.start("billing-cb", "(06) 11-22")["_id"])[0]["_customer_number"] == "061122"
    with pytest.raises(GmsFailure) as failure:
        gms.start("billing-cb", "call me")
    assert failure.value.status == 400 and failure.value.exception.endswith("CallbackExceptionNumber")


def test_a_service_that_disallows_impossible_numbers_refuses_them_with_gms_message(gms, billing):
    billing.gms_options = {"_disallow_impossible_phone_numbers": True}
    billing.save()
    with pytest.raises(GmsFailure) as failure:
        gms.start("billing-cb", "111")
    assert failure.value.status == 400 and failure.value.exception.endswith("CallbackExceptionNumber")
    assert failure.value.message == (
        "Customer Number [111] is disallowed, because it is invalid. Check option _disallow_impossible_phone_numbers"
    )
    assert gms.query_id(gms.start("billing-cb", "+33612345678")["_id"])[0]["_customer_number"] == "+33612345678"


def test_the_service_rate_throttles_answer_503_with_gms_message(gms, billing):
    billing.gms_options = {"_throttle_callbacks_per_service_1": 2, "_throttle_ttl_1": 300}
    billing.save()
    gms.start("billing-cb", "+33612345001")
    gms.start("billing-cb", "+33612345002")
    with pytest.raises(GmsFailure) as failure:
        gms.start("billing-cb", "+33612345003")
    assert failure.value.status == 503 and failure.value.exception.endswith("CallbackExceptionServiceUnavailable")
    assert failure.value.message == "Limit of queued callbacks for billing-cb is reached for interval 300s."
    assert CallbackRequest.objects.count() == 2


@pytest.mark.parametrize(
    "options, message",
    [
        ({"_disallow_impossible_phone_number": True}, "_disallow_impossible_phone_number: Extra inputs"),
        ({"_throttle_ttl_1": 0}, "_throttle_ttl_1: Input should be greater than or equal to 1"),
        (["_throttle_ttl_1"], "GMS options are a JSON object"),
    ],
)
def test_a_mistyped_gms_option_is_refused_in_admin(billing, options, message):
    billing.gms_options = options
    with pytest.raises(ValidationError, match=message):
        billing.full_clean()


@override_settings(RINGBACK_GMS_CONTACT_CENTER_IDS=["acme"])
def test_in_shared_mode_an_unknown_contact_center_is_refused(http, billing):
    assert GmsClient(http, contact_center_id="acme").start("billing-cb", "+33612345678")
    assert GmsClient(http).query_id("CB-NOTHING") == []  # no header: the one contact centre
    with pytest.raises(GmsFailure) as failure:
        GmsClient(http, contact_center_id="globex").start("billing-cb", "+33612345679")
    assert failure.value.status == 400
    assert failure.value.message == "Callback Contact Center ID: globex is not configured in transaction list."
    assert CallbackRequest.objects.count() == 1


def test_without_shared_mode_the_contact_center_header_is_ignored(http, billing):
    assert GmsClient(http, contact_center_id="anything").start("billing-cb", "+33612345678")


def test_a_missing_number_is_400(http, billing):
    response = http.post("/genesys/1/service/callback/billing-cb", json={"order": "1"})
    assert response.status_code == 400 and "_customer_number" in response.json()["message"]


@time_machine.travel(datetime(2026, 12, 1, 9, tzinfo=UTC), tick=True)
def test_a_time_outside_hours_is_refused_with_suggested_availability(http, billing):
    billing.calendar = make_calendar(hours={d: [("08:00", "20:00")] for d in range(7)})
    billing.save()
    with pytest.raises(GmsFailure) as failure:
        GmsClient(http).start("billing-cb", "+33612345678", desired_time=datetime(2026, 12, 2, 2, tzinfo=UTC))
    assert failure.value.status == 400 and failure.value.exception.endswith("CallbackExceptionAvailability")
    assert "2026-12-02T07:00:00.000Z" in failure.value.body["availability"]


def test_an_unknown_service_is_refused(gms):
    with pytest.raises(GmsFailure) as failure:
        gms.start("nope", "+33612345678")
    assert failure.value.status == 404 and failure.value.exception.endswith("CallbackExceptionResource")


# --- Query by properties ----------------------------------------------------------------------------------------------------


def test_query_by_properties_with_and_or_and_negation(gms):
    a = gms.start("billing-cb", "+33612345001", segment="gold")["_id"]
    b = gms.start("billing-cb", "+33612345002", segment="silver")["_id"]
    c = gms.start("billing-cb", "+33612345003", segment="gold")["_id"]
    gms.cancel("billing-cb", c)
    ids = lambda rows: {r["_id"] for r in rows}  # noqa: E731
    assert ids(gms.query("billing-cb", segment="gold")) == {a, c}
    assert ids(gms.query("billing-cb", segment="gold", _callback_state="!COMPLETED")) == {a}
    assert ids(gms.query("billing-cb", operand="OR", segment="silver", _customer_number="+33612345003")) == {b, c}
    assert ids(gms.query("billing-cb", _callback_state="QUEUED")) == {a, b}


def test_states_follow_the_callback(gms, billing):
    alice = make_agent("alice", billing)
    callback_id = gms.start("billing-cb", "+33612345678")["_id"]
    set_ready(alice)
    assert gms.query_id(callback_id)[0]["_callback_state"] == "ROUTING"
    offer = Offer.objects.get(callback__reference=callback_id)
    interaction = lifecycle.do_accept_offer(user=alice.user, offer_id=offer.pk)
    assert gms.query_id(callback_id)[0]["_callback_state"] == "PROCESSING"
    lifecycle.do_mark_done(user=alice.user, interaction_id=interaction.pk)
    record = gms.query_id(callback_id)[0]
    assert (record["_callback_state"], record["_callback_reason"]) == ("COMPLETED", "COMPLETED")


def test_queue_position_includes_ewt(gms):
    first = gms.start("billing-cb", "+33612345001")["_id"]
    second = gms.start("billing-cb", "+33612345002")["_id"]
    assert gms.position(first)["position"] == "1"
    answer = gms.position(second)
    assert answer["position"] == "2" and int(answer["ewt"]) > 0


# --- Access --------------------------------------------------------------------------------------------------------------------


def test_basic_auth_scopes_a_client_and_bad_credentials_are_401(http, billing):
    client, token = make_api_client("Mobile app")
    mobile = GmsClient(http, user="Mobile app", password=token)
    anonymous = GmsClient(http)
    mine = mobile.start("billing-cb", "+33612345001")["_id"]
    assert anonymous.query_id(mine) == []  # another client's callback is not found
    assert mobile.query_id(mine)[0]["_id"] == mine
    with pytest.raises(GmsFailure) as failure:
        GmsClient(http, user="Mobile app", password="wrong").start("billing-cb", "+33612345002")
    assert failure.value.status == 401
    assert CallbackRequest.objects.get(reference=mine).api_client == client


def test_a_clients_request_budget_is_refused_in_gmss_own_error_shape(http, billing):
    client, token = make_api_client("Mobile app")
    client.requests_per_minute = 2
    client.save()
    mobile = GmsClient(http, user="Mobile app", password=token)
    with time_machine.travel(datetime(2026, 3, 2, 9, 0, 15, tzinfo=UTC), tick=False):  # one minute's window
        mobile.start("billing-cb", "+33612345001")
        mobile.query("billing-cb")
        with pytest.raises(GmsFailure) as failure:
            mobile.start("billing-cb", "+33612345002")
        # As GMS's throttles: 503, CallbackExceptionServiceUnavailable, {"exception", "message"} and nothing else.
        refused = failure.value
        assert (refused.status, refused.exception) == (
            503,
            "com.genesyslab.gsg.services.callback.exceptions.CallbackExceptionServiceUnavailable",
        )
        assert refused.body == {
            "exception": refused.exception,
            "message": "Limit of requests for Mobile app is reached for interval 60s.",
        }
        raw = http.get("/genesys/1/service/callback/billing-cb", auth=("Mobile app", token))
        assert raw.status_code == 503 and raw.headers["Retry-After"] == "46"
        assert GmsClient(http).query("billing-cb") == [], "another client has its own budget"
    assert CallbackRequest.objects.count() == 1


@override_settings(RINGBACK_GMS_REQUIRE_AUTH=True)
def test_anonymous_requests_are_refused_when_auth_is_required(http, billing):
    assert http.post("/genesys/1/service/callback/billing-cb", json={"_customer_number": "+33612345678"}).status_code == 401


def test_a_body_that_is_neither_json_nor_a_form_is_415(http, billing):
    response = http.post(
        "/genesys/1/service/callback/billing-cb", content=b"_customer_number=1", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415 and "exception" in response.json()


def test_an_oversized_body_is_413(http, billing):
    response = http.post(
        "/genesys/1/service/callback/billing-cb", content=b"x" * 200_000, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


# --- Admin -----------------------------------------------------------------------------------------------------------------------


@pytest.fixture
def admin_http(http):
    roles.ensure_roles()
    user = get_user_model().objects.create_user("sup", "sup@example.com", "sup-pass-123", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.ADMIN))
    return GmsClient(http, user="sup", password="sup-pass-123")


def test_admin_lists_queues_and_cancels_by_admin(gms, admin_http):
    a = gms.start("billing-cb", "+33612345001")["_id"]
    b = gms.start("billing-cb", "+33612345002", desired_time=timezone.now() + timedelta(hours=3))["_id"]
    listed = admin_http.admin_queues(target="billing-cb", states="QUEUED,SCHEDULED")
    assert {r["_id"] for r in listed["billing-cb"]} == {a, b}
    only_queued = admin_http.admin_queues(states="QUEUED")
    assert {r["_id"] for r in only_queued["billing-cb"]} == {a}
    answer = admin_http.admin_cancel([a, "CB-NOTHING"])
    assert answer["cancelled"] == [a] and "CB-NOTHING" in answer["failed"]
    record = gms.query_id(a)[0]
    assert (record["_callback_state"], record["_callback_reason"]) == ("COMPLETED", "CANCELLED_BY_ADMIN")
    assert CallbackRequest.objects.get(reference=a).state == CallbackState.CANCELLED
    assert HistoryEvent.objects.filter(callback__reference=a, message__contains="administrator", actor__username="sup").exists()


def test_watermarks_count_what_waits_in_each_service(gms, admin_http, billing):
    """A4 of the public contract: {"services": {"<svc>": n}, "total": n}, for the services named or every one."""
    make_queue("sales", gms_service="sales-cb")
    gms.start("billing-cb", "+33612345001")
    gms.start("billing-cb", "+33612345002")
    gms.start("billing-cb", "+33612345003", desired_time=timezone.now() + timedelta(hours=3))  # scheduled: not waiting
    gms.start("sales-cb", "+33612345004")
    assert admin_http.watermarks("billing-cb") == {"services": {"billing-cb": 2}, "total": 2}
    assert admin_http.watermarks() == {"services": {"billing-cb": 2, "sales-cb": 1}, "total": 3}
    with pytest.raises(GmsFailure) as failure:
        admin_http.watermarks("nothing-cb")
    assert failure.value.status == 404 and "nothing-cb" in failure.value.message


def test_filter_keys_choose_what_each_admin_record_shows(gms, admin_http):
    gms.start("billing-cb", "+33612345001", CB_ORDER="o-1", CB_OTHER="x")
    always = {"_id", "_desired_time", "_service_name", "_callback_state", "_expiration_time", "_customer_number", "_url"}
    # Without filter-keys, GMS's default (_callback_state, _callback_reason and ORS statistics): no attached data.
    [default] = admin_http.admin_queues()["billing-cb"]
    assert set(default) == always
    [record] = admin_http.admin_queues(filter_keys=["CB_ORDER", "_callback_reason"])["billing-cb"]
    assert set(record) == always | {"CB_ORDER"} and record["CB_ORDER"] == "o-1"
    [everything] = admin_http.admin_queues(filter_keys=["CB_ORDER", "CB_OTHER"])["billing-cb"]
    assert {"CB_ORDER", "CB_OTHER"} <= set(everything)


def test_reportcancelled_lists_the_cancelled_callbacks_with_the_properties_asked(gms, admin_http):
    """A3 of the public contract: the callbacks cancelled (by the customer's client, by an administrator)."""
    by_client = gms.start("billing-cb", "+33612345001", CB_ORDER="o-1")["_id"]
    by_admin = gms.start("billing-cb", "+33612345002", CB_ORDER="o-2")["_id"]
    gms.start("billing-cb", "+33612345003")  # still waiting: not in the report
    gms.cancel("billing-cb", by_client)
    admin_http.admin_cancel([by_admin])
    every = admin_http.report_cancelled()["billing-cb"]
    assert {(r["_id"], r["_callback_reason"]) for r in every} == {(by_client, "CANCELLED"), (by_admin, "CANCELLED_BY_ADMIN")}
    [only] = admin_http.report_cancelled("CANCELLED_BY_ADMIN", exported=["CB_ORDER"])["billing-cb"]
    assert only["_id"] == by_admin and only["CB_ORDER"] == "o-2" and "_customer_number" not in only
    with pytest.raises(GmsFailure) as failure:
        admin_http.report_cancelled("EXPIRED")
    assert failure.value.status == 400
    with pytest.raises(GmsFailure) as failure:
        gms.report_cancelled()  # not an administrator
    assert failure.value.status == 401


def test_admin_endpoints_need_a_staff_user(http, gms):
    assert http.get("/genesys/1/admin/callback/queues").status_code == 401
    get_user_model().objects.create_user("agent", "a@example.com", "agent-pass-123")
    with pytest.raises(GmsFailure) as failure:
        GmsClient(http, user="agent", password="agent-pass-123").admin_queues()
    assert failure.value.status == 401
    # Staff status alone is not the Admin role.
    get_user_model().objects.create_user("clerk", "c@example.com", "clerk-pass-123", is_staff=True)
    with pytest.raises(GmsFailure) as failure:
        GmsClient(http, user="clerk", password="clerk-pass-123").admin_queues()
    assert failure.value.status == 401


def test_every_other_field_of_the_request_is_its_underscore_property(gms):
    """GMS names the request's fields `_<field>` (`intake_schema`): e-mail, language, priority, instructions and the
    availability window come through; an empty one takes its default; a value the request refuses is a 400."""
    ends = timezone.now() + timedelta(hours=3)
    ref = gms.start(
        "billing-cb",
        "+33612345670",
        _email="nina@example.com",
        _language="fr",
        _priority="9",
        _instructions="After 5 pm",
        _window_end=to_gms(ends),
        _max_attempts="",
    )["_id"]
    callback = CallbackRequest.objects.get(reference=ref)
    assert (callback.customer_email, callback.language, callback.priority, callback.instructions) == (
        "nina@example.com",
        "fr",
        9,
        "After 5 pm",
    )
    assert abs((callback.window_end - ends).total_seconds()) < 0.001
    assert callback.max_attempts == callback.queue.default_max_attempts
    with pytest.raises(GmsFailure) as refused:
        gms.start("billing-cb", "+33612345671", _priority="11")
    assert refused.value.status == 400 and "priority" in refused.value.message
    assert not CallbackRequest.objects.filter(phone_number="+33612345671").exists()


def test_a_gms_client_cannot_set_what_gms_decides_through_underscore_fields(gms, queue):
    """The service names the queue, the type follows `_desired_time`, the origin `_media_type`, the zone the number:
    `_queue`, `_type`, `_origin`, `_channel`, `_customer_timezone` and `_data` sent anyway change none of them."""
    other = make_queue("sales")
    ref = gms.start(
        "billing-cb",
        "+33612345672",
        _queue=other.slug,
        _type="scheduled",
        _origin="web",
        _channel="web_callback",
        _customer_timezone="Asia/Tokyo",
        _data='{"injected": true}',
    )["_id"]
    callback = CallbackRequest.objects.get(reference=ref)
    assert (callback.queue_id, callback.type, callback.origin, callback.channel) == (queue.pk, "immediate", "api", "voice")
    assert callback.customer_timezone == "Europe/Paris" and "injected" not in callback.data


# --- Paths and methods GMS does not serve: its JSON error shape, never an HTML page or an empty body ---------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/genesys/1/service/callback/billing-cb/CB-1"),  # one callback: PUT and DELETE only
        ("DELETE", "/genesys/1/service/callback/billing-cb"),
        ("POST", "/genesys/1/admin/callback/queues"),
        ("PATCH", "/genesys/1/service/callback/billing-cb/availability"),
    ],
)
def test_a_method_a_path_does_not_take_is_a_gms_405_naming_the_allowed_ones(http, billing, method, path):
    r = http.request(method, path)
    assert r.status_code == 405 and r.headers["content-type"] == "application/json"
    assert r.json() == {
        "exception": "org.springframework.web.HttpRequestMethodNotSupportedException",
        "message": f"Request method '{method}' not supported",
    }
    assert r.headers["Allow"]


@pytest.mark.parametrize("path", ["/genesys/1/service/nothing/here", "/genesys/2/service/callback/billing-cb", "/genesys/"])
def test_a_path_gms_does_not_serve_is_a_gms_404(http, billing, path):
    r = http.get(path)
    assert r.status_code == 404 and r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["exception"] == "org.springframework.web.servlet.NoHandlerFoundException"
    assert body["message"] == f"No handler found for GET {path}"
