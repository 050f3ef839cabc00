"""Restore a backup made by `manage.py backup` into a database, then print its manifest to compare.

    python manage.py restore var/backups/ringback-20261201.dump --into postgres://postgres@127.0.0.1:5432/ringback_restored
    python manage.py restore var/backups/ringback-20261201.sqlite3 --into var/restored.sqlite3

Restore into a new (or scratch) database, check the manifest against the backup's, then point DATABASE_URL at it.
Stop Ringback before restoring over the database it runs on.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import psycopg
from django.core.management.base import BaseCommand, CommandError
from psycopg import sql

from .backup import manifest_of


class Command(BaseCommand):
    help = "Restore a backup into a database (a PostgreSQL URL, created if missing, or an SQLite file) and print its manifest."

    def add_arguments(self, parser):
        parser.add_argument("backup", help="the file `manage.py backup` wrote")
        parser.add_argument("--into", required=True, help="postgres://… (created if missing) or a path for an SQLite file")

    def handle(self, *args, backup: str, into: str, **options):
        source = Path(backup)
        if not source.exists():
            raise CommandError(f"No backup at {source}.")
        if into.startswith(("postgres://", "postgresql://")):
            base, name = into.rsplit("/", 1)
            with psycopg.connect(base + "/postgres", autocommit=True) as admin:
                if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            result = subprocess.run(
                [
                    "pg_restore",
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--no-privileges",
                    "--exit-on-error",
                    "-d",
                    into,
                    str(source),
                ],
                capture_output=True,
                text=True,
            )
            if result.returncode:
                raise CommandError(f"pg_restore failed: {result.stderr.strip()}")
            with psycopg.connect(into) as conn, conn.cursor() as cursor:
                manifest = manifest_of(cursor)
        else:
            target = Path(into)
            if target.exists():
                raise CommandError(f"{target} exists: restore into a new file (then move it into place with Ringback stopped).")
            shutil.copyfile(source, target)
            with sqlite3.connect(target) as conn:
                manifest = manifest_of(conn.cursor())
        self.stdout.write(f"Restored {source} into {into}: {manifest}")
