"""Text messages through a real Twilio-compatible gateway started by the test (tests/servers.py): confirmations and
reminders as each queue chooses, in the customer's language and in one segment, the short link they carry, STOP and
START, replies in the history, delivery reports; and the attacks on the gateway's way in (forged, unsigned,
replayed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from callbacks import lifecycle, links, messaging
from callbacks.dispatcher import sweep_once
from callbacks.enums import EffectKind, EffectStatus, HistoryKind
from callbacks.lifecycle import effects
from callbacks.models import CallbackRequest, Effect, NumberCheck, SmsOptOut, TextMessage
from callbacks.views.texts import gateway_signature

from .factories import database_text, make_api_client, make_queue, worker
from .servers import SmsGateway


@pytest.fixture
def gateway(settings):
    server = SmsGateway()
    settings.RINGBACK_SMS_BACKEND = "http"
    settings.RINGBACK_SMS_GATEWAY_URL = server.url
    settings.RINGBACK_SMS_GATEWAY_ACCOUNT = server.account
    settings.RINGBACK_SMS_GATEWAY_TOKEN = server.token
    settings.RINGBACK_SMS_FROM = "+33184880099"
    settings.RINGBACK_SMS_CALLBACK_BASE = "http://testserver"
    settings.RINGBACK_PUBLIC_URL = "https://rb.example.com"
    messaging.sms_backend.cache_clear()
    yield server
    server.close()
    messaging.sms_backend.cache_clear()


@pytest.fixture
def texting(transactional_db):
    return make_queue("billing", name="Billing", customer_notices="sms")


def request_callback(client, token, **body):
    body = {"queue": "billing", "phone_number": "+33612345678", **body}
    response = client.post(
        "/api/v1/callbacks", json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 201, response.content
    return CallbackRequest.objects.get(reference=response.json()["reference"])


def from_gateway(client, path: str, form: dict, *, signature: str | None = None):
    """The gateway calls Ringback, signing the URL and the form with its token (or with `signature`)."""
    url = f"http://testserver{path}"
    signed = gateway_signature(url, form) if signature is None else signature
    return client.post(path, form, HTTP_X_TWILIO_SIGNATURE=signed)


def test_a_queue_that_texts_confirms_by_sms_through_the_gateway(client, gateway, texting):
    _, token = make_api_client("Website")
    callback = request_callback(client, token, customer_name="Léa")
    worker()
    [sent] = gateway.texts
    assert (sent["To"], sent["From"]) == ("+33612345678", "+33184880099")
    assert f"Ref {callback.reference}" in sent["Body"] and sent["Body"].startswith("Billing: we will call you as soon as")
    assert links.short_manage_url(callback.reference) in sent["Body"]
    assert sent["StatusCallback"].startswith("http://testserver/sms/status?ref=")
    assert messaging.segments(sent["Body"]) == 1
    text = TextMessage.objects.get()
    assert (text.status, text.provider_id, text.kind) == (TextMessage.Status.SENT, f"SM{1:032d}", "confirmation")
    assert callback.history.filter(kind=HistoryKind.TEXT, message__startswith="Text sent to +33612345678").exists()


def test_the_short_link_opens_the_customers_page_and_a_forged_one_does_not(client, gateway, texting):
    _, token = make_api_client("Website")
    callback = request_callback(client, token)
    page = client.get(f"/m/{links.short_code(callback.reference)}", follow=True)
    assert page.status_code == 200 and callback.reference in page.content.decode()
    forged = links.short_code(callback.reference)[:-1] + "a"
    assert client.get(f"/m/{forged if forged != links.short_code(callback.reference) else forged + 'b'}").status_code == 404
    assert client.get(f"/m/{callback.reference}").status_code == 404


@pytest.mark.parametrize("language", ["en", "fr", "es"])
@time_machine.travel(datetime(2026, 12, 7, 9, tzinfo=UTC), tick=True)
def test_texts_are_in_the_customers_language_and_fit_one_segment(client, gateway, texting, language):
    _, token = make_api_client("Website")
    when = datetime(2026, 12, 9, 14, 30, tzinfo=UTC).isoformat()
    request_callback(client, token, type="scheduled", desired_time=when, language=language, customer_timezone="Europe/Paris")
    worker()
    body = gateway.texts[0]["Body"]
    word = {"en": "we will call you", "fr": "nous vous appelons", "es": "le llamaremos"}[language]
    assert word in body and "15:30" in body, body
    assert messaging.segments(body) == 1, (len(body), body)


def test_both_sends_an_email_and_a_text_and_email_alone_sends_no_text(client, gateway, texting, mailoutbox):
    _, token = make_api_client("Website")
    texting.customer_notices = "both"
    texting.save()
    request_callback(client, token, email="lea@example.com")
    worker()
    assert len(gateway.texts) == 1 and len(mailoutbox) == 1
    texting.customer_notices = "email"
    texting.save()
    request_callback(client, token, phone_number="+33612345679", email="max@example.com")
    worker()
    assert len(gateway.texts) == 1 and len(mailoutbox) == 2


@time_machine.travel(datetime(2026, 12, 7, 9, tzinfo=UTC), tick=True)
def test_a_scheduled_callback_is_reminded_by_text(client, gateway, texting):
    _, token = make_api_client("Website")
    request_callback(client, token, type="scheduled", desired_time=datetime(2026, 12, 7, 11, tzinfo=UTC).isoformat())
    worker()
    with time_machine.travel(datetime(2026, 12, 7, 10, 30, tzinfo=UTC), tick=True):
        sweep_once()
        worker()
        sweep_once()  # once only
        worker()
    # 11:00 UTC is noon in Paris, the zone of a +33 number.
    assert [t["Body"].split(":")[1].strip() for t in gateway.texts] == [
        "we will call you on Mon 7 Dec, 12",
        "a reminder, we call you at 12",
    ]


def test_stop_opts_the_number_out_and_start_back_in(client, gateway, texting):
    _, token = make_api_client("Website")
    callback = request_callback(client, token)
    worker()
    assert (
        from_gateway(client, "/sms/inbound", {"From": "+33612345678", "Body": "Stop", "MessageSid": "SMin1"}).status_code == 200
    )
    assert SmsOptOut.objects.filter(number="+33612345678", keyword="STOP").exists()
    assert callback.history.filter(kind=HistoryKind.TEXT, message__contains="texted STOP").exists()
    lifecycle.do_cancel_callback(reference=callback.reference)
    again = request_callback(client, token)
    worker()
    assert len(gateway.texts) == 1, "no text after STOP"
    assert again.history.filter(kind=HistoryKind.TEXT, message__contains="opted out").exists()
    from_gateway(client, "/sms/inbound", {"From": "+33612345678", "Body": "START", "MessageSid": "SMin2"})
    assert not SmsOptOut.objects.exists()


def test_a_number_that_opts_out_after_a_text_was_queued_is_not_texted(client, gateway, texting):
    _, token = make_api_client("Website")
    request_callback(client, token)
    SmsOptOut.objects.create(number="+33612345678", opted_out_at=timezone.now(), keyword="STOP")
    worker()
    assert gateway.texts == [] and TextMessage.objects.get().status == TextMessage.Status.SUPPRESSED


def test_a_reply_lands_in_the_callbacks_history(client, gateway, texting):
    _, token = make_api_client("Website")
    callback = request_callback(client, token)
    from_gateway(client, "/sms/inbound", {"From": "+33612345678", "Body": "Please call after 5pm", "MessageSid": "SMin3"})
    assert callback.history.filter(kind=HistoryKind.TEXT, message="Text from the customer: Please call after 5pm").exists()
    assert TextMessage.objects.filter(direction="in", callback=callback).count() == 1


def test_delivery_reports_mark_the_text_and_a_failure_is_in_the_history(client, gateway, texting):
    _, token = make_api_client("Website")
    callback = request_callback(client, token)
    worker()
    text = TextMessage.objects.get()
    path = f"/sms/status?ref={text.pk}"
    assert from_gateway(client, path, {"MessageSid": text.provider_id, "MessageStatus": "delivered"}).status_code == 204
    assert TextMessage.objects.get().status == TextMessage.Status.DELIVERED
    from_gateway(client, path, {"MessageSid": text.provider_id, "MessageStatus": "undelivered"})
    assert TextMessage.objects.get().status == TextMessage.Status.FAILED
    assert callback.history.filter(message__startswith="Text to +33612345678 not delivered").exists()
    from_gateway(client, path, {"MessageSid": "SMsomeoneelse", "MessageStatus": "delivered"})
    assert TextMessage.objects.get().status == TextMessage.Status.FAILED, "another text's report changes nothing"


def test_a_gateway_that_fails_is_retried_then_the_failure_is_recorded(client, gateway, texting):
    _, token = make_api_client("Website")
    callback = request_callback(client, token)
    gateway.fail_next = 1
    worker()
    effect = Effect.objects.get(kind=EffectKind.SMS)
    assert effect.status == EffectStatus.PENDING and "500" in effect.last_error
    with time_machine.travel(timezone.now() + timedelta(minutes=1), tick=True):
        worker()
    assert len(gateway.texts) == 1 and Effect.objects.get(kind=EffectKind.SMS).status == EffectStatus.DONE
    gateway.fail_next = 99
    lifecycle.do_cancel_callback(reference=callback.reference)
    request_callback(client, token)
    for minutes in range(1, 40, 3):
        with time_machine.travel(timezone.now() + timedelta(minutes=minutes), tick=True):
            worker()
    failed = Effect.objects.filter(kind=EffectKind.SMS, status=EffectStatus.FAILED).get()
    assert failed.attempts == 5 and TextMessage.objects.get(pk=failed.payload["text"]).status == TextMessage.Status.FAILED


# --- Attacks on the gateway's way in ---------------------------------------------------------------------------------


def test_a_forged_or_unsigned_inbound_text_is_refused_and_changes_nothing(client, gateway, texting):
    form = {"From": "+33612345678", "Body": "STOP", "MessageSid": "SMforged"}
    assert from_gateway(client, "/sms/inbound", form, signature="bm90IHRoZSBzaWduYXR1cmU=").status_code == 403
    assert client.post("/sms/inbound", form).status_code == 403
    tampered = gateway_signature("http://testserver/sms/inbound", {**form, "Body": "Hello"})
    assert from_gateway(client, "/sms/inbound", form, signature=tampered).status_code == 403
    assert not SmsOptOut.objects.exists() and not TextMessage.objects.exists()
    assert client.get("/sms/inbound").status_code == 405


def test_a_replayed_inbound_text_is_taken_once(client, gateway, texting):
    form = {"From": "+33612345678", "Body": "Hello?", "MessageSid": "SMonce"}
    for _ in range(3):
        assert from_gateway(client, "/sms/inbound", form).status_code == 200
    assert TextMessage.objects.filter(direction="in").count() == 1


def test_without_a_gateway_a_queue_cannot_choose_texts(texting, settings):
    settings.RINGBACK_SMS_BACKEND = "none"
    texting.customer_notices = "sms"
    with pytest.raises(ValidationError, match="No SMS gateway is configured"):
        texting.full_clean()


@pytest.mark.parametrize(
    "text, parts",
    [("a" * 160, 1), ("a" * 161, 2), ("é" * 160, 1), ("€" * 80, 1), ("€" * 81, 2), ("á" * 70, 1), ("á" * 71, 2), ("😀" * 35, 1)],
)
def test_segments_count_the_gsm_alphabet_and_ucs2(text, parts):
    assert messaging.segments(text) == parts


def test_accents_the_gsm_alphabet_lacks_are_folded_so_a_text_stays_one_segment():
    spanish = "Facturación: le llamaremos el sáb 12 dic, 15:30. Cambiar o cancelar: https://rb.example.com/m/CB-A.b"
    assert messaging.segments(spanish) > 1 and messaging.fit(spanish).startswith("Facturacion: le llamaremos el sab")
    assert messaging.segments(messaging.fit(spanish)) == 1
    assert messaging.fit("dès qu’un conseiller est libre") == "dès qu'un conseiller est libre"  # è is GSM; ’ is not
    assert messaging.fit("Звоним вам в 15:30") == "Звоним вам в 15:30", "another script stays as it is"


# --- Checking the number a visitor typed (the customer's page) ----------------------------------------------------------


@pytest.fixture
def checking(gateway, texting):
    texting.verify_numbers = True
    texting.customer_notices = "email"
    texting.save()
    return texting


def ask(client, **extra):
    form = {
        "when": "now",
        "phone": "+33612345678",
        "name": "Léa Moreau",
        "email": "",
        "reason": "",
        "tz": "Europe/Paris",
        **extra,
    }
    return client.post("/request/billing/", form)


def the_code(gateway) -> str:
    return gateway.texts[-1]["Body"].split("your code is ")[1][:6]


def test_the_request_is_taken_once_the_texted_code_is_keyed(client, checking, gateway):
    page = ask(client)
    assert page.status_code == 302 and "/request/check/" in page["Location"]
    assert not CallbackRequest.objects.exists(), "nothing is taken before the code"
    worker()
    code = the_code(gateway)
    assert gateway.texts[-1]["To"] == "+33612345678" and messaging.segments(gateway.texts[-1]["Body"]) == 1
    check = NumberCheck.objects.get()
    assert code not in json.dumps([check.code_hash, check.token_hash, check.request]), "no plain code kept"
    assert "+33 6 12 34 56 78" in client.get(page["Location"]).content.decode()
    done = client.post(page["Location"], {"code": code})
    assert done.status_code == 302 and "/request/done/" in done["Location"]
    callback = CallbackRequest.objects.get()
    assert (callback.phone_number, callback.customer_name, callback.origin) == ("+33612345678", "Léa Moreau", "web")
    again = client.post(page["Location"], {"code": code})
    assert again.status_code == 409 and CallbackRequest.objects.count() == 1, "a code serves once"


def test_no_plain_code_is_at_rest_yet_the_gateway_gets_it_and_it_confirms_the_number(client, checking, gateway):
    # Time stands still, so no timestamp's microseconds can look like the code.
    with time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tick=False):
        page = ask(client)
        worker()
        code = the_code(gateway)
        assert gateway.texts[-1]["Body"] == f"Billing: your code is {code}. It expires in 10 minutes."
        assert code not in database_text(), "the code is nowhere in the database: texts, history, effects, tasks …"
        assert TextMessage.objects.get(kind="code").body == "Billing: your code is ••••••. It expires in 10 minutes."
        assert client.post(page["Location"], {"code": code}).status_code == 302
    assert CallbackRequest.objects.get().phone_number == "+33612345678"


def test_a_code_text_resent_after_the_worker_died_carries_the_same_valid_code(client, checking, gateway):
    page = ask(client)
    worker()
    first = the_code(gateway)
    # The worker died after the gateway took the text, before it wrote so: the effect is still pending, its lease held.
    effect = Effect.objects.get(kind=EffectKind.SMS)
    Effect.objects.filter(pk=effect.pk).update(
        status=EffectStatus.PENDING, finished_at=None, claimed_until=timezone.now() + timedelta(seconds=60)
    )
    later = timezone.now() + timedelta(minutes=5)
    with time_machine.travel(later, tick=True):
        with transaction.atomic():  # as the clock's sweep runs it
            assert effects.requeue_stale(now=later) == 1
        worker()
    assert len(gateway.texts) == 2 and the_code(gateway) == first, "the same code, not a new one"
    assert client.post(page["Location"], {"code": first}).status_code == 302


def test_a_wrong_code_uses_a_try_and_five_end_the_check(client, checking, gateway):
    page = ask(client)
    worker()
    code = the_code(gateway)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    first = client.post(page["Location"], {"code": wrong})
    assert first.status_code == 400 and "4 tries left" in first.content.decode()
    for _ in range(4):
        client.post(page["Location"], {"code": wrong})
    late = client.post(page["Location"], {"code": code})
    assert late.status_code == 400 and "Too many wrong codes" in late.content.decode()
    assert not CallbackRequest.objects.exists()


def test_a_code_expires_after_ten_minutes_and_a_new_one_can_be_sent(client, checking, gateway):
    page = ask(client)
    worker()
    code = the_code(gateway)
    with time_machine.travel(timezone.now() + timedelta(minutes=11), tick=True):
        assert "expired" in client.post(page["Location"], {"code": code}).content.decode()
        fresh = client.post(page["Location"], {"resend": "1"})
        worker()
        assert client.post(fresh["Location"], {"code": the_code(gateway)}).status_code == 302
    assert CallbackRequest.objects.count() == 1


def test_codes_are_throttled_per_number_and_an_opted_out_number_gets_none(client, checking, gateway):
    for _ in range(3):
        assert ask(client).status_code == 302
    refused = ask(client)
    assert refused.status_code == 429 and "Too many codes" in refused.content.decode()
    SmsOptOut.objects.create(number="+33612345679", opted_out_at=timezone.now(), keyword="STOP")
    stopped = ask(client, phone="+33612345679")
    assert stopped.status_code == 400 and "Text START" in stopped.content.decode()


def test_codes_are_throttled_per_address_across_numbers(client, checking, gateway, settings):
    settings.RINGBACK_PUBLIC_FORM_PER_HOUR = 100  # the page's own budget per address (10) would answer first
    form = {"when": "now", "name": "Léa Moreau", "email": "", "reason": "", "tz": "Europe/Paris"}
    # Within one hour's window (the budget counts per clock hour).
    with time_machine.travel(datetime(2026, 3, 2, 9, 10, tzinfo=UTC), tick=False):
        for n in range(10):
            asked = client.post("/request/billing/", {**form, "phone": f"+336123456{n:02d}"})
            assert asked.status_code == 302, "3 an hour to each number, 10 from one address"
        refused = client.post("/request/billing/", {**form, "phone": "+33612345699"})
        assert refused.status_code == 429
        assert "Too many codes asked for; please try again in 50 minutes." in refused.content.decode()
        assert NumberCheck.objects.count() == 10
        elsewhere = client.post("/request/billing/", {**form, "phone": "+33612345699"}, REMOTE_ADDR="192.0.2.7")
        assert elsewhere.status_code == 302, "another address is served"


def test_an_unknown_check_is_404(client, checking):
    assert client.get("/request/check/not-a-token/").status_code == 404
    assert client.post("/request/check/not-a-token/", {"code": "123456"}).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_migration_0042_masks_codes_sent_before_and_the_history_stays_append_only():
    """Texts of number checks sent before codes were masked, and their history lines, lose the code; other texts and
    lines keep their digits. On PostgreSQL the append-only trigger is lifted for the migration only: afterwards an
    UPDATE of a history row is refused again."""
    from django.db import DatabaseError, connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("callbacks", "0041_analytics")]
    executor = MigrationExecutor(connection)
    after = executor.loader.graph.leaf_nodes()  # and back to the latest, for the tests that follow
    executor.migrate(before)
    apps = executor.loader.project_state(before).apps
    text, history = apps.get_model("callbacks", "TextMessage"), apps.get_model("callbacks", "HistoryEvent")
    now = timezone.now()
    code = text.objects.create(
        direction="out", number="+33612345678", body="Sales: your code is 496671.", kind="code", created_at=now
    )
    other = text.objects.create(
        direction="out", number="+33612345678", body="Ref 123456 at 14:30", kind="confirmation", created_at=now
    )
    history.objects.create(
        kind="text", message="Text sent to +33612345678: Sales: your code is 496671.", data={"effect": f"sms:{code.pk}"}, at=now
    )
    history.objects.create(
        kind="text", message="Text sent to +33612345678: Ref 123456", data={"effect": f"sms:{other.pk}"}, at=now
    )
    MigrationExecutor(connection).migrate(after)

    assert TextMessage.objects.get(pk=code.pk).body == "Sales: your code is ••••••."
    assert TextMessage.objects.get(pk=other.pk).body == "Ref 123456 at 14:30"
    from callbacks.models import HistoryEvent

    messages = sorted(HistoryEvent.objects.values_list("message", flat=True))
    assert messages == ["Text sent to +33612345678: Ref 123456", "Text sent to +33612345678: Sales: your code is ••••••."]
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE callbacks_historyevent SET message = 'changed'")
