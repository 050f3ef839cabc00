"""Configuration every process keeps (callbacks/configuration.py): read once, and read again as soon as anyone
changes it, here or in another process (a server a test started shares the version, not the memory)."""

import os
import subprocess
import sys

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from callbacks import configuration, lifecycle
from callbacks.models import Agent, DispositionCode, PreviewField

from .factories import database_url
from .servers import ROOT


def test_the_configuration_is_read_once_then_kept(queue):
    PreviewField.objects.create(key="account", label="Account", section="notification")
    configuration.preview_fields()
    with CaptureQueriesContext(connection) as captured:
        assert [f.key for f in configuration.preview_fields()] == ["account"]
        configuration.preview_fields()
    assert len(captured.captured_queries) == 0


def test_a_field_an_admin_adds_shows_at_once(queue):
    assert configuration.preview_fields() == []
    PreviewField.objects.create(key="account", label="Account", section="notification")
    assert [f.key for f in configuration.preview_fields()] == ["account"]
    DispositionCode.objects.create(label="Sold", queue=queue)
    assert [c.label for c in configuration.disposition_codes()] == ["Sold"]


def test_a_change_is_forgotten_only_once_it_commits(queue):
    """Forgetting inside the transaction would let a render keep the old rows under the new version."""
    assert configuration.preview_fields() == []
    before = configuration.version()
    with transaction.atomic():
        PreviewField.objects.create(key="account", label="Account", section="notification")
        assert configuration.version() == before, "not while the change is invisible to others"
    assert configuration.version() != before, "the version moves at the commit"
    assert [f.key for f in configuration.preview_fields()] == ["account"]


def test_an_agents_profile_is_kept_until_it_changes(alice):
    assert configuration.agent_profile(alice.pk).timezone == "Europe/Paris"
    alice.timezone = "America/New_York"
    alice.save()
    assert configuration.agent_profile(alice.pk).timezone == "America/New_York"
    lifecycle.do_set_language(user=alice.user, language="fr")  # a queryset update: no signal, forgotten by the action
    assert configuration.agent_profile(alice.pk).language == "fr"


def test_another_process_sees_the_change(queue, alice):
    """A change made by another process (an admin's, a test's) moves the version this process compares with."""
    configuration.agent_profile(alice.pk)
    script = (
        "import django; django.setup(); from callbacks.models import Agent; "
        f"a = Agent.objects.get(pk={alice.pk}); a.display_name = 'Alice M.'; a.save()"
    )
    env = {**os.environ, "DATABASE_URL": database_url()}
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True)
    assert configuration.agent_profile(alice.pk).display_name == "Alice M."
    assert Agent.objects.get(pk=alice.pk).display_name == "Alice M."
