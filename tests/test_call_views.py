"""Call handling through the pages: each action over HTTP, bad input as a clear 4xx."""

import pytest
from django.urls import reverse
from django.utils import timezone

from callbacks.enums import HistoryKind
from callbacks.models import Call, FavoriteTarget, HistoryEvent, RoutingPoint
from callbacks.telephony.simulator.models import SimCall

from .factories import worker

HTMX = {"HTTP_HX_REQUEST": "true"}


def post(client, name, ix, data=None):
    return client.post(reverse(name, args=[ix]), data or {}, **HTMX)


def test_call_then_customer_answers_shows_connected_with_timers(client, live):
    assert post(client, "call", live).status_code == 204
    html = client.get("/").content.decode()
    assert 'data-testid="call-status">Dialing<' in html
    worker()  # the worker tells the switch
    sim = SimCall.objects.get()
    client.post(reverse("sim_phone_act", args=[sim.token, "answer"]))
    html = client.get("/").content.decode()
    assert 'data-testid="call-status">Connected<' in html
    assert "Talk <span" in html and ">Hold<" in html and "Instant Call Transfer" in html


@pytest.mark.parametrize(
    ("name", "data", "status", "text"),
    [
        ("send_dtmf", {"digits": "12"}, 409, "DTMF needs a connected call"),
        ("send_dtmf", {"digits": "12x"}, 400, "DTMF digits are"),
        ("hold_call", {}, 409, "Only a connected call"),
        ("add_note", {"text": ""}, 400, "text"),
        ("set_disposition", {"disposition": "abc"}, 400, "disposition"),
        ("reschedule", {"when": "not-a-date"}, 400, "when"),
        ("reschedule", {"when": "2020-01-01T10:00"}, 400, "future"),
        ("open_email", {"to": "x@example.com"}, 400, "e-mail addresses"),
        ("open_email", {"to": "not an address"}, 400, "not an e-mail address"),
    ],
)
def test_bad_or_untimely_input_is_a_clear_4xx(client, live, name, data, status, text):
    response = post(client, name, live, data)
    assert response.status_code == status
    assert text in response.content.decode()


def test_unknown_team_mode_is_a_404(client, live):
    assert client.post(f"/interactions/{live}/teleport/", {"target": "queue:1"}, **HTMX).status_code == 404


def test_dtmf_over_http_reaches_the_history(client, live):
    post(client, "call", live)
    worker()  # the worker tells the switch
    sim = SimCall.objects.get()
    client.post(reverse("sim_phone_act", args=[sim.token, "answer"]))
    assert post(client, "send_dtmf", live, {"digits": "123"}).status_code == 204
    html = client.get("/").content.decode()
    assert "DTMF sent: 123" in html


def test_the_team_communicators_lists_are_headings_one_level_under_it(client, live, alice):
    """axe's heading-order: Favourites and Recent sit under the Team Communicator's h2, so they are h3, never h4."""
    HistoryEvent.objects.create(
        kind=HistoryKind.TRANSFER, agent=alice, message="Transfer", data={"target": "number:+33612000099"}, at=timezone.now()
    )
    FavoriteTarget.objects.create(agent=alice, target="number:+33612000098", label="Desk")
    html = client.get(reverse("team")).content.decode()
    assert '<h3 class="team-list">Favourites</h3>' in html and '<h3 class="team-list">Recent</h3>' in html
    assert "<h4" not in html


def test_double_click_on_call_dials_once(client, live):
    first = post(client, "call", live)
    second = post(client, "call", live)
    assert (first.status_code, second.status_code) == (204, 409)
    assert Call.objects.count() == 1


def test_team_communicator_finds_agents_queues_routing_points_and_contacts(client, live, bob, queue):
    RoutingPoint.objects.create(name="Billing overflow", number="+33140000000", queue=queue)
    html = client.get(reverse("team"), {"q": "bo"}).content.decode()
    assert "Bob" in html and "Logged Out" in html
    html = client.get(reverse("team"), {"q": "bill"}).content.decode()
    assert "Billing" in html and "Billing overflow" in html
    html = client.get(reverse("team"), {"q": "Camille"}).content.decode()
    assert "Camille Laurent" in html


def test_favourites_and_recent_targets(client, live, bob, alice):
    client.post(reverse("toggle_favorite"), {"target": f"agent:{bob.pk}"})
    assert FavoriteTarget.objects.get(agent=alice).label == "Bob"
    html = client.get(reverse("team")).content.decode()
    assert "Favourites" in html and "Remove Bob from favourites" in html
    client.post(reverse("toggle_favorite"), {"target": f"agent:{bob.pk}"})
    assert not FavoriteTarget.objects.exists()
    assert client.post(reverse("toggle_favorite"), {"target": "agent:99999"}).status_code == 400


def test_customer_phone_page(client, live):
    post(client, "call", live)
    worker()  # the worker tells the switch
    sim = SimCall.objects.get()
    html = client.get(reverse("sim_phone", args=[sim.token])).content.decode()
    assert "Ringing…" in html and ">Answer<" in html
    assert client.get(reverse("sim_phone", args=["nope"])).status_code == 404
    client.post(reverse("sim_phone_act", args=[sim.token, "answer"]))
    assert client.post(reverse("sim_phone_act", args=[sim.token, "keys"]), {"digits": "12ab"}).status_code == 400
    assert client.post(reverse("sim_phone_act", args=[sim.token, "explode"])).status_code == 404
