"""Texts of number checks sent before codes were masked held the code in plain text ("… your code is 496671"), and so
did the history line of each one sent: mask them, as new ones are ("… your code is ••••••")."""

import re

from django.db import migrations

MASK = "••••••"
CODE = re.compile(r"(?<!\d)\d{6}(?!\d)")


def mask_codes(apps, schema_editor):
    TextMessage = apps.get_model("callbacks", "TextMessage")
    HistoryEvent = apps.get_model("callbacks", "HistoryEvent")
    texts = TextMessage.objects.filter(kind="code", direction="out")
    for text in texts.only("pk", "body").iterator():
        TextMessage.objects.filter(pk=text.pk).update(body=CODE.sub(MASK, text.body))
    keys = [f"sms:{pk}" for pk in texts.values_list("pk", flat=True)]
    if not keys:
        return
    # The history is append-only: on PostgreSQL its trigger refuses every UPDATE of a message. This one-off masking
    # of secrets lifts it for this migration's transaction only (ALTER TABLE is transactional; the trigger is back
    # at commit, or at once if anything fails).
    postgresql = schema_editor.connection.vendor == "postgresql"
    if postgresql:
        schema_editor.execute("ALTER TABLE callbacks_historyevent DISABLE TRIGGER history_append_only")
    for start in range(0, len(keys), 500):
        for event in HistoryEvent.objects.filter(data__effect__in=keys[start : start + 500]).only("pk", "message"):
            # "Text sent to +33…: Sales: your code is 496671. …": the number before the colon stays.
            head, colon, said = event.message.partition(": ")
            HistoryEvent.objects.filter(pk=event.pk).update(message=head + colon + CODE.sub(MASK, said))
    if postgresql:
        schema_editor.execute("ALTER TABLE callbacks_historyevent ENABLE TRIGGER history_append_only")


class Migration(migrations.Migration):
    dependencies = [("callbacks", "0041_analytics")]

    operations = [migrations.RunPython(mask_codes, migrations.RunPython.noop)]
