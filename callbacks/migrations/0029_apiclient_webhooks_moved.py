"""The webhook fields of API clients, moved to their subscriptions by 0028 (a migration of its own, so that
PostgreSQL alters the table after the rows moved, not in the same transaction)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("callbacks", "0028_webhook_subscriptions"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="apiclient",
            name="webhook_cursor",
        ),
        migrations.RemoveField(
            model_name="apiclient",
            name="webhook_secret",
        ),
        migrations.RemoveField(
            model_name="apiclient",
            name="webhook_url",
        ),
    ]
