"""Channels as data (`callbacks.channels`): the registry decides which channels exist and what each has, and the
channels an agent works are rows (their status row per channel), set in admin."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from callbacks import channels, lifecycle
from callbacks.enums import AgentStatus, Channel, OfferOutcome
from callbacks.errors import DomainError
from callbacks.models import AgentChannelStatus, Offer

from .factories import make_callback, set_ready

HTMX = {"HTTP_HX_REQUEST": "true"}
ROUTED = [c for c in channels.CHANNELS if c.routed and c.ready_state]


def test_the_channel_choices_are_the_registrys_routed_channels():
    assert Channel.values == [c.key for c in ROUTED]
    assert Channel.VOICE == "voice" and Channel.WEB_CALLBACK == "web_callback"
    assert channels.spec("web_callback").preview and channels.spec("voice").dials
    assert not channels.spec("email").routed, "e-mail is written from a window, never offered"


@pytest.fixture
def admin_client(client, transactional_db):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-Ringback-1")
    client.force_login(admin)
    return client


@pytest.mark.parametrize("spec", ROUTED, ids=lambda c: c.key)
def test_each_registry_channel_appears_in_the_workspace_the_board_and_the_reports(admin_client, client, alice, spec):
    label = spec.label
    lifecycle.do_set_status(user=alice.user, channel=spec.key, status=AgentStatus.READY)
    board = admin_client.get(reverse("board")).content.decode()
    assert f'<span class="chip-ch">{label}</span>' in board
    reports = admin_client.get(reverse("reports")).content.decode()
    assert f"<td>{label}</td>" in reports
    client.force_login(alice.user)
    desk = client.get("/").content.decode()
    assert f'value="{spec.key}"' in desk and label in desk


def test_an_agent_no_longer_working_a_channel_is_logged_out_of_it_and_its_offer_goes_back(admin_client, alice, queue):
    set_ready(alice, Channel.WEB_CALLBACK)
    callback = make_callback(queue, channel=Channel.WEB_CALLBACK)
    assert Offer.objects.filter(callback=callback, agent=alice, outcome=OfferOutcome.OPEN).exists()
    form = {
        "user": alice.user_id,
        "display_name": alice.display_name,
        "timezone": alice.timezone,
        "language": "",
        "queues": [queue.pk],
        "channels_worked": [Channel.VOICE],
        "statuses-TOTAL_FORMS": "0",
        "statuses-INITIAL_FORMS": "0",
    }
    r = admin_client.post(reverse("admin:callbacks_agent_change", args=[alice.pk]), form)
    assert r.status_code == 302, r.content.decode()[:2000]
    row = AgentChannelStatus.objects.get(agent=alice, channel=Channel.WEB_CALLBACK)
    assert (row.enabled, row.status) == (False, AgentStatus.LOGGED_OUT)
    assert not Offer.objects.filter(callback=callback, agent=alice, outcome=OfferOutcome.OPEN).exists()
    assert alice.enabled_channels() == [Channel.VOICE]
    with pytest.raises(DomainError, match="not enabled for you"):
        lifecycle.do_set_status(user=alice.user, channel=Channel.WEB_CALLBACK, status=AgentStatus.READY)
    changelist = admin_client.get(reverse("admin:callbacks_agent_changelist")).content.decode()
    assert '<td class="field-channels">Voice</td>' in changelist
    listed = admin_client.get(reverse("admin:callbacks_agent_changelist"), {"works": "web_callback"}).content.decode()
    assert alice.display_name not in listed


def test_a_channel_the_agent_does_not_work_is_refused_on_the_desk_with_a_message(client, alice):
    lifecycle.do_set_channels_worked(agent_id=alice.pk, channels=[Channel.VOICE], actor=None)
    client.force_login(alice.user)
    r = client.post(reverse("set_status"), {"channel": "web_callback", "status": "ready"}, **HTMX)
    assert r.status_code == 400 and "not enabled for you" in r.content.decode()
    r = client.post(reverse("set_status"), {"channel": "sms", "status": "ready"}, **HTMX)
    assert r.status_code == 400
    assert not AgentChannelStatus.objects.filter(agent=alice, channel="sms").exists()
