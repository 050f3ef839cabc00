"""Durable side effects: switch commands and e-mail are queued in the action's transaction and performed by the worker.

A retry never performs an effect twice, the history tells the truth, and a
failing mail server or switch never turns an agent's click into a 5xx.
"""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from callbacks import lifecycle
from callbacks.enums import CallState, EffectKind, EffectStatus, OfferOutcome
from callbacks.lifecycle import effects
from callbacks.models import Call, ContactEmail, Effect, HistoryEvent, Offer
from callbacks.telephony import telephony
from callbacks.telephony.simulator.models import SimCall

from .backends import FlakyMailBackend, UnreachableSwitch
from .factories import database_url, make_callback, refreshed, set_ready, worker

ROOT = Path(__file__).resolve().parents[1]
HTMX = {"HTTP_HX_REQUEST": "true"}


def accepted(agent, queue, phone="+33612345678"):
    set_ready(agent)
    offer = Offer.objects.get(callback=make_callback(queue, phone=phone), outcome=OfferOutcome.OPEN)
    return lifecycle.do_accept_offer(user=agent.user, offer_id=offer.pk)


def texts(callback):
    return list(HistoryEvent.objects.filter(callback=callback).order_by("at", "id").values_list("message", flat=True))


@pytest.fixture
def flaky_mail(settings):
    settings.MAILERS = {"default": {"BACKEND": "tests.backends.FlakyMailBackend"}}
    FlakyMailBackend.reset(failures=0)
    return FlakyMailBackend


@pytest.fixture
def unreachable_switch(settings):
    settings.RINGBACK_TELEPHONY = "tests.backends.UnreachableSwitch"
    telephony.cache_clear()
    UnreachableSwitch.dials = 0
    yield UnreachableSwitch
    telephony.cache_clear()


def email_to_contact(agent, interaction, client=None):
    ContactEmail.objects.get_or_create(contact=interaction.callback.contact, address="camille@example.com")
    data = {"to": "camille@example.com", "subject": "Your refund", "body": "It is on its way."}
    email = lifecycle.do_open_email(user=agent.user, interaction_id=interaction.pk, to=data["to"])
    if client is not None:
        return client.post(reverse("send_email", args=[email.pk]), data, **HTMX)
    return lifecycle.do_send_email(user=agent.user, email_id=email.pk, **data)


def run_worker_through_backoff(times: int) -> None:
    """Run the worker `times` times, each one after the previous try's back-off has passed."""
    moment = timezone.now()
    for _ in range(times):
        moment += timedelta(minutes=6)  # past the longest back-off (5 min)
        with time_machine.travel(moment, tick=False):
            worker()


def test_an_email_whose_server_fails_three_times_is_sent_on_the_fourth_try(queue, alice, flaky_mail):
    interaction = accepted(alice, queue)
    flaky_mail.reset(failures=3)
    email_to_contact(alice, interaction)
    worker()  # try 1 fails at once
    run_worker_through_backoff(3)  # tries 2 and 3 fail, try 4 delivers
    assert flaky_mail.attempts == 4
    assert [m.to for m in flaky_mail.delivered] == [["camille@example.com"]]
    effect = Effect.objects.get(kind=EffectKind.EMAIL)
    assert (effect.status, effect.attempts) == (EffectStatus.DONE, 4)
    history = texts(interaction.callback)
    assert "E-mail queued to camille@example.com by Alice: Your refund" in history
    assert "E-mail sent to camille@example.com: Your refund (try 4)" in history
    assert history.index("E-mail queued to camille@example.com by Alice: Your refund") < history.index(
        "E-mail sent to camille@example.com: Your refund (try 4)"
    )
    run_worker_through_backoff(2)
    assert len(flaky_mail.delivered) == 1  # a done effect is never performed again


def test_an_email_that_always_fails_is_recorded_as_failed_and_the_click_never_5xx(client, queue, alice, flaky_mail):
    interaction = accepted(alice, queue)
    flaky_mail.reset(failures=1000)
    client.force_login(alice.user)
    response = email_to_contact(alice, interaction, client=client)
    assert response.status_code == 204
    worker()
    run_worker_through_backoff(6)
    effect = Effect.objects.get(kind=EffectKind.EMAIL)
    assert (effect.status, effect.attempts) == (EffectStatus.FAILED, 5)
    assert "SMTP server not reachable" in effect.last_error
    assert flaky_mail.delivered == []
    assert "E-mail to camille@example.com failed after 5 tries: ConnectionRefusedError: SMTP server not reachable" in texts(
        interaction.callback
    )
    page = client.get("/").content.decode()
    assert "failed after 5 tries" in page


def test_backoff_doubles_from_the_first_delay_and_is_capped():
    assert [effects.backoff(EffectKind.EMAIL, n).total_seconds() for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
    assert effects.backoff(EffectKind.EMAIL, 20).total_seconds() == 300
    assert [effects.backoff(EffectKind.DIAL, n).total_seconds() for n in (1, 2)] == [1, 2]


def test_an_action_that_rolls_back_leaves_no_effect_and_no_task(queue, alice):
    interaction = accepted(alice, queue)
    tasks_before = DBTaskResult.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        effects.switch_command(EffectKind.HOLD, call_ref="call-x", now=timezone.now(), callback=interaction.callback)
        raise RuntimeError("the action failed after asking")
    assert not Effect.objects.exists()
    assert DBTaskResult.objects.count() == tasks_before


def test_a_second_task_row_for_the_same_dial_never_dials_twice(queue, alice):
    interaction = accepted(alice, queue)
    call = lifecycle.do_call(user=alice.user, interaction_id=interaction.pk)
    effect = Effect.objects.get(key=f"dial:{call.switch_ref}")
    effects.perform_effect.enqueue(effect.pk)  # a duplicate, as a re-queue by the clock would make
    assert worker() == 2
    assert SimCall.objects.filter(call_ref=call.switch_ref).count() == 1
    assert refreshed(effect).attempts == 1


def test_a_dial_the_switch_never_takes_is_retried_then_the_call_ends_failed(client, queue, alice, unreachable_switch):
    interaction = accepted(alice, queue)
    client.force_login(alice.user)
    assert client.post(reverse("call", args=[interaction.pk]), **HTMX).status_code == 204
    worker()
    run_worker_through_backoff(3)
    assert unreachable_switch.dials == 3
    effect = Effect.objects.get(kind=EffectKind.DIAL)
    assert (effect.status, effect.attempts) == (EffectStatus.FAILED, 3)
    lifecycle.supervise_calls()  # the clock's call supervision
    call = Call.objects.get()
    assert (call.state, call.outcome) == (CallState.ENDED, "failed")
    history = texts(interaction.callback)
    assert any(m.startswith("The switch did not take “Dial” after 3 tries") for m in history)
    assert "Call ended: failed (the switch could not be reached)" in history


def test_a_worker_that_died_holding_an_effect_is_replaced_after_its_lease(queue, alice):
    interaction = accepted(alice, queue)
    call = lifecycle.do_call(user=alice.user, interaction_id=interaction.pk)
    effect = Effect.objects.get(key=f"dial:{call.switch_ref}")
    # A worker claimed the task and the effect, then was SIGKILLed before dialing.
    DBTaskResult.objects.update(status="RUNNING")
    Effect.objects.filter(pk=effect.pk).update(attempts=1, claimed_until=timezone.now() + timedelta(seconds=20))
    assert worker() == 0
    with time_machine.travel(timezone.now() + timedelta(seconds=90), tick=False):
        assert lifecycle.sweep()["effects"] == 1
        worker()
    assert SimCall.objects.filter(call_ref=call.switch_ref).count() == 1
    assert refreshed(effect).status == EffectStatus.DONE


CALL_AND_DIE = """
import os, signal, sys
import django
django.setup()
from django.contrib.auth import get_user_model
from callbacks import lifecycle
user = get_user_model().objects.get(username=sys.argv[1])
call = lifecycle.do_call(user=user, interaction_id=int(sys.argv[2]))
print(call.switch_ref, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # the process dies right after its commit
"""


def _env() -> dict:
    return dict(os.environ, DATABASE_URL=database_url(), DJANGO_SETTINGS_MODULE="workspace.settings", PYTHONPATH=str(ROOT))


def test_the_process_that_committed_a_call_dies_and_the_workers_dial_exactly_once(queue, alice):
    interaction = accepted(alice, queue)
    died = subprocess.run(
        [sys.executable, "-c", CALL_AND_DIE, alice.user.username, str(interaction.pk)],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert died.returncode == -9, died.stderr
    call_ref = died.stdout.strip()
    assert Call.objects.get(switch_ref=call_ref).state == CallState.DIALING
    assert not SimCall.objects.filter(call_ref=call_ref).exists()  # the switch has not heard of it
    workers = [
        subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--batch", "--queue-name", "*", "--no-startup-delay", "-v0"],
            cwd=ROOT,
            env=_env(),
        )
        for _ in range(2)
    ]
    assert [w.wait(timeout=60) for w in workers] == [0, 0]
    assert SimCall.objects.filter(call_ref=call_ref).count() == 1
    effect = Effect.objects.get(key=f"dial:{call_ref}")
    assert (effect.status, effect.attempts) == (EffectStatus.DONE, 1)
