"""The connector contract: every telephony adapter (`RINGBACK_TELEPHONY`) is a class with the `Telephony`
protocol's methods, keyword for keyword, and the same line story told through each ends in the same Ringback
state. The simulated switch tells its story itself (`customer_answers`, `customer_hangs_up`); the browser
softphone's story is its page's reports (`/softphone/events/`), as the real page sends them (tests/sip/ proves
the page against real SIP). A new connector joins `ADAPTERS` and a `Line` that tells its side."""

import inspect
import json

import pytest

from callbacks import lifecycle
from callbacks.enums import (
    CallbackState,
    CallOutcome,
    CallState,
    EffectKind,
    EffectStatus,
    InteractionState,
    RetryAction,
)
from callbacks.models import Call, Effect, RetryRule
from callbacks.telephony import Telephony, telephony
from callbacks.telephony.simulator.models import SimCall
from callbacks.telephony.simulator.switch import SimulatedSwitch

from .factories import refreshed, worker
from .test_calls import accepted

SIMULATOR = "callbacks.telephony.simulator.switch.SimulatedSwitch"
SOFTPHONE = "callbacks.telephony.sip.softphone.BrowserSoftphone"
ADAPTERS = [SIMULATOR, SOFTPHONE]

PROTOCOL_METHODS = sorted(name for name, member in vars(Telephony).items() if callable(member) and not name.startswith("_"))


@pytest.mark.parametrize("path", ADAPTERS)
def test_each_adapter_has_the_protocols_methods_keyword_for_keyword(path, settings):
    settings.RINGBACK_TELEPHONY = path
    telephony.cache_clear()
    try:
        adapter = telephony()
    finally:
        telephony.cache_clear()
    assert PROTOCOL_METHODS == sorted(
        ["dial", "hang_up", "hold", "resume", "send_dtmf", "transfer", "conference", "consult", "end_consult"]
        + ["monitor", "end_monitor"]
        + ["start_recording", "pause_recording", "resume_recording", "stop_recording"]
        + ["tick", "customer_link"]
    )
    for name in PROTOCOL_METHODS:
        wanted = inspect.signature(getattr(Telephony, name))
        got = inspect.signature(getattr(type(adapter), name))
        assert [(p.name, p.kind) for p in got.parameters.values()] == [(p.name, p.kind) for p in wanted.parameters.values()], (
            f"{path}.{name}"
        )
    assert isinstance(adapter.transfers_on_the_line, bool)


class SimulatorLine:
    """The simulated switch's customer: its phone page's buttons."""

    def __init__(self, client):
        self.client = client

    def _sim(self, call: Call) -> SimCall:
        return SimCall.objects.get(call_ref=call.switch_ref)

    def answers(self, call: Call) -> None:
        SimulatedSwitch().customer_answers(self._sim(call))

    def declines(self, call: Call) -> None:
        SimulatedSwitch().customer_hangs_up(self._sim(call))  # while it rings: busy

    def hangs_up(self, call: Call) -> None:
        SimulatedSwitch().customer_hangs_up(self._sim(call))


class SoftphoneLine:
    """The browser softphone's side: what the agent's page reports its SIP session did (each twice: a retry)."""

    def __init__(self, client):
        self.client = client

    def _report(self, call: Call, event: str, code: int | None = None) -> None:
        for _ in range(2):
            body = json.dumps({"call_ref": call.switch_ref, "event": event, "code": code})
            assert self.client.post("/softphone/events/", body, content_type="application/json").status_code == 204

    def answers(self, call: Call) -> None:
        self._report(call, "answered", 200)

    def declines(self, call: Call) -> None:
        self._report(call, "failed", 486)

    def hangs_up(self, call: Call) -> None:
        self._report(call, "ended")


@pytest.fixture(params=ADAPTERS)
def line(request, settings, alice, client):
    settings.RINGBACK_TELEPHONY = request.param
    telephony.cache_clear()
    client.force_login(alice.user)
    yield (SimulatorLine if request.param == SIMULATOR else SoftphoneLine)(client)
    telephony.cache_clear()


def call_out(alice, queue) -> Call:
    interaction = accepted(alice, queue)
    call = lifecycle.do_call(user=alice.user, interaction_id=interaction.pk)
    worker()  # the dial effect: the simulator places the call; the softphone has nothing to send
    return refreshed(call)


def test_an_answered_call_held_resumed_and_hung_up_by_the_customer(line, alice, queue):
    call = call_out(alice, queue)
    assert call.state == CallState.DIALING
    line.answers(call)
    assert refreshed(call).state == CallState.CONNECTED
    lifecycle.do_hold_call(user=alice.user, interaction_id=call.interaction_id)
    lifecycle.do_resume_call(user=alice.user, interaction_id=call.interaction_id)
    lifecycle.do_send_dtmf(user=alice.user, interaction_id=call.interaction_id, digits="42")
    worker()
    commands = Effect.objects.filter(kind__in=[EffectKind.DIAL, EffectKind.HOLD, EffectKind.RESUME, EffectKind.SEND_DTMF])
    assert sorted(commands.values_list("kind", "status")) == sorted(
        (kind, EffectStatus.DONE) for kind in (EffectKind.DIAL, EffectKind.HOLD, EffectKind.RESUME, EffectKind.SEND_DTMF)
    ), "the adapter took every command"
    line.hangs_up(call)
    call = refreshed(call)
    assert (call.state, call.outcome) == (CallState.ENDED, CallOutcome.REMOTE_HANGUP)
    assert refreshed(call.interaction).state == InteractionState.OPEN, "the agent wraps up"


def test_a_declined_call_is_busy_and_follows_the_busy_rule(line, alice, queue):
    RetryRule.objects.create(queue=queue, outcome=CallOutcome.BUSY, action=RetryAction.RETRY, delay_minutes=15)
    call = call_out(alice, queue)
    line.declines(call)
    call = refreshed(call)
    assert (call.state, call.outcome) == (CallState.ENDED, CallOutcome.BUSY)
    assert refreshed(call.callback).state == CallbackState.SCHEDULED


def test_the_agent_ends_the_call_and_a_late_report_changes_nothing(line, alice, queue):
    call = call_out(alice, queue)
    line.answers(call)
    lifecycle.do_end_call(user=alice.user, interaction_id=call.interaction_id)
    worker()
    if isinstance(line, SoftphoneLine):
        line.hangs_up(call)  # the page's session ended after Ringback did: already known
    call = refreshed(call)
    assert (call.state, call.outcome) == (CallState.ENDED, CallOutcome.AGENT_HANGUP)
