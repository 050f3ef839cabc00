"""The channels an agent works become rows: each agent's status row per channel says whether they work it
(`AgentChannelStatus.enabled`), instead of a boolean column per channel on Agent (`callbacks.channels`)."""

from django.db import migrations, models
from django.utils import timezone

FORMER_COLUMNS = {"voice": "voice_enabled", "web_callback": "web_callback_enabled"}


def columns_to_rows(apps, schema_editor):
    Agent = apps.get_model("callbacks", "Agent")
    Status = apps.get_model("callbacks", "AgentChannelStatus")
    now = timezone.now()
    for channel, column in FORMER_COLUMNS.items():
        for agent_id in Agent.objects.filter(**{column: False}).values_list("pk", flat=True):
            row, _ = Status.objects.get_or_create(agent_id=agent_id, channel=channel, defaults={"since": now})
            row.enabled = False
            row.status = "logged_out"
            row.save(update_fields=["enabled", "status"])


def rows_to_columns(apps, schema_editor):
    Agent = apps.get_model("callbacks", "Agent")
    Status = apps.get_model("callbacks", "AgentChannelStatus")
    for channel, column in FORMER_COLUMNS.items():
        off = Status.objects.filter(channel=channel, enabled=False).values_list("agent_id", flat=True)
        Agent.objects.filter(pk__in=list(off)).update(**{column: False})


class Migration(migrations.Migration):
    dependencies = [
        ("callbacks", "0023_queue_caller_id"),
    ]

    operations = [
        migrations.AddField(
            model_name="agentchannelstatus",
            name="enabled",
            field=models.BooleanField(default=True, verbose_name="works this channel"),
        ),
        migrations.RunPython(columns_to_rows, rows_to_columns),
        migrations.RemoveField(model_name="agent", name="voice_enabled"),
        migrations.RemoveField(model_name="agent", name="web_callback_enabled"),
    ]
