"""Every figure of the live board and of agent activity, against a data set whose figures are worked out by hand."""

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model

from callbacks.board import agent_activity, board_for, status_segments, waiting_at
from callbacks.enums import AgentStatus, CallbackState, CallbackType, Channel, HistoryKind, InteractionState, Origin
from callbacks.models import (
    AgentChannelStatus,
    CallbackRequest,
    DispositionCode,
    HistoryEvent,
    Interaction,
    NotReadyReason,
    Offer,
    VoiceOutcome,
    VoiceSession,
)

from .factories import make_agent, make_queue

pytestmark = pytest.mark.django_db(transaction=True)

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 12, 2, 15, 0, tzinfo=PARIS)  # a Wednesday afternoon, in the centre's zone (settings.TIME_ZONE)


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


def at(hh: int, mm: int, day: int = 2) -> datetime:
    return datetime(2026, 12, day, hh, mm, tzinfo=PARIS)


_numbers = iter(range(100, 999))


def cb(queue, state, **kw) -> CallbackRequest:
    kw.setdefault("type", CallbackType.IMMEDIATE)
    return CallbackRequest.objects.create(queue=queue, state=state, phone_number=f"+33612345{next(_numbers)}", **kw)


def handled(callback, agent, created, ended=None, disposition=None) -> Interaction:
    state = InteractionState.DONE if ended else InteractionState.OPEN
    return Interaction.objects.create(
        callback=callback,
        agent=agent,
        channel=Channel.VOICE,
        created_at=created,
        ended_at=ended,
        disposition=disposition,
        state=state,
    )


@pytest.fixture
def floor(transactional_db):
    q = make_queue("billing", service_level_seconds=120)
    other = make_queue("support")
    ann, ben = make_agent("ann", q), make_agent("ben", q)
    lunch = NotReadyReason.objects.create(name="Lunch")
    AgentChannelStatus.objects.create(agent=ann, channel=Channel.VOICE, status=AgentStatus.READY, since=ago(7))
    AgentChannelStatus.objects.create(
        agent=ann, channel=Channel.WEB_CALLBACK, status=AgentStatus.NOT_READY, reason=lunch, since=ago(20)
    )
    resolved = DispositionCode.objects.create(code="resolved", label="Resolved")
    S = CallbackState
    cb(q, S.QUEUED, enqueued_at=ago(10))  # W1: waiting, the oldest
    cb(q, S.QUEUED, enqueued_at=ago(3))  # W2: waiting
    r1 = cb(q, S.OFFERED, enqueued_at=ago(1))  # R1: ringing
    Offer.objects.create(callback=r1, agent=ann, channel=Channel.VOICE, created_at=ago(0.5), deadline=NOW + timedelta(seconds=20))
    p1 = cb(q, S.IN_PROGRESS, enqueued_at=ago(6))  # P1: accepted after 60 s (within 120 s), still open
    handled(p1, ann, ago(5))
    d1 = cb(q, S.COMPLETED, enqueued_at=at(13, 20), closed_at=at(14, 10))  # D1: waited 40 min (outside), 600 s handle
    handled(d1, ann, at(14, 0), at(14, 10), resolved)
    d2 = cb(q, S.COMPLETED, enqueued_at=ago(31), closed_at=ago(28))  # D2: waited 60 s (within), 120 s handle
    handled(d2, ben, ago(30), ago(28), resolved)
    d3 = cb(q, S.COMPLETED, enqueued_at=at(17, 0, day=1), closed_at=ago(15))  # D3: first accepted yesterday
    handled(d3, ben, at(17, 1, day=1), at(17, 5, day=1))
    handled(d3, ann, ago(20), ago(15))  # …its second interaction today: handled (300 s), not a first acceptance
    cb(q, S.SCHEDULED, type=CallbackType.SCHEDULED, desired_time=NOW + timedelta(minutes=30))  # S1: due next hour
    cb(q, S.SCHEDULED, type=CallbackType.SCHEDULED, desired_time=NOW + timedelta(hours=2))  # S2: later today
    cb(q, S.FAILED, enqueued_at=at(9, 0), closed_at=at(10, 10))  # F1: failed today, waited 09:00–10:10
    cb(q, S.FAILED, enqueued_at=at(9, 0, day=1), closed_at=at(10, 0, day=1))  # F2: failed yesterday
    cb(q, S.CANCELLED, enqueued_at=at(11, 45), closed_at=at(12, 0))  # C1: cancelled today
    cb(other, S.QUEUED, enqueued_at=ago(50))  # another queue: in none of Billing's figures
    return {"q": q, "ann": ann, "ben": ben}


def test_every_board_figure_matches_the_hand_count(floor):
    board = board_for([floor["q"]], now=NOW)
    (f,) = board.queues
    assert (f.waiting, f.ringing, f.in_progress) == (2, 1, 1)
    assert f.scheduled_next_hour == 1
    assert f.oldest_enqueued == ago(10)
    assert (f.answered, f.within_target) == (3, 2)  # P1 (60 s), D1 (40 min), D2 (60 s); D3 was first accepted yesterday
    assert f.service_level == pytest.approx(200 / 3)
    assert (f.handled, f.average_handle_seconds) == (3, pytest.approx((600 + 120 + 300) / 3))
    assert (f.failed, f.cancelled) == (1, 1)
    assert (f.slots_used, f.slots_capacity) == (2, 96 * 10)  # open around the clock: 96 slots of 10, S1 and S2 taken
    assert [(a.name, [(c.channel, c.status, c.reason, c.since) for c in a.channels]) for a in f.agents] == [
        ("Ann", [("voice", "ready", "", ago(7)), ("web_callback", "not_ready", "Lunch", ago(20))]),
        ("Ben", [("voice", "logged_out", "", None), ("web_callback", "logged_out", "", None)]),
    ]
    assert dict(f.status_counts["voice"]) == {"ready": 1, "logged_out": 1}
    assert board.dispositions == [("Resolved", 2), ("No disposition", 1)]


def test_the_board_counts_callbacks_asked_for_by_phone_today_and_callers_in_the_menu(floor):
    q = floor["q"]
    cb(q, CallbackState.QUEUED, enqueued_at=ago(2), origin=Origin.IVR)
    done = cb(q, CallbackState.COMPLETED, origin=Origin.IVR, closed_at=ago(1))
    yesterday = cb(q, CallbackState.COMPLETED, origin=Origin.IVR, closed_at=at(10, 0, day=1))
    CallbackRequest.objects.filter(pk=yesterday.pk).update(created_at=at(9, 0, day=1))
    CallbackRequest.objects.filter(pk=done.pk).update(created_at=ago(5))
    fields = {"queue": q, "dialled": "+33184880010", "arrived_at": ago(1)}
    VoiceSession.objects.create(call_id="in-menu", line="ivr-1", **fields)
    VoiceSession.objects.create(call_id="booked", line="ivr-2", outcome=VoiceOutcome.BOOKED, **fields)  # hanging up
    VoiceSession.objects.create(call_id="over", line="ivr-3", ended_at=ago(0.5), **fields)
    VoiceSession.objects.create(call_id="out-1", line="ivr-4", direction="out", **fields)  # Ringback calling out
    f = board_for([q], now=NOW).queues[0]
    assert (f.by_phone, f.in_menu) == (2, 1)


def test_waiting_over_the_day_matches_the_hand_count(floor):
    board = board_for([floor["q"]], now=NOW)
    assert board.sample_times[0] == at(0, 0) and board.sample_times[-1] == NOW and len(board.sample_times) == 31
    expected = [0] * 31
    for hh, mm in ((9, 0), (9, 30), (10, 0)):  # F1 waited 09:00–10:10
        expected[(hh * 60 + mm) // 30] = 1
    expected[27] = 1  # 13:30: D1 (waited 13:20–14:00)
    expected[30] = 3  # now: W1, W2 and R1 (ringing counts as waiting for the chart)
    assert board.waiting_series == {"Billing": expected}
    assert board.chart_data()["waiting"] == [{"label": "Billing", "values": expected}]


def test_status_segments_split_a_range_by_status():
    start, end = at(8, 0), at(12, 0)
    changes = [
        (at(7, 0), "not_ready"),  # before the range: the status it starts in
        (at(9, 0), "ready"),
        (at(10, 30), "after_call_work"),
        (at(10, 45), "ready"),
        (at(13, 0), "logged_out"),  # after the range: ignored
    ]
    assert status_segments(changes, start, end) == {
        "not_ready": 3600.0,
        "ready": 5400.0 + 4500.0,
        "after_call_work": 900.0,
    }
    assert status_segments([], start, end) == {"logged_out": 4 * 3600.0}


def test_agent_activity_matches_the_hand_count(floor):
    ann, ben = floor["ann"], floor["ben"]
    for when, channel, status in [
        (at(8, 0), "voice", "not_ready"),
        (at(9, 0), "voice", "ready"),
        (at(14, 0), "voice", "after_call_work"),
        (at(14, 10), "voice", "ready"),
    ]:
        HistoryEvent.objects.create(
            kind=HistoryKind.STATUS, agent=ann, message="s", at=when, data={"channel": channel, "status": status}
        )
    lines = {(a.name, a.channel): a for a in agent_activity([ann, ben], at(0, 0), at(0, 0, day=3), now=NOW)}
    voice = lines[("Ann", "voice")]
    # From midnight: logged out to 08:00, Not Ready to 09:00, Ready to 14:00, ACW 10 min, Ready to 15:00 (now).
    assert voice.seconds == {
        "logged_out": 8 * 3600.0,
        "not_ready": 3600.0,
        "ready": 5 * 3600.0 + 50 * 60.0,
        "after_call_work": 600.0,
    }
    assert voice.logged_in_seconds == 3600.0 + 5 * 3600.0 + 50 * 60.0 + 600.0
    # Ann ended D1 (600 s) and D3's second interaction (300 s) today; P1 is still open.
    assert (voice.handled, voice.average_handle_seconds) == (2, 450.0)
    assert (lines[("Ben", "voice")].handled, lines[("Ben", "voice")].average_handle_seconds) == (1, 120.0)
    assert lines[("Ann", "web_callback")].handled == 0


def test_the_board_page_shows_the_figures(client, floor):
    boss = get_user_model().objects.create_superuser("boss", "b@example.com", "secret-pass-123")
    client.force_login(boss)
    page = client.get("/board/figures/").content.decode()
    assert 'data-testid="waiting-billing">2<' in page
    assert 'data-testid="ringing-billing">1<' in page
    assert 'data-testid="in-progress-billing">1<' in page
    assert "Lunch" in page


def test_a_tile_read_is_the_same_figures_without_the_charts(floor, django_assert_num_queries):
    """A ring for a queue re-renders its tile alone: the same figures, one statement fewer (no day of waiting)."""
    queues = [floor["q"]]
    with django_assert_num_queries(7):
        tile = board_for(queues, now=NOW, charts=False)
    whole = board_for(queues, now=NOW)
    assert (tile.sample_times, tile.waiting_series, tile.dispositions) == ([], {}, [])
    assert whole.sample_times and whole.waiting_series
    assert [vars(f) for f in tile.queues] == [vars(f) for f in whole.queues]


def test_the_board_reads_in_a_fixed_number_of_statements(floor, django_assert_num_queries):
    """However busy the floor, one board read is 7 statements plus one per queue (its slots): the callbacks, the
    callers in the voice menu, the interactions, the agents (3), the day's waiting."""
    queues = [floor["q"]]
    with django_assert_num_queries(8):
        board_for(queues, now=NOW)
    for i in range(10):
        make_agent(f"extra{i}", floor["q"])
    for i in range(30):
        cb(floor["q"], CallbackState.QUEUED, enqueued_at=ago(i))
    with django_assert_num_queries(8):
        board_for(queues, now=NOW)


def test_waiting_at_counts_what_a_sample_by_sample_count_counts():
    """The day's waiting series is counted by bisection (`waiting_at`): the same as checking every span at every
    sample, for spans that start and end on a sample, inside one, before the day, after now, or are empty."""
    rng = random.Random(7)
    start = NOW - timedelta(hours=10)
    times = [start + timedelta(minutes=30 * i) for i in range(21)]
    for _ in range(200):
        spans = []
        for _ in range(rng.randint(0, 30)):
            a = start + timedelta(minutes=rng.choice([rng.randint(-60, 660), 30 * rng.randint(-2, 22)]))
            b = a + timedelta(minutes=rng.choice([0, -5, rng.randint(1, 300), 30 * rng.randint(1, 5)]))
            spans.append((a, b))
        by_hand = [sum(1 for a, b in spans if a <= t < b) for t in times]
        assert waiting_at(times, spans) == by_hand
