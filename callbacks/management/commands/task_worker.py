"""Run the durable side effects: django-tasks-db's `db_worker`, which outlives a database outage.

`db_worker` exits at the first error reaching the database (PostgreSQL restarting, failing over, a network
cut). This command runs it again after a back-off (0.5 s doubling to 10 s), so a blip does not need a process
supervisor to bring the side effects back. A task that was running when the database went away is retried by
the effects' lease (`lifecycle.effects`). Arguments are db_worker's:

    python manage.py task_worker --queue-name '*' --interval 0.1 -v0
"""

import time

from django.db import InterfaceError, OperationalError, connections
from django_tasks_db.management.commands.db_worker import Command as DbWorker

FIRST_BACKOFF, MAX_BACKOFF = 0.5, 10.0


class Command(DbWorker):
    help = "Run the task worker (durable side effects), and start it again after a database outage."

    def handle(self, *args, **options):
        backoff = FIRST_BACKOFF
        while True:
            started = time.monotonic()
            try:
                return super().handle(*args, **options)
            except (OperationalError, InterfaceError) as exc:
                if time.monotonic() - started > 60:
                    backoff = FIRST_BACKOFF  # it had been working: a new outage starts from the short wait
                self.stderr.write(f"database unreachable ({type(exc).__name__}): the task worker starts again in {backoff:g} s")
                connections.close_all()
                time.sleep(backoff)
                backoff = min(MAX_BACKOFF, backoff * 2)
