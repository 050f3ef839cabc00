"""A queue's recording and monitoring settings, set the way an admin sets them: the queue's page in Django admin,
sent back as the browser sends it. What is saved is what the desk then does; a value the form does not offer is
refused with the form's message and changes nothing."""

import pytest
from django.contrib.auth import get_user_model

from callbacks.enums import CallState, HistoryKind, RecordingPolicy, RecordingState
from callbacks.models import HistoryEvent, Queue

from .admin_forms import change_form, resubmit
from .factories import make_agent, make_queue
from .test_calls import connected

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin_client(client, transactional_db):
    boss = get_user_model().objects.create_superuser("boss", "boss@example.com", "secret-pass-123")
    client.force_login(boss)
    return client


def test_the_form_reader_sends_back_what_the_page_holds(admin_client):
    queue = make_queue("billing")
    fields = change_form(admin_client.get(f"/admin/callbacks/queue/{queue.pk}/change/").content.decode(), "queue_form")
    assert fields["name"] == [queue.name] and fields["recording_policy"] == ["never"]
    assert "monitoring_shown" in fields and "recording_notice" not in fields  # ticked, not ticked
    assert any(name.endswith("TOTAL_FORMS") for name in fields)  # the inlines' management forms go back too


def test_an_admin_sets_recording_always_with_the_notice_and_hides_monitoring_and_the_desk_follows(admin_client):
    queue = make_queue("billing")
    url = f"/admin/callbacks/queue/{queue.pk}/change/"
    response = resubmit(admin_client, url, "queue_form", recording_policy="always", recording_notice=True, monitoring_shown=False)
    assert response.status_code == 302, response.content.decode()[:2000]
    queue = Queue.objects.get(pk=queue.pk)
    assert (queue.recording_policy, queue.recording_notice, queue.monitoring_shown) == (RecordingPolicy.ALWAYS, True, False)

    alice = make_agent("alice", queue)
    interaction, call = connected(alice, queue)  # recorded from the customer's answer, and told
    assert (call.state, call.recording) == (CallState.CONNECTED, RecordingState.RECORDING)
    messages = HistoryEvent.objects.filter(callback=interaction.callback, kind=HistoryKind.RECORDING).values_list(
        "message", flat=True
    )
    assert "The customer is told: this call may be recorded" in messages


def test_a_policy_the_form_does_not_offer_is_refused_and_nothing_changes(admin_client):
    queue = make_queue("billing")
    url = f"/admin/callbacks/queue/{queue.pk}/change/"
    response = resubmit(admin_client, url, "queue_form", recording_policy="sometimes", monitoring_shown=False)
    assert response.status_code == 200
    assert "Select a valid choice. sometimes is not one of the available choices." in response.content.decode()
    queue = Queue.objects.get(pk=queue.pk)
    assert (queue.recording_policy, queue.monitoring_shown) == (RecordingPolicy.NEVER, True)
