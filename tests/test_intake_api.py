"""The intake endpoint and command: a request is created once, validated, never half-written."""

import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from callbacks.enums import CallbackState, HistoryKind
from callbacks.models import CallbackRequest, Contact, HistoryEvent

from .factories import make_api_client

URL = "/api/v1/callbacks"
NEAR = (timezone.now() + timedelta(days=30)).date().isoformat()  # a day well inside the accepted range


@pytest.fixture
def token(queue):
    return make_api_client()[1]


def post(client, token, body, raw=None):
    return client.post(
        URL,
        data=raw if raw is not None else json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def test_create_callback_returns_201_with_reference(client, token):
    response = post(
        client,
        token,
        {
            "queue": "billing",
            "phone_number": "+33612345678",
            "customer_name": "Camille Laurent",
            "data": {"account_number": "FR-1"},
            "customer_timezone": "Europe/Paris",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    callback = CallbackRequest.objects.get(reference=body["reference"])
    assert (body["state"], callback.phone_number, callback.data) == ("queued", "+33612345678", {"account_number": "FR-1"})
    assert callback.contact.phones.get().number == "+33612345678"
    assert callback.api_client.name == "IVR"


def test_same_number_and_queue_returns_the_open_callback_with_200(client, token):
    first = post(client, token, {"queue": "billing", "phone_number": "+33612345678"}).json()
    again = post(client, token, {"queue": "billing", "phone_number": "06 12 34 56 78".replace("06", "+33 6")})
    assert again.status_code == 200
    assert again.json()["reference"] == first["reference"]
    assert again.json()["created"] is False
    assert CallbackRequest.objects.count() == 1


def test_scheduled_callback_keeps_the_customer_zone(client, token):
    when = (timezone.now() + timedelta(days=1)).astimezone(timezone.get_fixed_timezone(-300)).replace(microsecond=0)
    response = post(
        client,
        token,
        {
            "queue": "billing",
            "phone_number": "+12125550188",
            "type": "scheduled",
            "desired_time": when.isoformat(),
            "customer_timezone": "America/New_York",
        },
    )
    assert response.status_code == 201, response.content
    callback = CallbackRequest.objects.get()
    assert callback.state == CallbackState.SCHEDULED
    assert callback.desired_time == when
    assert callback.customer_timezone == "America/New_York"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"queue": "billing", "phone_number": "12"}, 400, "phone_number"),
        ({"queue": "billing", "phone_number": "not a number"}, 400, "phone_number"),
        ({"queue": "nope", "phone_number": "+33612345678"}, 400, "queue"),
        ({"queue": "billing", "phone_number": "+33612345678", "customer_timezone": "Mars/Olympus"}, 400, "customer_timezone"),
        ({"queue": "billing", "phone_number": "+33612345678", "type": "scheduled"}, 400, "desired_time"),
        (
            {
                "queue": "billing",
                "phone_number": "+33612345678",
                "type": "scheduled",
                "desired_time": "2001-01-01T10:00:00+00:00",
            },
            400,
            "desired_time",
        ),
        ({"queue": "billing", "phone_number": "+33612345678", "desired_time": "2030-01-01T10:00:00"}, 400, "desired_time"),
        (
            {
                "queue": "billing",
                "phone_number": "+33612345678",
                "window_start": f"{NEAR}T10:00:00+00:00",
                "window_end": f"{NEAR}T09:00:00+00:00",
            },
            400,
            "window_end",
        ),
        (
            {
                "queue": "billing",
                "phone_number": "+33612345678",
                "type": "scheduled",
                "desired_time": "9999-12-31T23:00:00-05:00",
            },
            400,
            "desired_time",
        ),
        ({"queue": "billing", "phone_number": "+33612345678", "window_start": "0001-01-01T01:00:00+05:00"}, 400, "window_start"),
        ({"queue": "billing", "phone_number": "+33612345678", "customer_name": "A\x00B"}, 400, "customer_name"),
        ({"queue": "bill\x00ing", "phone_number": "+33612345678"}, 400, "queue"),
        ({"queue": "billing", "phone_number": "+33612345678", "priority": 99}, 422, "priority"),
        ({"queue": "billing", "phone_number": "+33612345678", "type": "whenever"}, 422, "type"),
        ({"queue": "billing"}, 422, "phone_number"),
    ],
)
def test_bad_input_gets_a_clear_4xx_and_writes_nothing(client, token, body, status, field):
    response = post(client, token, body)
    assert response.status_code == status, response.content
    assert response.json()["field"] == field
    assert response.json()["detail"]
    assert not CallbackRequest.objects.exists()
    assert not Contact.objects.exists()
    assert not HistoryEvent.objects.exists()


def test_malformed_json_is_a_4xx(client, token):
    response = post(client, token, None, raw="{not json")
    assert 400 <= response.status_code < 500
    assert not CallbackRequest.objects.exists()


@pytest.mark.parametrize("header", ["", "Bearer wrong", "Token abc"])
def test_missing_or_wrong_token_is_401(client, queue, header):
    response = client.post(URL, data="{}", content_type="application/json", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["detail"] == "Missing or invalid API token."


def test_inactive_client_is_refused(client, queue):
    from .factories import make_api_client

    api_client, token = make_api_client("Old IVR")
    api_client.active = False
    api_client.save()
    assert post(client, token, {"queue": "billing", "phone_number": "+33612345678"}).status_code == 401


def test_get_and_cancel_by_reference(client, token):
    ref = post(client, token, {"queue": "billing", "phone_number": "+33612345678"}).json()["reference"]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.get(f"{URL}/{ref}", **auth).json()["state"] == "queued"
    # As a client sends it: no body at all (the test client would otherwise send an empty multipart form).
    assert client.post(f"{URL}/{ref}/cancel", "", content_type="application/json", **auth).json()["state"] == "cancelled"
    again = client.post(f"{URL}/{ref}/cancel", "", content_type="application/json", **auth)
    assert again.status_code == 409
    assert "already cancelled" in again.json()["detail"]
    assert client.get(f"{URL}/CB-NOPE", **auth).status_code == 404
    assert HistoryEvent.objects.filter(callback__reference=ref, kind=HistoryKind.CANCELLED).count() == 1


def test_management_command_creates_a_callback(queue, capsys):
    call_command(
        "create_callback", "--queue", "billing", "--phone", "+33612345678", "--name", "Camille", "--data", "reason=Refund"
    )
    callback = CallbackRequest.objects.get()
    assert callback.data == {"reason": "Refund"}
    assert callback.reference in capsys.readouterr().out


def test_management_command_reports_bad_input(queue):
    with pytest.raises(CommandError, match="not a valid phone number"):
        call_command("create_callback", "--queue", "billing", "--phone", "+3312")
    assert not CallbackRequest.objects.exists()


def test_nan_in_attached_data_is_a_400(client, token):
    raw = '{"queue": "billing", "phone_number": "+33612345678", "data": {"a": NaN}}'
    response = post(client, token, None, raw=raw)
    assert response.status_code in (400, 422)
    assert not CallbackRequest.objects.exists()


def test_an_integration_cannot_read_or_cancel_another_clients_callback(client, token):
    ref = post(client, token, {"queue": "billing", "phone_number": "+33612345678"}).json()["reference"]
    _, other = make_api_client("Mobile app")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {other}"}
    assert client.get(f"{URL}/{ref}", **auth).status_code == 404
    assert client.post(f"{URL}/{ref}/cancel", "", content_type="application/json", **auth).status_code == 404
    assert CallbackRequest.objects.get(reference=ref).state == "queued"


def test_nul_in_a_reference_is_a_404(client, token):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert client.get(f"{URL}/CB-%00X", **auth).status_code == 404
    assert client.post(f"{URL}/CB-%00X/cancel", "", content_type="application/json", **auth).status_code == 404
