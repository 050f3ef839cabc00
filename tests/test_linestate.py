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


CASES = [
    (machine, event, state)
    for machine, table, states in (("consultation", CONSULTATION, CONSULT_STATES), ("party", PARTY, PARTY_STATES))
    for event in table
    for state in states
]
MOVE = {"consultation": (CONSULTATION, ConsultEvent, consult_state_after), "party": (PARTY, PartyEvent, party_state_after)}


@pytest.mark.parametrize("machine, event, state", CASES)
def test_a_line_moves_only_where_the_table_says(machine, event, state):
    table, events, after = MOVE[machine]
    sources, target = table[event]
    if state in sources:
        assert after(state, events(event)) == target
    else:
        with pytest.raises(DomainError, match="consultation|conference request|left the call"):
            after(state, events(event))
