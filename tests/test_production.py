"""The production profile and the Content-Security-Policy: `check --deploy` is clean, nothing inline."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from .factories import make_agent, make_queue

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION = {
    "RINGBACK_PRODUCTION": "1",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "ringback.example.com",
    "EMAIL_HOST": "smtp.example.com",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RINGBACK_PRODUCTION", "SECRET_KEY", "EMAIL_", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"))
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_with_the_production_profile():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY must be set"),
        ({"EMAIL_HOST": ""}, "EMAIL_BACKEND=smtp needs EMAIL_HOST"),
        ({"DEBUG": "1"}, "DEBUG must be off"),
        ({"EMAIL_BACKEND": "console"}, "mail.E001"),
    ],
)
def test_an_unsafe_production_setting_is_refused_by_name(change, message):
    result = manage("check", "--deploy", **{**PRODUCTION, **change})
    assert result.returncode != 0
    assert message in result.stdout + result.stderr


SOFTPHONE = {
    "RINGBACK_TELEPHONY": "callbacks.telephony.sip.softphone.BrowserSoftphone",
    "RINGBACK_SIP_SECRET": secrets.token_urlsafe(40),
    "RINGBACK_SIP_WS_URL": "wss://sip.example.com",
}


def test_check_deploy_is_clean_with_the_browser_softphone_configured():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION, **SOFTPHONE)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"RINGBACK_SIP_SECRET": ""}, "RINGBACK_SIP_SECRET must be set"),
        ({"RINGBACK_SIP_SECRET": PRODUCTION["SECRET_KEY"]}, "RINGBACK_SIP_SECRET must be at least 32 characters and differ"),
        ({"RINGBACK_SIP_SECRET": "short"}, "RINGBACK_SIP_SECRET must be at least 32 characters"),
        ({"RINGBACK_SIP_SECRET_PREVIOUS": "short"}, "RINGBACK_SIP_SECRET_PREVIOUS must be at least 32 characters"),
        ({"RINGBACK_SIP_WS_URL": "ws://sip.example.com"}, "RINGBACK_SIP_WS_URL must be wss://"),
    ],
)
def test_an_unsafe_sip_setting_is_refused_by_name(change, message):
    result = manage("check", "--deploy", **{**PRODUCTION, **SOFTPHONE, **change})
    assert result.returncode != 0
    assert message in result.stdout + result.stderr


TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))


def test_no_template_has_inline_script_style_or_handlers():
    offenders = []
    for path in TEMPLATES:
        text = path.read_text()
        for match in re.finditer(r"<script(?![^>]*\bsrc=)[^>]*>", text):
            offenders.append(f"{path.name}: {match.group(0)}")
        for match in re.finditer(r"\son[a-z]+\s*=|\sstyle\s*=|<style|javascript:", text):
            offenders.append(f"{path.name}: {match.group(0).strip()}")
    assert offenders == []


@pytest.fixture
def people(client, transactional_db):
    queue = make_queue("sales")
    make_agent("alice", queue)
    get_user_model().objects.create_superuser("boss", "b@example.com", "secret-pass-123")
    return client


@pytest.mark.parametrize(
    ("who", "url"),
    [
        (None, "/login/"),
        (None, "/request/sales/"),
        ("alice", "/"),
        ("boss", "/board/"),
        ("boss", "/board/callbacks/"),
        ("boss", "/reports/"),
        ("boss", "/admin/"),
    ],
)
def test_every_page_carries_the_policy(people, who, url):
    if who:
        people.force_login(get_user_model().objects.get(username=who))
    response = people.get(url)
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
