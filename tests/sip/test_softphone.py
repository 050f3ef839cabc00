"""The agent's browser as a SIP softphone (JsSIP → kamailio → rtpengine → a baresip customer line), each
outcome asserted on both sides: Ringback's call status and history, and what the far end saw."""

import re
import time
import wave

import pytest
from playwright.sync_api import expect

from callbacks.enums import CallbackState, CallOutcome, CallState, ConsultState, PartyState, RetryAction
from callbacks.models import Call, CallbackRequest, CallParty, Consultation, LineReport, Queue, RetryRule
from callbacks.telephony.sip import credentials

from ..browser.a11y import Axe
from ..browser.conftest import SHOTS
from ..browser.test_call_handling import accept, history, status, toolbar
from ..browser.test_core_journeys import create, ready
from ..factories import make_agent
from .conftest import CHROMIUM, RING_SECONDS, SIP_ARGS


def snap(page, name: str) -> None:
    """A state the journey reached: checked by axe-core as it is (the real-SIP desk is checked on demand, not on
    every change), then kept as a screenshot."""
    Axe.now(page)
    page.screenshot(path=str(SHOTS / name))


pytestmark = [pytest.mark.django_db(transaction=True)]

WAIT = (RING_SECONDS + 20) * 1000  # an outcome may take the whole ring time, then a busy machine's slack


def rtp_both_ways(calls: str) -> str:
    """A page function: the first of the softphone's `calls` (its customer calls, or its calls between agents) has
    sent and received RTP."""
    return f"""async () => {{
  const s = Object.values(window.ringbackSoftphone.{calls})[0];
  if (!s || !s.connection || !s.isEstablished()) return false;
  let sent = 0, received = 0;
  (await s.connection.getStats()).forEach(r => {{
    if (r.type === "outbound-rtp" && r.kind === "audio") sent = r.packetsSent;
    if (r.type === "inbound-rtp" && r.kind === "audio") received = r.packetsReceived;
  }});
  return sent > 25 && received > 25;
}}"""


RTP_BOTH_WAYS = rtp_both_ways("sessions")


def wait_js(page, expression: str, timeout: float = 20) -> None:
    """Poll a page function (async or not) until it returns something truthy. Playwright's wait_for_function does
    not await a promise: an async predicate would count as true at once."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout:g} s: {expression[:300]}")
        page.wait_for_timeout(250)


def call_customer(page, server, token, number: str):
    ready(page)
    create(server, token, phone_number=number, customer_name="Camille Laurent")
    accept(page)
    toolbar(page).get_by_role("button", name="Call", exact=True).click()


def talking(sip, server, token, agent_page, number: str):
    """Alice calls a line that answers: Connected on her page, established at the far end, RTP both ways."""
    line = sip.line(number, credentials(number), answer_mode="auto")
    page = agent_page("alice")
    call_customer(page, server, token, number)
    expect(status(page)).to_have_text("Connected")
    line.wait_for("CALL_ESTABLISHED")
    wait_js(page, RTP_BOTH_WAYS)
    return page, line


def reports_of(call, *fields: str) -> set[tuple]:
    ref = call if isinstance(call, str) else call.switch_ref
    return set(LineReport.objects.filter(call_ref=ref).values_list(*(fields or ("source", "event"))))


def wait_for_reports(call, wanted: set[tuple], *fields: str, timeout: float = 10) -> None:
    """Every report in `wanted` on `call` (a Call, or a line's reference) reached Ringback (the page's and the
    proxy's come in any order)."""
    deadline = time.monotonic() + timeout
    while not wanted <= reports_of(call, *fields) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert wanted <= reports_of(call, *fields), reports_of(call, *fields)


def test_answered_call_talks_both_ways_and_the_customer_hangs_up(server, sip, floor, agent_page):
    number = "+33612000011"
    page, line = talking(sip, server, floor, agent_page, number)
    SHOTS.mkdir(parents=True, exist_ok=True)
    snap(page, "softphone-connected.png")
    call = Call.objects.get()
    assert call.state == CallState.CONNECTED
    expect(history(page)).to_contain_text("Customer answered")
    # The customer's phone got the call without Ringback's own headers: its reference never leaves the proxy.
    assert "INVITE sip:" in line.sip_trace() and "X-Ringback-" not in line.sip_trace()
    # ... and sees the company's number calling, never the agent's internal address (the hang-up below still reaches
    # the agent's browser: kamailio puts its From back on the way in).
    invite = line.sip_trace().split("INVITE sip:", 1)[1].split("\n\n", 1)[0]  # (baresip's trace: one \n per line)
    assert re.search(r"^From: <sip:\+33100000000@127\.0\.0\.1>;tag=", invite, re.M), invite
    assert re.search(r"^P-Asserted-Identity: <sip:\+33100000000@127\.0\.0\.1>$", invite, re.M), invite
    line.command("hangup")
    expect(status(page)).to_have_text("Ready to Call")
    call.refresh_from_db()
    assert (call.state, call.outcome) == (CallState.ENDED, CallOutcome.REMOTE_HANGUP)
    line.wait_for("CALL_CLOSED")
    # Both told Ringback (whichever came first ended the call; the other's report arrives a moment later).
    wait_for_reports(call, {("page", "answered"), ("page", "ended"), ("proxy", "started"), ("proxy", "ended")})


RECEIVED = """async () => {
  const s = Object.values(window.ringbackSoftphone.sessions)[0];
  let received = 0;
  (await s.connection.getStats()).forEach(r => { if (r.type === "inbound-rtp" && r.kind === "audio") received = r.packetsReceived; });
  return received;
}"""


def test_hold_resume_and_dtmf_reach_the_far_end(server, sip, floor, agent_page):
    number = "+33612000012"
    page, line = talking(sip, server, floor, agent_page, number)
    offers = len(line.seen("CALL_REMOTE_SDP"))
    toolbar(page).get_by_role("button", name="Hold").click()
    expect(status(page)).to_have_text("On Hold")
    Axe.now(page)  # the desk on hold, checked by axe-core as it is
    line.wait_for_count("CALL_REMOTE_SDP", offers + 1)  # the browser's re-INVITE reached the customer…
    assert line.sip_trace().rfind("a=sendonly") > line.sip_trace().rfind("a=sendrecv"), "…offering sendonly"
    held = page.evaluate(RECEIVED)
    page.wait_for_timeout(1500)  # a quiet window: on hold the customer sends nothing (a busy machine sends less, not more)
    assert page.evaluate(RECEIVED) - held < 10, "RTP from the customer stopped"
    toolbar(page).get_by_role("button", name="Resume Call").click()
    expect(status(page)).to_have_text("Connected")
    line.wait_for_count("CALL_REMOTE_SDP", offers + 2)
    assert line.sip_trace().rfind("a=sendrecv") > line.sip_trace().rfind("a=sendonly")
    wait_js(page, f"async () => (await ({RECEIVED})()) > {held} + 25")
    toolbar(page).get_by_text("Send DTMF").click()
    for key in "42":
        page.get_by_role("button", name=f"Key {key}").click()
    page.get_by_role("button", name="Send", exact=True).click()
    expect(history(page)).to_contain_text("DTMF sent: 42")
    assert [e["param"] for e in line.wait_for_count("CALL_DTMF_START", 2)] == ["4", "2"], "RFC 4733 digits at the far end"
    toolbar(page).get_by_role("button", name="End Call").click()
    expect(status(page)).to_have_text("Ready to Call")
    line.wait_for("CALL_CLOSED")
    call = Call.objects.get()
    assert call.outcome == CallOutcome.AGENT_HANGUP


@pytest.mark.parametrize(
    ("number", "answer_mode", "outcome", "action"),
    [
        ("+33612000021", "busy", CallOutcome.BUSY, RetryAction.RETRY),
        ("+33612000022", "manual", CallOutcome.NO_ANSWER, RetryAction.ASK_AGENT),
        ("+33612000023", None, CallOutcome.FAILED, RetryAction.ASK_AGENT),  # no such line: 404 Not Found
    ],
)
def test_busy_no_answer_and_not_found_follow_their_retry_rules(
    server, sip, floor, agent_page, number, answer_mode, outcome, action
):
    queue = Queue.objects.get(slug="billing")
    RetryRule.objects.create(queue=queue, outcome=outcome, action=action, delay_minutes=15)
    Queue.objects.filter(pk=queue.pk).update(ring_seconds=RING_SECONDS - 2)  # Ringback cancels before kamailio's 408
    line = sip.line(number, credentials(number), answer_mode=answer_mode) if answer_mode else None
    page = agent_page("alice")
    call_customer(page, server, floor, number)
    expect(status(page)).to_have_text("Dialing")
    if action == RetryAction.RETRY:  # the attempt closes: the callback waits for its retry
        expect(page.get_by_role("status", name="Attempt closed")).to_contain_text(CallOutcome(outcome).label, timeout=WAIT)
    else:  # the agent decides: call again, reschedule or Mark Done
        expect(page.get_by_role("alert").filter(has_text="Call again")).to_contain_text(CallOutcome(outcome).label, timeout=WAIT)
        expect(status(page)).to_have_text("Ready to Call")
    call = Call.objects.get()
    assert (call.state, call.outcome) == (CallState.ENDED, outcome)
    callback = CallbackRequest.objects.get()
    expected_state = CallbackState.SCHEDULED if action == RetryAction.RETRY else CallbackState.IN_PROGRESS
    assert callback.state == expected_state
    if answer_mode == "busy":
        assert "SIP/2.0 486" in line.sip_trace(), "the customer's phone declined: 486"
    elif answer_mode == "manual":
        assert "CANCEL sip:" in line.sip_trace(), "the ringing phone was cancelled after the ring time"
        # Ringback's own CANCEL after the queue's ring time, as the page reported it.
        wait_for_reports(call, {("page", "failed", 487)}, "source", "event", "code")


@pytest.mark.parametrize(
    ("number", "answer_mode", "outcome", "code"),
    [
        ("+33612000061", "busy", CallOutcome.BUSY, 486),  # the customer's phone declines
        ("+33612000062", "manual", CallOutcome.NO_ANSWER, 408),  # it rings until kamailio gives up
    ],
)
def test_busy_and_no_answer_reach_ringback_from_the_proxy_alone(
    server, sip, floor, agent_page, number, answer_mode, outcome, code
):
    """The page's reports never arrive (a frozen tab, a network that drops them): kamailio's report of the failed
    dialog, with the real SIP code, is enough to close the attempt with the right outcome."""
    Queue.objects.filter(slug="billing").update(ring_seconds=RING_SECONDS + 40)  # kamailio's 408 comes first
    sip.line(number, credentials(number), answer_mode=answer_mode)
    page = agent_page("alice")
    page.route("**/softphone/events/", lambda route: route.abort())
    call_customer(page, server, floor, number)
    expect(status(page)).to_have_text("Dialing")
    deadline = time.monotonic() + WAIT / 1000
    while Call.objects.get().state != CallState.ENDED and time.monotonic() < deadline:
        time.sleep(0.1)
    call = Call.objects.get()
    assert (call.state, call.outcome) == (CallState.ENDED, outcome)
    assert reports_of(call, "source", "event", "code") == {("proxy", "failed", code)}, "the proxy's word alone"


def test_a_refer_to_a_blocked_number_never_reaches_the_customers_phone(server, sip, floor, agent_page):
    """A page that REFERs the customer to a premium number itself (not through Ringback, which refuses it): kamailio
    refuses the in-dialog REFER, the customer's phone never sees it, and the call goes on."""
    number = "+33612000063"
    page, line = talking(sip, server, floor, agent_page, number)
    page.evaluate("Object.values(window.ringbackSoftphone.sessions)[0].refer('sip:+33899123456@127.0.0.1')")
    deadline = time.monotonic() + 10
    while "refused: a blocked range" not in (sip.workdir / "sip.log").read_text(errors="replace"):
        assert time.monotonic() < deadline, "kamailio did not refuse the REFER"
        time.sleep(0.1)
    assert "REFER sip:" not in line.sip_trace()
    wait_js(page, RTP_BOTH_WAYS)
    assert Call.objects.get().state == CallState.CONNECTED


def test_a_tab_closed_mid_call_ends_the_call_within_seconds(server, sip, floor, agent_page):
    """The agent closes the tab while talking: the page hangs up as it goes (kamailio sees the BYE come from the
    browser and tells Ringback), so the customer is not left talking to nobody and Ringback ends the call."""
    number = "+33612000013"
    page, line = talking(sip, server, floor, agent_page, number)
    call = Call.objects.get()
    page.close()
    line.wait_for("CALL_CLOSED", timeout=10)
    deadline = time.monotonic() + 10
    while Call.objects.get().state != CallState.ENDED and time.monotonic() < deadline:
        time.sleep(0.1)
    call.refresh_from_db()
    assert (call.state, call.outcome) == (CallState.ENDED, CallOutcome.AGENT_HANGUP)
    wait_for_reports(call, {("proxy", "hungup")})
    messages = list(call.callback.history.values_list("message", flat=True))
    assert "Call ended: the agent's phone hung up (their page was closed)" in messages, messages


def transfer_to(page, number: str):
    toolbar(page).get_by_role("button", name="Instant Call Transfer").click()
    page.get_by_label("Search the Team Communicator").fill(number)
    page.get_by_role("button", name=f"Instant Call Transfer to {number}").click()


def test_a_blind_transfer_that_fails_keeps_the_customer_and_one_that_succeeds_hands_them_over(server, sip, floor, agent_page):
    """Instant Call Transfer to a number is a REFER to the customer's phone, which calls the target. A busy target
    leaves the customer talking to the agent, who is told why; an answering one takes the customer, and only then
    does Ringback close the agent's window."""
    busy = sip.line("+33612000031", credentials("+33612000031"), answer_mode="busy")
    target = sip.line("+33612000032", credentials("+33612000032"), answer_mode="auto")
    page, line = talking(sip, server, floor, agent_page, "+33612000014")
    transfer_to(page, "+33612000031")
    alert = page.get_by_role("alert").filter(has_text="Transfer to")
    expect(alert).to_contain_text("failed: busy. The customer is still on the line.", timeout=WAIT)
    SHOTS.mkdir(parents=True, exist_ok=True)
    snap(page, "softphone-transfer-failed.png")
    busy.wait_for("CALL_CLOSED")
    expect(status(page)).to_have_text("Connected")
    first = line.seen("CALL_ESTABLISHED")[0]["id"]
    tried = [e["id"] for e in line.seen("CALL_CLOSED")]
    assert first not in tried and len(tried) == 1, "only the customer's call to the busy target ended"
    received = page.evaluate(RECEIVED)
    wait_js(page, f"async () => (await ({RECEIVED})()) > {received} + 25")
    call = Call.objects.get()
    assert (call.state, call.transfer_id) == (CallState.CONNECTED, "")

    transfer_to(page, "+33612000032")
    target.wait_for("CALL_ESTABLISHED", timeout=WAIT / 1000)
    expect(page.get_by_text("Your desk is clear.")).to_be_visible(timeout=WAIT)
    call.refresh_from_db()
    assert (call.state, call.outcome) == (CallState.ENDED, CallOutcome.TRANSFERRED)
    callback = CallbackRequest.objects.get()
    assert callback.outcome == "Transferred to +33 6 12 00 00 32", callback.outcome
    messages = list(callback.history.order_by("pk").values_list("message", flat=True))
    assert "Instant Call Transfer to +33 6 12 00 00 31 failed: busy; the customer is still on the line" in messages, messages
    assert "Instant Call Transfer to +33 6 12 00 00 32" in messages, messages
    line.wait_for_count("CALL_CLOSED", 2)  # the customer's call with the agent ends once the one to the target is up
    assert first in [e["id"] for e in line.seen("CALL_CLOSED")]
    assert target.seen("CALL_ESTABLISHED") and not target.seen("CALL_CLOSED"), "the customer talks to the target"


def transfer_to_bob(sip, server, token, agent_page, number: str):
    """Alice talks to the customer and transfers them to Bob (Ready): his desk shows the request, his phone rings."""
    page, line = talking(sip, server, token, agent_page, number)
    make_agent("bob", Queue.objects.get(slug="billing"))
    bob = agent_page("bob")
    ready(bob)
    toolbar(page).get_by_role("button", name="Instant Call Transfer").click()
    page.get_by_label("Search the Team Communicator").fill("bob")
    page.get_by_role("button", name="Instant Call Transfer to Bob").click()
    expect(page.get_by_test_id("transferring")).to_have_text("Transferring to Bob…")
    request = bob.get_by_role("alertdialog", name="Transfer request")
    expect(request).to_contain_text("Alice transfers Camille Laurent to you")
    return page, bob, line, request


def test_a_blind_transfer_to_a_second_agents_browser(server, sip, floor, agent_page):
    """Instant Call Transfer to Bob: Alice's page REFERs the customer's phone to Bob's softphone, where it rings while
    his desk shows the request; he accepts, his page answers, and only then is the call his."""
    page, bob, line, request = transfer_to_bob(sip, server, floor, agent_page, "+33612000015")
    first = line.seen("CALL_ESTABLISHED")[0]["id"]
    request.get_by_role("button", name="Accept").click()
    expect(page.get_by_text("Your desk is clear.")).to_be_visible()
    expect(status(bob)).to_have_text("Connected")
    wait_js(bob, RTP_BOTH_WAYS)
    established = line.wait_for_count("CALL_ESTABLISHED", 2)
    assert established[-1]["peeruri"].startswith("sip:agent-"), "the customer's phone called Bob's"
    line.wait_for("CALL_CLOSED")  # the call with Alice ended once Bob's was up…
    assert [e["id"] for e in line.seen("CALL_CLOSED")] == [first]
    call = Call.objects.get()
    assert call.state == CallState.CONNECTED, "…and its end was no news: the call is Bob's now"
    assert call.interaction.agent.user.username == "bob"
    expect(history(bob)).to_contain_text("Call transferred to Bob")
    SHOTS.mkdir(parents=True, exist_ok=True)
    snap(bob, "softphone-transferred-to-bob.png")
    line.command("hangup")
    expect(status(bob)).to_have_text("Ready to Call")
    call.refresh_from_db()
    assert (call.state, call.outcome) == (CallState.ENDED, CallOutcome.REMOTE_HANGUP)


def test_a_transfer_bob_declines_leaves_the_customer_with_alice(server, sip, floor, agent_page):
    page, bob, line, request = transfer_to_bob(sip, server, floor, agent_page, "+33612000027")
    SHOTS.mkdir(parents=True, exist_ok=True)
    snap(bob, "softphone-transfer-request.png")
    request.get_by_role("button", name="Decline").click()
    alert = page.get_by_role("alert").filter(has_text="Transfer to")
    expect(alert).to_contain_text("Transfer to Bob failed: declined. The customer is still on the line.", timeout=WAIT)
    expect(status(page)).to_have_text("Connected")
    expect(bob.get_by_role("alertdialog", name="Transfer request")).to_have_count(0)
    received = page.evaluate(RECEIVED)
    wait_js(page, f"async () => (await ({RECEIVED})()) > {received} + 25")
    first = line.seen("CALL_ESTABLISHED")[0]["id"]
    assert first not in [e["id"] for e in line.seen("CALL_CLOSED")], "only the customer's call to Bob ended"
    call = Call.objects.get()
    assert (call.state, call.interaction.agent.user.username) == (CallState.CONNECTED, "alice")


LEG_RTP = rtp_both_ways("legs")

LEG_ENERGY = """async () => {
  const s = Object.values(window.ringbackSoftphone.legs)[0];
  let energy = 0;
  (await s.connection.getStats()).forEach(r => { if (r.type === "inbound-rtp" && r.kind === "audio") energy = r.totalAudioEnergy || 0; });
  return energy;
}"""


def consulting(sip, server, token, agent_page, number: str, browser=None):
    """Alice talks to the customer, then consults Bob: the customer is held, and Alice's page calls Bob's."""
    make_agent("bob", Queue.objects.get(slug="billing"))
    bob = agent_page("bob", browser)
    line = sip.line(number, credentials(number), answer_mode="auto")
    page = agent_page("alice", browser)
    call_customer(page, server, token, number)
    expect(status(page)).to_have_text("Connected")
    line.wait_for("CALL_ESTABLISHED")
    page.get_by_label("Search the Team Communicator").fill("bob")
    page.get_by_role("button", name="Start Consultation with Bob").click()
    expect(status(page)).to_have_text("On Hold")
    request = bob.get_by_role("alertdialog", name="Consultation request")
    request.get_by_role("button", name="Accept").click()
    expect(bob.get_by_role("article", name="Consultation")).to_be_visible()
    wait_js(page, LEG_RTP)
    wait_js(bob, LEG_RTP)
    return page, bob, line


def test_a_consultation_completed_as_a_transfer(server, sip, floor, agent_page):
    """Alice consults Bob (a second call between their browsers), then transfers: the customer's phone is REFERred
    to Bob's (with Replaces naming the consultation's call), and Bob's page takes the customer in its place."""
    page, bob, line = consulting(sip, server, floor, agent_page, "+33612000016")
    first = line.seen("CALL_ESTABLISHED")[0]["id"]
    page.get_by_role("button", name="Transfer to Bob", exact=True).click()
    expect(page.get_by_text("Your desk is clear.")).to_be_visible()
    expect(status(bob)).to_have_text("Connected")
    wait_js(bob, RTP_BOTH_WAYS)
    established = line.wait_for_count("CALL_ESTABLISHED", 2)
    assert established[-1]["peeruri"].startswith("sip:agent-"), "the customer's phone called Bob's"
    line.wait_for("CALL_CLOSED")
    assert [e["id"] for e in line.seen("CALL_CLOSED")] == [first], "only the call with Alice ended"
    bob.wait_for_function("() => Object.values(window.ringbackSoftphone.legs).every(s => s.isEnded())", timeout=20000)
    trace = line.sip_trace()
    assert "?Replaces=" in trace[trace.index("Refer-To: <sip:agent-") :], "Alice's page asked for an attended transfer"
    # baresip cannot replace a dialog (it folds Replaces into the request URI), so Bob's page took the customer's
    # call as for a blind transfer, Bob already warned by the consultation: the fallback.
    assert "\nReplaces:" not in trace
    call = Call.objects.get()
    assert call.state == CallState.CONNECTED and call.interaction.agent.user.username == "bob"
    expect(history(bob)).to_contain_text("Call transferred to Bob after consultation")
    line.command("hangup")
    expect(status(bob)).to_have_text("Ready to Call")


@pytest.fixture(scope="module")
def quiet_chromium(chromium, tmp_path_factory):
    """Agents whose microphones are silent: what Bob hears in the conference is then the customer, mixed in by
    Alice's page, and nothing else."""
    silence = tmp_path_factory.mktemp("audio") / "silence.wav"
    with wave.open(str(silence), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(48000)
        w.writeframes(b"\0\0" * 48000)
    browser = chromium.browser_type.launch(
        executable_path=CHROMIUM, args=[*SIP_ARGS, f"--use-file-for-fake-audio-capture={silence}"]
    )
    yield browser
    browser.close()


def test_a_consultation_completed_as_a_conference_mixed_in_the_browser(server, sip, floor, agent_page, quiet_chromium):
    """Alice consults Bob, then conferences: the customer is taken off hold and Alice's page mixes (Web Audio) her
    microphone with each other party, so Bob now hears the customer's tone through her."""
    page, bob, line = consulting(sip, server, floor, agent_page, "+33612000017", browser=quiet_chromium)
    before = bob.evaluate(LEG_ENERGY)
    page.wait_for_timeout(1500)  # a quiet window: Alice's microphone is silent and the customer is on hold
    quiet = bob.evaluate(LEG_ENERGY) - before
    page.get_by_role("button", name="Conference Bob", exact=True).click()
    expect(status(page)).to_have_text("Connected")
    expect(bob.get_by_role("article", name="Conference")).to_be_visible()
    start = bob.evaluate(LEG_ENERGY)
    wait_js(bob, f"async () => (await ({LEG_ENERGY})()) > {start} + 0.05 + {quiet} * 10")
    SHOTS.mkdir(parents=True, exist_ok=True)
    snap(page, "softphone-conference.png")
    call = Call.objects.get()
    assert call.state == CallState.CONNECTED and call.parties.get().leg.startswith("consult-")
    toolbar(page).get_by_role("button", name="End Call").click()
    expect(status(page)).to_have_text("Ready to Call")
    line.wait_for("CALL_CLOSED")


def test_an_instant_conference_with_a_number_rings_until_it_answers_then_is_mixed_in_the_browser(server, sip, floor, agent_page):
    """Instant Call Conference with a number: Alice's page calls it, and the party is only asked ("calling…") until
    the number answers, as her page and kamailio both report. Then her page mixes the two calls; removing the
    party hangs that call up and gives each call Alice's own microphone back, the customer still with her. The queue
    has a number and a name of its own: the party sees them, as kamailio learnt them from Ringback."""
    Queue.objects.update(caller_id="+33184880000", caller_id_name="Facturación & Co.")
    third = sip.line("+33612000033", credentials("+33612000033"), answer_mode="manual")
    page, line = talking(sip, server, floor, agent_page, "+33612000018")
    toolbar(page).get_by_role("button", name="Instant Call Conference").click()
    page.get_by_label("Search the Team Communicator").fill("+33612000033")
    page.get_by_role("button", name="Instant Call Conference with +33612000033").click()
    parties = page.get_by_role("list", name="Conference parties")
    expect(parties).to_contain_text("+33 6 12 00 00 33 — calling…")
    # Alice's page called the party, showing the queue's number (never her internal address).
    assert third.wait_for("CALL_INCOMING")["peeruri"] == "sip:+33184880000@127.0.0.1"
    # ... with the queue's name beside it, in From and in P-Asserted-Identity.
    invite = third.sip_trace().split("INVITE sip:", 1)[1].split("\n\n", 1)[0]
    assert re.search(r'^From: "Facturación & Co\." <sip:\+33184880000@127\.0\.0\.1>;tag=', invite, re.M), invite
    assert re.search(r'^P-Asserted-Identity: "Facturación & Co\." <sip:\+33184880000@127\.0\.0\.1>$', invite, re.M), invite
    party = CallParty.objects.get()
    wait_for_reports(party.line_ref, {("page", "ringing")})
    assert CallParty.objects.get().state == PartyState.RINGING, "ringing is not joining"
    third.command("accept")
    third.wait_for("CALL_ESTABLISHED")
    expect(parties).not_to_contain_text("calling…")
    expect(page.get_by_role("button", name="Remove +33 6 12 00 00 33")).to_be_visible()
    wait_for_reports(party.line_ref, {("page", "answered"), ("proxy", "started")})
    party.refresh_from_db()
    assert (party.state, party.leg) == (PartyState.JOINED, party.line_ref)
    wait_js(page, LEG_RTP)
    wait_js(page, "() => Object.keys(window.ringbackSoftphone.mixed).length === 1")
    page.get_by_role("button", name="Remove +33 6 12 00 00 33").click()
    third.wait_for("CALL_CLOSED")
    wait_js(page, "() => Object.keys(window.ringbackSoftphone.mixed).length === 0")
    expect(status(page)).to_have_text("Connected")
    assert not line.seen("CALL_CLOSED"), "the customer is still with Alice"
    assert CallParty.objects.get().left_at is not None


def consult_number(page, number: str):
    page.get_by_label("Search the Team Communicator").fill(number)
    page.get_by_role("button", name=f"Start Consultation with {number}").click()
    expect(status(page)).to_have_text("On Hold")


def test_a_number_consulted_is_called_by_the_page_and_a_transfer_after_it_hands_the_customer_over(server, sip, floor, agent_page):
    """Start Consultation with a typed number: the customer is held and Alice's page calls the number, which shows
    "calling…" until it answers (reported by her page and by kamailio). Once they have talked, Transfer REFERs the
    customer's phone to that number, and Alice's window closes when the line says it answered."""
    third = sip.line("+33612000034", credentials("+33612000034"), answer_mode="manual")
    page, line = talking(sip, server, floor, agent_page, "+33612000019")
    consult_number(page, "+33612000034")
    expect(page.get_by_test_id("consult-state")).to_have_text("calling…")
    third.wait_for("CALL_INCOMING")
    consult = Consultation.objects.get()
    assert consult.state == ConsultState.REQUESTED
    third.command("accept")
    expect(page.get_by_test_id("consult-state")).to_have_text("connected (customer on hold)")
    wait_for_reports(consult.line_ref, {("page", "answered"), ("proxy", "started")})
    wait_js(page, LEG_RTP)
    SHOTS.mkdir(parents=True, exist_ok=True)
    snap(page, "softphone-consult-number.png")
    third.answer_mode = "auto"  # the customer's phone calls it next
    page.get_by_role("button", name="Transfer to +33 6 12 00 00 34", exact=True).click()
    expect(page.get_by_text("Your desk is clear.")).to_be_visible(timeout=WAIT)
    established = third.wait_for_count("CALL_ESTABLISHED", 2)
    assert established[-1]["peeruri"].startswith("sip:+33612000019"), "the customer's phone called the number"
    refers = [e["param"] for e in line.seen("TRANSFER")]
    assert refers == ["<sip:+33612000034@127.0.0.1>"], "one blind REFER, to the number"
    call = Call.objects.get()
    assert (call.state, call.outcome) == (CallState.ENDED, CallOutcome.TRANSFERRED)
    assert Consultation.objects.get().state == ConsultState.TRANSFERRED
    messages = list(call.callback.history.values_list("message", flat=True))
    assert "+33 6 12 00 00 34 answered: consultation connected (customer on hold)" in messages, messages


def test_a_busy_number_consulted_ends_the_consultation_and_the_customer_waits_on_hold(server, sip, floor, agent_page):
    sip.line("+33612000035", credentials("+33612000035"), answer_mode="busy")
    page, line = talking(sip, server, floor, agent_page, "+33612000029")
    consult_number(page, "+33612000035")
    notice = page.get_by_role("alert").filter(has_text="Consultation with")
    expect(notice).to_contain_text("Consultation with +33 6 12 00 00 35 ended: busy. The customer is on hold", timeout=WAIT)
    consult = Consultation.objects.get()
    assert consult.state == ConsultState.ENDED
    # Either report is enough, and the first one ends the consultation (the page then stops following the line).
    busy = {("page", "failed", 486), ("proxy", "failed", 486)}
    deadline = time.monotonic() + 10
    while not busy & reports_of(consult.line_ref, "source", "event", "code") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert busy & reports_of(consult.line_ref, "source", "event", "code")
    expect(status(page)).to_have_text("On Hold")
    toolbar(page).get_by_role("button", name="Resume Call").click()
    expect(status(page)).to_have_text("Connected")
    assert not line.seen("CALL_CLOSED"), "the customer is still with Alice"


@pytest.mark.parametrize("ender", ["alice", "bob"])
def test_a_consultation_ended_by_either_side_hangs_up_the_call_between_them(server, sip, floor, agent_page, ender):
    """End Consultation, from either window: the call between the two browsers ends on both pages, and the customer
    stays on hold with Alice until she resumes."""
    page, bob, line = consulting(sip, server, floor, agent_page, f"+3361200002{5 if ender == 'alice' else 6}")
    (page if ender == "alice" else bob).get_by_role("button", name="End Consultation").click()
    for agent in (page, bob):
        wait_js(agent, "() => Object.values(window.ringbackSoftphone.legs).every(s => s.isEnded())")
    expect(status(page)).to_have_text("On Hold")
    assert not line.seen("CALL_CLOSED"), "the customer is still on the line"
    toolbar(page).get_by_role("button", name="Resume Call").click()
    expect(status(page)).to_have_text("Connected")
