"""Call recording in Chromium, on the simulated switch: Billing records every call; Alice sees it recorded, pauses
while the customer reads out a card number and resumes; after the call, Sam (a supervisor of Billing) plays the
recording from the callback's page, and the trail says he did."""

import time

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from callbacks import roles
from callbacks.enums import RecordingPolicy, RecordingState
from callbacks.models import CallRecording

from ..factories import PASSWORD, make_agent, make_api_client, make_queue
from .test_call_handling import accept, history, status, toolbar
from .test_core_journeys import create, ready

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def setup(transactional_db):
    roles.ensure_roles()
    queue = make_queue("billing", name="Billing", offer_timeout_seconds=60, recording_policy=RecordingPolicy.ALWAYS)
    make_agent("alice", queue)
    sam = get_user_model().objects.create_user("sam", "sam@example.com", PASSWORD, first_name="Sam", last_name="Rivera")
    sam.groups.add(Group.objects.get(name=roles.SUPERVISOR))
    queue.supervisors.add(sam)
    return make_api_client("Website")[1]


def test_a_recorded_call_paused_for_a_card_number_then_played_by_a_supervisor(server, setup, open_page, shot):
    page = open_page("alice", PASSWORD)
    ready(page)
    reference = create(server, setup, phone_number="+33612340012", customer_name="Camille Laurent")["reference"]
    accept(page)
    toolbar(page).get_by_role("button", name="Call", exact=True).click()
    expect(status(page)).to_have_text("Connected", timeout=15000)  # this number answers by itself after 2 s
    recording = page.get_by_test_id("recording")
    expect(recording).to_have_text("Recording")
    expect(history(page)).to_contain_text("Recording started (the queue records its calls)")
    toolbar(page).get_by_role("button", name="Pause recording").click()
    expect(recording).to_have_text("Recording paused")
    expect(history(page)).to_contain_text("Recording paused by Alice")
    shot(page, "desk-recording-paused")
    toolbar(page).get_by_role("button", name="Resume recording").click()
    expect(recording).to_have_text("Recording")
    toolbar(page).get_by_role("button", name="End Call").click()
    expect(status(page)).to_have_text("Ready to Call")
    expect(recording).to_have_count(0)

    stored = CallRecording.objects.get(callback__reference=reference)
    deadline = time.monotonic() + 20
    while CallRecording.objects.get(pk=stored.pk).state != RecordingState.READY:  # the server's task worker stores it
        assert time.monotonic() < deadline, CallRecording.objects.get(pk=stored.pk).state
        time.sleep(0.1)
    board = open_page("sam", PASSWORD)
    board.goto(f"/board/callbacks/{stored.callback_id}/")
    row = board.get_by_test_id(f"recording-{stored.pk}")
    expect(row.get_by_role("link", name="Download")).to_be_visible()
    expect(row).to_contain_text("1 paused stretch")
    player = row.locator("audio")
    with board.expect_response(lambda r: f"/board/recordings/{stored.pk}/play/" in r.url and r.status == 206):
        player.evaluate("audio => audio.play()")  # Chromium asks for bytes=0-: a server that answers ranges
    board.wait_for_function("audio => audio.currentTime > 0 || audio.ended", arg=player.element_handle())
    # The player can seek anywhere in the recording (a server without ranges leaves nothing seekable).
    board.wait_for_function(
        "audio => audio.seekable.length === 1 && audio.seekable.end(0) >= audio.duration - 0.1", arg=player.element_handle()
    )
    player.evaluate("audio => { audio.currentTime = audio.duration / 2; }")
    board.wait_for_function("audio => !audio.seeking && audio.currentTime > 0", arg=player.element_handle())
    board.reload()
    expect(board.get_by_role("table")).to_contain_text("Recording played by Sam Rivera")
    shot(board, "supervisor-callback-recording")
