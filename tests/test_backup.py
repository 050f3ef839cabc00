"""Backup and restore: a backup taken while Ringback holds data restores into a scratch database with the same rows
per table and the same latest history rows."""

import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from callbacks import lifecycle
from callbacks.management.commands.backup import libpq_url
from callbacks.models import CallbackRequest, HistoryEvent, Interaction, Offer

from .factories import database_url, make_callback, set_ready

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[1]


def manage(*args):
    env = {"DATABASE_URL": database_url()}
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, **env}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def latest_history(cursor, n=5):
    cursor.execute(f"SELECT id, kind, message FROM callbacks_historyevent ORDER BY id DESC LIMIT {int(n)}")
    return [list(r) for r in cursor.fetchall()]


def row_counts(cursor) -> dict:
    tables = {"callbacks": "callbackrequest", "offers": "offer", "interactions": "interaction", "history": "historyevent"}
    out = {}
    for name, table in tables.items():
        cursor.execute(f"SELECT COUNT(*) FROM callbacks_{table}")
        out[name] = cursor.fetchone()[0]
    return out


def test_a_backup_restores_with_every_row(queue, alice, tmp_path):
    set_ready(alice)
    first = make_callback(queue, "+33612345001")
    interaction = lifecycle.do_accept_offer(user=alice.user, offer_id=Offer.objects.get(callback=first).pk)
    lifecycle.do_mark_done(user=alice.user, interaction_id=interaction.pk)
    for i in range(5):
        make_callback(queue, f"+3361234510{i}")
    expected = {
        "callbacks": CallbackRequest.objects.count(),
        "offers": Offer.objects.count(),
        "interactions": Interaction.objects.count(),
        "history": HistoryEvent.objects.count(),
    }
    with connection.cursor() as cursor:
        history = latest_history(cursor)

    if connection.vendor == "postgresql":
        dump = tmp_path / "ringback.dump"
        manage("backup", str(dump))
        scratch = f"{connection.settings_dict['NAME']}_restore_{uuid.uuid4().hex[:6]}"
        target = libpq_url({**connection.settings_dict, "NAME": scratch})
        try:
            out = manage("restore", str(dump), "--into", target)
            with psycopg.connect(target) as conn, conn.cursor() as cursor:
                restored = row_counts(cursor)
                assert latest_history(cursor) == history
                with pytest.raises(psycopg.errors.InsufficientPrivilege):  # the append-only trigger came back too
                    cursor.execute("DELETE FROM callbacks_historyevent")
        finally:
            with psycopg.connect(libpq_url({**connection.settings_dict, "NAME": "postgres"}), autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
    else:
        copy = tmp_path / "ringback.sqlite3"
        manage("backup", str(copy))
        target = tmp_path / "restored.sqlite3"
        out = manage("restore", str(copy), "--into", str(target))
        with sqlite3.connect(target) as conn:
            cursor = conn.cursor()
            restored = row_counts(cursor)
            assert latest_history(cursor) == history
    assert restored == expected
    assert f"'history': {expected['history']}" in out
