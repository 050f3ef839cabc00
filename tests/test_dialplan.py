"""The dial plan (issue #22, toll fraud): which numbers a queue's agents may reach, refused with a clear message at
intake, at Call, and for a transfer, a consultation or a conference to a number; configured per queue in admin."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from callbacks import dialplan
from callbacks.enums import AcceptAction, OfferOutcome
from callbacks.models import Call, CallbackRequest, Consultation, Offer, Queue

from .factories import make_api_client, make_callback, make_queue, set_ready, worker

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.mark.parametrize(
    ("allowed", "blocked", "number", "refused"),
    [
        ("", "", "+33612345678", None),
        ("", "", "+19005550123", "blocked range"),  # US premium rate, blocked for every queue by default
        ("", "", "+33899123456", "blocked range"),  # French premium rate
        ("", "", "+88213001234", "blocked range"),  # international networks, fraud-prone
        ("", "+3381", "+33812345678", "blocked range"),  # the queue's own
        ("+33, +32", "", "+32470123456", None),
        ("+33, +32", "", "+447700900123", "outside Billing's dial plan (+33, +32)"),
        ("", "", "0612345678", "not a full international number"),
        ("", "", "+33", "not a full international number"),
    ],
)
def test_what_a_queue_may_dial(allowed, blocked, number, refused):
    queue = Queue(name="Billing", dial_allowed_prefixes=allowed, dial_blocked_prefixes=blocked)
    why = dialplan.refusal(queue, number)
    assert (why is None) if refused is None else (refused in why), why


@pytest.mark.parametrize(("typed", "kept"), [("+33 +32", "+33, +32"), ("+33,\n+3281;", "+33, +3281"), ("", "")])
def test_admin_writes_prefixes_as_it_likes_and_they_are_kept_one_way(typed, kept):
    queue = Queue(name="Billing", slug="billing", dial_allowed_prefixes=typed)
    queue.clean()
    assert queue.dial_allowed_prefixes == kept


@pytest.mark.parametrize("typed", ["33", "+33a", "+", "+1234567890123456"])
def test_a_prefix_that_is_not_one_is_refused_by_name_in_admin(typed):
    with pytest.raises(ValidationError) as error:
        Queue(name="Billing", slug="billing", dial_blocked_prefixes=typed).clean()
    assert "dial_blocked_prefixes" in error.value.message_dict


@pytest.mark.parametrize("typed", ["12", "+33 1 84", "caller", "+999 123 456 789"])
def test_a_caller_id_that_is_not_a_number_is_refused_by_name_in_admin(typed):
    with pytest.raises(ValidationError) as error:
        Queue(name="Billing", slug="billing", caller_id=typed).clean()
    assert "caller_id" in error.value.message_dict


def test_a_caller_id_is_kept_in_e164():
    queue = Queue(name="Billing", slug="billing", caller_id="+33 (0)1 84 88 00 00")
    queue.clean()
    assert queue.caller_id == "+33184880000"


@pytest.mark.parametrize(
    "typed",
    ['Billing" <sip:evil@x>', "Billing\r\nX-Injected: 1", "Back\\slash", "<Billing>", "A" * 31, "Billing;tag=1"],
)
def test_a_caller_id_name_that_could_leave_its_sip_header_is_refused_by_name_in_admin(typed):
    """The name is written into From and P-Asserted-Identity between quotes: a quote, a backslash, an angle bracket,
    a line break or a SIP separator in it could forge the header, so admin refuses it with a message."""
    with pytest.raises(ValidationError) as error:
        Queue(name="Billing", slug="billing", caller_id="+33184880000", caller_id_name=typed).clean()
    assert "caller_id_name" in error.value.message_dict


def test_a_caller_id_name_keeps_letters_of_any_language_and_single_spaces():
    queue = Queue(name="Billing", slug="billing", caller_id_name="  Facturación   & Co. ")
    queue.clean()
    assert queue.caller_id_name == "Facturación & Co."


@pytest.mark.django_db
def test_the_intake_api_refuses_a_number_the_queue_may_never_call(client):
    make_queue("billing", name="Billing", dial_allowed_prefixes="+33")
    _, token = make_api_client()
    for number, field in (("+19005550123", "blocked range"), ("+447911123456", "outside Billing's dial plan")):
        r = client.post(
            "/api/v1/callbacks",
            json.dumps({"queue": "billing", "phone_number": number, "customer_name": "Mallory"}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        assert r.status_code == 400, r.content
        body = r.json()
        assert body["code"] == "dial_plan" and field in body["detail"], body
    assert not CallbackRequest.objects.exists()


def test_call_is_refused_when_the_plan_changed_since_intake(client, live, queue):
    Queue.objects.filter(pk=queue.pk).update(dial_allowed_prefixes="+32")
    r = client.post(reverse("call", args=[live]), **HTMX)
    assert r.status_code == 400
    assert "outside" in r.content.decode() and "dial plan" in r.content.decode()
    assert not Call.objects.exists()
    assert CallbackRequest.objects.get().attempts == 0, "no attempt used"


@pytest.mark.parametrize("mode", ["transfer", "consult", "conference"])
def test_a_transfer_consultation_or_conference_to_a_blocked_number_is_refused(client, live, mode):
    assert client.post(reverse("call", args=[live]), **HTMX).status_code == 204
    worker()
    from callbacks.telephony.simulator.models import SimCall

    client.post(reverse("sim_phone_act", args=[SimCall.objects.get().token, "answer"]))
    r = client.post(reverse("team_action", args=[live, mode]), {"target": "number:+33899123456"}, **HTMX)
    assert r.status_code == 400
    assert "blocked range" in r.content.decode()
    call = Call.objects.get()
    assert (call.state, call.transfer_number) == ("connected", "")
    assert not Consultation.objects.exists() and not call.parties.exists()
    allowed = client.post(reverse("team_action", args=[live, mode]), {"target": "number:+33612000099"}, **HTMX)
    assert allowed.status_code in (200, 204), "a number in the plan goes through"


@pytest.mark.django_db
def test_a_queue_that_dials_on_accept_does_not_dial_a_number_outside_its_plan(alice):
    queue = make_queue("sales", name="Sales", on_accept=AcceptAction.DIAL)
    alice.queues.add(queue)
    set_ready(alice)
    callback = make_callback(queue, phone="+33612345678")
    Queue.objects.filter(pk=queue.pk).update(dial_allowed_prefixes="+32")
    offer = Offer.objects.get(callback=callback, outcome=OfferOutcome.OPEN)
    from callbacks import lifecycle

    interaction = lifecycle.do_accept_offer(user=alice.user, offer_id=offer.pk)
    assert not Call.objects.exists()
    interaction.refresh_from_db()
    assert interaction.last_outcome.startswith("Not dialled on Accept: +33 6 12 34 56 78 is outside Sales's dial plan")
