"""Call recording from the desk's side, on the simulated switch (which "records" tones: the customer's 440 Hz on the
left, the agent's 1000 Hz on the right): each queue's policy (never, always, started by the agent), Pause and Resume
for card numbers (silent in the audio, listed in its metadata and in the trail), the audio stored on the recordings
storage when the call ends, who may play or download it (each time in the trail), and retention with a clock. The
same on a real call through rtpengine: tests/sip/test_recording.py."""

import array
import io
import shutil
import wave
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.utils import timezone

from callbacks import lifecycle, roles
from callbacks.enums import EffectKind, HistoryKind, RecordingPolicy, RecordingState
from callbacks.lifecycle import clock
from callbacks.models import CallRecording, Effect, HistoryEvent, RetentionPolicy, recordings_storage
from callbacks.telephony.audio import RATE, read_wav_metadata

from .audio import tone
from .factories import PASSWORD, make_agent, make_queue, refreshed, worker
from .test_calls import connected
from .test_monitoring import supervisor

pytestmark = pytest.mark.django_db(transaction=True)
User = get_user_model()
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def fresh_retention_clock():
    clock.RECORDINGS_EXPIRY.reset()
    yield
    clock.RECORDINGS_EXPIRY.reset()


@pytest.fixture(autouse=True)
def own_storage(settings, tmp_path):
    recordings = {**settings.STORAGES["recordings"], "OPTIONS": {"location": str(tmp_path)}}
    settings.STORAGES = {**settings.STORAGES, "recordings": recordings}
    return tmp_path


@pytest.fixture
def floor(transactional_db):
    roles.ensure_roles()
    billing = make_queue("billing", name="Billing", recording_policy=RecordingPolicy.ALWAYS)
    RetentionPolicy.objects.create(queue=billing, recordings_days=30)
    support = make_queue("support", name="Support")
    return {"billing": billing, "support": support, "alice": make_agent("alice", billing, support)}


def trail(callback) -> list[str]:
    return list(
        HistoryEvent.objects.filter(callback=callback, kind=HistoryKind.RECORDING)
        .order_by("id")
        .values_list("message", flat=True)
    )


def act(client, agent, interaction, path: str):
    client.force_login(agent.user)
    return client.post(f"/interactions/{interaction.pk}/{path}", **HTMX)


def end(client, agent, interaction):
    return act(client, agent, interaction, "end/")


def samples(recording: CallRecording) -> tuple[list[int], list[int]]:
    with recording.audio.open("rb") as f, wave.open(io.BytesIO(f.read())) as w:
        assert (w.getnchannels(), w.getframerate(), w.getsampwidth()) == (2, RATE, 2)
        frames = array.array("h", w.readframes(w.getnframes()))
    return list(frames[0::2]), list(frames[1::2])


def test_a_queue_that_records_every_call_records_from_the_answer_and_stores_it_when_the_call_ends(client, floor):
    interaction, call = connected(floor["alice"], floor["billing"])
    assert refreshed(call).recording == RecordingState.RECORDING
    client.force_login(floor["alice"].user)
    html = client.get("/").content.decode()
    assert 'data-testid="recording"' in html and "Pause recording" in html
    worker()  # the switch starts recording
    with time_machine.travel(timezone.now() + timedelta(seconds=3)):
        assert end(client, floor["alice"], interaction).status_code == 204
        worker()  # … and stores it
    recording = CallRecording.objects.get()
    assert recording.state == RecordingState.READY and recording.seconds == pytest.approx(3, abs=0.6)
    assert recording.audio.name.endswith(f"{interaction.callback.reference}-{recording.pk}.wav")
    left, right = samples(recording)
    assert tone(left, 440) > 1000 and tone(left, 1000) < 100, "the customer on the left"
    assert tone(right, 1000) > 1000 and tone(right, 440) < 100, "the agent on the right"
    assert trail(interaction.callback) == [
        "Recording started (the queue records its calls)",
        "Recording stopped: the call ended",
        "Recording stored (0:03)",
    ]
    assert refreshed(call).recording == ""


def test_a_paused_stretch_is_silent_and_marked_in_the_file_and_the_trail(client, floor):
    interaction, call = connected(floor["alice"], floor["billing"])
    start = timezone.now()
    with time_machine.travel(start + timedelta(seconds=1)):
        assert act(client, floor["alice"], interaction, "recording/pause/").status_code == 204
        assert "Recording paused" in client.get("/").content.decode()
    with time_machine.travel(start + timedelta(seconds=2)):
        assert act(client, floor["alice"], interaction, "recording/resume/").status_code == 204
    with time_machine.travel(start + timedelta(seconds=3)):
        end(client, floor["alice"], interaction)
        worker()
    recording = CallRecording.objects.get()
    assert recording.state == RecordingState.READY and len(recording.pauses) == 1
    left, right = samples(recording)
    begin, stop = (round(x * RATE) for x in read_wav_metadata_of(recording)["paused"][0])
    assert 0.9 * RATE < begin < 1.1 * RATE and 1.9 * RATE < stop < 2.1 * RATE
    assert not any(left[begin + 10 : stop - 10]) and not any(right[begin + 10 : stop - 10]), "nothing in the pause"
    assert tone(left[: begin - 10], 440) > 1000 and tone(right[stop + 10 :], 1000) > 1000, "sound either side"
    assert trail(interaction.callback)[1:3] == ["Recording paused by Alice", "Recording resumed by Alice"]


def read_wav_metadata_of(recording: CallRecording) -> dict:
    return read_wav_metadata(Path(recordings_storage().path(recording.audio.name)))


def test_the_agent_starts_the_recording_where_the_queue_says_so_and_nowhere_else(client, floor):
    floor["billing"].recording_policy = RecordingPolicy.AGENT
    floor["billing"].save()
    interaction, call = connected(floor["alice"], floor["billing"])
    client.force_login(floor["alice"].user)
    assert refreshed(call).recording == "" and ">Record<" in client.get("/").content.decode()
    assert act(client, floor["alice"], interaction, "recording/pause/").status_code == 409, "nothing to pause yet"
    assert act(client, floor["alice"], interaction, "record/").status_code == 204
    assert refreshed(call).recording == RecordingState.RECORDING
    assert act(client, floor["alice"], interaction, "record/").status_code == 409, "already recording"
    assert trail(interaction.callback) == ["Recording started by Alice"]

    bob = make_agent("bob", floor["support"])
    other, other_call = connected(bob, floor["support"], phone="+33612345699")
    assert act(client, bob, other, "record/").status_code == 409, "Support records nothing"
    assert refreshed(other_call).recording == "" and CallRecording.objects.count() == 1


def test_recording_needs_a_connected_call(client, floor):
    floor["billing"].recording_policy = RecordingPolicy.AGENT
    floor["billing"].save()
    interaction, call = connected(floor["alice"], floor["billing"])
    end(client, floor["alice"], interaction)
    response = act(client, floor["alice"], interaction, "record/")
    assert response.status_code == 409 and not CallRecording.objects.exists()


@pytest.fixture
def stored(client, floor):
    interaction, _ = connected(floor["alice"], floor["billing"])
    end(client, floor["alice"], interaction)
    worker()
    return CallRecording.objects.get()


def test_supervisors_of_the_queue_and_admins_play_and_download_it_each_time_in_the_trail(client, floor, stored):
    sam = supervisor("sam", floor["billing"])
    client.force_login(sam)
    page = client.get(f"/board/callbacks/{stored.callback_id}/").content.decode()
    assert f"/board/recordings/{stored.pk}/play/" in page and f"/board/recordings/{stored.pk}/download/" in page
    played = client.get(f"/board/recordings/{stored.pk}/play/")
    assert played.status_code == 200 and played["Content-Type"] == "audio/wav"
    assert b"".join(played.streaming_content)[:4] == b"RIFF"
    downloaded = client.get(f"/board/recordings/{stored.pk}/download/")
    assert "attachment" in downloaded["Content-Disposition"] and stored.callback.reference in downloaded["Content-Disposition"]
    admin = User.objects.create_superuser("root", "root@example.com", PASSWORD)
    client.force_login(admin)
    assert client.get(f"/board/recordings/{stored.pk}/play/").status_code == 200
    rows = HistoryEvent.objects.filter(callback=stored.callback, kind=HistoryKind.RECORDING, data__access__isnull=False)
    assert [(r.actor.username, r.data["access"]) for r in rows.order_by("id")] == [
        ("sam", "played"),
        ("sam", "downloaded"),
        ("root", "played"),
    ]


def test_the_player_seeks_by_byte_ranges_and_a_seek_is_the_same_listening_in_the_trail(client, floor, stored):
    """Chromium's <audio> asks for `bytes=0-`, then `bytes=N-` on each seek: 206 answers with the right bytes; the
    seeks of a play already in the trail add nothing, and a ranged request without one is written like a play."""
    whole = stored.audio.open("rb").read()
    size = len(whole)
    sam = supervisor("sam", floor["billing"])
    client.force_login(sam)
    url = f"/board/recordings/{stored.pk}/play/"
    opened = client.get(url, HTTP_RANGE="bytes=0-")
    assert opened.status_code == 206 and opened["Accept-Ranges"] == "bytes"
    assert opened["Content-Range"] == f"bytes 0-{size - 1}/{size}" and b"".join(opened.streaming_content) == whole
    assert size > 400
    seek = client.get(url, HTTP_RANGE="bytes=100-299")
    assert seek.status_code == 206 and seek["Content-Range"] == f"bytes 100-299/{size}"
    assert seek["Content-Length"] == "200" and b"".join(seek.streaming_content) == whole[100:300]
    tail = client.get(url, HTTP_RANGE="bytes=-44")
    assert tail.status_code == 206 and b"".join(tail.streaming_content) == whole[-44:]
    beyond = client.get(url, HTTP_RANGE=f"bytes={size}-")
    assert beyond.status_code == 416 and beyond["Content-Range"] == f"bytes */{size}"
    several = client.get(url, HTTP_RANGE="bytes=0-10,20-30")
    assert several.status_code == 200 and b"".join(several.streaming_content) == whole, "several ranges: the whole file"
    root = User.objects.create_superuser("root", "root@example.com", PASSWORD)
    client.force_login(root)
    assert client.get(url, HTTP_RANGE="bytes=300-").status_code == 206  # no play of root's before: written
    rows = HistoryEvent.objects.filter(callback=stored.callback, kind=HistoryKind.RECORDING, data__access__isnull=False)
    assert [(r.actor.username, r.data["access"]) for r in rows.order_by("id")] == [
        ("sam", "played"),  # bytes=0-: the play; its seeks (the end, a part, past the end) are the same listening
        ("sam", "played"),  # two ranges are answered with the whole file: an opening
        ("root", "played"),
    ]
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        client.force_login(sam)
        assert client.get(url, HTTP_RANGE="bytes=200-").status_code == 206
    assert rows.count() == 4, "a seek long after the last play is a new listening"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", None),
        ("bytes=0-", (0, 99)),
        ("bytes=10-19", (10, 19)),
        ("bytes=90-500", (90, 99)),
        ("bytes=-10", (90, 99)),
        ("bytes=-500", (0, 99)),
        ("bytes=100-", False),
        ("bytes=20-10", False),
        ("bytes=-0", False),
        ("bytes=-", None),
        ("bytes=0-1,5-6", None),
        ("items=0-5", None),
        ("bytes=abc", None),
    ],
)
def test_a_range_header_is_read_as_rfc_9110_says(header, expected):
    from callbacks.views.ranges import requested_range

    assert requested_range(header, 100) == expected


@pytest.mark.parametrize("who", ["agent", "other supervisor"])
def test_an_agent_and_a_supervisor_of_another_queue_get_403(client, floor, stored, who):
    user = floor["alice"].user if who == "agent" else supervisor("tom", floor["support"])
    client.force_login(user)
    for how in ("play", "download"):
        assert client.get(f"/board/recordings/{stored.pk}/{how}/").status_code == 403
    assert not HistoryEvent.objects.filter(kind=HistoryKind.RECORDING, data__access__isnull=False).exists()


def test_an_unknown_recording_or_way_is_404(client, floor, stored):
    client.force_login(User.objects.create_superuser("root", "root@example.com", PASSWORD))
    assert client.get(f"/board/recordings/{stored.pk + 1}/play/").status_code == 404
    assert client.get(f"/board/recordings/{stored.pk}/stream/").status_code == 404


def test_retention_deletes_the_audio_past_the_queues_days_and_says_so(client, floor, stored, own_storage):
    name = stored.audio.name
    assert recordings_storage().exists(name)
    with time_machine.travel(timezone.now() + timedelta(days=29)):
        assert clock.do_expire_recordings() == 0
    assert recordings_storage().exists(name)
    with time_machine.travel(timezone.now() + timedelta(days=30, minutes=1)):
        assert clock.do_expire_recordings() == 1
    gone = refreshed(stored)
    assert gone.state == RecordingState.DELETED and gone.deleted_at is not None and not gone.audio
    assert not recordings_storage().exists(name)
    assert trail(stored.callback)[-1] == "Recording deleted: kept 30 days (the queue's retention)"
    sam = supervisor("sam", floor["billing"])
    client.force_login(sam)
    assert client.get(f"/board/recordings/{stored.pk}/play/").status_code == 404, "no audio left"


def test_a_switch_that_never_takes_the_recording_leaves_it_failed_in_the_trail(client, floor, monkeypatch):
    from callbacks.telephony.simulator.switch import SimulatedSwitch

    def broken(self, **kwargs):
        raise OSError("media server unreachable")

    monkeypatch.setattr(SimulatedSwitch, "start_recording", broken)
    interaction, _ = connected(floor["alice"], floor["billing"])
    effect = Effect.objects.get(kind=EffectKind.RECORD)
    for _ in range(effect.max_attempts):
        Effect.objects.filter(pk=effect.pk).update(next_attempt_at=timezone.now())
        lifecycle.effects.perform(effect.pk)
    recording = CallRecording.objects.get()
    assert recording.state == RecordingState.FAILED and "unreachable" in recording.problem
    assert trail(interaction.callback)[-1].startswith("Recording failed: OSError: media server unreachable")


@pytest.fixture
def s3(settings):
    from .servers import S3Server

    server = S3Server()
    settings.STORAGES = {
        **settings.STORAGES,
        "recordings": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": server.bucket,
                "endpoint_url": server.url,
                "region_name": "eu-west-1",
                "access_key": "ringback",
                "secret_key": "s3-secret",
                "location": "recordings",
                "file_overwrite": False,
                "default_acl": None,
            },
        },
    }
    yield server
    server.close()


def test_on_an_s3_compatible_store_the_audio_is_kept_served_and_deleted_there(client, floor, s3):
    """Several machines share recordings through an S3 bucket (django-storages), here a real S3 API on localhost."""
    interaction, _ = connected(floor["alice"], floor["billing"])
    end(client, floor["alice"], interaction)
    worker()
    recording = CallRecording.objects.get()
    key = f"recordings/{recording.audio.name}"
    assert recording.state == RecordingState.READY and s3.objects() == [key]
    stored = s3.client.get_object(Bucket=s3.bucket, Key=key)["Body"].read()
    assert stored[:4] == b"RIFF" and len(stored) == recording.size
    client.force_login(supervisor("sam", floor["billing"]))
    played = client.get(f"/board/recordings/{recording.pk}/play/")
    assert b"".join(played.streaming_content) == stored
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        assert clock.do_expire_recordings() == 1
    assert s3.objects() == [], "retention deleted it from the bucket"


def test_a_queue_that_announces_recording_has_the_softphone_tell_the_customer_in_their_language(client, floor):
    floor["billing"].recording_notice = True
    floor["billing"].save()
    interaction, _ = connected(floor["alice"], floor["billing"], language="fr")
    assert "The customer is told: this call may be recorded" in trail(interaction.callback)
    client.force_login(floor["alice"].user)
    html = client.get("/").content.decode()
    assert 'data-notice="/softphone/notice/fr.wav"' in html and 'data-testid="recording-notice"' in html
    assert client.get("/softphone/notice/de.wav").status_code == 404
    if shutil.which("espeak-ng"):  # the clip is spoken by espeak-ng (installed with the SIP packages)
        clip = client.get("/softphone/notice/fr.wav")
        assert clip.status_code == 200 and clip["Content-Type"] == "audio/wav"
        assert b"".join(clip.streaming_content)[:4] == b"RIFF"
    client.logout()
    assert client.get("/softphone/notice/fr.wav").status_code == 302, "for signed-in agents only"


def test_a_queue_that_does_not_announce_says_nothing(client, floor):
    interaction, _ = connected(floor["alice"], floor["billing"])
    client.force_login(floor["alice"].user)
    assert "data-notice=" not in client.get("/").content.decode()
    assert "The customer is told: this call may be recorded" not in trail(interaction.callback)
