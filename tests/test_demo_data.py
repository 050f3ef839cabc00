from django.core.management import call_command

from callbacks.models import Agent, CallbackRequest, Queue


def test_demo_data_is_idempotent_and_has_every_resting_state(transactional_db, capsys):
    call_command("seed_demo")
    first = CallbackRequest.objects.count()
    call_command("seed_demo")
    assert CallbackRequest.objects.count() == first
    assert Agent.objects.count() >= 4 and Queue.objects.count() >= 2
    states = set(CallbackRequest.objects.values_list("state", flat=True))
    assert {"scheduled", "queued", "in_progress", "completed", "cancelled", "failed"} <= states
    out = capsys.readouterr().out
    assert "alice / ringback-demo" in out and "admin / ringback-admin" in out


def test_with_the_softphone_the_demo_has_the_sip_lines_queue_and_its_agent(transactional_db, settings, capsys):
    settings.RINGBACK_TELEPHONY = "callbacks.telephony.sip.softphone.BrowserSoftphone"
    call_command("seed_demo")
    lines = Queue.objects.get(slug="lines")
    assert (lines.name, lines.ring_seconds) == ("Phone lines (SIP demo)", 20)
    assert list(Agent.objects.get(user__username="phone").queues.all()) == [lines]
    assert "phone / ringback-demo   Pat Phone, queues: lines" in capsys.readouterr().out


def test_without_it_there_is_no_sip_demo_agent(transactional_db, capsys):
    call_command("seed_demo")
    assert not Queue.objects.filter(slug="lines").exists()
    assert not Agent.objects.filter(user__username="phone").exists()
