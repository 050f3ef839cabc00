"""E-mail over real SMTP, configured from the environment, sent by the worker with its idempotency key."""

import os
import subprocess
import sys
from pathlib import Path

from callbacks import lifecycle
from callbacks.enums import EffectStatus, OfferOutcome
from callbacks.models import ContactEmail, Effect, Offer

from .factories import email_contact, make_callback, set_ready, worker

ROOT = Path(__file__).resolve().parents[1]


def _settings_with(**env) -> subprocess.CompletedProcess:
    code = "import django; django.setup(); from django.conf import settings; print(settings.MAILERS['default'])"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EMAIL_")}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "workspace.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_smtp_is_configured_from_the_environment():
    out = _settings_with(EMAIL_BACKEND="smtp", EMAIL_HOST="mail.example.net", EMAIL_PORT="587", EMAIL_USE_TLS="1")
    assert out.returncode == 0, out.stderr
    assert "'host': 'mail.example.net'" in out.stdout and "'port': 587" in out.stdout and "'use_tls': True" in out.stdout


def test_smtp_without_a_host_refuses_to_start_with_a_clear_message():
    out = _settings_with(EMAIL_BACKEND="smtp")
    assert out.returncode != 0
    assert "EMAIL_BACKEND=smtp needs EMAIL_HOST" in out.stderr


def test_the_worker_sends_over_smtp_with_the_effect_key_as_message_id(queue, alice, settings, smtp_server):
    host, port = smtp_server.server_address
    settings.MAILERS = {
        "default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": {"host": host, "port": port}}
    }
    set_ready(alice)
    offer = Offer.objects.get(callback=make_callback(queue), outcome=OfferOutcome.OPEN)
    interaction = lifecycle.do_accept_offer(user=alice.user, offer_id=offer.pk)
    ContactEmail.objects.create(contact=interaction.callback.contact, address="lea@example.com")
    email_contact(alice, interaction, to="lea@example.com", subject="Hi", body="Hello")
    worker()
    effect = Effect.objects.get()
    assert effect.status == EffectStatus.DONE
    assert len(smtp_server.messages) == 1
    assert f"Message-ID: <{effect.key.replace(':', '.')}@ringback>" in smtp_server.messages[0]
    assert "Subject: Hi" in smtp_server.messages[0]
