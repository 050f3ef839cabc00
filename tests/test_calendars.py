"""Business calendars: the arithmetic across clock changes in two zones, and every decision that asks it
(intake through the API, routing, automatic retries, the agent's reschedule picker, lapsed windows)."""

import json
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from callbacks import calendars, lifecycle
from callbacks.calendars import Spec, is_open, next_open, open_intervals, routable_from, slot_starts
from callbacks.dispatcher import sweep_once
from callbacks.enums import CallbackState, CallOutcome, OfferOutcome, RetryAction
from callbacks.models import CalendarException, CallbackRequest, Offer, RetryRule

from .factories import make_api_client, make_calendar, make_callback, refreshed, set_ready, worker

PARIS, NEW_YORK = ZoneInfo("Europe/Paris"), ZoneInfo("America/New_York")
WEEKDAYS_8_TO_20 = {d: [("08:00", "20:00")] for d in range(5)}


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def spec(zone, weekly, exceptions=None, slot=15):
    as_times = {d: tuple((time.fromisoformat(a), time.fromisoformat(b)) for a, b in r) for d, r in weekly.items()}
    exc = {k: tuple((time.fromisoformat(a), time.fromisoformat(b)) for a, b in r) for k, r in (exceptions or {}).items()}
    return Spec(zone=zone, weekly=as_times, exceptions=exc, slot_minutes=slot)


# --- The arithmetic, across clock changes -------------------------------------------------------------------


def test_overnight_range_across_the_paris_spring_gap_is_one_hour_shorter():
    # Saturday 28 March 2026 22:00 → Sunday 06:00, the night Paris moves from +01:00 to +02:00.
    s = spec(PARIS, {5: [("22:00", "06:00")]})
    assert open_intervals(s, utc(2026, 3, 28), utc(2026, 3, 30)) == [(utc(2026, 3, 28, 21), utc(2026, 3, 29, 4))]
    assert is_open(s, utc(2026, 3, 29, 1, 30))  # 03:30 local, after the gap
    assert not is_open(s, utc(2026, 3, 29, 4))


def test_a_range_opening_inside_the_gap_opens_just_after_it():
    # 02:30 does not exist on 29 March 2026 in Paris: the range opens at 03:30 local (01:30 UTC).
    s = spec(PARIS, {6: [("02:30", "04:00")]})
    assert open_intervals(s, utc(2026, 3, 29), utc(2026, 3, 30)) == [(utc(2026, 3, 29, 1, 30), utc(2026, 3, 29, 2))]
    assert [t.astimezone(PARIS).strftime("%H:%M") for t in slot_starts(s, utc(2026, 3, 29), utc(2026, 3, 30))] == [
        "03:30",
        "03:45",
    ]


def test_the_new_york_autumn_overlap_gives_five_hourly_slots_in_four_wall_hours():
    # Sunday 1 November 2026: 01:00–02:00 happens twice in New York.
    s = spec(NEW_YORK, {6: [("00:00", "04:00")]}, slot=60)
    starts = slot_starts(s, utc(2026, 11, 1), utc(2026, 11, 2))
    assert [t.astimezone(NEW_YORK).strftime("%H:%M") for t in starts] == ["00:00", "01:00", "01:00", "02:00", "03:00"]
    assert starts[-1] + timedelta(hours=1) == utc(2026, 11, 1, 9)


def test_the_new_york_spring_gap_gives_three_hourly_slots():
    s = spec(NEW_YORK, {6: [("00:00", "04:00")]}, slot=60)
    starts = slot_starts(s, utc(2026, 3, 8), utc(2026, 3, 9))
    assert [t.astimezone(NEW_YORK).strftime("%H:%M") for t in starts] == ["00:00", "01:00", "03:00"]


def test_paris_autumn_day_keeps_its_wall_clock_hours():
    # Sunday 25 October 2026, clocks went back at 03:00: 08:00–20:00 local is 07:00–19:00 UTC.
    s = spec(PARIS, {6: [("08:00", "20:00")]})
    assert open_intervals(s, utc(2026, 10, 25), utc(2026, 10, 26)) == [(utc(2026, 10, 25, 7), utc(2026, 10, 25, 19))]


def test_holidays_special_days_and_split_days():
    s = spec(
        PARIS,
        {d: [("08:00", "12:30"), ("13:30", "20:00")] for d in range(5)},
        exceptions={date(2026, 12, 25): (), date(2026, 12, 24): (("08:00", "12:00"),)},
    )
    assert not is_open(s, utc(2026, 12, 23, 12))  # 13:00 Paris: lunch
    assert is_open(s, utc(2026, 12, 23, 12, 30))
    assert not is_open(s, utc(2026, 12, 24, 13))  # Christmas Eve closes at noon
    assert not is_open(s, utc(2026, 12, 25, 10))  # Christmas Day
    # Christmas Eve afternoon → next opening is Monday 28th (25th holiday, then the weekend).
    assert next_open(s, utc(2026, 12, 24, 12)) == utc(2026, 12, 28, 7)


def test_a_slot_grid_follows_the_clock_and_only_whole_slots_count():
    s = spec(PARIS, {2: [("08:10", "08:55")]})  # Wednesday: 08:45–09:00 would run past the closing
    assert [t.astimezone(PARIS).strftime("%H:%M") for t in slot_starts(s, utc(2026, 12, 2), utc(2026, 12, 3))] == [
        "08:15",
        "08:30",
    ]


def test_routable_from_respects_the_window_and_the_hours():
    s = spec(PARIS, WEEKDAYS_8_TO_20)
    friday_evening = utc(2026, 12, 4, 19, 30)  # 20:30 Paris
    assert routable_from(s, friday_evening, None, None) == utc(2026, 12, 7, 7)
    assert routable_from(s, friday_evening, None, utc(2026, 12, 6)) is None  # the window ends over the weekend
    assert routable_from(s, utc(2026, 12, 7, 6), utc(2026, 12, 7, 9), None) == utc(2026, 12, 7, 9)


def test_a_calendar_closed_for_good_has_no_next_opening():
    assert next_open(spec(PARIS, {}), utc(2026, 12, 1)) is None


# --- Intake over the API --------------------------------------------------------------------------------------


@pytest.fixture
def office(queue):
    """Billing, open Monday to Friday 08:00–20:00 Paris, 30-minute slots of 2."""
    queue.calendar = make_calendar(hours=WEEKDAYS_8_TO_20, slot_minutes=30, capacity=2)
    queue.save()
    return queue


def post(client, token, body):
    return client.post(
        "/api/v1/callbacks", json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )


@time_machine.travel(utc(2026, 12, 1, 9), tick=False)  # Tuesday 10:00 Paris
def test_a_scheduled_time_outside_hours_is_refused_with_the_nearest_free_slots(client, office):
    token = make_api_client()[1]
    three_am = datetime(2026, 12, 2, 3, 0, tzinfo=PARIS)
    response = post(
        client,
        token,
        {"queue": "billing", "phone_number": "+33612345678", "type": "scheduled", "desired_time": three_am.isoformat()},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "outside_hours" and body["field"] == "desired_time"
    starts = [datetime.fromisoformat(s["start"]).astimezone(PARIS) for s in body["suggested_slots"]]
    assert starts and all(time(8) <= s.time() < time(20) for s in starts)
    assert datetime(2026, 12, 2, 8, 0, tzinfo=PARIS) in starts  # the opening after 03:00
    assert not CallbackRequest.objects.exists()


@time_machine.travel(utc(2026, 12, 1, 9), tick=False)
def test_a_full_slot_is_refused_and_the_next_one_is_offered(client, office):
    token = make_api_client()[1]
    at = datetime(2026, 12, 2, 10, 0, tzinfo=PARIS)
    for phone in ("+33612345001", "+33612345002"):
        assert (
            post(
                client, token, {"queue": "billing", "phone_number": phone, "type": "scheduled", "desired_time": at.isoformat()}
            ).status_code
            == 201
        )
    response = post(
        client,
        token,
        {
            "queue": "billing",
            "phone_number": "+33612345003",
            "type": "scheduled",
            "desired_time": (at + timedelta(minutes=10)).isoformat(),
        },
    )
    assert response.status_code == 400 and response.json()["code"] == "slot_full"
    starts = [datetime.fromisoformat(s["start"]) for s in response.json()["suggested_slots"]]
    assert at not in starts and at + timedelta(minutes=30) in starts and at - timedelta(minutes=30) in starts
    assert CallbackRequest.objects.count() == 2


@time_machine.travel(utc(2026, 12, 1, 9), tick=False)
def test_a_window_with_no_open_time_is_refused(client, office):
    token = make_api_client()[1]
    saturday = datetime(2026, 12, 5, 10, 0, tzinfo=PARIS)
    body = {
        "queue": "billing",
        "phone_number": "+33612345678",
        "window_start": saturday.isoformat(),
        "window_end": (saturday + timedelta(hours=4)).isoformat(),
    }
    response = post(client, token, body)
    assert response.status_code == 400 and response.json()["code"] == "window_closed"


# --- Routing ----------------------------------------------------------------------------------------------------


def test_a_closed_queue_keeps_its_callbacks_until_it_opens(queue, alice):
    queue.calendar = make_calendar(hours={})  # closed every day
    queue.save()
    set_ready(alice)
    callback = make_callback(queue)
    assert callback.state == CallbackState.QUEUED
    sweep_once()
    assert not Offer.objects.filter(callback=callback).exists()
    # The admin opens it all day today: the next sweep rings Alice.
    today = timezone.now().astimezone(ZoneInfo(queue.calendar.timezone)).date()
    CalendarException.objects.create(
        calendar=queue.calendar, date=today, name="Open day", closed=False, opens="00:00", closes="00:00"
    )
    sweep_once()
    assert Offer.objects.get(callback=callback, outcome=OfferOutcome.OPEN).agent == alice


def test_routing_waits_for_the_window_and_a_lapsed_window_expires(queue, alice):
    set_ready(alice)
    start = timezone.now()
    lifecycle.do_set_status(user=alice.user, channel="voice", status="not_ready")
    callback = make_callback(queue, window_start=start + timedelta(hours=1), window_end=start + timedelta(hours=2))
    other = make_callback(
        queue, phone="+33612345999", window_start=start + timedelta(hours=1), window_end=start + timedelta(hours=2)
    )
    set_ready(alice)
    assert not Offer.objects.filter(callback__in=[callback, other]).exists()
    with time_machine.travel(start + timedelta(hours=1, minutes=1), tick=False):
        sweep_once()
        offer = Offer.objects.get(outcome=OfferOutcome.OPEN)
        assert offer.callback in (callback, other)
    waiting = other if offer.callback == callback else callback
    with time_machine.travel(start + timedelta(hours=2, minutes=1), tick=False):
        sweep_once()
    waiting = refreshed(waiting)
    assert waiting.state == CallbackState.FAILED
    assert waiting.outcome.startswith("Expired: the customer's availability window ended")
    assert waiting.closed_at is not None


@time_machine.travel(utc(2026, 12, 4, 18, 50), tick=True)  # Friday 19:50 Paris
def test_an_automatic_retry_lands_on_the_next_opening(queue, alice):
    calendar = make_calendar(hours=WEEKDAYS_8_TO_20)
    queue.calendar = calendar
    queue.save()
    RetryRule.objects.create(queue=queue, outcome=CallOutcome.BUSY, action=RetryAction.RETRY, delay_minutes=30)
    set_ready(alice)
    callback = make_callback(queue, phone="+33612340001")  # the simulated switch answers busy
    offer = Offer.objects.get(callback=callback, outcome=OfferOutcome.OPEN)
    interaction = lifecycle.do_accept_offer(user=alice.user, offer_id=offer.pk)
    lifecycle.do_call(user=alice.user, interaction_id=interaction.pk)
    worker()
    with time_machine.travel(timezone.now() + timedelta(seconds=5), tick=False):
        sweep_once()
    callback = refreshed(callback)
    assert callback.state == CallbackState.SCHEDULED
    assert callback.desired_time == datetime(2026, 12, 7, 8, 0, tzinfo=PARIS)  # Monday's opening, not Friday 20:20


# --- The agent's reschedule picker ------------------------------------------------------------------------------------


@time_machine.travel(utc(2026, 12, 1, 9), tick=True)
def test_the_picker_offers_free_slots_in_the_customer_zone_and_books_one(client, queue, alice, bob):
    queue.calendar = make_calendar(hours=WEEKDAYS_8_TO_20 | {1: [("00:00", "00:00")]}, slot_minutes=60, capacity=1)
    queue.save()
    set_ready(alice)
    callback = make_callback(queue, customer_timezone="America/New_York")
    interaction = lifecycle.do_accept_offer(user=alice.user, offer_id=Offer.objects.get(callback=callback).pk)
    # Wednesday 09:00 Paris is already promised to someone else.
    make_callback(queue, phone="+33612345111", type="scheduled", desired_time=datetime(2026, 12, 2, 9, 0, tzinfo=PARIS))
    client.force_login(get_user_model().objects.get(username="alice"))
    html = client.get(reverse("reschedule_slots", args=[interaction.pk])).content.decode()
    wednesday_8 = datetime(2026, 12, 2, 8, 0, tzinfo=PARIS)
    assert f'value="{wednesday_8.astimezone(UTC).isoformat()}"' in html
    assert ">Wed 02 Dec 02:00" in html  # 08:00 Paris is 02:00 in New York
    assert datetime(2026, 12, 2, 9, 0, tzinfo=PARIS).astimezone(UTC).isoformat() not in html  # full
    response = client.post(
        reverse("reschedule", args=[interaction.pk]), {"slot": wednesday_8.astimezone(UTC).isoformat()}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code in (200, 204)
    callback = refreshed(callback)
    assert callback.state == CallbackState.SCHEDULED and callback.desired_time == wednesday_8
    # Another agent cannot read Alice's picker.
    client.force_login(get_user_model().objects.get(username="bob"))
    assert client.get(reverse("reschedule_slots", args=[interaction.pk])).status_code == 404


def test_the_spec_cache_follows_admin_changes(queue):
    calendar = make_calendar(hours={})
    assert calendars.spec_for_calendar(calendar.pk).weekly == {}
    calendar.hours.create(weekday=0, opens="08:00", closes="20:00")
    assert calendars.spec_for_calendar(calendar.pk).weekly == {0: ((time(8), time(20)),)}
