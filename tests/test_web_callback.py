"""Web Callback: the preview-first channel, the contact directory, responses and personal callbacks."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from callbacks import lifecycle
from callbacks.dispatcher import sweep_once
from callbacks.enums import CallbackState, HistoryKind, OfferOutcome, PreviewSection
from callbacks.errors import DomainError, Invalid
from callbacks.models import Contact, ContactPhone, HistoryEvent, Offer, PreviewField, ResponseCategory, StandardResponse

from .factories import make_callback, refreshed, set_ready

HTMX = {"HTTP_HX_REQUEST": "true"}


def accepted_web(agent, queue, **kw):
    set_ready(agent, "web_callback")
    callback = make_callback(queue, channel="web_callback", **kw)
    offer = Offer.objects.get(callback=callback, outcome=OfferOutcome.OPEN)
    return lifecycle.do_accept_offer(user=agent.user, offer_id=offer.pk)


def test_web_callback_opens_the_preview_with_case_information(client, alice, queue):
    PreviewField.objects.create(section=PreviewSection.CASE_INFO, key="order_id", label="Order", channel="web_callback")
    interaction = accepted_web(alice, queue, customer_name="Nina Rossi", data={"order_id": "ORD-1"})
    client.force_login(alice.user)
    html = client.get("/").content.decode()
    assert "Web Callback Interaction Preview" in html
    assert 'aria-label="Call Preview Actions"' in html
    assert "Case Information" in html and "ORD-1" in html
    assert ">Done<" in html and "Schedule a Callback" in html and ">Call<" in html
    lifecycle.do_call(user=alice.user, interaction_id=interaction.pk)
    html = client.get("/").content.decode()
    assert "Web Callback Interaction<" in html and 'aria-label="Call actions"' in html


def test_done_works_before_calling(alice, queue):
    interaction = accepted_web(alice, queue)
    lifecycle.do_mark_done(user=alice.user, interaction_id=interaction.pk)
    assert refreshed(interaction.callback).outcome == "Done without a call"


# --- Contact directory --------------------------------------------------------------------------


def contact_input(**kw):
    base = {
        "first_name": "Camille",
        "last_name": "Laurent",
        "timezone": "Europe/Paris",
        "notes": "",
        "phones": ["+33612345678"],
        "emails": [],
    }
    base.update(kw)
    return lifecycle.ContactInput(**base)


def test_edit_contact_with_several_numbers_and_emails_is_recorded(alice, queue):
    contact = make_callback(queue, customer_name="Camille Laurent").contact
    lifecycle.do_update_contact(
        user=alice.user,
        contact_id=contact.pk,
        data=contact_input(
            phones=["+33612345678", "01 45 67 89 01".replace("01 ", "+33 1 ", 1)],
            emails=["Camille@Example.com", "c.l@work.example"],
        ),
    )
    contact = refreshed(contact)
    assert sorted(contact.phones.values_list("number", flat=True)) == ["+33145678901", "+33612345678"]
    assert sorted(contact.emails.values_list("address", flat=True)) == ["c.l@work.example", "camille@example.com"]
    event = HistoryEvent.objects.get(contact=contact, kind=HistoryKind.CONTACT)
    assert "phones" in event.message and "emails" in event.message


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"first_name": "", "last_name": ""}, "first_name"),
        ({"phones": []}, "phones"),
        ({"phones": ["12"]}, "phone_number"),
        ({"emails": ["not-an-email"]}, "emails"),
        ({"timezone": "Nowhere/City"}, "timezone"),
    ],
)
def test_invalid_contact_edit_is_refused_and_changes_nothing(alice, queue, kw, field):
    contact = make_callback(queue, customer_name="Camille Laurent").contact
    with pytest.raises(Invalid) as err:
        lifecycle.do_update_contact(user=alice.user, contact_id=contact.pk, data=contact_input(**kw))
    assert err.value.field == field
    assert list(refreshed(contact).phones.values_list("number", flat=True)) == ["+33612345678"]
    assert not HistoryEvent.objects.filter(kind=HistoryKind.CONTACT).exists()


def test_link_request_to_an_existing_contact(alice, queue):
    other = Contact.objects.create(first_name="Camille", last_name="Laurent-Martin")
    ContactPhone.objects.create(contact=other, number="+33699999999")
    interaction = accepted_web(alice, queue, customer_name="C. Laurent")
    lifecycle.do_link_contact(user=alice.user, interaction_id=interaction.pk, contact_id=other.pk)
    assert refreshed(interaction.callback).contact == other
    assert HistoryEvent.objects.filter(contact=other, callback=interaction.callback).exists()


def test_directory_search_by_name_number_and_email(client, alice, queue):
    contact = make_callback(queue, customer_name="Camille Laurent").contact
    contact.emails.create(address="camille@example.com")
    make_callback(queue, phone="+442079460958", customer_name="Oliver Smith")
    client.force_login(alice.user)
    for q in ("camille laurent", "Laurent", "4567", "camille@ex"):
        html = client.get(reverse("contacts"), {"q": q}).content.decode()
        assert "Camille Laurent" in html and "Oliver Smith" not in html, q


def test_contact_page_shows_history_and_saves_edits(client, alice, queue):
    contact = make_callback(queue, customer_name="Camille Laurent").contact
    client.force_login(alice.user)
    response = client.post(
        reverse("contact", args=[contact.pk]),
        {
            "first_name": "Camille",
            "last_name": "Laurent",
            "timezone": "Europe/Brussels",
            "notes": "Prefers mornings",
            "phones": "+33612345678",
            "emails": "",
        },
    )
    assert response.status_code == 302
    html = client.get(response["Location"]).content.decode()
    assert "Contact saved." in html and "Contact edited (timezone, notes)" in html and "requested via API" in html


def test_bad_contact_form_is_a_400_with_the_message(client, alice, queue):
    contact = make_callback(queue, customer_name="Camille Laurent").contact
    client.force_login(alice.user)
    response = client.post(reverse("contact", args=[contact.pk]), {"first_name": "C", "phones": "nope"})
    assert response.status_code == 400
    assert "is not a phone number" in response.content.decode()
    assert client.get(reverse("contact", args=[99999])).status_code == 404


# --- Responses -------------------------------------------------------------------------------


def test_responses_are_searchable_and_filled_in_for_the_contact(client, alice, queue):
    cat = ResponseCategory.objects.create(name="Greetings")
    StandardResponse.objects.create(
        category=cat, title="Opening", body="Hello {first_name}, this is {agent_name}. Ref {reference}. {unknown}"
    )
    StandardResponse.objects.create(category=cat, title="Retired", body="old", active=False)
    interaction = accepted_web(alice, queue, customer_name="Camille Laurent")
    client.force_login(alice.user)
    html = client.get(reverse("responses"), {"q": "open", "interaction": interaction.pk}).content.decode()
    assert f"Hello Camille, this is Alice. Ref {interaction.callback.reference}. {{unknown}}" in html
    assert "Insert into note" in html
    assert "Retired" not in client.get(reverse("responses"), {"q": ""}).content.decode()


# --- My callbacks: personal callbacks ----------------------------------------------------------------


@pytest.fixture
def all_day(queue):
    queue.personal_grace_minutes, queue.reminder_minutes = 10, 5
    queue.save()
    return queue


def personal(alice, queue, minutes=60):
    interaction = accepted_web(alice, queue, customer_name="Nina Rossi", customer_timezone="Europe/Paris")
    when = (
        (timezone.now() + timedelta(minutes=minutes))
        .astimezone(interaction.callback.customer_zone)
        .replace(second=0, microsecond=0, tzinfo=None)
    )
    lifecycle.do_reschedule_callback(user=alice.user, interaction_id=interaction.pk, when=when, personal=True)
    return refreshed(interaction.callback)


def test_personal_callback_waits_for_its_owner_then_falls_back_to_the_queue(all_day, alice, bob):
    callback = personal(alice, all_day)
    assert callback.owner == alice
    lifecycle.do_set_status(user=alice.user, channel="web_callback", status="not_ready")
    set_ready(bob, "web_callback")
    due = callback.desired_time
    with time_machine.travel(due + timedelta(minutes=1), tick=False):
        sweep_once()
        assert refreshed(callback).state == CallbackState.QUEUED  # bob may not take it yet
    with time_machine.travel(due + timedelta(minutes=11), tick=False):
        sweep_once()
        assert Offer.objects.get(callback=callback, outcome=OfferOutcome.OPEN).agent == bob


def test_owner_is_offered_their_personal_callback_first(all_day, alice, bob):
    callback = personal(alice, all_day)
    set_ready(bob, "web_callback")
    with time_machine.travel(callback.desired_time, tick=False):
        sweep_once()
        assert Offer.objects.get(callback=callback, outcome=OfferOutcome.OPEN).agent == alice


def test_owner_is_reminded_shortly_before_and_sees_my_callbacks(client, all_day, alice):
    callback = personal(alice, all_day, minutes=30)
    client.force_login(alice.user)
    html = client.get("/").content.decode()
    assert 'aria-label="My callbacks"' in html and "Nina Rossi" in html
    assert "Personal callback due" not in html
    with time_machine.travel(callback.desired_time - timedelta(minutes=6), tick=False):
        sweep_once()
    assert refreshed(callback).reminded_at is None
    with time_machine.travel(callback.desired_time - timedelta(minutes=4), tick=False):
        sweep_once()
        sweep_once()
    assert HistoryEvent.objects.filter(callback=callback, kind=HistoryKind.REMINDER).count() == 1
    assert "Personal callback due" in client.get("/").content.decode()


def test_schedule_outside_the_window_is_refused_in_the_customer_zone(all_day, alice):
    from datetime import datetime

    start = timezone.now().replace(microsecond=0) - timedelta(minutes=30)
    interaction = accepted_web(
        alice, all_day, window_start=start, window_end=start + timedelta(hours=2), customer_timezone="Asia/Tokyo"
    )
    outside = (start + timedelta(hours=3)).astimezone(interaction.callback.customer_zone).replace(tzinfo=None)
    with pytest.raises(Invalid, match="Asia/Tokyo"):
        lifecycle.do_reschedule_callback(user=alice.user, interaction_id=interaction.pk, when=outside)
    inside = (start + timedelta(hours=1)).astimezone(interaction.callback.customer_zone).replace(tzinfo=None)
    lifecycle.do_reschedule_callback(user=alice.user, interaction_id=interaction.pk, when=inside)
    assert isinstance(inside, datetime)
    with pytest.raises(DomainError):
        lifecycle.do_mark_done(user=alice.user, interaction_id=interaction.pk)
