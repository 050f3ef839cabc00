"""The seed's remaining call details: what Accept does per queue, the Conference request, agents busy in another
agent's call, and consultations and conferences with a contact or a typed number (the simulated far end)."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.utils import timezone

from callbacks import board, lifecycle
from callbacks.enums import (
    AcceptAction,
    CallbackState,
    CallState,
    Channel,
    ConsultState,
    EffectKind,
    InteractionState,
    OfferOutcome,
    PartyState,
)
from callbacks.errors import DomainError
from callbacks.models import Call, CallParty, Contact, ContactPhone, Effect, Offer
from callbacks.presenters.desk import Workspace
from callbacks.telephony.simulator.models import Line, SimCall
from callbacks.telephony.simulator.switch import SimulatedSwitch

from .factories import make_callback, refreshed, set_ready, worker
from .test_calls import accepted, connected, texts
from .verify import verify_action

FAR_END = "+33698765432"  # rings until someone answers on its phone page


def dial_on_accept(queue):
    queue.on_accept = AcceptAction.DIAL
    queue.save()


# --- What Accept does, per queue ------------------------------------------------------------------------------


def test_accept_opens_the_window_ready_to_call_by_default(queue, alice):
    interaction = accepted(alice, queue)
    assert not Call.objects.filter(interaction=interaction).exists()
    assert refreshed(interaction.callback).attempts == 0


def test_accept_on_a_queue_that_dials_at_once_places_the_call(queue, alice):
    dial_on_accept(queue)
    interaction = accepted(alice, queue)
    call = Call.objects.get(interaction=interaction)
    assert (call.state, call.attempt, call.number) == (CallState.DIALING, 1, "+33612345678")
    assert Effect.objects.filter(key=f"dial:{call.switch_ref}", kind=EffectKind.DIAL).exists()
    assert "Dialing +33 6 12 34 56 78 (attempt 1 of 3)" in texts(interaction.callback)
    worker()
    assert SimCall.objects.get(call_ref=call.switch_ref).line == Line.RINGING


def test_web_callback_keeps_its_preview_on_a_queue_that_dials_at_once(queue, alice):
    dial_on_accept(queue)
    set_ready(alice, Channel.WEB_CALLBACK)
    callback = make_callback(queue, channel=Channel.WEB_CALLBACK)
    offer = Offer.objects.get(callback=callback, outcome=OfferOutcome.OPEN)
    interaction = lifecycle.do_accept_offer(user=alice.user, offer_id=offer.pk)
    assert not Call.objects.filter(interaction=interaction).exists()


def test_accept_does_not_dial_while_the_agent_is_on_another_call(queue, alice):
    dial_on_accept(queue)
    set_ready(alice, Channel.WEB_CALLBACK)
    web = make_callback(queue, phone="+33612345679", channel=Channel.WEB_CALLBACK)
    preview = lifecycle.do_accept_offer(user=alice.user, offer_id=Offer.objects.get(callback=web).pk)
    lifecycle.do_call(user=alice.user, interaction_id=preview.pk)  # Alice is dialing the Web Callback customer
    voice = accepted(alice, queue)
    assert not Call.objects.filter(interaction=voice).exists()
    assert "you are on another call" in refreshed(voice).last_outcome


def test_the_admin_chooses_what_accept_does_per_queue(client, queue):
    boss = get_user_model().objects.create_superuser("boss", "boss@example.com", "secret-pass-123")
    client.force_login(boss)
    page = client.get(f"/admin/callbacks/queue/{queue.pk}/change/").text
    assert 'name="on_accept"' in page
    assert "Dial at once: Accept opens the window and places the call" in page
    assert "Web Callback always opens its preview first" in page  # the help text


# --- Instant Call Conference: the target accepts or declines ---------------------------------------------------


def test_conference_request_declined_tells_the_agent_why(queue, alice, bob):
    interaction, call = connected(alice, queue)
    set_ready(bob)
    party = lifecycle.do_conference(user=alice.user, interaction_id=interaction.pk, target=f"agent:{bob.pk}")
    assert [p for p, _ in Workspace(bob).conference_requests] == [party]
    lifecycle.do_decline_conference(user=bob.user, party_id=party.pk)
    assert (refreshed(party).state, refreshed(party).left_at is not None) == (PartyState.DECLINED, True)
    assert refreshed(interaction).last_outcome == "Bob declined the conference request. The customer is still on the line."
    assert "Bob declined the conference" in texts(interaction.callback)
    assert refreshed(call).state == CallState.CONNECTED


def test_conference_request_nobody_answers_lapses_after_its_time(queue, alice, bob, settings):
    settings.RINGBACK_CONFERENCE_REQUEST_SECONDS = 30
    interaction, _ = connected(alice, queue)
    set_ready(bob)
    party = lifecycle.do_conference(user=alice.user, interaction_id=interaction.pk, target=f"agent:{bob.pk}")
    assert lifecycle.do_expire_conference_requests(now=timezone.now() + timedelta(seconds=29)) == 0
    assert lifecycle.do_expire_conference_requests(now=timezone.now() + timedelta(seconds=31)) == 1
    assert refreshed(party).state == PartyState.NOT_ANSWERED
    assert "did not answer the conference request" in refreshed(interaction).last_outcome
    assert "Conference request to Bob not answered within 30 s" in texts(interaction.callback)
    with pytest.raises(DomainError, match="no longer open"):
        lifecycle.do_accept_conference(user=bob.user, party_id=party.pk)


def test_only_the_agent_asked_answers_a_conference_request(queue, alice, bob, carol):
    interaction, _ = connected(alice, queue)
    set_ready(bob)
    party = lifecycle.do_conference(user=alice.user, interaction_id=interaction.pk, target=f"agent:{bob.pk}")
    with pytest.raises(DomainError):
        lifecycle.do_accept_conference(user=carol.user, party_id=party.pk)
    with pytest.raises(DomainError, match="Accept or Decline"):
        lifecycle.do_leave_conference(user=bob.user, party_id=party.pk)


def test_conference_with_a_number_joins_when_the_far_end_answers(queue, alice):
    interaction, call = connected(alice, queue)
    party = lifecycle.do_conference(user=alice.user, interaction_id=interaction.pk, target=f"number:{FAR_END}")
    assert (party.state, party.line_ref[:4]) == (PartyState.RINGING, "leg-")
    worker()  # the switch dials the number
    sim = SimCall.objects.get(call_ref=party.line_ref)
    assert Workspace(alice).interactions[0].line_links[party.line_ref].startswith("/sim/phone/")
    SimulatedSwitch().customer_answers(sim)
    assert refreshed(party).state == PartyState.JOINED
    assert "+33 6 98 76 54 32 answered: in the conference" in texts(interaction.callback)
    lifecycle.do_leave_conference(user=alice.user, party_id=party.pk)  # Alice removes the party: its line hangs up
    worker()
    assert refreshed(sim).line == Line.ENDED
    assert refreshed(call).state == CallState.CONNECTED


def test_conference_with_a_busy_number_leaves_the_customer_with_the_agent(queue, alice):
    interaction, call = connected(alice, queue)
    party = lifecycle.do_conference(user=alice.user, interaction_id=interaction.pk, target=f"number:{FAR_END}")
    worker()
    SimulatedSwitch().customer_hangs_up(SimCall.objects.get(call_ref=party.line_ref))  # declines while it rings: busy
    assert refreshed(party).state == PartyState.FAILED
    assert refreshed(interaction).last_outcome.startswith("Conference with +33 6 98 76 54 32 failed: busy.")
    assert refreshed(call).state == CallState.CONNECTED


# --- An agent in another agent's call is busy -------------------------------------------------------------------


def test_an_agent_in_a_conference_is_busy_and_offered_nothing_until_they_leave(queue, alice, bob):
    interaction, _ = connected(alice, queue)
    set_ready(bob)
    party = lifecycle.do_conference(user=alice.user, interaction_id=interaction.pk, target=f"agent:{bob.pk}")
    waiting = make_callback(queue, phone="+33612345600")
    assert refreshed(waiting).state == CallbackState.QUEUED, "asked into a conference: not offered a callback"
    lifecycle.do_accept_conference(user=bob.user, party_id=party.pk)
    assert Workspace(bob).engaged == "in a conference"
    # The supervisors' board says so too, beside his statuses (which still read Ready).
    line = next(a for a in board.board_for([queue]).queues[0].agents if a.agent_id == bob.pk)
    assert line.engaged == "in a conference" and "ready" in [ch.status for ch in line.channels]
    lifecycle.sweep()
    assert refreshed(waiting).state == CallbackState.QUEUED
    lifecycle.do_leave_conference(user=bob.user, party_id=party.pk)  # Bob is free again: his queues are routed
    assert Workspace(bob).engaged == ""
    assert Offer.objects.get(callback=waiting, outcome=OfferOutcome.OPEN).agent == bob


def test_a_consulted_agent_is_busy_and_a_transfer_to_them_is_refused(queue, alice, bob, carol):
    interaction, _ = connected(alice, queue)
    set_ready(bob)
    consult = lifecycle.do_start_consultation(user=alice.user, interaction_id=interaction.pk, target=f"agent:{bob.pk}")
    lifecycle.do_accept_consultation(user=bob.user, consultation_id=consult.pk)
    assert Workspace(bob).engaged == "in a consultation"
    carols, _ = connected(carol, queue, phone="+33612345611")
    with pytest.raises(DomainError, match="not Ready or is busy"):
        lifecycle.do_transfer(user=carol.user, interaction_id=carols.pk, target=f"agent:{bob.pk}")
    with pytest.raises(DomainError, match="busy in another conference"):
        lifecycle.do_conference(user=carol.user, interaction_id=carols.pk, target=f"agent:{bob.pk}")


def test_the_joined_desk_shows_the_callback_and_the_busy_pill(client, queue, alice, bob):
    interaction, _ = connected(alice, queue, customer_name="Hugo Bernard", data={"reason": "Refund"})
    set_ready(bob)
    party = lifecycle.do_conference(user=alice.user, interaction_id=interaction.pk, target=f"agent:{bob.pk}")
    client.force_login(bob.user)
    desk = client.get("/").text
    assert "Conference request" in desk and "Alice</strong> asks you to join their call with Hugo Bernard" in desk
    lifecycle.do_accept_conference(user=bob.user, party_id=party.pk)
    desk = client.get("/").text
    assert "Busy · in a conference" in desk
    assert '<article class="window joined"' in desk  # the clear desk's message hides while a window is open (CSS)
    for shown in ("Hugo Bernard", "+33 6 12 34 56 78", "Billing", "Refund", "Connected"):
        assert shown in desk


def test_joining_and_leaving_pushes_the_status_bar(queue, alice, bob):
    interaction, _ = connected(alice, queue)
    set_ready(bob)
    party = lifecycle.do_conference(user=alice.user, interaction_id=interaction.pk, target=f"agent:{bob.pk}")
    pushed = verify_action([alice, bob], lambda: lifecycle.do_accept_conference(user=bob.user, party_id=party.pk))
    assert "status" in pushed[bob.pk]


# --- Start Consultation with a contact or a typed number --------------------------------------------------------


def consult_number(alice, queue, target=f"number:{FAR_END}"):
    interaction, call = connected(alice, queue)
    consult = lifecycle.do_start_consultation(user=alice.user, interaction_id=interaction.pk, target=target)
    worker()
    return interaction, call, consult


def test_consulting_a_typed_number_holds_the_customer_and_rings_it(queue, alice):
    interaction, call, consult = consult_number(alice, queue)
    assert refreshed(call).state == CallState.ON_HOLD
    assert (consult.state, consult.to_agent, consult.number) == (ConsultState.REQUESTED, None, FAR_END)
    sim = SimCall.objects.get(call_ref=consult.line_ref)
    SimulatedSwitch().customer_answers(sim)
    assert refreshed(consult).state == ConsultState.ACTIVE
    assert "+33 6 98 76 54 32 answered: consultation connected (customer on hold)" in texts(interaction.callback)


def test_consulting_a_contact_calls_their_number(queue, alice):
    contact = Contact.objects.create(first_name="Léa", last_name="Martin")
    ContactPhone.objects.create(contact=contact, number=FAR_END)
    _, _, consult = consult_number(alice, queue, target=f"contact:{contact.pk}")
    assert consult.number == FAR_END and consult.target_label.startswith("Léa Martin")


def test_consultation_with_a_number_completed_as_a_transfer(queue, alice):
    interaction, call, consult = consult_number(alice, queue)
    SimulatedSwitch().customer_answers(SimCall.objects.get(call_ref=consult.line_ref))
    lifecycle.do_complete_consultation(user=alice.user, consultation_id=consult.pk, mode="transfer")
    assert refreshed(consult).state == ConsultState.TRANSFERRED
    assert refreshed(interaction).state == InteractionState.DONE
    assert refreshed(interaction.callback).state == CallbackState.COMPLETED
    assert "Call transferred to +33 6 98 76 54 32 after consultation" in texts(interaction.callback)


def test_consultation_with_a_number_completed_as_a_conference(queue, alice):
    interaction, call, consult = consult_number(alice, queue)
    SimulatedSwitch().customer_answers(SimCall.objects.get(call_ref=consult.line_ref))
    lifecycle.do_complete_consultation(user=alice.user, consultation_id=consult.pk, mode="conference")
    party = CallParty.objects.get(call=call)
    assert (party.number, party.state, party.line_ref) == (FAR_END, PartyState.JOINED, consult.line_ref)
    assert refreshed(call).state == CallState.CONNECTED


def test_ending_a_consultation_with_a_number_hangs_it_up(queue, alice):
    interaction, call, consult = consult_number(alice, queue)
    sim = SimCall.objects.get(call_ref=consult.line_ref)
    SimulatedSwitch().customer_answers(sim)
    lifecycle.do_end_consultation(user=alice.user, consultation_id=consult.pk)
    worker()
    assert refreshed(sim).line == Line.ENDED
    assert refreshed(call).state == CallState.ON_HOLD


def test_a_number_that_does_not_answer_ends_the_consultation_and_says_why(queue, alice):
    interaction, call, consult = consult_number(alice, queue)
    sim = SimCall.objects.get(call_ref=consult.line_ref)
    with time_machine.travel(timezone.now() + timedelta(seconds=31), tick=False):
        SimulatedSwitch().tick()
    assert refreshed(consult).state == ConsultState.ENDED
    assert refreshed(interaction).last_outcome.startswith("Consultation with +33 6 98 76 54 32 ended: no answer.")
    assert refreshed(sim).line == Line.ENDED


def test_the_customer_hanging_up_hangs_up_the_number_consulted(queue, alice):
    interaction, call, consult = consult_number(alice, queue)
    leg = SimCall.objects.get(call_ref=consult.line_ref)
    SimulatedSwitch().customer_hangs_up(SimCall.objects.get(call_ref=call.switch_ref))
    worker()
    assert refreshed(consult).state == ConsultState.ENDED
    assert refreshed(leg).line == Line.ENDED


def test_the_team_communicator_offers_consult_with_contacts_and_numbers(client, queue, alice):
    contact = Contact.objects.create(first_name="Léa", last_name="Martin")
    ContactPhone.objects.create(contact=contact, number=FAR_END)
    Contact.objects.create(first_name="Léa", last_name="Nophone")
    connected(alice, queue)
    client.force_login(alice.user)
    page = client.get("/team/", {"q": "Léa"}).text
    assert 'aria-label="Start Consultation with Léa Martin"' in page
    assert "Nophone" not in page
    page = client.get("/team/", {"q": "+33 6 98 76 54 32"}).text
    assert f'aria-label="Start Consultation with {FAR_END}"' in page


def test_consultation_request_nobody_answers_lapses_after_its_time(queue, alice, bob, settings):
    settings.RINGBACK_CONSULT_REQUEST_SECONDS = 30
    interaction, _ = connected(alice, queue)
    set_ready(bob)
    consult = lifecycle.do_start_consultation(user=alice.user, interaction_id=interaction.pk, target=f"agent:{bob.pk}")
    assert lifecycle.do_expire_consultation_requests(now=timezone.now() + timedelta(seconds=29)) == 0
    assert lifecycle.do_expire_consultation_requests(now=timezone.now() + timedelta(seconds=31)) == 1
    consult.refresh_from_db()
    assert consult.state == ConsultState.ENDED
    assert "did not answer the consultation request" in refreshed(interaction).last_outcome
    assert Workspace(bob).engaged == "" and not Workspace(bob).consult_requests  # Bob is free again
    with pytest.raises(DomainError, match="no longer open"):
        lifecycle.do_accept_consultation(user=bob.user, consultation_id=consult.pk)
