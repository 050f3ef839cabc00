"""A person's data (#28): retention with a clock, and a person's export and erasure on request. The erasure is proved
by searching the whole database (SQLite's dump; on PostgreSQL every table's rows as text) and the recordings' storage
for the person's name, number (E.164 and national forms) and e-mail address."""

import io
import json
import zipfile
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from callbacks import lifecycle, roles
from callbacks.board import agent_activity, outcome_summary
from callbacks.enums import CallbackState, CloseReason, HistoryKind, RecordingPolicy, RecordingState
from callbacks.errors import DomainError
from callbacks.lifecycle import clock, privacy
from callbacks.models import (
    Agent,
    CallbackRequest,
    CallRecording,
    Contact,
    ContactEmail,
    DispositionCode,
    EmailInteraction,
    HistoryEvent,
    Interaction,
    Note,
    RetentionPolicy,
    SmsOptOut,
    recordings_storage,
)
from callbacks.models.retention import retention_days
from callbacks.models.texts import opted_out
from callbacks.presenters.reports import REPORT_COLUMNS, callbacks_report
from callbacks.push import board_group

from .factories import (
    PASSWORD,
    database_text,
    email_contact,
    make_agent,
    make_api_client,
    make_callback,
    make_queue,
    refreshed,
    set_ready,
    worker,
)
from .test_call_recording import s3  # noqa: F401 - the S3-compatible store on localhost, as a fixture
from .test_calls import connected

pytestmark = pytest.mark.django_db(transaction=True)
User = get_user_model()

NAME = "Zelda Quintanilla"
NUMBER = "+33612345678"
NATIONAL = ("06 12 34 56 78", "0612345678", "612345678")
EMAIL = "Zelda.Q@Example.org"
SECRETS = ("Zelda", "Quintanilla", NUMBER, *NATIONAL, EMAIL, EMAIL.lower(), "ACC-99173", "prefers mornings")


@pytest.fixture(autouse=True)
def fresh_clock():
    clock.RETENTION.reset()
    clock.RECORDINGS_EXPIRY.reset()
    yield
    clock.RETENTION.reset()
    clock.RECORDINGS_EXPIRY.reset()


@pytest.fixture(autouse=True)
def own_storage(settings, tmp_path):
    recordings = {**settings.STORAGES["recordings"], "OPTIONS": {"location": str(tmp_path / "recordings")}}
    settings.STORAGES = {**settings.STORAGES, "recordings": recordings}
    return tmp_path / "recordings"


@pytest.fixture
def floor(transactional_db):
    roles.ensure_roles()
    billing = make_queue("billing", name="Billing", recording_policy=RecordingPolicy.ALWAYS)
    support = make_queue("support", name="Support")
    DispositionCode.objects.create(queue=billing, code="solved", label="Solved")
    admin = User.objects.create_user("ada", "ada@example.com", PASSWORD, is_staff=True)
    admin.groups.add(Group.objects.get(name=roles.ADMIN))
    return {"billing": billing, "support": support, "alice": make_agent("alice", billing, support), "ada": admin}


def worked_callback(floor, *, phone=NUMBER, name=NAME, note="Zelda prefers mornings", email_to=EMAIL):
    """A callback of `phone` worked to the end: recorded call, a note, an e-mail, a disposition, Mark Done."""
    alice = floor["alice"]
    interaction, call = connected(
        alice, floor["billing"], phone=phone, customer_name=name, email=email_to, data={"account": "ACC-99173"}
    )
    worker()
    ContactEmail.objects.create(contact=interaction.callback.contact, address=email_to)
    lifecycle.do_add_note(user=alice.user, interaction_id=interaction.pk, text=note)
    email_contact(alice, interaction, to=email_to, subject=f"Hello {name}", body=f"Dear {name}, we called {phone}.")
    with time_machine.travel(timezone.now() + timedelta(seconds=2)):
        lifecycle.do_end_call(user=alice.user, interaction_id=interaction.pk)
        worker()
    code = DispositionCode.objects.get(code="solved")
    lifecycle.do_set_disposition(user=alice.user, interaction_id=interaction.pk, code_id=code.pk)
    lifecycle.do_mark_done(user=alice.user, interaction_id=interaction.pk)
    for window in EmailInteraction.objects.filter(closed_at__isnull=True):
        lifecycle.do_close_email(user=alice.user, email_id=window.pk)
    return refreshed(interaction.callback)


@pytest.fixture
def zelda(floor):
    """Zelda: a worked and recorded callback, a cancelled one, one still waiting, texts (a reply and STOP), and a
    contact with her e-mail address."""
    first = worked_callback(floor)
    cancelled = make_callback(floor["support"], phone=NUMBER, customer_name=NAME, instructions="Zelda: after 5pm")
    lifecycle.do_cancel_callback(reference=cancelled.reference, reason="Zelda cancelled")
    waiting = make_callback(
        floor["support"],
        phone=NUMBER,
        customer_name=NAME,
        email=EMAIL,
        type="scheduled",
        desired_time=timezone.now() + timedelta(days=2),
    )
    lifecycle.do_receive_text(sender=NUMBER, body="Zelda here, call me after 5", provider_id="SM1")
    lifecycle.do_receive_text(sender=NUMBER, body="STOP", provider_id="SM2")
    worker()
    assert CallRecording.objects.get(callback=first).state == RecordingState.READY
    return {"first": first, "cancelled": refreshed(cancelled), "waiting": refreshed(waiting)}


def storage_text(folder) -> str:
    return "\n".join(f"{p}\n{p.read_bytes().decode('latin-1')}" for p in folder.rglob("*") if p.is_file())


def found(text: str) -> list[str]:
    lowered = text.lower()
    return [s for s in SECRETS if s.lower() in lowered]


def totals(queues, start, end) -> tuple:
    """What the reports page and its CSV count for the period, through their own code."""
    summary = outcome_summary([q.pk for q in queues], start, end)
    rows = list(callbacks_report(start=start, end=end, queue_ids=[q.pk for q in queues]))
    columns = [
        "queue",
        "channel",
        "type",
        "origin",
        "state",
        "close_reason",
        "created_at",
        "closed_at",
        "attempts",
        "offers",
        "calls",
        "last_agent",
        "disposition",
    ]
    picked = sorted(tuple(str(row[REPORT_COLUMNS.index(c)]) for c in columns) for row in rows)
    agents = [(a.name, a.channel, a.handled, a.handle_seconds) for a in agent_activity(list(Agent.objects.all()), start, end)]
    return summary, picked, agents


# --- The erasing core ------------------------------------------------------------------------------------------------


def test_the_export_holds_every_callback_history_note_email_text_and_the_audio(zelda, floor):
    archive = lifecycle_export(number="+33 6 12 34 56 78")
    with zipfile.ZipFile(io.BytesIO(archive)) as bundle:
        data = json.loads(bundle.read("person.json"))
        [audio_name] = [n for n in bundle.namelist() if n.startswith("recordings/")]
        audio = bundle.read(audio_name)
    recording = CallRecording.objects.get(callback=zelda["first"])
    with recordings_storage().open(recording.audio.name, "rb") as f:
        assert audio == f.read(), "the audio itself"
    assert data["numbers"] == [NUMBER] and EMAIL.lower() in data["emails"]
    assert [c["reference"] for c in data["callbacks"]] == [zelda[k].reference for k in ("first", "cancelled", "waiting")]
    first = data["callbacks"][0]
    assert first["customer_name"] == NAME and first["data"] == {"account": "ACC-99173"}
    assert [n["text"] for n in first["notes"]] == ["Zelda prefers mornings"]
    assert [e["to"] for e in first["emails"]] == [EMAIL] and first["emails"][0]["subject"] == f"Hello {NAME}"
    assert first["recordings"][0]["file"] == audio_name and first["recordings"][0]["sha256"] == recording.sha256
    assert any(h["kind"] == "note" for h in first["history"]) and first["calls"][0]["number"] == NUMBER
    assert [t["body"] for t in data["texts"]] == ["Zelda here, call me after 5", "STOP"]
    assert data["sms_opt_outs"][0]["number"] == NUMBER
    assert data["contacts"][0]["first_name"] == "Zelda" and data["contacts"][0]["emails"][0]["address"] == EMAIL
    # The same person found by e-mail, in any case.
    with zipfile.ZipFile(io.BytesIO(lifecycle_export(email=EMAIL.upper()))) as bundle:
        assert len(json.loads(bundle.read("person.json"))["callbacks"]) == 3
    row = HistoryEvent.objects.filter(kind=HistoryKind.PRIVACY).last()
    assert row.message == "A person's data was exported by Ada: 3 callbacks, 1 recordings" and row.callback_id is None
    assert not found(row.message + json.dumps(row.data)), "the trail says an export happened, not whose"


def lifecycle_export(**who) -> bytes:
    return privacy.do_export_person(by="Ada", **who)


def test_after_erasure_no_table_and_no_file_holds_the_name_number_or_address(zelda, floor, own_storage):
    assert set(found(database_text())) >= {"Zelda", NUMBER, EMAIL.lower()}, "the search finds what is there"
    assert found(storage_text(own_storage)) == [], "the file names carry the reference, not the person"
    start, end = timezone.now() - timedelta(days=1), timezone.now() + timedelta(days=1)
    before = totals([floor["billing"], floor["support"]], start, end)
    erasure = privacy.do_erase_person(number=NUMBER, by="Ada", actor=floor["ada"])
    assert erasure.erased and erasure.cancelled == 1
    assert found(database_text()) == []
    assert list(own_storage.rglob("*.wav")) == [], "the audio is gone from the storage"
    # The reports count what they counted: the callbacks stay, closed, without the customer.
    waiting = refreshed(zelda["waiting"])
    assert (waiting.state, waiting.close_reason) == (CallbackState.CANCELLED, CloseReason.CANCELLED_BY_ADMIN)
    after = totals([floor["billing"], floor["support"]], start, end)
    assert after[0]["by_disposition"] == before[0]["by_disposition"] and after[0]["by_origin"] == before[0]["by_origin"]
    assert len(after[1]) == len(before[1]) == 3 and after[2] == before[2], "the same callbacks, the agents' same work"
    assert CallbackRequest.objects.filter(erased_at__isnull=False).count() == 3
    assert Interaction.objects.count() == 1 and not Contact.objects.exists() and not Note.objects.exists()
    assert refreshed(CallRecording.objects.get()).state == RecordingState.DELETED
    # STOP still holds for the number, which is no longer stored.
    assert opted_out([NUMBER]) == {NUMBER} and not SmsOptOut.objects.filter(number=NUMBER).exists()
    row = HistoryEvent.objects.filter(kind=HistoryKind.PRIVACY).get()
    assert row.message.startswith("A person's data was erased by Ada: ") and row.actor == floor["ada"]
    assert row.data["erasure"]["callbacks"] == 3 and row.data["erasure"]["recordings"] == 1
    assert row.callback_id is None and row.contact_id is None


def test_the_cancellation_an_erasure_makes_reaches_the_board_after_commit(zelda, floor, pushes):
    pushes.listen(board_group(floor["support"].pk))
    privacy.do_erase_person(number=NUMBER, by="Ada")
    assert (board_group(floor["support"].pk), "board.changed") in pushes.received()


def test_a_second_erasure_is_a_no_op_that_says_so(zelda, floor):
    privacy.do_erase_person(email=EMAIL, by="Ada")
    again = privacy.do_erase_person(email=EMAIL, by="Ada")
    assert not again.erased and again.counts == {}
    assert HistoryEvent.objects.filter(kind=HistoryKind.PRIVACY).last().message == (
        "Erasure asked by Ada: nothing to erase (already erased, or never known)"
    )
    with pytest.raises(DomainError, match="no data about this person") as refused:
        privacy.do_export_person(email=EMAIL, by="Ada")
    assert refused.value.status == 404


@pytest.mark.parametrize("stage", ["offered", "on_call", "wrap_up"])
def test_export_and_erasure_are_refused_while_a_callback_of_theirs_is_worked(floor, stage):
    alice = floor["alice"]
    if stage == "offered":
        set_ready(alice)
        callback = make_callback(floor["billing"], phone=NUMBER, customer_name=NAME)
        assert refreshed(callback).state == CallbackState.OFFERED
    else:
        interaction, _ = connected(alice, floor["billing"], phone=NUMBER, customer_name=NAME)
        if stage == "wrap_up":
            lifecycle.do_end_call(user=alice.user, interaction_id=interaction.pk)
        callback = interaction.callback
    for act in (privacy.do_erase_person, privacy.do_export_person):
        with pytest.raises(DomainError, match="being worked") as refused:
            act(number=NUMBER, by="Ada")
        assert refused.value.status == 409
    assert refreshed(callback).customer_name == NAME and refreshed(callback).erased_at is None


def test_on_an_s3_store_the_export_carries_the_audio_and_the_erasure_deletes_it_there(floor, s3):  # noqa: F811
    worked_callback(floor)
    [key] = s3.objects()
    stored = s3.client.get_object(Bucket=s3.bucket, Key=key)["Body"].read()
    with zipfile.ZipFile(io.BytesIO(privacy.do_export_person(number=NUMBER, by="Ada"))) as bundle:
        [name] = [n for n in bundle.namelist() if n.startswith("recordings/")]
        assert bundle.read(name) == stored
    privacy.do_erase_person(number=NUMBER, by="Ada")
    assert s3.objects() == [] and found(database_text()) == []


# --- Retention -------------------------------------------------------------------------------------------------------


def test_retention_erases_what_expired_keeps_the_rest_and_the_report_totals(zelda, floor, own_storage):
    RetentionPolicy.objects.create(callbacks_days=30, notes_days=7)
    RetentionPolicy.objects.create(queue=floor["support"], callbacks_days=365)
    start, end = timezone.now() - timedelta(days=1), timezone.now() + timedelta(days=1)
    queues = [floor["billing"], floor["support"]]
    before = totals(queues, start, end)
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        assert clock.do_apply_retention() == 1, "the note"
    assert not Note.objects.exists() and HistoryEvent.objects.filter(callback=zelda["first"]).exists()
    assert refreshed(zelda["first"]).customer_name == NAME, "the callback itself is kept 30 days"
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        removed = clock.do_apply_retention()
    assert removed > 0
    first = refreshed(zelda["first"])
    assert (first.customer_name, first.phone_number, first.customer_email, first.data) == ("", "", "", {})
    assert not HistoryEvent.objects.filter(callback=first).exists() and not EmailInteraction.objects.exists()
    assert refreshed(CallRecording.objects.get()).state == RecordingState.DELETED and not list(own_storage.rglob("*.wav"))
    # Support keeps its callbacks a year: the cancelled one is intact, and so is the contact they share.
    cancelled = refreshed(zelda["cancelled"])
    assert cancelled.customer_name == NAME and cancelled.erased_at is None and cancelled.contact_id is not None
    assert HistoryEvent.objects.filter(callback=cancelled).exists()
    assert totals(queues, start, end) == before, "the report totals for the period are unchanged"
    run = HistoryEvent.objects.filter(kind=HistoryKind.PRIVACY).last()
    assert run.message.startswith("Retention removed ") and run.data["retention"]["callbacks"] == 1
    assert run.data["retention"]["recordings"] == 1 and not found(run.message + json.dumps(run.data))


def test_retention_runs_in_batches_and_at_most_every_ten_minutes(floor):
    RetentionPolicy.objects.create(callbacks_days=1)
    for i in range(5):
        callback = make_callback(floor["support"], phone=f"+3361200000{i}", customer_name=NAME)
        lifecycle.do_cancel_callback(reference=callback.reference)
    later = timezone.now() + timedelta(days=2)
    assert privacy.do_apply_retention(now=later, limit=2)["callbacks"] == 2
    assert privacy.do_apply_retention(now=later, limit=2)["callbacks"] == 2
    assert privacy.do_apply_retention(now=later, limit=2)["callbacks"] == 1
    assert privacy.do_apply_retention(now=later, limit=2) == {} and not CallbackRequest.objects.filter(erased_at=None).exists()
    clock.RETENTION.reset()
    assert clock.do_apply_retention(now=later) == 0
    assert HistoryEvent.objects.filter(kind=HistoryKind.PRIVACY).count() == 3, "a run that removed nothing says nothing"


def test_recordings_follow_the_queues_own_retention_else_the_global_else_90_days(zelda, floor):
    recording = CallRecording.objects.get()
    with time_machine.travel(timezone.now() + timedelta(days=89)):
        assert clock.do_expire_recordings() == 0
    RetentionPolicy.objects.create(recordings_days=60)
    clock.RECORDINGS_EXPIRY.reset()
    with time_machine.travel(timezone.now() + timedelta(days=59)):
        assert clock.do_expire_recordings() == 0, "the global 60 days"
    RetentionPolicy.objects.create(queue=floor["billing"], recordings_days=120)
    clock.RECORDINGS_EXPIRY.reset()
    with time_machine.travel(timezone.now() + timedelta(days=100)):
        assert clock.do_expire_recordings() == 0, "the queue's own 120 days win"
    clock.RECORDINGS_EXPIRY.reset()
    with time_machine.travel(timezone.now() + timedelta(days=121)):
        assert clock.do_expire_recordings() == 1
    assert refreshed(recording).state == RecordingState.DELETED
    assert refreshed(zelda["first"]).customer_name == NAME, "the callback is kept: only its audio went"


def test_open_callbacks_are_never_erased_by_retention(floor):
    RetentionPolicy.objects.create(callbacks_days=1, history_days=1)
    waiting = make_callback(floor["support"], phone=NUMBER, customer_name=NAME)
    assert privacy.do_apply_retention(now=timezone.now() + timedelta(days=400)) == {}
    assert refreshed(waiting).customer_name == NAME and HistoryEvent.objects.filter(callback=waiting).exists()


# --- The append-only trigger --------------------------------------------------------------------------------------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_the_trigger_lets_only_the_erasing_core_delete_history(floor):
    RetentionPolicy.objects.create(history_days=1)
    callback = make_callback(floor["support"], phone=NUMBER, customer_name=NAME)
    lifecycle.do_cancel_callback(reference=callback.reference)
    row = HistoryEvent.objects.filter(callback=callback).first()
    refused = [
        "DELETE FROM callbacks_historyevent WHERE id = %s",
        "UPDATE callbacks_historyevent SET message = 'rewritten' WHERE id = %s",
        "UPDATE callbacks_historyevent SET data = '{}' WHERE id = %s",
        # 0010's flag no longer opens the door, and the core's own flag never allows an UPDATE.
        "SET LOCAL ringback.purge = 'on'; DELETE FROM callbacks_historyevent WHERE id = %s",
        "SET LOCAL ringback.erasure = 'on'; UPDATE callbacks_historyevent SET message = 'rewritten' WHERE id = %s",
        "SET LOCAL ringback.erasure = 'off'; DELETE FROM callbacks_historyevent WHERE id = %s",
        "TRUNCATE callbacks_historyevent",
    ]
    for sql in refused[:-1]:
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [row.pk])
    # The flag lasts for the core's transaction only.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL ringback.erasure = 'on'")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM callbacks_historyevent WHERE id = %s", [row.pk])
    assert HistoryEvent.objects.filter(pk=row.pk).exists()
    removed = privacy.do_apply_retention(now=timezone.now() + timedelta(days=2))
    assert removed["history"] >= 2 and not HistoryEvent.objects.filter(callback=callback).exists()


# --- From admin, the command line and the API ------------------------------------------------------------------------


def test_the_api_exports_and_erases_for_an_admin_client_only(client, zelda, floor):
    integration, plain = make_api_client("Website")
    admin_client, token = make_api_client("DPO desk")
    admin_client.role = "admin"
    admin_client.save()
    body = {"number": NUMBER}
    for path in ("export", "erase"):
        refused = client.post(
            f"/api/v1/privacy/{path}", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {plain}"
        )
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    exported = client.post("/api/v1/privacy/export", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert exported.status_code == 200 and exported["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(exported.content)) as bundle:
        assert len(json.loads(bundle.read("person.json"))["callbacks"]) == 3
        assert any(n.startswith("recordings/") for n in bundle.namelist())
    erased = client.post("/api/v1/privacy/erase", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert erased.status_code == 200 and erased.json()["erased"] and erased.json()["cancelled"] == 1
    again = client.post("/api/v1/privacy/erase", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert again.status_code == 200 and again.json() == {
        "erased": False,
        "detail": "Nothing to erase: already erased, or never known.",
        "cancelled": 0,
        "counts": {},
    }
    gone = client.post("/api/v1/privacy/export", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert gone.status_code == 404
    messages = list(HistoryEvent.objects.filter(kind=HistoryKind.PRIVACY).order_by("id").values_list("message", flat=True))
    assert [m.split(":")[0] for m in messages] == [
        "A person's data was exported by DPO desk (API)",
        "A person's data was erased by DPO desk (API)",
        "Erasure asked by DPO desk (API)",
    ]


def test_the_api_refuses_an_erasure_while_a_callback_is_being_worked(client, floor):
    admin_client, token = make_api_client("DPO desk")
    admin_client.role = "admin"
    admin_client.save()
    connected(floor["alice"], floor["billing"], phone=NUMBER, customer_name=NAME)
    answer = client.post(
        "/api/v1/privacy/erase",
        {"email": "", "number": NUMBER},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert (answer.status_code, answer.json()["code"]) == (409, "in_progress")


def test_the_openapi_document_declares_the_privacy_operations(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    export = paths["/api/v1/privacy/export"]["post"]
    assert "application/zip" in export["responses"]["200"]["content"] and "403" in export["responses"]
    assert {"200", "403", "409"} <= set(paths["/api/v1/privacy/erase"]["post"]["responses"])


def test_the_command_exports_and_erases(zelda, floor, tmp_path):
    out = io.StringIO()
    call_command("person_data", "export", "--email", EMAIL, "--out", str(tmp_path / "z.zip"), stdout=out)
    with zipfile.ZipFile(tmp_path / "z.zip") as bundle:
        assert len(json.loads(bundle.read("person.json"))["callbacks"]) == 3
    call_command("person_data", "erase", "--email", EMAIL, stdout=out)
    call_command("person_data", "erase", "--email", EMAIL, stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[1].startswith("Erased: ") and lines[2] == "Nothing to erase: already erased, or never known."
    assert found(database_text()) == []


def test_admin_page_exports_and_erases_for_the_admin_role_only(client, zelda, floor):
    client.force_login(floor["ada"])
    page = client.get("/admin/callbacks/contact/person-data/")
    assert page.status_code == 200 and "Export" in page.content.decode()
    assert "person-data/" in client.get("/admin/callbacks/contact/").content.decode(), "linked from the contacts"
    exported = client.post("/admin/callbacks/contact/person-data/", {"number": NUMBER, "export": "Export"})
    assert exported.status_code == 200 and exported["Content-Type"] == "application/zip"
    unconfirmed = client.post("/admin/callbacks/contact/person-data/", {"number": NUMBER, "erase": "Erase"})
    assert "Tick the box to confirm the erasure." in unconfirmed.content.decode() and Contact.objects.exists()
    erased = client.post(
        "/admin/callbacks/contact/person-data/", {"number": NUMBER, "erase": "Erase", "confirm": "on"}, follow=True
    )
    assert "Erased: " in erased.content.decode() and not Contact.objects.exists()
    # The contact list's action exports one contact (Admin role), and a supervisor gets neither.
    sam = User.objects.create_user("sam", "sam@example.com", PASSWORD, is_staff=True)
    sam.groups.add(Group.objects.get(name=roles.SUPERVISOR))
    client.force_login(sam)
    assert client.get("/admin/callbacks/contact/person-data/").status_code == 403


def test_the_contact_list_action_exports_the_selected_contact(client, zelda, floor):
    client.force_login(floor["ada"])
    contact = refreshed(zelda["first"]).contact
    answer = client.post("/admin/callbacks/contact/", {"action": "export_data", "_selected_action": [contact.pk]})
    assert answer.status_code == 200 and answer["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(answer.content)) as bundle:
        assert len(json.loads(bundle.read("person.json"))["callbacks"]) == 3


def test_retention_is_set_in_admin(client, floor):
    client.force_login(floor["ada"])
    answer = client.post("/admin/callbacks/retentionpolicy/add/", {"callbacks_days": "365", "notes_days": "30"})
    assert answer.status_code == 302
    answer = client.post("/admin/callbacks/retentionpolicy/add/", {"queue": floor["billing"].pk, "notes_days": "7"})
    assert answer.status_code == 302
    days = retention_days([floor["billing"].pk, floor["support"].pk])
    assert days[floor["billing"].pk] == {
        "callbacks": 365,
        "history": None,
        "emails": None,
        "notes": 7,
        "texts": None,
        "recordings": 90,
    }
    assert days[floor["support"].pk]["notes"] == 30
    # A queue's own, from the queue's page.
    form = client.get(f"/admin/callbacks/queue/{floor['support'].pk}/change/").content.decode()
    assert "retention-__prefix__-recordings_days" in form, "the queue's own retention, one row at most"
    duplicate = client.post("/admin/callbacks/retentionpolicy/add/", {"notes_days": "5"})
    assert duplicate.status_code == 200, "one global row"


def test_a_queues_own_recording_retention_moves_to_its_retention_policy():
    """Migration 0040: a queue's "keep recordings for" other than 90 days becomes its policy's."""
    before = [("callbacks", "0039_privacy_retention")]
    executor = MigrationExecutor(connection)
    after = executor.loader.graph.leaf_nodes()  # and back to the latest, for the tests that follow
    executor.migrate(before)
    old = executor.loader.project_state(before).apps.get_model("callbacks", "Queue")
    kept = old.objects.create(name="Billing", slug="billing", recording_retention_days=30)
    old.objects.create(name="Support", slug="support", recording_retention_days=90)
    executor = MigrationExecutor(connection)
    executor.migrate(after)
    assert list(RetentionPolicy.objects.values_list("queue_id", "recordings_days")) == [(kept.pk, 30)]
