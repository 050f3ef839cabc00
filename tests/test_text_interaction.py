"""The text message interaction started from the Party Action Menu: a conversation window per agent and number (the
thread both ways, the draft kept on the server, a character and segment counter), Send through the outbox and a
real local SMS gateway, STOP respected, Done; replies and delivery reports arriving live; the agent's own windows
only."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from callbacks import lifecycle
from callbacks.enums import EffectKind, HistoryKind
from callbacks.errors import DomainError, Invalid
from callbacks.models import (
    Agent,
    ContactPhone,
    Effect,
    HistoryEvent,
    ResponseCategory,
    SmsOptOut,
    StandardResponse,
    TextInteraction,
    TextMessage,
)
from callbacks.presenters.conversations import count_label, open_texts
from callbacks.views.render import render_regions

from .factories import refreshed, worker
from .test_calls import accepted
from .test_race import race
from .test_texts import from_gateway, gateway  # noqa: F401 - the real local gateway, as a fixture
from .verify import verify_action

HTMX = {"HTTP_HX_REQUEST": "true"}
NUMBER = "+33612345678"  # the callback's number
MOBILE = "+33698765432"  # another number the contact directory has


@pytest.fixture
def ix(queue, alice, gateway):  # noqa: F811
    """alice's open call window with Léa Moreau, whose directory entry has a second number; texts go to a gateway."""
    interaction = accepted(alice, queue, phone=NUMBER, customer_name="Léa Moreau")
    ContactPhone.objects.create(contact=interaction.callback.contact, number=MOBILE)
    return interaction


@pytest.fixture
def window(ix, alice):
    return lifecycle.do_open_text(user=alice.user, interaction_id=ix.pk, number=NUMBER)


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice.user)
    return client


def send(client, window, body="Your refund is on its way.", sent=None):
    data = {"body": body, "sent": refreshed(window).sent if sent is None else sent}
    return client.post(reverse("send_text", args=[window.pk]), data, **HTMX)


def texts_region(agent) -> str:
    return render_regions(Agent.objects.get(pk=agent.pk), ["texts"])


def history(callback) -> list[str]:
    return list(HistoryEvent.objects.filter(callback=callback).order_by("at", "id").values_list("message", flat=True))


# --- The Party Action Menu ------------------------------------------------------------------------------------------


def test_the_menu_offers_a_text_to_each_of_the_contacts_numbers(alice_client, ix):
    page = alice_client.get("/").content.decode()
    assert "Text message +33 6 12 34 56 78</button>" in page
    assert "Text message +33 6 98 76 54 32</button>" in page


def test_without_an_sms_gateway_the_menu_offers_no_text(alice_client, ix, settings):
    settings.RINGBACK_SMS_BACKEND = "none"
    page = alice_client.get("/").content.decode()
    assert "Text message +33" not in page
    assert "The contact directory has no other channel for this contact." in page


def test_the_menu_item_opens_the_window_and_asks_the_page_to_focus_it(alice_client, ix):
    response = alice_client.post(reverse("open_text", args=[ix.pk]), {"number": MOBILE}, **HTMX)
    assert response.status_code == 204
    window = TextInteraction.objects.get()
    assert json.loads(response["HX-Trigger"]) == {"ringback:text-focus": {"id": window.pk}}
    assert (window.agent_id, window.callback, window.number, window.interaction) == (ix.agent_id, ix.callback, MOBILE, ix)
    page = alice_client.get("/").content.decode()
    assert f'id="text-{window.pk}"' in page and "Text message interaction" in page
    assert "No texts with this number yet." in page
    assert not any("Text" in line for line in history(ix.callback)), "opening writes no history"


def test_without_javascript_the_menu_item_goes_back_to_the_desk_at_the_window(alice_client, ix):
    response = alice_client.post(reverse("open_text", args=[ix.pk]), {"number": NUMBER})
    assert response.status_code == 302
    assert response["Location"] == f"/#text-{TextInteraction.objects.get().pk}"


def test_a_second_click_on_the_same_number_returns_the_open_window(ix, alice, window):
    again = lifecycle.do_open_text(user=alice.user, interaction_id=ix.pk, number="+33 6 12 34 56 78")
    assert again.pk == window.pk
    other = lifecycle.do_open_text(user=alice.user, interaction_id=ix.pk, number=MOBILE)
    assert other.pk != window.pk
    assert [w.window.pk for w in open_texts(alice)] == [window.pk, other.pk]


@pytest.mark.parametrize(
    ("number", "message"),
    [("+33611111111", "Pick one of the contact&#x27;s numbers."), ("not a number", "is not a phone number"), ("", "Choose")],
)
def test_a_number_that_is_not_the_contacts_is_refused_with_a_clear_400(alice_client, ix, number, message):
    response = alice_client.post(reverse("open_text", args=[ix.pk]), {"number": number or " "}, **HTMX)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not TextInteraction.objects.exists()


def test_only_the_agent_of_the_call_window_can_text_from_it(ix, bob):
    with pytest.raises(DomainError, match="another agent") as refused:
        lifecycle.do_open_text(user=bob.user, interaction_id=ix.pk, number=NUMBER)
    assert refused.value.status == 403


# --- The draft and its counter ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        ("", "0 characters · 0 texts"),
        ("a", "1 character · 1 text"),
        ("x" * 42, "42 characters · 1 text"),
        ("x" * 161, "161 characters · 2 texts"),
        ("Réponse à 15:30 ’ok’", "20 characters · 1 text"),  # folded to GSM as it will be sent: one segment
        ("😀" * 36, "36 characters · 2 texts"),  # UCS-2: 70 code units a text, an emoji takes two
    ],
)
def test_the_counter_counts_characters_and_texts_as_they_will_be_sent(body, shown):
    assert count_label(body) == shown


def test_the_draft_is_kept_and_answered_with_its_counter(alice_client, window):
    response = alice_client.post(reverse("save_text_draft", args=[window.pk]), {"body": "x" * 42}, **HTMX)
    assert response.status_code == 200
    assert f'id="text-count-{window.pk}"' in response.content.decode() and "42 characters · 1 text" in response.content.decode()
    assert refreshed(window).body == "x" * 42
    page = alice_client.get("/").content.decode()
    assert "x" * 42 + "</textarea>" in page and "42 characters · 1 text" in page


def test_a_draft_too_long_is_refused_with_a_clear_400(alice_client, window):
    response = alice_client.post(reverse("save_text_draft", args=[window.pk]), {"body": "x" * 1601}, **HTMX)
    assert response.status_code == 400
    assert "The text is too long: at most 1,600 characters (it has 1,601)" in response.content.decode()
    assert refreshed(window).body == ""


# --- Send --------------------------------------------------------------------------------------------------------------


def test_send_queues_the_text_through_the_outbox_and_the_gateway_sends_it(alice_client, alice, ix, window, gateway):  # noqa: F811
    lifecycle.do_save_text_draft(user=alice.user, text_id=window.pk, body="Your refund is on its way.")
    assert send(alice_client, window).status_code == 204
    text = TextMessage.objects.get()
    assert (text.direction, text.number, text.body, text.kind) == ("out", NUMBER, "Your refund is on its way.", "agent")
    assert (text.status, text.callback, text.contact) == ("queued", ix.callback, ix.callback.contact)
    assert Effect.objects.get(kind=EffectKind.SMS).payload == {"text": text.pk}
    assert (refreshed(window).body, refreshed(window).sent) == ("", 1), "the draft is emptied for the next text"
    assert gateway.texts == [], "queued in the click's transaction"
    assert "Text sent to +33612345678 by Alice: Your refund is on its way." in history(ix.callback)
    assert 'data-testid="text-status">Queued<' in texts_region(alice)
    worker()
    assert [(t["To"], t["Body"]) for t in gateway.texts] == [(NUMBER, "Your refund is on its way.")]
    assert refreshed(text).status == "sent"
    assert 'data-testid="text-status">Sent<' in texts_region(alice)
    assert "Text to +33612345678 taken by the SMS gateway" in history(ix.callback)


@pytest.mark.parametrize(
    ("body", "message"),
    [("", "The text is empty"), ("  \n ", "The text is empty"), ("x" * 1601, "at most 1,600 characters")],
)
def test_send_refuses_an_empty_or_too_long_text_with_a_clear_400(alice_client, window, body, message):
    response = send(alice_client, window, body=body)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert response["HX-Retarget"] == "#flash"
    assert not TextMessage.objects.exists() and not Effect.objects.exists()


def test_send_without_the_windows_count_is_a_clear_400(alice_client, window):
    response = alice_client.post(reverse("send_text", args=[window.pk]), {"body": "Hello"}, **HTMX)
    assert response.status_code == 400 and "sent" in response.content.decode()
    assert not TextMessage.objects.exists()


def test_a_number_that_opted_out_is_not_texted_and_the_window_says_why(alice_client, alice, window, gateway):  # noqa: F811
    SmsOptOut.objects.create(number=NUMBER, opted_out_at=timezone.now(), keyword="STOP")
    assert "opted out of texts (STOP)" in texts_region(alice)
    response = send(alice_client, window, body="Are you there?")
    assert response.status_code == 409
    assert "+33 6 12 34 56 78 opted out of texts (STOP): nothing can be sent until they text START." in response.content.decode()
    worker()
    assert not TextMessage.objects.exists() and gateway.texts == []
    assert refreshed(window).sent == 0


def test_a_number_that_opts_out_after_the_send_shows_not_sent(alice, window, gateway):  # noqa: F811
    lifecycle.do_send_text(user=alice.user, text_id=window.pk, body="Hello", sent=0)
    SmsOptOut.objects.create(number=NUMBER, opted_out_at=timezone.now(), keyword="STOP")
    worker()
    assert gateway.texts == [] and TextMessage.objects.get().status == "suppressed"
    assert 'data-testid="text-status">Not sent: opted out<' in texts_region(alice)


def test_send_posted_twice_for_the_same_draft_sends_once(alice_client, window, gateway):  # noqa: F811
    assert send(alice_client, window, body="Once", sent=0).status_code == 204
    again = send(alice_client, window, body="Once", sent=0)
    assert again.status_code == 409 and "This text was already sent." in again.content.decode()
    worker()
    assert TextMessage.objects.count() == 1 and Effect.objects.filter(kind=EffectKind.SMS).count() == 1
    assert len(gateway.texts) == 1
    # The window's next text is another draft: it goes.
    assert send(alice_client, window, body="Twice").status_code == 204
    assert TextMessage.objects.count() == 2


def test_two_sends_of_one_draft_at_the_same_instant_send_once(alice, window):
    def click():
        return lifecycle.do_send_text(user=alice.user, text_id=window.pk, body="Raced", sent=0)

    results = race(click, click)
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(refused) == 1 and "already sent" in str(refused[0]), results
    assert TextMessage.objects.count() == 1 and Effect.objects.filter(kind=EffectKind.SMS).count() == 1


def test_a_text_the_gateway_never_takes_shows_not_delivered(alice, window, gateway):  # noqa: F811
    gateway.fail_next = 99
    lifecycle.do_send_text(user=alice.user, text_id=window.pk, body="Hello", sent=0)
    for minutes in range(0, 40, 3):
        with time_machine.travel(timezone.now() + timedelta(minutes=minutes), tick=True):
            worker()
    assert TextMessage.objects.get().status == "failed"
    assert 'data-testid="text-status">Not delivered<' in texts_region(alice)


# --- Live: replies and delivery reports ------------------------------------------------------------------------------


def test_a_customers_reply_appears_in_the_open_window_by_push(client, alice, bob, window, gateway):  # noqa: F811
    def reply():
        form = {"From": NUMBER, "Body": "Please call after 5pm", "MessageSid": "SMreply1"}
        assert from_gateway(client, "/sms/inbound", form).status_code == 200

    pushed = verify_action([alice, bob], reply)
    # The thread, and the Case history of the call window (the reply is in the callback's history); bob hears nothing.
    assert pushed[alice.pk] == {"texts", "notifications", "interaction"}
    assert pushed[bob.pk] == set()
    region = texts_region(alice)
    assert "Please call after 5pm" in region and 'class="text-bubble text-in text-received"' in region


def test_a_delivery_report_updates_the_status_by_push(client, alice, window, gateway):  # noqa: F811
    lifecycle.do_send_text(user=alice.user, text_id=window.pk, body="Hello", sent=0)
    pushed = verify_action([alice], worker)
    assert "texts" in pushed[alice.pk]
    text = TextMessage.objects.get()
    path = f"/sms/status?ref={text.pk}"

    def delivered():
        assert from_gateway(client, path, {"MessageSid": text.provider_id, "MessageStatus": "delivered"}).status_code == 204

    pushed = verify_action([alice], delivered)
    assert pushed[alice.pk] == {"texts"}
    assert 'data-testid="text-status">Delivered<' in texts_region(alice)


def test_a_reply_to_a_number_no_window_is_open_on_rings_no_texts_region(client, alice, bob, ix, gateway):  # noqa: F811
    bob_ix = accepted(bob, ix.callback.queue, phone="+33611112222")

    def reply():
        from_gateway(client, "/sms/inbound", {"From": "+33611112222", "Body": "Hello?", "MessageSid": "SMreply2"})

    pushed = verify_action([alice, bob], reply)
    assert pushed[alice.pk] == set(), "alice has no window on that number nor its callback"
    assert "texts" not in pushed[bob.pk] and "interaction" in pushed[bob.pk], "bob's call window shows the reply"
    assert "Text from the customer: Hello?" in [e.message for e in bob_ix.callback.history.all()]


def test_opening_sending_and_done_push_the_texts_region_and_send_the_case_history(ix, alice, bob):
    pushed = verify_action([alice, bob], lambda: lifecycle.do_open_text(user=alice.user, interaction_id=ix.pk, number=NUMBER))
    assert pushed == {alice.pk: {"texts"}, bob.pk: set()}
    window = TextInteraction.objects.get()
    pushed = verify_action([alice], lambda: lifecycle.do_send_text(user=alice.user, text_id=window.pk, body="Hi", sent=0))
    assert pushed[alice.pk] == {"notifications", "interaction", "texts"}  # the Case history shows the text
    pushed = verify_action([alice], lambda: lifecycle.do_close_text(user=alice.user, text_id=window.pk))
    assert pushed[alice.pk] == {"texts"}


def test_the_thread_shows_both_directions_oldest_first(client, alice, window, gateway):  # noqa: F811
    lifecycle.do_send_text(user=alice.user, text_id=window.pk, body="First from us", sent=0)
    from_gateway(client, "/sms/inbound", {"From": NUMBER, "Body": "Then the reply", "MessageSid": "SMreply3"})
    region = texts_region(alice)
    assert region.index("First from us") < region.index("Then the reply")
    assert region.count('data-testid="text-message"') == 2
    assert region.count('data-testid="text-status"') == 1, "a status on outgoing texts only"


# --- Done -------------------------------------------------------------------------------------------------------------


def test_done_closes_the_window_and_a_closed_window_refuses(alice_client, alice, window):
    assert alice_client.post(reverse("close_text", args=[window.pk]), **HTMX).status_code == 204
    assert open_texts(alice) == []
    assert f'id="text-{window.pk}"' not in alice_client.get("/").content.decode()
    with pytest.raises(DomainError, match="already closed"):
        lifecycle.do_send_text(user=alice.user, text_id=window.pk, body="late", sent=0)


# --- An agent's own windows only ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "name"),
    [("get", "text_window"), ("post", "save_text_draft"), ("post", "send_text"), ("post", "close_text")],
)
def test_another_agents_text_window_is_a_404(client, bob, window, method, name):
    client.force_login(bob.user)
    data = {"body": "b", "sent": 0} if method == "post" else None
    response = getattr(client, method)(reverse(name, args=[window.pk]), data, **HTMX)
    assert response.status_code == 404
    assert (refreshed(window).body, refreshed(window).closed_at, TextMessage.objects.count()) == ("", None, 0)


def test_another_agents_text_window_does_not_exist_for_them(bob, window):
    with pytest.raises(DomainError, match="That text conversation does not exist") as refused:
        lifecycle.do_send_text(user=bob.user, text_id=window.pk, body="b", sent=0)
    assert refused.value.status == 404


def test_the_agent_sees_their_own_text_window(alice_client, window):
    response = alice_client.get(reverse("text_window", args=[window.pk]))
    assert response.status_code == 200
    assert "Compose a text" in response.content.decode()


# --- Responses --------------------------------------------------------------------------------------------------------


def test_responses_insert_into_the_text_they_were_searched_from(alice_client, window):
    category = ResponseCategory.objects.create(name="Refunds")
    StandardResponse.objects.create(category=category, title="On its way", body="Dear {first_name}, it is on its way.")
    html = alice_client.get(reverse("responses"), {"text": window.pk, "q": "way"}).content.decode()
    assert f'data-insert-text="{window.pk}" data-text="Dear Léa, it is on its way."' in html
    assert "Insert into note" not in html and "data-insert-email" not in html


def test_responses_for_another_agents_text_window_are_a_404(client, bob, window):
    client.force_login(bob.user)
    assert client.get(reverse("responses"), {"text": window.pk}).status_code == 404


# --- Queries -----------------------------------------------------------------------------------------------------------


def test_the_text_windows_render_in_three_queries_however_many_are_open(ix, alice, window):
    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            render_regions(Agent.objects.get(pk=alice.pk), ["texts"])
        return len(captured.captured_queries) - 1  # the agent itself

    assert count() == 3  # the open windows with their callback and contact; the threads; the opt-outs
    lifecycle.do_open_text(user=alice.user, interaction_id=ix.pk, number=MOBILE)
    for n in range(3):
        lifecycle.do_send_text(user=alice.user, text_id=window.pk, body=f"Text {n}", sent=n)
    assert count() == 3
    TextInteraction.objects.all().delete()
    assert count() == 1  # no window: one query


def test_history_kind_of_a_sent_text_is_text(alice, ix, window):
    lifecycle.do_send_text(user=alice.user, text_id=window.pk, body="Hi", sent=0)
    event = HistoryEvent.objects.get(message__startswith="Text sent to")
    assert (event.kind, event.agent_id, event.data["conversation"]) == (HistoryKind.TEXT, alice.pk, window.pk)


def test_invalid_is_what_a_refused_draft_raises(alice, window):
    with pytest.raises(Invalid, match="too long"):
        lifecycle.do_save_text_draft(user=alice.user, text_id=window.pk, body="x" * 1601)
