"""Edges found in review: odd input stays a 4xx, and calls never outlive their owner."""

import pytest
from django.urls import reverse

from callbacks import lifecycle
from callbacks.enums import AgentStatus, CallState, ConsultState, OfferOutcome
from callbacks.errors import DomainError
from callbacks.models import AgentChannelStatus, Contact, ContactEmail, Offer

from .factories import make_agent, make_callback, refreshed, set_ready
from .test_calls import accepted, connected

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice.user)
    return client


@pytest.mark.parametrize(
    ("method", "url", "data"),
    [
        ("post", "/team/favorite/", {"target": "agent:²"}),
        ("get", "/contacts/?link=²", None),
        ("get", "/responses/?interaction=²&q=%00", None),
        ("get", "/team/?q=%00", None),
        ("post", "/contacts/new/", {"first_name": "X", "phones": "+33612345678", "link": "²"}),
    ],
)
def test_odd_ids_and_nul_bytes_are_never_a_500(alice_client, method, url, data):
    response = getattr(alice_client, method)(url, data or {})
    assert response.status_code < 500


def test_creating_a_contact_for_someone_elses_interaction_is_refused_and_creates_nothing(alice_client, bob, queue):
    interaction = accepted(bob, queue)
    before = Contact.objects.count()
    response = alice_client.post(reverse("contact_new"), {"first_name": "X", "phones": "+33612345699", "link": interaction.pk})
    assert response.status_code == 403
    assert Contact.objects.count() == before


def test_multi_line_email_subject_is_refused(alice_client, alice, queue, mailoutbox):
    interaction = accepted(alice, queue)
    ContactEmail.objects.create(contact=interaction.callback.contact, address="c@example.com")
    email = lifecycle.do_open_email(user=alice.user, interaction_id=interaction.pk, to="c@example.com")
    response = alice_client.post(
        reverse("send_email", args=[email.pk]),
        {"to": "c@example.com", "subject": "Hi\r\nBcc: x@y.example", "body": "b"},
        **HTMX,
    )
    assert response.status_code == 400
    assert mailoutbox == []


@pytest.mark.parametrize("when", ["9999-12-31T23:59", "0001-01-01T00:30"])
def test_reschedule_to_absurd_dates_is_a_400(alice_client, alice, queue, when):
    interaction = accepted(alice, queue, customer_timezone="America/Los_Angeles")
    assert alice_client.post(reverse("reschedule", args=[interaction.pk]), {"when": when}, **HTMX).status_code == 400


def test_instant_transfer_ends_an_open_consultation(queue, alice, bob):
    dave = make_agent("dave", queue)
    interaction, call = connected(alice, queue)
    set_ready(bob)
    consult = lifecycle.do_start_consultation(user=alice.user, interaction_id=interaction.pk, target=f"agent:{bob.pk}")
    lifecycle.do_accept_consultation(user=bob.user, consultation_id=consult.pk)
    set_ready(dave)
    lifecycle.do_transfer(user=alice.user, interaction_id=interaction.pk, target=f"agent:{dave.pk}")
    assert refreshed(consult).state == ConsultState.ENDED
    with pytest.raises(DomainError):
        lifecycle.do_complete_consultation(user=alice.user, consultation_id=consult.pk, mode="transfer")


def test_cancelling_during_a_transfer_releases_the_call(queue, alice, bob):
    interaction, call = connected(alice, queue)
    set_ready(bob)
    lifecycle.do_transfer(user=alice.user, interaction_id=interaction.pk, target=f"agent:{bob.pk}")
    lifecycle.do_cancel_callback(reference=interaction.callback.reference, reason="Customer gave up")
    assert refreshed(call).state == CallState.ENDED


def test_logging_out_during_a_transfer_releases_the_call(queue, alice, bob):
    interaction, call = connected(alice, queue)
    set_ready(bob)
    lifecycle.do_transfer(user=alice.user, interaction_id=interaction.pk, target=f"agent:{bob.pk}")
    lifecycle.do_log_out(user=bob.user)
    assert refreshed(call).state == CallState.ENDED
    assert not Offer.objects.filter(agent=bob, outcome=OfferOutcome.OPEN).exists()


def test_not_ready_agent_stays_not_ready_after_mark_done(queue, alice):
    queue.after_call_work_seconds = 10
    queue.save()
    interaction = accepted(alice, queue)
    lifecycle.do_set_status(user=alice.user, channel="voice", status="not_ready")
    make_callback(queue, phone="+33612345600")
    lifecycle.do_mark_done(user=alice.user, interaction_id=interaction.pk)
    assert AgentChannelStatus.objects.get(agent=alice, channel="voice").status == AgentStatus.NOT_READY


def test_going_not_ready_hands_a_ringing_callback_to_the_next_agent(queue, alice, bob):
    set_ready(alice)
    callback = make_callback(queue)
    set_ready(bob)
    lifecycle.do_set_status(user=alice.user, channel="voice", status="not_ready")
    assert Offer.objects.get(callback=callback, outcome=OfferOutcome.OPEN).agent == bob
    assert Offer.objects.get(callback=callback, agent=alice).outcome == OfferOutcome.WITHDRAWN


def test_an_agent_cannot_dial_a_second_live_call(queue, alice):
    from .test_calls import dial

    interaction, _ = connected(alice, queue)
    set_ready(alice, "web_callback")
    web = make_callback(queue, phone="+33612345611", channel="web_callback")
    other = lifecycle.do_accept_offer(user=alice.user, offer_id=Offer.objects.get(callback=web, outcome=OfferOutcome.OPEN).pk)
    with pytest.raises(DomainError, match="already on another call"):
        dial(alice, other)
    lifecycle.do_hold_call(user=alice.user, interaction_id=interaction.pk)
    assert dial(alice, other).state == CallState.DIALING  # with the first call on hold, it may


def test_team_communicator_finds_full_names_and_typed_numbers(alice_client, queue):
    make_callback(queue, customer_name="Camille Laurent")
    html = alice_client.get(reverse("team"), {"q": "Camille Laurent"}).content.decode()
    assert "Camille Laurent" in html
    html = alice_client.get(reverse("team"), {"q": "+33 1 45 67 89 01"}).content.decode()
    assert 'value="number:+33145678901"' in html


def test_logged_out_agents_are_not_offered_for_consultation(alice_client, bob):
    html = alice_client.get(reverse("team"), {"q": "bob"}).content.decode()
    assert "Logged Out" in html and "Start Consultation with Bob" not in html


def test_a_refused_contact_edit_never_says_saved(alice_client, queue):
    contact = make_callback(queue, customer_name="Camille Laurent").contact
    url = reverse("contact", args=[contact.pk]) + "?saved=1"
    response = alice_client.post(url, {"first_name": "Camille", "phones": "+33612345678", "emails": "not-an-email"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "is not an e-mail address" in html and "Contact saved." not in html
