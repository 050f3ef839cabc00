"""What the agent reads: each value once, no empty rows, times in their zone with the customer's beside, the customer's
zone from their number, "as soon as possible" for immediate callbacks, and notices that expire with their situation."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from callbacks import lifecycle
from callbacks.enums import CallbackType, Channel, ClosingReason, InteractionState, PreviewSection
from callbacks.models import Interaction, Offer, PreviewField
from callbacks.phone import in_both_zones, zone_for_number
from callbacks.presenters.desk import workspace_context_for
from callbacks.presenters.fields import callback_view

from .factories import make_api_client, make_callback, set_ready

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.mark.parametrize(
    ("number", "zone"),
    [
        ("+33612345678", "Europe/Paris"),
        ("+12125551234", "America/New_York"),
        ("+447911123456", "Europe/London"),  # the data lists Guernsey first: the usual zone wins
        ("+390612340012", "Europe/Rome"),
        ("+61412345678", "Australia/Adelaide"),  # a mobile anywhere in Australia: the first of its zones
    ],
)
def test_the_customer_zone_comes_from_the_number(number, zone):
    assert zone_for_number(number) == zone


def test_a_zone_of_the_number_that_is_the_centre_s_own_is_preferred():
    assert zone_for_number("+61412345678", prefer="Australia/Perth") == "Australia/Perth"
    assert zone_for_number("+61412345678", prefer="Europe/Paris") == "Australia/Adelaide"


def test_intake_derives_the_zone_when_none_is_given_and_keeps_one_that_is(queue):
    assert make_callback(queue, phone="+12125551234").customer_timezone == "America/New_York"
    assert make_callback(queue, phone="+12125551235", customer_timezone="America/Chicago").customer_timezone == "America/Chicago"


def test_api_without_a_zone_derives_it(client, queue):
    _, token = make_api_client("IVR")
    response = client.post(
        "/api/v1/callbacks",
        {"queue": queue.slug, "phone_number": "+39 06 1234 0012"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 201, response.content
    assert response.json()["customer_timezone"] == "Europe/Rome"


def test_times_for_the_agent_name_the_customer_s_clock_only_when_it_differs():
    moment = timezone.datetime(2026, 12, 1, 8, 25, tzinfo=timezone.UTC)
    assert in_both_zones(moment, "Europe/Paris", "UTC") == "Tue 09:25 (08:25 in UTC)"
    assert in_both_zones(moment, "Europe/Paris", "Europe/Berlin") == "Tue 09:25"


def test_each_value_once_and_no_empty_rows(queue):
    for section, key, label in [
        (PreviewSection.CASE_INFO, "reason", "Nature of the request"),
        (PreviewSection.CALLBACK_INFO, "reason", "Reason for the call"),
        (PreviewSection.CALLBACK_INFO, "order", "Order"),
        (PreviewSection.CALLBACK_INFO, "empty", "Never filled"),
    ]:
        PreviewField.objects.create(section=section, key=key, label=label)
    PreviewField.objects.create(section=PreviewSection.NOTIFICATION, key="reason", label="Reason")
    callback = make_callback(
        queue,
        channel=Channel.WEB_CALLBACK,
        data={"reason": "Question about my order", "order": "ORD-1", "empty": "", "extra": "x"},
    )
    view = callback_view(callback, "Europe/Paris", list(PreviewField.objects.all()))
    labels = {section: [row.label for row in rows] for section, rows in view.fields.items()}
    assert labels[PreviewSection.CASE_INFO] == ["Nature of the request"]
    assert labels[PreviewSection.CALLBACK_INFO] == ["Order"]  # the reason is in Case Information already; "empty" has none
    assert labels[PreviewSection.NOTIFICATION] == ["Reason"]  # the notification is a region of its own
    assert [row.label for row in view.attached] == ["Extra"]  # the rest of the data, without what is shown or empty


def test_immediate_callbacks_read_as_soon_as_possible(client, alice, queue):
    client.force_login(alice.user)
    set_ready(alice)
    make_callback(queue, customer_name="Nina Rossi")
    html = client.get("/").content.decode()
    card = html.split('data-offer="', 1)[1].split("</section>", 1)[0]
    assert "As soon as possible" in card and "Immediate" not in card, "one label, not two for the same thing"
    assert '<span class="nowrap">+33 6 12 34 56 78</span>' in card, "a number never breaks inside itself"
    client.post(reverse("accept_offer", args=[Offer.objects.get(agent=alice).pk]), **HTMX)
    html = client.get("/").content.decode()
    assert '<dd data-testid="desired-time">As soon as possible</dd>' in html
    assert ">Desired time<" not in html and ">Immediate<" not in html
    assert ">Instructions<" not in html  # none given: no row of "—"


@pytest.mark.parametrize(
    ("start", "end", "customer", "shown"),
    [
        # One day: the day once.
        ("2026-12-06T07:38:00+01:00", "2026-12-06T09:38:00+01:00", "Europe/Paris", "Sun 6 Dec, 07:38</time> – <time"),
        # Across midnight: both days.
        ("2026-12-06T22:00:00+01:00", "2026-12-07T01:00:00+01:00", "Europe/Paris", "Mon 7 Dec, 01:00"),
        # The customer in London: their times beside, their day said once too.
        ("2026-12-06T07:38:00+01:00", "2026-12-06T09:38:00+01:00", "Europe/London", "· 06:38–08:38 in London"),
    ],
)
def test_a_span_of_time_says_its_day_once(start, end, customer, shown):
    from datetime import datetime

    from callbacks.templatetags.callbacks_extras import time_span

    html = str(time_span(datetime.fromisoformat(start), datetime.fromisoformat(end), "Europe/Paris", customer))
    assert shown in html
    if start[:10] == end[:10]:
        assert html.count("Sun 6 Dec") == 1, html


def _closed_by_the_system(alice, queue, *, retry_in: timedelta) -> Interaction:
    set_ready(alice)
    callback = make_callback(queue, type=CallbackType.IMMEDIATE)
    lifecycle.do_accept_offer(user=alice.user, offer_id=Offer.objects.get(callback=callback).pk)
    interaction = Interaction.objects.get(callback=callback)
    now = timezone.now()
    Interaction.objects.filter(pk=interaction.pk).update(
        state=InteractionState.DONE, ended_at=now, closing_reason=ClosingReason.RETRY_SCHEDULED, closing_note="Busy: retry"
    )
    type(callback).objects.filter(pk=callback.pk).update(desired_time=now + retry_in)
    interaction.refresh_from_db()
    return interaction


def test_a_retry_notice_lasts_until_the_next_interaction(alice, queue):
    closed = _closed_by_the_system(alice, queue, retry_in=timedelta(minutes=10))
    assert [i.pk for i in workspace_context_for(alice).endings] == [closed.pk]
    assert workspace_context_for(alice).endings[0].notice_expires == closed.ended_at + timedelta(minutes=2)
    make_callback(queue, phone="+33612345679")
    lifecycle.do_accept_offer(user=alice.user, offer_id=Offer.objects.get(callback__phone_number="+33612345679").pk)
    assert workspace_context_for(alice).endings == []  # the next call: the old notice is over


def test_a_retry_notice_lasts_two_minutes_at_most(alice, queue):
    closed = _closed_by_the_system(alice, queue, retry_in=timedelta(minutes=10))
    Interaction.objects.filter(pk=closed.pk).update(ended_at=timezone.now() - timedelta(minutes=2, seconds=1))
    assert workspace_context_for(alice).endings == []


def test_my_day_counts_what_the_agent_handled_today_and_what_is_due(client, alice, queue):
    from callbacks import board

    set_ready(alice)
    for phone in ("+33612345601", "+33612345602"):
        callback = make_callback(queue, phone=phone)
        lifecycle.do_accept_offer(user=alice.user, offer_id=Offer.objects.get(callback=callback).pk)
        interaction = Interaction.objects.get(callback=callback)
        lifecycle.do_mark_done(user=alice.user, interaction_id=interaction.pk)
        set_ready(alice)
    make_callback(queue, phone="+33612345603", type=CallbackType.SCHEDULED, desired_time=timezone.now() + timedelta(minutes=30))
    make_callback(queue, phone="+33612345604", type=CallbackType.SCHEDULED, desired_time=timezone.now() + timedelta(hours=3))
    day = board.agent_day(alice)
    assert day.handled == 2 and day.average_handle_seconds is not None
    assert day.due_next_hour == 1
    client.force_login(alice.user)
    html = client.get(reverse("my_day")).content.decode()
    assert '<dd data-testid="day-handled">2</dd>' in html and '<dd data-testid="day-due">1</dd>' in html


def test_the_agent_chooses_the_workspace_language(client, alice, queue):
    client.force_login(alice.user)
    response = client.post(reverse("agent_language"), {"language": "fr"}, **HTMX)
    assert response.status_code == 200 and response["HX-Refresh"] == "true"
    alice.refresh_from_db()
    assert alice.language == "fr"
    html = client.get("/").content.decode()
    assert '<option value="fr" lang="fr" selected>Français</option>' in html
    assert client.post(reverse("agent_language"), {"language": "tlh"}, **HTMX).status_code == 400


def test_every_screenshot_is_linked_in_the_readme():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    missing = [
        p.name for p in sorted((root / "docs" / "screenshots").glob("*.png")) if f"docs/screenshots/{p.name}" not in readme
    ]
    assert missing == [], f"screenshots not linked in the README's Screenshots section: {missing}"
