"""The callback lifecycle as data: the transition matrix, stated here as literals, and every illegal edge refused."""

from pathlib import Path

import pytest
from django.utils import timezone

from callbacks import callbackstate, lifecycle
from callbacks.enums import CallbackEvent, CallbackState, HistoryKind
from callbacks.errors import DomainError
from callbacks.models import CallbackRequest, HistoryEvent

from .factories import make_callback

NEW = None
SCHEDULED, QUEUED, OFFERED, IN_PROGRESS = "scheduled", "queued", "offered", "in_progress"
COMPLETED, CANCELLED, FAILED = "completed", "cancelled", "failed"

# event: (the states it may start from, the state it ends in, the history kind it records)
EXPECTED = {
    "requested": ({NEW}, QUEUED, "created"),
    "requested_later": ({NEW}, SCHEDULED, "created"),
    "due": ({SCHEDULED}, QUEUED, "due"),
    "offer": ({QUEUED}, OFFERED, "offered"),
    "accept": ({OFFERED}, IN_PROGRESS, "accepted"),
    "reject": ({OFFERED}, QUEUED, "rejected"),
    "time_out": ({OFFERED}, QUEUED, "timed_out"),
    "not_delivered": ({OFFERED}, QUEUED, "not_delivered"),
    "withdraw": ({OFFERED}, QUEUED, "withdrawn"),
    "complete": ({IN_PROGRESS}, COMPLETED, "done"),
    "fail": ({IN_PROGRESS}, FAILED, "failed"),
    "cancel": ({SCHEDULED, QUEUED, OFFERED}, CANCELLED, "cancelled"),
    "reschedule": ({IN_PROGRESS}, SCHEDULED, "rescheduled"),
    "retry": ({IN_PROGRESS}, SCHEDULED, "retry"),
    "transfer_to_agent": ({IN_PROGRESS}, OFFERED, "transfer"),
    "transfer_to_queue": ({IN_PROGRESS}, QUEUED, "transfer"),
    "transfer_out": ({IN_PROGRESS}, COMPLETED, "transfer"),
    "move": ({SCHEDULED, QUEUED, OFFERED}, SCHEDULED, "rescheduled"),
    "expire": ({SCHEDULED, QUEUED}, FAILED, "expired"),
    # Customer-first dialling: Ringback's own call did not reach the customer, before any agent had the callback.
    "dial_retry": ({QUEUED, OFFERED}, SCHEDULED, "retry"),
    "dial_fail": ({QUEUED, OFFERED}, FAILED, "failed"),
}
ALL_STATES = [NEW, SCHEDULED, QUEUED, OFFERED, IN_PROGRESS, COMPLETED, CANCELLED, FAILED]
CELLS = [(event, state) for event in EXPECTED for state in ALL_STATES]


def test_the_table_lists_exactly_the_expected_events():
    assert {e.value for e in callbackstate.TRANSITIONS} == set(EXPECTED)
    assert {s.value for s in CallbackState} == set(ALL_STATES) - {NEW}


@pytest.mark.parametrize(("event", "state"), CELLS)
def test_every_cell_of_the_matrix(event, state):
    sources, target, _ = EXPECTED[event]
    if state in sources:
        assert callbackstate.target_of(CallbackEvent(event), state) == target
    else:
        with pytest.raises(DomainError, match="cannot be"):
            callbackstate.target_of(CallbackEvent(event), state)


@pytest.mark.parametrize("event", sorted(EXPECTED))
def test_each_transition_records_its_history_kind(event):
    assert callbackstate.TRANSITIONS[CallbackEvent(event)].records == HistoryKind(EXPECTED[event][2])


def test_closed_states_have_no_way_out():
    for state in (COMPLETED, CANCELLED, FAILED):
        assert callbackstate.allowed_events(state) == []


@pytest.mark.parametrize("state", [s for s in ALL_STATES if s is not NEW])
def test_the_helper_refuses_every_illegal_transition_and_writes_nothing(queue, state):
    callback = make_callback(queue, phone="+33612345678")
    CallbackRequest.objects.filter(pk=callback.pk).update(state=state)  # arrange the starting state directly
    history = HistoryEvent.objects.count()
    illegal = [event for event, (sources, _, _) in EXPECTED.items() if state not in sources]
    assert illegal
    for event in illegal:
        callback = CallbackRequest.objects.get(pk=callback.pk)
        with pytest.raises(DomainError, match="cannot be"):
            lifecycle.transition(callback, CallbackEvent(event), now=timezone.now(), message="should not happen")
        assert CallbackRequest.objects.get(pk=callback.pk).state == state, event
    assert HistoryEvent.objects.count() == history


def test_a_transition_stamps_closed_at_only_when_it_closes(queue):
    callback = make_callback(queue, phone="+33612345678")
    assert callback.closed_at is None
    lifecycle.do_cancel_callback(reference=callback.reference, reason="Changed my mind")
    callback.refresh_from_db()
    assert callback.state == CANCELLED and callback.closed_at is not None
    assert HistoryEvent.objects.filter(callback=callback, kind="cancelled", message="Changed my mind").count() == 1


def test_the_lifecycle_page_shows_the_table_generated_from_the_code():
    page = (Path(__file__).resolve().parents[1] / "docs" / "lifecycle.md").read_text()
    assert callbackstate.markdown_table() in page
