"""The browser softphone's reports of a call, without SIP (the real thing is tests/sip/): the page's and the
proxy's, mapped from SIP codes (never the reason's words), signed, applied once per report id, refused when
malformed, forged or not the agent's own call. Plus the credentials kamailio's auth_ephemeral checks."""

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from prometheus_client import REGISTRY

from callbacks import lifecycle
from callbacks.enums import CallbackState, CallOutcome, CallState, ConsultState, InteractionState, OfferOutcome, PartyState
from callbacks.errors import DomainError
from callbacks.lifecycle import clock
from callbacks.models import Call, Consultation, LineReport, Offer
from callbacks.telephony import SwitchEvent, telephony
from callbacks.telephony.sip import agent_user, credentials, ice_servers, proxy_token
from callbacks.telephony.sip.softphone import outcome_of

from .factories import make_agent, refreshed, set_ready
from .test_calls import accepted, dial


@pytest.mark.parametrize(
    ("event", "code", "expected"),
    [
        ("answered", 200, SwitchEvent.ANSWERED),
        ("started", None, SwitchEvent.ANSWERED),
        ("ringing", 180, SwitchEvent.RINGING),
        ("ended", None, SwitchEvent.REMOTE_HANGUP),
        ("hungup", None, SwitchEvent.AGENT_PHONE_HANGUP),
        ("failed", 486, SwitchEvent.BUSY),
        ("failed", 600, SwitchEvent.BUSY),
        ("failed", 603, SwitchEvent.BUSY),
        ("failed", 408, SwitchEvent.NO_ANSWER),
        ("failed", 480, SwitchEvent.NO_ANSWER),
        ("failed", 487, SwitchEvent.NO_ANSWER),
        ("failed", 404, SwitchEvent.FAILED),
        ("failed", 503, SwitchEvent.FAILED),
        ("failed", None, SwitchEvent.FAILED),
        ("bogus", None, None),
    ],
)
def test_sip_codes_map_to_outcomes(event, code, expected):
    assert outcome_of(event, code) == expected


def test_credentials_are_what_auth_ephemeral_checks(settings):
    settings.RINGBACK_SIP_SECRET = "shared"
    settings.RINGBACK_SIP_CREDENTIAL_HOURS = 12
    c = credentials("agent-7", now=1_000_000)
    assert c["username"] == f"{1_000_000 + 12 * 3600}:agent-7"
    expected = base64.b64encode(hmac.new(b"shared", c["username"].encode(), hashlib.sha256).digest()).decode()
    assert c["password"] == expected


def post(client, **body):
    return client.post("/softphone/events/", json.dumps(body), content_type="application/json")


@pytest.fixture
def dialling(queue, alice, client):
    interaction = accepted(alice, queue)
    call = dial(alice, interaction)
    client.force_login(alice.user)
    return call


def test_the_pages_report_of_busy_ends_the_call_once(dialling, client):
    assert post(client, call_ref=dialling.switch_ref, event="failed", code=486).status_code == 204
    assert post(client, call_ref=dialling.switch_ref, event="failed", code=486).status_code == 204  # a retried POST
    call = refreshed(dialling)
    assert (call.state, call.outcome) == (CallState.ENDED, CallOutcome.BUSY)
    assert LineReport.objects.filter(call_ref=call.switch_ref).count() == 1


def test_no_answer_from_the_page(dialling, client):
    assert post(client, call_ref=dialling.switch_ref, event="ringing", code=180).status_code == 204
    assert post(client, call_ref=dialling.switch_ref, event="failed", code=408).status_code == 204
    call = refreshed(dialling)
    assert (call.state, call.outcome) == (CallState.ENDED, CallOutcome.NO_ANSWER)


def test_answer_then_remote_hangup_from_the_page(dialling, client):
    post(client, call_ref=dialling.switch_ref, event="answered", code=200)
    assert refreshed(dialling).state == CallState.CONNECTED
    post(client, call_ref=dialling.switch_ref, event="ended")
    assert refreshed(dialling).outcome == CallOutcome.REMOTE_HANGUP


def test_the_page_may_only_report_its_own_calls_and_known_events(dialling, queue, client):
    bob = make_agent("bob", queue)
    client.force_login(bob.user)
    assert post(client, call_ref=dialling.switch_ref, event="answered").status_code == 404
    client.force_login(dialling.interaction.agent.user)
    assert post(client, call_ref=dialling.switch_ref, event="exploded").status_code == 400
    bad = client.post("/softphone/events/", "not json", content_type="application/json")
    assert bad.status_code == 400
    assert refreshed(dialling).state == CallState.DIALING


def proxy(client, body: str, token: str | None = None, address: str = "127.0.0.1", path: str = "/sip/events"):
    """kamailio's POST on its private channel: from its address, with its bearer token."""
    auth = f"Bearer {token if token is not None else proxy_token()}"
    return client.post(path, body, content_type="text/plain", HTTP_AUTHORIZATION=auth, REMOTE_ADDR=address)


def report(ref: str, event: str, *, code="", dialog="dlg-1", user="", number="", at: int | None = None) -> str:
    """A report of `ref` (a Call's switch_ref or a line's reference) as kamailio writes it; the dialog's agent and
    number are the call's unless said otherwise."""
    if not (user and number):
        call = Call.objects.filter(switch_ref=ref).first()
        consult = None if call else Consultation.objects.filter(line_ref=ref).first()
        user = user or agent_user(call.interaction.agent_id if call else consult.from_agent_id)
        number = number or (call.number if call else consult.number)
    return f"{dialog}|{ref}|{user}|{event}|{code}|{at if at is not None else int(time.time())}|{number}"


def test_the_proxys_reports_start_and_end_the_call_once(dialling, client):
    client.logout()  # kamailio has no session: its address and token are its credential
    ref = dialling.switch_ref
    assert proxy(client, report(ref, "started")).status_code == 204
    assert refreshed(dialling).state == CallState.CONNECTED
    ended = report(ref, "ended")
    assert proxy(client, ended).status_code == 204
    assert proxy(client, ended).status_code == 204  # replayed within the window: acknowledged, applied once
    call = refreshed(dialling)
    assert (call.state, call.outcome) == (CallState.ENDED, CallOutcome.REMOTE_HANGUP)
    assert LineReport.objects.filter(call_ref=ref, source="proxy").count() == 2


def test_the_clock_prunes_reports_a_day_old_and_a_replay_after_the_prune_stays_refused(
    dialling, client, django_assert_num_queries
):
    client.logout()
    started = report(dialling.switch_ref, "started")
    assert proxy(client, started).status_code == 204
    assert clock.do_prune_line_reports(now=timezone.now() + timedelta(hours=23)) == 0  # kept a day
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        assert clock.do_prune_line_reports() == 1
        with django_assert_num_queries(0):  # once a minute at most
            assert clock.do_prune_line_reports() == 0
        assert proxy(client, started).status_code == 403  # its signed time has passed: no row needed to refuse it
    assert not LineReport.objects.exists()
    assert refreshed(dialling).state == CallState.CONNECTED


def refused(reason: str) -> float:
    return REGISTRY.get_sample_value("ringback_sip_reports_refused_total", {"reason": reason}) or 0


@pytest.mark.parametrize(
    ("attempt", "status", "reason"),
    [
        ({"token": "0" * 64}, 403, "token"),  # forged
        ({"token": ""}, 403, "token"),
        ({"address": "203.0.113.9"}, 403, "address"),  # from outside the proxy's private channel
        ({"at": -120}, 403, "stale"),  # replayed after the window
        ({"at": +120}, 403, "stale"),  # from a clock far ahead
        ({"user": "agent-999"}, 403, "mismatch"),  # another agent's dialog naming this call
        ({"number": "+33699999999"}, 403, "mismatch"),  # a dialog to another number naming this call
        ({"ref": "call-0000000000000000"}, 403, "mismatch"),  # no such call
        ({"event": "exploded"}, 400, None),
        ({"dialog": "d" * 151}, 400, None),  # a report id must fit
    ],
)
def test_forged_stale_or_borrowed_proxy_reports_are_refused_and_change_nothing(dialling, client, caplog, attempt, status, reason):
    ref = attempt.get("ref", dialling.switch_ref)
    at = int(time.time()) + attempt["at"] if "at" in attempt else None
    body = report(
        ref,
        attempt.get("event", "started"),
        dialog=attempt.get("dialog", "dlg-1"),
        user=attempt.get("user", agent_user(dialling.interaction.agent_id)),
        number=attempt.get("number", dialling.number),
        at=at,
    )
    before = refused(reason) if reason else 0
    r = proxy(client, body, token=attempt.get("token"), address=attempt.get("address", "127.0.0.1"))
    assert r.status_code == status, r.content
    assert refreshed(dialling).state == CallState.DIALING
    assert not LineReport.objects.exists()
    if reason:
        assert refused(reason) == before + 1
        assert any("ringback: security: SIP report refused" in m for m in caplog.messages), caplog.messages


def test_the_proxy_channel_refuses_a_get_a_query_string_and_a_failure_without_its_code(dialling, client):
    ref = dialling.switch_ref
    assert client.get("/sip/events", {"e": "x", "s": "y"}, REMOTE_ADDR="127.0.0.1").status_code == 405
    assert proxy(client, "not a report").status_code == 400
    assert proxy(client, "x" * 2000).status_code == 400
    assert proxy(client, report(ref, "failed", code="0")).status_code == 204  # no code: left to the page
    assert refreshed(dialling).state == CallState.DIALING


def test_a_failure_report_with_its_sip_code_is_busy(dialling, client):
    assert proxy(client, report(dialling.switch_ref, "failed", code="486")).status_code == 204
    call = refreshed(dialling)
    assert (call.state, call.outcome) == (CallState.ENDED, CallOutcome.BUSY)


def test_a_rotated_secret_stays_valid_while_both_are_set(dialling, client, settings):
    settings.RINGBACK_SIP_SECRET_PREVIOUS = "old-secret-" + "o" * 32
    old = proxy_token(settings.RINGBACK_SIP_SECRET_PREVIOUS)
    settings.RINGBACK_SIP_SECRET = "new-secret-" + "n" * 32
    assert proxy_token() != old
    assert (
        credentials("agent-1", now=1)["password"]
        == base64.b64encode(
            hmac.new(settings.RINGBACK_SIP_SECRET.encode(), f"{1 + 12 * 3600}:agent-1".encode(), hashlib.sha256).digest()
        ).decode()
    ), "credentials come from the new secret"
    assert proxy(client, report(dialling.switch_ref, "started", dialog="dlg-old"), token=old).status_code == 204
    assert proxy(client, report(dialling.switch_ref, "ended", dialog="dlg-new")).status_code == 204
    settings.RINGBACK_SIP_SECRET_PREVIOUS = ""  # the rotation is over
    assert proxy(client, report(dialling.switch_ref, "hungup", dialog="dlg-old"), token=old).status_code == 403


@pytest.mark.django_db
def test_a_source_kamailio_blocked_is_logged_and_counted(client, caplog):
    before = REGISTRY.get_sample_value("ringback_sip_blocked_sources_total", {"reason": "flood"}) or 0
    assert proxy(client, f"blocked|198.51.100.7|flood|{int(time.time())}").status_code == 204
    assert REGISTRY.get_sample_value("ringback_sip_blocked_sources_total", {"reason": "flood"}) == before + 1
    assert "ringback: security: kamailio blocked 198.51.100.7 (flood)" in caplog.messages
    assert proxy(client, "blocked|198.51.100.7|bored|1").status_code == 400
    assert proxy(client, "blocked|198.51.100.7|flood|1", token="0" * 64).status_code == 403


def test_a_closed_tab_is_the_agents_phone_hanging_up(dialling, client):
    """kamailio saw the BYE come from the browser without Ringback asking (the page was closing)."""
    ref = dialling.switch_ref
    assert proxy(client, report(ref, "started")).status_code == 204
    assert proxy(client, report(ref, "hungup")).status_code == 204
    call = refreshed(dialling)
    assert (call.state, call.outcome) == (CallState.ENDED, CallOutcome.AGENT_HANGUP)
    messages = list(call.callback.history.values_list("message", flat=True))
    assert "Call ended: the agent's phone hung up (their page was closed)" in messages
    assert refreshed(call.interaction).state == InteractionState.OPEN, "the agent still wraps the callback up"


@pytest.fixture
def softphone(settings):
    settings.RINGBACK_TELEPHONY = "callbacks.telephony.sip.softphone.BrowserSoftphone"
    telephony.cache_clear()
    yield
    telephony.cache_clear()


@pytest.fixture
def talking(softphone, dialling, client):
    post(client, call_ref=dialling.switch_ref, event="answered", code=200)
    return refreshed(dialling)


def transfer(call, number="+33612000099"):
    agent = call.interaction.agent
    lifecycle.do_transfer(user=agent.user, interaction_id=call.interaction_id, target=f"number:{number}")
    return refreshed(call)


def test_a_transfer_to_a_number_waits_for_the_line_and_a_failure_keeps_the_customer(talking, client):
    call = transfer(talking)
    assert call.state == CallState.CONNECTED and call.transfer_id, "asked of the line, not yet done"
    assert (call.transfer_number, call.transfer_label) == ("+33612000099", "+33 6 12 00 00 99")
    page = client.get("/")
    assert f'data-transfer-id="{call.transfer_id}" data-transfer-number="+33612000099"' in page.text
    assert "Transferring to +33 6 12 00 00 99…" in page.text
    with pytest.raises(DomainError, match="already under way"):
        transfer(call, "+33612000098")
    stale = post(client, call_ref=call.switch_ref, event="transferred", code=200, transfer_id="0" * 16)
    assert stale.status_code == 204 and refreshed(call).state == CallState.CONNECTED, "another transfer's word"
    for _ in range(2):  # the page's retried POST counts once
        r = post(client, call_ref=call.switch_ref, event="transfer_failed", code=486, transfer_id=call.transfer_id)
        assert r.status_code == 204
    call = refreshed(call)
    assert (call.state, call.transfer_id) == (CallState.CONNECTED, "")
    interaction = refreshed(call.interaction)
    assert interaction.last_outcome == "Transfer to +33 6 12 00 00 99 failed: busy. The customer is still on the line."
    failures = call.callback.history.filter(message__contains="failed: busy")
    assert failures.count() == 1
    assert "Transferring to" not in client.get("/").text


def test_a_transfer_the_line_confirms_closes_the_window(talking, client):
    call = transfer(talking)
    assert post(client, call_ref=call.switch_ref, event="transferred", code=200, transfer_id=call.transfer_id).status_code == 204
    call = refreshed(call)
    assert (call.state, call.outcome, call.transfer_id) == (CallState.ENDED, CallOutcome.TRANSFERRED, "")
    assert refreshed(call.interaction).state == InteractionState.DONE
    callback = refreshed(call.callback)
    assert callback.outcome == "Transferred to +33 6 12 00 00 99"
    assert callback.state == CallbackState.COMPLETED


def test_a_transfer_report_needs_its_transfer_id(talking, client):
    call = transfer(talking)
    for bad in (None, "", 7, "x" * 33):
        assert post(client, call_ref=call.switch_ref, event="transferred", transfer_id=bad).status_code == 400
    assert refreshed(call).transfer_id == call.transfer_id


def test_the_call_ending_drops_a_transfer_still_asked(talking, client):
    call = transfer(talking)
    post(client, call_ref=call.switch_ref, event="ended")
    call = refreshed(call)
    assert (call.state, call.transfer_id) == (CallState.ENDED, "")
    assert post(client, call_ref=call.switch_ref, event="transferred", transfer_id="a" * 16).status_code == 204
    assert refreshed(call).outcome == CallOutcome.REMOTE_HANGUP


def test_a_transfer_to_a_queue_ends_the_call_and_the_queues_next_agent_calls_back(talking, queue):
    """No queue holds a live customer in this stack: the softphone's call ends, and the callback waits in the queue."""
    agent = talking.interaction.agent
    lifecycle.do_transfer(user=agent.user, interaction_id=talking.interaction_id, target=f"queue:{queue.pk}")
    call = refreshed(talking)
    assert (call.state, call.outcome) == (CallState.ENDED, CallOutcome.TRANSFERRED)
    assert refreshed(call.callback).state in (CallbackState.QUEUED, CallbackState.OFFERED), "back in the queue's routing"
    message = "Instant Call Transfer to Billing: the call ended, the queue's next agent calls the customer back"
    assert call.callback.history.filter(message=message).exists()


def test_an_instant_conference_is_a_second_call_the_page_places_and_mixes(talking, queue, client):
    bob = make_agent("bob", queue)
    set_ready(bob)
    agent = talking.interaction.agent
    party = lifecycle.do_conference(user=agent.user, interaction_id=talking.interaction_id, target=f"agent:{bob.pk}")
    number = refreshed(
        lifecycle.do_conference(user=agent.user, interaction_id=talking.interaction_id, target="number:+33612000077")
    )
    assert (refreshed(party).leg, number.leg, number.state) == ("", "", PartyState.RINGING), "both are asked first"
    line = number.line_ref
    page = client.get("/").text
    assert f'data-leg="party-{party.pk}"' not in page
    assert f'data-leg="{line}" data-leg-to="+33612000077" data-leg-line>' in page, "the page calls the number now"
    lifecycle.do_accept_conference(user=bob.user, party_id=party.pk)
    assert refreshed(party).leg == f"party-{party.pk}"
    assert post(client, call_ref=line, event="answered", code=200).status_code == 204
    assert (refreshed(number).state, refreshed(number).leg) == (PartyState.JOINED, line), "its answer is its accept"
    page = client.get("/").text
    assert f'data-leg="party-{party.pk}" data-leg-to="agent-{bob.pk}" data-leg-mix' in page
    assert f'data-leg="{line}" data-leg-to="+33612000077" data-leg-line data-leg-mix' in page
    client.force_login(bob.user)
    assert f'aria-label="Conference" data-leg="party-{party.pk}"' in client.get("/").text, "Bob's page answers it"


@pytest.mark.parametrize(
    ("code", "why"), [(486, "busy"), (480, "no answer"), (404, "the call failed")], ids=["busy", "no-answer", "not-found"]
)
def test_a_number_conferenced_that_the_line_does_not_reach_leaves_the_customer_with_the_agent(talking, client, code, why):
    agent = talking.interaction.agent
    party = lifecycle.do_conference(user=agent.user, interaction_id=talking.interaction_id, target="number:+33612000077")
    line = refreshed(party).line_ref
    assert post(client, call_ref=line, event="ringing", code=180).status_code == 204
    assert post(client, call_ref=line, event="failed", code=code).status_code == 204
    party = refreshed(party)
    assert party.state == (PartyState.NOT_ANSWERED if code == 480 else PartyState.FAILED) and party.left_at
    banner = f"Conference with +33 6 12 00 00 77 failed: {why}. The customer is still on the line."
    assert refreshed(talking.interaction).last_outcome == banner
    assert refreshed(talking).state == CallState.CONNECTED
    assert line not in client.get("/").text, "the page no longer calls it"


def consult_number(call, number="+33612000066"):
    agent = call.interaction.agent
    consult = lifecycle.do_start_consultation(user=agent.user, interaction_id=call.interaction_id, target=f"number:{number}")
    return refreshed(consult)


def test_a_number_consulted_is_called_by_the_page_and_connected_when_it_answers(talking, client):
    """Start Consultation with a typed number: the customer is held, the page calls the number (Ringback's reference
    in the INVITE, so kamailio reports it too), and only its answer connects the consultation."""
    consult = consult_number(talking)
    assert consult.state == ConsultState.REQUESTED and consult.line_ref.startswith("leg-")
    assert refreshed(talking).state == CallState.ON_HOLD
    page = client.get("/").text
    assert f'data-leg="{consult.line_ref}" data-leg-to="+33612000066" data-leg-line>' in page
    assert "calling…" in page and "Conference +33 6 12 00 00 66" not in page, "nothing to complete before it answers"
    client.logout()  # kamailio's word is enough
    assert proxy(client, report(consult.line_ref, "started", dialog="dlg-9")).status_code == 204
    assert refreshed(consult).state == ConsultState.ACTIVE
    client.force_login(talking.interaction.agent.user)
    assert post(client, call_ref=consult.line_ref, event="answered", code=200).status_code == 204  # said twice: once
    history = talking.callback.history.filter(message="+33 6 12 00 00 66 answered: consultation connected (customer on hold)")
    assert history.count() == 1
    lifecycle.do_complete_consultation(user=talking.interaction.agent.user, consultation_id=consult.pk, mode="conference")
    party = talking.parties.get()
    assert (party.leg, party.line_ref, party.state) == (consult.line_ref, consult.line_ref, PartyState.JOINED)
    assert f'data-leg="{consult.line_ref}" data-leg-to="+33612000066" data-leg-line data-leg-mix' in client.get("/").text
    assert post(client, call_ref=consult.line_ref, event="ended").status_code == 204  # the number hangs up
    assert refreshed(party).state == PartyState.LEFT
    assert refreshed(talking).state == CallState.CONNECTED, "the customer stays with the agent"


def test_a_number_consulted_that_is_busy_ends_the_consultation_and_the_customer_waits_on_hold(talking, client):
    consult = consult_number(talking)
    assert post(client, call_ref=consult.line_ref, event="failed", code=486).status_code == 204
    consult = refreshed(consult)
    assert consult.state == ConsultState.ENDED
    assert refreshed(talking).state == CallState.ON_HOLD
    assert talking.callback.history.filter(message="Consultation with +33 6 12 00 00 66 ended: busy").exists()
    assert consult.line_ref not in client.get("/").text


def test_a_transfer_after_consulting_a_number_is_one_blind_refer_to_it(talking, client):
    """Not a handover to an agent's phone (there is none): the page asks the line, as for Instant Call Transfer."""
    consult = consult_number(talking)
    post(client, call_ref=consult.line_ref, event="answered", code=200)
    lifecycle.do_complete_consultation(user=talking.interaction.agent.user, consultation_id=consult.pk, mode="transfer")
    call = refreshed(talking)
    page = client.get("/").text
    assert "data-handover-ref" not in page
    assert f'data-transfer-id="{call.transfer_id}" data-transfer-number="+33612000066"' in page
    assert consult.line_ref not in page, "the page hangs its own call to the number up"


def test_only_the_agent_who_placed_a_line_may_report_it(talking, queue, client):
    consult = consult_number(talking)
    bob = make_agent("bob", queue)
    client.force_login(bob.user)
    assert post(client, call_ref=consult.line_ref, event="answered", code=200).status_code == 404
    assert refreshed(consult).state == ConsultState.REQUESTED
    client.force_login(talking.interaction.agent.user)
    bad = post(client, call_ref=consult.line_ref, event="transferred", code=200, transfer_id="a" * 16)
    assert bad.status_code == 404, "a line to a number is never transferred by the page"


def test_a_transfer_to_an_agent_rings_their_phone_and_the_call_is_theirs_once_they_answer(talking, queue, client):
    """On the softphone, Bob's phone rings (the REFER) and his desk shows the request; the call stays Alice's until
    the line says Bob answered, then moves to a window of his (the callback stays in progress)."""
    bob = make_agent("bob", queue)
    set_ready(bob)
    alices = talking.interaction
    alice = alices.agent
    lifecycle.do_transfer(user=alice.user, interaction_id=talking.interaction_id, target=f"agent:{bob.pk}")
    call = refreshed(talking)
    assert (call.state, call.transfer_number, call.interaction.agent) == (CallState.CONNECTED, f"agent-{bob.pk}", alice)
    assert not Offer.objects.filter(agent=bob, outcome=OfferOutcome.OPEN).exists(), "no offer: his phone rings"
    client.force_login(bob.user)
    desk = client.get("/").text
    assert "Transfer request" in desk and f'data-transfer-offer="{call.transfer_id}"' in desk
    client.force_login(alice.user)
    assert post(client, call_ref=call.switch_ref, event="transferred", code=200, transfer_id=call.transfer_id).status_code == 204
    call = refreshed(call)
    assert (call.state, call.transfer_id, call.interaction.agent) == (CallState.CONNECTED, "", bob)
    assert refreshed(alices).state == InteractionState.DONE
    assert refreshed(call.callback).state == CallbackState.IN_PROGRESS
    client.force_login(bob.user)
    assert "Transfer request" not in client.get("/").text


def test_a_transfer_to_an_agent_who_declines_keeps_the_customer_with_alice(talking, queue, client):
    bob = make_agent("bob", queue)
    set_ready(bob)
    alice = talking.interaction.agent
    lifecycle.do_transfer(user=alice.user, interaction_id=talking.interaction_id, target=f"agent:{bob.pk}")
    call = refreshed(talking)
    post(client, call_ref=call.switch_ref, event="transfer_failed", code=603, transfer_id=call.transfer_id)
    call = refreshed(call)
    assert (call.state, call.transfer_id, call.interaction.agent) == (CallState.CONNECTED, "", alice)
    assert refreshed(call.interaction).last_outcome == "Transfer to Bob failed: declined. The customer is still on the line."


def test_turn_credentials_are_what_coturns_use_auth_secret_checks(settings):
    settings.RINGBACK_SIP_TURN_URLS = "turns:turn.example.com:5349, turn:turn.example.com:3478?transport=udp"
    settings.RINGBACK_SIP_TURN_SECRET = "coturn-secret"
    settings.RINGBACK_SIP_CREDENTIAL_HOURS = 12
    [server] = ice_servers("agent-7", now=1_000_000)
    assert server["urls"] == ["turns:turn.example.com:5349", "turn:turn.example.com:3478?transport=udp"]
    assert server["username"] == f"{1_000_000 + 12 * 3600}:agent-7"
    expected = base64.b64encode(hmac.new(b"coturn-secret", server["username"].encode(), hashlib.sha1).digest()).decode()
    assert server["credential"] == expected
    settings.RINGBACK_SIP_TURN_URLS = ""
    assert ice_servers("agent-7") == []


def ask(client, ref: str, user: str, number: str, **kwargs):
    """kamailio's question before an agent's INVITE leaves for a number: whose call, and which caller ID?"""
    return proxy(client, f"{ref}|{user}|{number}", path="/sip/caller-id", **kwargs)


def test_the_proxy_learns_the_queues_caller_id_for_the_call_ringback_placed(dialling, client, settings):
    settings.RINGBACK_SIP_CALLER_ID = "+33100000000"
    client.logout()
    user, number = agent_user(dialling.interaction.agent_id), dialling.number
    r = ask(client, dialling.switch_ref, user, number)
    assert (r.status_code, r.text) == (200, "+33100000000"), "no number of its own: the site's"
    queue = dialling.callback.queue
    queue.caller_id = "+33 1 84 88 00 00"
    queue.full_clean()
    queue.save()
    assert queue.caller_id == "+33184880000"
    r = ask(client, dialling.switch_ref, user, number)
    assert (r.status_code, r.text) == (200, "+33184880000")
    queue.caller_id_name = "  Billing   Dept. "
    queue.full_clean()
    queue.save()
    r = ask(client, dialling.switch_ref, user, number)
    assert (r.status_code, r.text) == (200, "+33184880000|Billing Dept."), "the name, for From and P-Asserted-Identity"


def test_a_consulted_number_shows_the_queues_caller_id_too(talking, client):
    queue = talking.callback.queue
    queue.caller_id = "+33184880000"
    queue.save()
    consult = consult_number(talking)
    client.logout()
    r = ask(client, consult.line_ref, agent_user(consult.from_agent_id), "+33612000066")
    assert (r.status_code, r.text) == (200, "+33184880000")


@pytest.mark.parametrize(
    ("attempt", "status", "reason"),
    [
        ({"user": "agent-999"}, 403, "mismatch"),  # another agent's browser naming this call
        ({"number": "+33899999999"}, 403, "mismatch"),  # this call's reference towards another number: toll fraud
        ({"ref": "call-0000000000000000"}, 403, "mismatch"),  # a made-up reference
        ({"token": "0" * 64}, 403, "token"),
        ({"address": "203.0.113.9"}, 403, "address"),
        ({"body": "only|two"}, 400, None),
    ],
)
def test_a_dialog_that_is_not_the_call_ringback_placed_gets_no_caller_id(dialling, client, attempt, status, reason):
    client.logout()
    ref = attempt.get("ref", dialling.switch_ref)
    user = attempt.get("user", agent_user(dialling.interaction.agent_id))
    body = attempt.get("body", f"{ref}|{user}|{attempt.get('number', dialling.number)}")
    before = refused(reason) if reason else 0
    r = proxy(client, body, token=attempt.get("token"), address=attempt.get("address", "127.0.0.1"), path="/sip/caller-id")
    assert r.status_code == status, r.content
    assert "+33" not in r.text
    if reason:
        assert refused(reason) == before + 1
    assert refreshed(dialling).state == CallState.DIALING
