"""The e-mail interaction started from the Party Action Menu: a draft kept on the server, Send through the outbox,
Discard, Done; the agent's own e-mails only; what the window, the call's Case history and the contact's page show."""

import json

import pytest
from django.db import connection
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from callbacks import emailstate, lifecycle
from callbacks.enums import EffectKind, EffectStatus, EmailState, EmailStatus
from callbacks.errors import DomainError, Invalid
from callbacks.models import (
    Agent,
    Contact,
    ContactEmail,
    Effect,
    EmailInteraction,
    HistoryEvent,
    ResponseCategory,
    StandardResponse,
)
from callbacks.presenters.emails import open_emails
from callbacks.views.render import render_regions

from .backends import FlakyMailBackend
from .factories import make_callback, refreshed, worker
from .test_calls import accepted
from .test_effects import run_worker_through_backoff

HTMX = {"HTTP_HX_REQUEST": "true"}
LEA = "lea@example.com"


@pytest.fixture
def ix(queue, alice):
    """alice's open call window with Léa Moreau, whose directory entry has two addresses."""
    interaction = accepted(alice, queue, customer_name="Léa Moreau")
    ContactEmail.objects.create(contact=interaction.callback.contact, address=LEA)
    ContactEmail.objects.create(contact=interaction.callback.contact, address="l.moreau@work.example")
    return interaction


@pytest.fixture
def draft(ix, alice):
    return lifecycle.do_open_email(user=alice.user, interaction_id=ix.pk, to=LEA)


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice.user)
    return client


def send(agent, email, **kw):
    data = {"to": LEA, "subject": "Your refund", "body": "It is on its way."} | kw
    return lifecycle.do_send_email(user=agent.user, email_id=email.pk, **data)


def texts(callback):
    return list(HistoryEvent.objects.filter(callback=callback).order_by("at", "id").values_list("message", flat=True))


# --- The window's statuses, as data ---------------------------------------------------------------


def test_which_click_is_allowed_in_which_status():
    expected = {
        "save": {"draft"},
        "send": {"draft"},
        "discard": {"draft"},
        "done": {"queued", "sent", "failed"},
    }
    for act, statuses in expected.items():
        for status in EmailStatus:
            assert emailstate.allowed(act, status) == (status in statuses), (act, status)


@pytest.mark.parametrize(
    ("state", "effect", "shown"),
    [
        ("draft", None, "draft"),
        ("discarded", None, "discarded"),
        ("sent", "pending", "queued"),
        ("sent", "done", "sent"),
        ("sent", "failed", "failed"),
        ("sent", None, "sent"),  # the outbox row was purged: it was handed over
    ],
)
def test_the_status_shown_comes_from_the_draft_then_from_the_outbox(state, effect, shown):
    assert emailstate.status_of(state, effect) == shown


# --- Opening ------------------------------------------------------------------------------------------


def test_e_mail_from_the_party_action_menu_opens_a_draft_named_for_the_callback(ix, alice, draft):
    assert (draft.agent, draft.callback, draft.contact, draft.interaction) == (alice, ix.callback, ix.callback.contact, ix)
    assert (draft.to, draft.subject, draft.body) == (LEA, f"Your callback request {ix.callback.reference}", "")
    assert draft.status == EmailStatus.DRAFT
    # A draft is the agent's working copy: the customer's history records only what is sent.
    assert not any("mail" in t for t in texts(ix.callback))


def test_a_second_e_mail_to_the_same_contact_returns_the_open_draft(ix, alice, draft):
    again = lifecycle.do_open_email(user=alice.user, interaction_id=ix.pk, to="l.moreau@work.example")
    assert again.pk == draft.pk
    assert EmailInteraction.objects.count() == 1


def test_once_sent_another_e_mail_to_the_contact_opens_a_new_window(ix, alice, draft):
    send(alice, draft)
    second = lifecycle.do_open_email(user=alice.user, interaction_id=ix.pk, to=LEA)
    assert second.pk != draft.pk
    assert [m.email.pk for m in open_emails(alice)] == [draft.pk, second.pk]  # several windows may be open


def test_a_draft_made_meanwhile_for_the_contact_is_the_one_returned(ix, alice, draft, monkeypatch):
    """E-mail clicked for the same contact in two call windows at once: the other click's draft committed after
    this one looked (simulated: the look misses it). The unique draft wins, without an error."""
    real_first = QuerySet.first

    def first_missing_drafts(qs):
        return None if qs.model is EmailInteraction else real_first(qs)

    monkeypatch.setattr(QuerySet, "first", first_missing_drafts)
    again = lifecycle.do_open_email(user=alice.user, interaction_id=ix.pk, to=LEA)
    assert again.pk == draft.pk
    assert EmailInteraction.objects.count() == 1


@pytest.mark.parametrize(
    ("to", "message"),
    [("x@elsewhere.example", "Pick one of the contact's e-mail addresses."), ("not an address", "is not an e-mail address")],
)
def test_opening_to_an_address_the_directory_does_not_have_is_refused(ix, alice, to, message):
    with pytest.raises(Invalid, match=message):
        lifecycle.do_open_email(user=alice.user, interaction_id=ix.pk, to=to)
    assert not EmailInteraction.objects.exists()


def test_only_the_agent_of_the_call_window_can_start_an_e_mail_from_it(ix, bob):
    with pytest.raises(DomainError, match="another agent") as refused:
        lifecycle.do_open_email(user=bob.user, interaction_id=ix.pk, to=LEA)
    assert refused.value.status == 403


# --- The draft --------------------------------------------------------------------------------------


def test_the_draft_keeps_what_was_typed(alice, draft):
    lifecycle.do_save_email_draft(
        user=alice.user, email_id=draft.pk, to="l.moreau@work.example", subject="Refund", body="Dear Léa,\n"
    )
    kept = refreshed(draft)
    assert (kept.to, kept.subject, kept.body, kept.state) == ("l.moreau@work.example", "Refund", "Dear Léa,\n", "draft")


def test_a_draft_save_that_arrives_after_send_changes_nothing(alice, draft):
    send(alice, draft)
    lifecycle.do_save_email_draft(user=alice.user, email_id=draft.pk, to=LEA, subject="late", body="late keystrokes")
    assert refreshed(draft).body == "It is on its way."


def test_a_draft_too_long_is_refused(alice, draft):
    with pytest.raises(Invalid, match="The message is too long: at most 10,000 characters"):
        lifecycle.do_save_email_draft(user=alice.user, email_id=draft.pk, to=LEA, subject="s", body="x" * 10001)


# --- Send ---------------------------------------------------------------------------------------------


def test_send_hands_the_e_mail_to_the_outbox_and_the_worker_delivers_it(ix, alice, draft, mailoutbox):
    send(alice, draft)
    email = refreshed(draft)
    effect = Effect.objects.get(kind=EffectKind.EMAIL)
    assert (email.state, email.effect, email.status) == (EmailState.SENT, effect, EmailStatus.QUEUED)
    assert effect.payload == {"to": LEA, "subject": "Your refund", "body": "It is on its way."}
    assert mailoutbox == []  # queued in the click's transaction
    assert "E-mail queued to lea@example.com by Alice: Your refund" in texts(ix.callback)
    worker()
    assert refreshed(draft).status == EmailStatus.SENT
    assert [(m.to, m.subject) for m in mailoutbox] == [([LEA], "Your refund")]
    assert mailoutbox[0].extra_headers["Message-ID"] == f"<{effect.key.replace(':', '.')}@ringback>"  # idempotency key
    assert "E-mail sent to lea@example.com: Your refund" in texts(ix.callback)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"body": "  \n "}, "The message is empty"),
        ({"subject": " "}, "The e-mail needs a subject"),
        ({"to": "lea@"}, "is not an e-mail address"),
        ({"to": "x@elsewhere.example"}, "Pick one of the contact's e-mail addresses"),
        ({"to": ""}, "Choose the address to send to"),
        ({"subject": "Hi\r\nBcc: x@evil.example"}, "single line"),
        ({"subject": "s" * 201}, "The subject is too long: at most 200 characters"),
        ({"body": "b" * 10001}, "The message is too long"),
    ],
)
def test_send_refuses_bad_input_and_leaves_the_draft(alice, draft, data, message):
    with pytest.raises(Invalid, match=message):
        send(alice, draft, **data)
    assert refreshed(draft).status == EmailStatus.DRAFT
    assert not Effect.objects.exists()


def test_a_sent_e_mail_is_not_sent_twice_nor_discarded(alice, draft):
    send(alice, draft)
    with pytest.raises(DomainError, match="already sent"):
        send(alice, draft)
    with pytest.raises(DomainError, match="Only a draft"):
        lifecycle.do_discard_email(user=alice.user, email_id=draft.pk)
    assert Effect.objects.count() == 1


def test_an_e_mail_that_keeps_failing_shows_failed_with_why(settings, alice, draft):
    settings.MAILERS = {"default": {"BACKEND": "tests.backends.FlakyMailBackend"}}
    FlakyMailBackend.reset(failures=1000)
    send(alice, draft)
    worker()  # the first try fails: still Queued, and the window says why
    [window] = open_emails(alice)
    assert (window.status, window.attempts) == (EmailStatus.QUEUED, 1)
    assert "SMTP server not reachable" in window.problem
    run_worker_through_backoff(6)
    [window] = open_emails(alice)
    assert (window.status, window.attempts, window.can_done) == (EmailStatus.FAILED, 5, True)
    assert Effect.objects.get().status == EffectStatus.FAILED


def test_the_e_mail_window_outlives_the_call_window(ix, alice, draft):
    lifecycle.do_mark_done(user=alice.user, interaction_id=ix.pk)
    send(alice, draft)
    assert refreshed(draft).status == EmailStatus.QUEUED


# --- Discard and Done ----------------------------------------------------------------------------------


def test_discard_closes_the_draft_unsent(alice, draft):
    lifecycle.do_discard_email(user=alice.user, email_id=draft.pk)
    assert (refreshed(draft).status, refreshed(draft).closed_at is not None) == (EmailStatus.DISCARDED, True)
    assert open_emails(alice) == []
    assert not Effect.objects.exists()


def test_done_closes_a_sent_e_mail_and_is_refused_for_a_draft(alice, draft):
    with pytest.raises(DomainError, match="Send or discard the e-mail before Done"):
        lifecycle.do_close_email(user=alice.user, email_id=draft.pk)
    send(alice, draft)
    lifecycle.do_close_email(user=alice.user, email_id=draft.pk)
    assert open_emails(alice) == []
    with pytest.raises(DomainError, match="already closed"):
        lifecycle.do_close_email(user=alice.user, email_id=draft.pk)


# --- An agent's own e-mails only ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "act",
    [
        lambda user, pk: lifecycle.do_save_email_draft(user=user, email_id=pk, to=LEA, subject="s", body="b"),
        lambda user, pk: lifecycle.do_send_email(user=user, email_id=pk, to=LEA, subject="s", body="b"),
        lambda user, pk: lifecycle.do_discard_email(user=user, email_id=pk),
        lambda user, pk: lifecycle.do_close_email(user=user, email_id=pk),
    ],
)
def test_another_agents_e_mail_does_not_exist_for_them(bob, draft, act):
    with pytest.raises(DomainError, match="That e-mail does not exist") as refused:
        act(bob.user, draft.pk)
    assert refused.value.status == 404
    assert refreshed(draft).status == EmailStatus.DRAFT


# --- Over HTTP -------------------------------------------------------------------------------------------


def test_the_menu_item_opens_the_window_and_asks_the_page_to_focus_it(alice_client, ix):
    response = alice_client.post(reverse("open_email", args=[ix.pk]), {"to": LEA}, **HTMX)
    assert response.status_code == 204
    email = EmailInteraction.objects.get()
    assert json.loads(response["HX-Trigger"]) == {"ringback:email-focus": {"id": email.pk}}
    page = alice_client.get("/").content.decode()
    assert f'id="email-{email.pk}"' in page and "E-mail interaction" in page
    assert f'value="Your callback request {ix.callback.reference}"' in page
    assert f"E-mail {LEA}</button>" in page  # the Party Action Menu's item


def test_without_javascript_the_menu_item_goes_back_to_the_desk_at_the_window(alice_client, ix):
    response = alice_client.post(reverse("open_email", args=[ix.pk]), {"to": LEA})
    assert response.status_code == 302
    assert response["Location"] == f"/#email-{EmailInteraction.objects.get().pk}"


def test_the_draft_typed_is_on_the_page_after_a_reload(alice_client, draft):
    data = {"to": LEA, "subject": "Refund", "body": "Dear Léa, half-typed"}
    assert alice_client.post(reverse("save_email_draft", args=[draft.pk]), data, **HTMX).status_code == 204
    page = alice_client.get("/").content.decode()
    assert "Dear Léa, half-typed</textarea>" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"body": ""}, "The message is empty"),
        ({"to": "nobody"}, "is not an e-mail address"),
        ({"body": "x" * 10001}, "The message is too long"),
    ],
)
def test_send_over_http_with_bad_input_is_a_clear_400(alice_client, draft, data, message):
    response = alice_client.post(reverse("send_email", args=[draft.pk]), {"to": LEA, "subject": "s", "body": "b"} | data, **HTMX)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert response["HX-Retarget"] == "#flash"


def test_send_then_done_over_http(alice_client, draft, mailoutbox):
    response = alice_client.post(reverse("send_email", args=[draft.pk]), {"to": LEA, "subject": "s", "body": "b"}, **HTMX)
    assert response.status_code == 204
    page = alice_client.get("/").content.decode()
    assert 'data-testid="email-status">Queued<' in page
    worker()
    page = alice_client.get("/").content.decode()
    assert 'data-testid="email-status">Sent<' in page
    assert alice_client.post(reverse("close_email", args=[draft.pk]), **HTMX).status_code == 204
    assert f'id="email-{draft.pk}"' not in alice_client.get("/").content.decode()


def test_discard_over_http(alice_client, draft):
    assert alice_client.post(reverse("discard_email", args=[draft.pk]), **HTMX).status_code == 204
    assert refreshed(draft).status == EmailStatus.DISCARDED


@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("get", "email_window"),
        ("post", "save_email_draft"),
        ("post", "send_email"),
        ("post", "discard_email"),
        ("post", "close_email"),
    ],
)
def test_another_agents_e_mail_is_a_404_over_http(client, bob, draft, method, name):
    client.force_login(bob.user)
    data = {"to": LEA, "subject": "s", "body": "b"} if method == "post" else None
    response = getattr(client, method)(reverse(name, args=[draft.pk]), data, **HTMX)
    assert response.status_code == 404
    assert refreshed(draft).status == EmailStatus.DRAFT


def test_the_agent_sees_their_own_e_mail_window(alice_client, draft):
    response = alice_client.get(reverse("email_window", args=[draft.pk]))
    assert response.status_code == 200
    assert "Compose the e-mail" in response.content.decode()


def test_responses_insert_into_the_e_mail_they_were_searched_from(alice_client, ix, draft):
    category = ResponseCategory.objects.create(name="Refunds")
    StandardResponse.objects.create(category=category, title="On its way", body="Dear {first_name}, it is on its way.")
    html = alice_client.get(reverse("responses"), {"email": draft.pk, "q": "way"}).content.decode()
    assert f'data-insert-email="{draft.pk}" data-text="Dear Léa, it is on its way."' in html
    assert "Insert into note" not in html
    # From the call window: into its note, and into the e-mail draft started from it.
    html = alice_client.get(reverse("responses"), {"interaction": ix.pk, "q": "way"}).content.decode()
    assert f'data-insert-note="{ix.pk}"' in html and f'data-insert-email="{draft.pk}"' in html


def test_responses_from_a_call_window_without_a_draft_offer_no_e_mail(alice_client, ix):
    category = ResponseCategory.objects.create(name="Refunds")
    StandardResponse.objects.create(category=category, title="On its way", body="It is on its way.")
    html = alice_client.get(reverse("responses"), {"interaction": ix.pk}).content.decode()
    assert "data-insert-note" in html and "data-insert-email" not in html


def test_responses_for_another_agents_e_mail_are_a_404(client, bob, draft):
    client.force_login(bob.user)
    assert client.get(reverse("responses"), {"email": draft.pk}).status_code == 404


def test_the_sent_e_mail_is_threaded_into_the_contact_page(alice_client, alice, ix, draft):
    send(alice, draft, subject="Your refund")
    worker()
    html = alice_client.get(reverse("contact", args=[ix.callback.contact_id])).content.decode()
    assert "<strong>Your refund</strong>" in html
    assert f"To {LEA} · by Alice · " in html
    assert 'data-testid="thread-status">Sent<' in html
    assert "E-mail sent to lea@example.com: Your refund" in html  # and the contact's history


def test_the_call_windows_case_history_shows_the_e_mail(alice_client, alice, draft):
    send(alice, draft, subject="Your refund")
    page = alice_client.get("/").content.decode()
    assert "E-mail queued to lea@example.com by Alice: Your refund" in page


# --- Queries ----------------------------------------------------------------------------------------------


def test_the_e_mail_windows_render_in_two_queries_however_many_are_open(queue, alice, draft):
    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            render_regions(Agent.objects.get(pk=alice.pk), ["emails"])
        return len(captured.captured_queries) - 1  # the agent itself

    assert count() == 2  # the open e-mails with their callback, contact and outbox row; the contacts' addresses
    for n in range(3):
        contact = Contact.objects.create(first_name=f"Contact {n}")
        ContactEmail.objects.create(contact=contact, address=f"c{n}@example.com")
        callback = make_callback(queue, phone=f"+3361234560{n}")
        now = timezone.now()
        EmailInteraction.objects.create(
            agent=alice, callback=callback, contact=contact, to=f"c{n}@example.com", created_at=now, updated_at=now
        )
    assert count() == 2
    EmailInteraction.objects.all().delete()
    assert count() == 1  # no window: one query, no addresses


def test_a_new_e_mail_s_subject_is_in_the_customer_s_language(ix, alice):
    type(ix.callback).objects.filter(pk=ix.callback.pk).update(language="fr")
    draft = lifecycle.do_open_email(user=alice.user, interaction_id=ix.pk, to=LEA)
    assert draft.subject == f"Votre demande de rappel {ix.callback.reference}"
