# Recordings' retention joins the other retention settings: a queue's "keep recordings for (days)" becomes its
# retention policy's, where it differed from the 90 days that now apply wherever nothing is set.

import django.core.validators
from django.db import migrations, models

DEFAULT_DAYS = 90


def to_policies(apps, schema_editor):
    Queue = apps.get_model("callbacks", "Queue")
    RetentionPolicy = apps.get_model("callbacks", "RetentionPolicy")
    for queue in Queue.objects.exclude(recording_retention_days=DEFAULT_DAYS):
        RetentionPolicy.objects.update_or_create(queue=queue, defaults={"recordings_days": queue.recording_retention_days})


def to_queues(apps, schema_editor):
    Queue = apps.get_model("callbacks", "Queue")
    RetentionPolicy = apps.get_model("callbacks", "RetentionPolicy")
    for policy in RetentionPolicy.objects.filter(queue__isnull=False, recordings_days__isnull=False):
        Queue.objects.filter(pk=policy.queue_id).update(recording_retention_days=policy.recordings_days)


class Migration(migrations.Migration):

    dependencies = [
        ('callbacks', '0039_privacy_retention'),
    ]

    operations = [
        migrations.AddField(
            model_name='retentionpolicy',
            name='recordings_days',
            field=models.PositiveIntegerField(blank=True, help_text='Days after the call ended: the audio is deleted. Empty: the global setting (empty there too: 90 days).', null=True, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(3650)], verbose_name='keep recordings for (days)'),
        ),
        migrations.RunPython(to_policies, to_queues),
        migrations.RemoveField(
            model_name='queue',
            name='recording_retention_days',
        ),
    ]
