"""The consultation and conference-party machines (callbacks/linestate.py), against a table written here."""

import pytest

from callbacks import linestate
from callbacks.errors import DomainError
from callbacks.linestate import ConsultEvent, PartyEvent, consult_state_after, party_state_after

CONSULTATION = {
    "accept": ({"requested"}, "active"),
    "answered": ({"requested"}, "active"),
    "decline": ({"requested"}, "declined"),
    "end": ({"requested", "active"}, "ended"),
    "transfer": ({"active"}, "transferred"),
    "conference": ({"active"}, "conferenced"),
}
PARTY = {
    "join": ({"ringing"}, "joined"),
    "decline": ({"ringing"}, "declined"),
    "no_answer": ({"ringing"}, "not_answered"),
    "fail": ({"ringing"}, "failed"),
    "leave": ({"ringing", "joined"}, "left"),
}
CONSULT_STATES = ("requested", "active", "declined", "ended", "transferred", "conferenced")
PARTY_STATES = ("ringing", "joined", "declined", "not_answered", "failed", "left")


def test_the_tables_name_every_event():
    assert {e.value for e in linestate.CONSULTATION} == set(CONSULTATION)
    assert {e.value for e in linestate.PARTY} == set(PARTY)


@pytest.mark.parametrize("event", CONSULTATION)
@pytest.mark.parametrize("state", CONSULT_STATES)
def test_a_consultation_moves_only_where_the_table_says(event, state):
    sources, target = CONSULTATION[event]
    if state in sources:
        assert consult_state_after(state, ConsultEvent(event)) == target
    else:
        with pytest.raises(DomainError, match="consultation"):
            consult_state_after(state, ConsultEvent(event))


@pytest.mark.parametrize("event", PARTY)
@pytest.mark.parametrize("state", PARTY_STATES)
def test_a_party_moves_only_where_the_table_says(event, state):
    sources, target = PARTY[event]
    if state in sources:
        assert party_state_after(state, PartyEvent(event)) == target
    else:
        with pytest.raises(DomainError, match="conference request|left the call"):
            party_state_after(state, PartyEvent(event))
