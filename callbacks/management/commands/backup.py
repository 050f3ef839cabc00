"""Back up the whole database to one file, consistently, while Ringback runs.

    python manage.py backup var/backups/ringback-20261201.dump   # PostgreSQL: pg_dump's custom format
    python manage.py backup var/backups/ringback-20261201.sqlite3  # the embedded default: SQLite's online backup

It prints a manifest (rows per table, the latest history row) that `restore` prints again for the copy.
"""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

# The tables a manifest counts (their names are fixed by the app label).
TABLES = {
    "callbacks": "callbacks_callbackrequest",
    "offers": "callbacks_offer",
    "interactions": "callbacks_interaction",
    "history": "callbacks_historyevent",
    "effects": "callbacks_effect",
}


def libpq_url(settings_dict: dict) -> str:
    host, port = settings_dict.get("HOST") or "localhost", settings_dict.get("PORT") or "5432"
    user, password = settings_dict.get("USER") or "", settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    return f"postgresql://{auth}{host}:{port}/{settings_dict['NAME']}"


def manifest_of(cursor) -> dict:
    """Rows per table and the latest history row, from any DB-API cursor on a Ringback database."""
    out = {}
    for name, table in TABLES.items():
        cursor.execute(f"SELECT COUNT(*) FROM {table}")
        out[name] = cursor.fetchone()[0]
    cursor.execute(f"SELECT id, kind, message FROM {TABLES['history']} ORDER BY id DESC LIMIT 1")
    out["latest_history"] = list(cursor.fetchone() or [])
    return out


class Command(BaseCommand):
    help = "Back up the database to one file (pg_dump custom format on PostgreSQL, SQLite's online backup otherwise)."

    def add_arguments(self, parser):
        parser.add_argument("output", help="the file to write")

    def handle(self, *args, output: str, **options):
        path = Path(output)
        path.parent.mkdir(parents=True, exist_ok=True)
        if connection.vendor == "postgresql":
            result = subprocess.run(
                [
                    "pg_dump",
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    "--file",
                    str(path),
                    libpq_url(connection.settings_dict),
                ],
                capture_output=True,
                text=True,
            )
            if result.returncode:
                raise CommandError(f"pg_dump failed: {result.stderr.strip()}")
        elif connection.vendor == "sqlite":
            connection.ensure_connection()
            with sqlite3.connect(path) as target:
                connection.connection.backup(target)  # consistent while the server writes (WAL included)
        else:
            raise CommandError(f"No backup recipe for {connection.vendor}.")
        with connection.cursor() as cursor:
            manifest = manifest_of(cursor)
        self.stdout.write(f"Backed up to {path} ({path.stat().st_size} bytes): {manifest}")
