"""The agent workspace through the pages an agent touches."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from callbacks import lifecycle
from callbacks.enums import AgentStatus, CallbackState, CallbackType, OfferOutcome, PreviewSection
from callbacks.models import AgentChannelStatus, Interaction, NotReadyReason, Offer, PreviewField

from .factories import PASSWORD, make_callback, numbers, refreshed, set_ready

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice.user)
    return client


def test_login_puts_a_logged_out_agent_not_ready(client, alice):
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert set(AgentChannelStatus.objects.filter(agent=alice).values_list("status", flat=True)) == {AgentStatus.NOT_READY}


def test_wrong_password_shows_a_message(client, alice):
    response = client.post(reverse("login"), {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"didn't match" in response.content


def test_workspace_requires_login(client, transactional_db):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_user_without_agent_profile_gets_a_clear_403(client, transactional_db):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("outsider", password=PASSWORD)
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 403
    assert b"not an agent" in response.content


def test_workspace_shows_status_bar_with_seed_button_names(alice_client):
    html = alice_client.get("/").content.decode()
    for name in (">Ready<", ">Not Ready<", ">After Call Work<", 'aria-label="Voice status"', 'aria-label="Web Callback status"'):
        assert name in html


def test_ready_over_htmx_answers_204_and_offers_the_waiting_callback(alice_client, alice, queue):
    callback = make_callback(queue, customer_name="Camille Laurent")
    response = alice_client.post(reverse("set_status"), {"channel": "voice", "status": "ready"}, **HTMX)
    assert response.status_code == 204  # the push renders the regions; nothing is rendered twice
    html = alice_client.get("/").content.decode()
    assert 'id="status"' in html and 'id="notifications"' in html
    assert "Camille Laurent" in html and ">Accept<" in html and ">Reject<" in html
    assert refreshed(callback).state == CallbackState.OFFERED


def test_not_ready_with_reason_is_shown(alice_client, alice):
    reason = NotReadyReason.objects.create(name="Lunch")
    alice_client.post(reverse("set_status"), {"channel": "voice", "status": "not_ready", "reason": reason.pk}, **HTMX)
    html = alice_client.get("/").content.decode()
    assert "Not Ready · Lunch" in html


def test_bad_status_input_is_a_400_with_a_message(alice_client):
    response = alice_client.post(reverse("set_status"), {"channel": "fax", "status": "ready"}, **HTMX)
    assert response.status_code == 400
    assert "channel" in response.content.decode()


def test_accept_shows_callback_information(alice_client, alice, queue):
    PreviewField.objects.create(section=PreviewSection.CALLBACK_INFO, key="account_number", label="Account number")
    set_ready(alice)
    callback = make_callback(
        queue,
        customer_name="Camille Laurent",
        instructions="Call after 10",
        customer_timezone="America/New_York",
        data={"account_number": "FR-20931"},
    )
    offer = Offer.objects.get(callback=callback)
    response = alice_client.post(reverse("accept_offer", args=[offer.pk]), **HTMX)
    assert response.status_code == 204
    html = alice_client.get("/").content.decode()
    for text in (
        "Callback Information",
        "Immediate",
        "Call after 10",
        "Account number",
        "FR-20931",
        "+33 6 12 34 56 78",
        "As soon as possible",  # an immediate callback: its desired time is only when it became due
        ">Mark Done<",
    ):
        assert text in html, text


def test_delayed_preview_shows_preview_fields_in_the_notification(alice_client, alice, queue):
    PreviewField.objects.create(section=PreviewSection.NOTIFICATION, key="reason", label="Reason")
    set_ready(alice)
    make_callback(queue, type=CallbackType.DELAYED_PREVIEW, data={"reason": "Router keeps rebooting"})
    html = alice_client.get("/").content.decode()
    assert 'aria-label="Preview"' in html and "Router keeps rebooting" in html


def test_plain_form_post_works_without_javascript(alice_client, alice, queue):
    set_ready(alice)
    callback = make_callback(queue)
    offer = Offer.objects.get(callback=callback)
    response = alice_client.post(reverse("accept_offer", args=[offer.pk]))
    assert response.status_code == 302
    assert Interaction.objects.filter(callback=callback).exists()


def test_accepting_a_rejected_offer_is_a_409_with_a_message(alice_client, alice, queue):
    set_ready(alice)
    callback = make_callback(queue)
    offer = Offer.objects.get(callback=callback)
    alice_client.post(reverse("reject_offer", args=[offer.pk]), **HTMX)
    response = alice_client.post(reverse("accept_offer", args=[offer.pk]), **HTMX)
    assert response.status_code == 409
    assert "no longer offered" in response.content.decode()
    assert 'role="alert"' in response.content.decode()
    assert response["HX-Retarget"] == "#flash"  # the message alone; the page keeps what it shows


def test_accepting_someone_elses_offer_is_a_403_and_changes_nothing(client, alice, bob, queue):
    set_ready(alice)
    callback = make_callback(queue)
    offer = Offer.objects.get(callback=callback)
    client.force_login(bob.user)
    response = client.post(reverse("accept_offer", args=[offer.pk]))
    assert response.status_code == 403
    assert refreshed(offer).outcome == OfferOutcome.OPEN


def test_unknown_offer_is_a_404(alice_client):
    assert alice_client.post(reverse("accept_offer", args=[999999]), **HTMX).status_code == 404


def test_get_on_an_action_is_405(alice_client):
    assert alice_client.get(reverse("set_status")).status_code == 405


def test_double_click_on_accept_is_harmless(alice_client, alice, queue):
    set_ready(alice)
    offer = Offer.objects.get(callback=make_callback(queue))
    first = alice_client.post(reverse("accept_offer", args=[offer.pk]), **HTMX)
    second = alice_client.post(reverse("accept_offer", args=[offer.pk]), **HTMX)
    assert (first.status_code, second.status_code) == (204, 409)
    assert Interaction.objects.count() == 1


def test_csrf_is_enforced(alice, queue):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice.user)
    assert strict.post(reverse("set_status"), {"channel": "voice", "status": "ready"}).status_code == 403


# --- Query counts on the hot paths ------------------------------------------------


def _fill(queue, n):
    for number in numbers(n):
        make_callback(queue, phone=number)


@pytest.mark.parametrize("waiting", [1, 30])
def test_rendering_the_workspace_takes_bounded_queries(alice_client, alice, queue, django_assert_max_num_queries, waiting):
    set_ready(alice)
    _fill(queue, waiting)
    offer = Offer.objects.get(agent=alice, outcome=OfferOutcome.OPEN)
    alice_client.post(reverse("accept_offer", args=[offer.pk]))
    with django_assert_max_num_queries(19):
        assert alice_client.get("/").status_code == 200


@pytest.mark.parametrize("waiting", [1, 30])
def test_making_an_offer_takes_bounded_queries(alice, queue, django_assert_max_num_queries, waiting):
    _fill(queue, waiting)
    AgentChannelStatus.objects.create(agent=alice, channel="voice", status=AgentStatus.READY, since="2026-01-01T00:00:00Z")
    with django_assert_max_num_queries(10):
        assert lifecycle.do_offer_next(queue_id=queue.pk, channel="voice") is not None


@pytest.mark.parametrize("waiting", [1, 30])
def test_accepting_takes_bounded_queries(alice, queue, django_assert_max_num_queries, waiting):
    from callbacks import lifecycle

    set_ready(alice)
    _fill(queue, waiting)
    offer = Offer.objects.get(agent=alice, outcome=OfferOutcome.OPEN)
    with django_assert_max_num_queries(8):
        lifecycle.do_accept_offer(user=alice.user, offer_id=offer.pk)


def test_desired_time_is_shown_in_the_customer_zone_and_the_agent_zone(alice_client, alice, queue):
    set_ready(alice)
    paris = ZoneInfo("Europe/Paris")
    desired = (timezone.now() + timedelta(days=60)).astimezone(paris).replace(hour=14, minute=30, second=0, microsecond=0)
    make_callback(
        queue,
        type=CallbackType.DELAYED,
        desired_time=desired,
        customer_timezone="America/New_York",
    )
    offer = Offer.objects.get(agent=alice)
    alice_client.post(reverse("accept_offer", args=[offer.pk]), **HTMX)
    html = alice_client.get("/").content.decode()
    new_york = desired.astimezone(ZoneInfo("America/New_York"))
    assert new_york.hour != desired.hour  # the two zones really differ
    # The agent's own time first, the customer's local time beside it (the date only if it is another day there).
    shown = f'data-testid="time-agent">{desired:%a} {desired.day} {desired:%b}, 14:30</time>'
    theirs = f"· {new_york:%H:%M} in New York</span>"
    assert shown in html and theirs in html
