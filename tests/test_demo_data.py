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
