"""The lines an agent adds to a customer's call, as data: a consultation, and a conference party (an agent asked
to join, or a number dialled). Like `callbackstate`, one table per machine says which event moves which state
where, and what the agent reads when it may not; the actions in `lifecycle.transfers`, `lifecycle.lines` and
`lifecycle.calls` move them only through it.

Consultation: requested → active (the agent consulted accepted, or the number answered) → transferred or
conferenced (the agent who asked completed it); requested → declined; requested or active → ended (either side
ended it, it lapsed, the line failed, the customer's call ended).

Party: ringing (asked) → joined (accepted, or the number answered); ringing → declined, not answered, not reached;
ringing or joined → left (cancelled, dropped, hung up, the call ended).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.utils.translation import gettext
from django.utils.translation import gettext_noop as _

from .enums import ConsultState, PartyState
from .errors import DomainError


class ConsultEvent(StrEnum):
    ACCEPT = "accept"  # the agent consulted clicked Accept
    ANSWERED = "answered"  # the number consulted answered
    DECLINE = "decline"
    END = "end"
    TRANSFER = "transfer"  # completed as a transfer to the target
    CONFERENCE = "conference"  # completed as a conference with the target


class PartyEvent(StrEnum):
    JOIN = "join"  # the agent asked accepted, or the number answered
    DECLINE = "decline"
    NO_ANSWER = "no_answer"
    FAIL = "fail"  # the number was not reached (busy, failed, an answering machine)
    LEAVE = "leave"


@dataclass(frozen=True)
class Move:
    sources: frozenset[str]
    target: str
    refusal: str  # what the agent reads when the event does not apply (translated when raised)


def _m(sources, target, refusal) -> Move:
    return Move(frozenset(sources), target, refusal)


C, P = ConsultState, PartyState
_REQUEST_GONE = _("This consultation request is no longer open.")
_NOT_ACTIVE = _("The consultation is not active (the other side has not answered, or it ended).")
_PARTY_ASKED_GONE = _("This conference request is no longer open.")

CONSULTATION: dict[ConsultEvent, Move] = {
    ConsultEvent.ACCEPT: _m({C.REQUESTED}, C.ACTIVE, _REQUEST_GONE),
    ConsultEvent.ANSWERED: _m({C.REQUESTED}, C.ACTIVE, _REQUEST_GONE),
    ConsultEvent.DECLINE: _m({C.REQUESTED}, C.DECLINED, _REQUEST_GONE),
    ConsultEvent.END: _m({C.REQUESTED, C.ACTIVE}, C.ENDED, _("This consultation has already ended.")),
    ConsultEvent.TRANSFER: _m({C.ACTIVE}, C.TRANSFERRED, _NOT_ACTIVE),
    ConsultEvent.CONFERENCE: _m({C.ACTIVE}, C.CONFERENCED, _NOT_ACTIVE),
}

PARTY: dict[PartyEvent, Move] = {
    PartyEvent.JOIN: _m({P.RINGING}, P.JOINED, _PARTY_ASKED_GONE),
    PartyEvent.DECLINE: _m({P.RINGING}, P.DECLINED, _PARTY_ASKED_GONE),
    PartyEvent.NO_ANSWER: _m({P.RINGING}, P.NOT_ANSWERED, _PARTY_ASKED_GONE),
    PartyEvent.FAIL: _m({P.RINGING}, P.FAILED, _PARTY_ASKED_GONE),
    PartyEvent.LEAVE: _m({P.RINGING, P.JOINED}, P.LEFT, _("That party already left the call.")),
}


def _after(table: dict, state: str, event) -> str:
    move = table[event]
    if state not in move.sources:
        raise DomainError(gettext(move.refusal))
    return move.target


def consult_state_after(state: str, event: ConsultEvent) -> ConsultState:
    """The consultation's state once `event` happens in `state`; refused (409, the table's words) when it may not."""
    return ConsultState(_after(CONSULTATION, state, event))


def party_state_after(state: str, event: PartyEvent) -> PartyState:
    """The party's state once `event` happens in `state`; refused (409, the table's words) when it may not."""
    return PartyState(_after(PARTY, state, event))
