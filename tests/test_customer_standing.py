"""Where a customer's callback stands on their own page (issue #29, item 5): their place in line and an honest
estimate while it waits, the booked time when scheduled, refreshed by polling with an entity tag (304 when nothing
they see changed), and no more polling once the request is closed."""

import html
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone, translation

from callbacks import lifecycle, links
from callbacks.enums import CallbackType
from callbacks.presenters.standing import wait_words

from .factories import make_agent, make_callback, make_queue, numbers

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def line():
    queue = make_queue("billing", name="Billing")
    make_agent("alice", queue)
    return [make_callback(queue, phone) for phone in numbers(3)]


def standing_url(callback) -> str:
    return f"/my/{links.manage_token(callback.reference)}/standing/"


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())).strip()


def test_the_page_says_the_place_in_line_and_a_range_not_a_promise(client, line):
    page = client.get(f"/my/{links.manage_token(line[2].reference)}/")
    assert page.status_code == 200
    words = text(page)
    assert "You are number 3 in line." in words
    assert re.search(r"Estimated wait: (about \d+ to \d+ minutes|in the next few minutes|not before \d\d:\d\d)", words)
    assert "An estimate, not a promise" in words
    assert "You are next in line." in text(client.get(f"/my/{links.manage_token(line[0].reference)}/"))


def test_a_poll_is_304_until_what_the_customer_sees_changes(client, line, django_assert_max_num_queries):
    url = standing_url(line[2])
    first = client.get(url)
    assert first.status_code == 200 and first["Cache-Control"] == "private, no-cache"
    tag = first["ETag"]
    assert (
        "You are number 3 in line." in text(first) and f'data-etag="{tag.replace(chr(34), "&quot;")}"' in first.content.decode()
    )
    with django_assert_max_num_queries(8):  # the callback, the agents staffed, the line ahead, recent handling, the calendar
        again = client.get(url, HTTP_IF_NONE_MATCH=tag)
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == tag
    assert client.get(url, HTTP_IF_NONE_MATCH=f'"other", {tag}').status_code == 304, "a list of tags"

    lifecycle.do_cancel_callback(reference=line[0].reference, reason="The customer called in")
    moved = client.get(url, HTTP_IF_NONE_MATCH=tag)
    assert moved.status_code == 200 and moved["ETag"] != tag
    assert "You are number 2 in line." in text(moved)


def test_a_scheduled_callback_shows_its_booked_time_and_a_closed_one_stops_the_polling(client, line):
    queue = line[0].queue
    when = (timezone.now() + timedelta(days=1)).replace(hour=10, minute=30, second=0, microsecond=0)
    booked = make_callback(queue, "+33698765432", type=CallbackType.SCHEDULED, desired_time=when)
    words = text(client.get(standing_url(booked)))
    assert "Booked" in words and f"{when.astimezone(booked.customer_zone):%H:%M}" in words
    assert "in line" not in words and "Estimated wait" not in words

    lifecycle.do_cancel_callback(reference=booked.reference, reason="No longer needed")
    closed = client.get(standing_url(booked)).content.decode()
    assert "Cancelled" in closed and "data-standing" not in closed, "a final state: the page stops asking"


def test_a_wrong_link_is_404_and_only_get_is_answered(client, line):
    token = links.manage_token(line[0].reference)
    assert client.get(f"/my/{token}x/standing/").status_code == 404
    assert client.get("/my/not-a-token/standing/").status_code == 404
    assert client.post(standing_url(line[0])).status_code == 405


def test_the_standing_is_in_the_customers_language(client, line):
    client.cookies["django_language"] = "fr"
    words = text(client.get(standing_url(line[1]), HTTP_ACCEPT_LANGUAGE="fr"))
    assert "Vous êtes le numéro 2 dans la file." in words, words


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (None, ""),
        (0, "in the next few minutes"),
        (119, "in the next few minutes"),
        (600, "about 5 to 15 minutes"),
        (1800, "about 20 to 40 minutes"),
        (5400, "about 70 to 120 minutes"),
    ],
)
def test_an_estimate_is_a_range_on_a_five_minute_grid(seconds, expected):
    now = timezone.now()
    with translation.override("en"):
        assert wait_words(seconds, now, PARIS) == expected


def test_a_long_wait_gives_only_the_earliest_time():
    now = timezone.make_aware(timezone.datetime(2026, 12, 7, 9, 0), PARIS)
    with translation.override("en"):
        assert wait_words(4 * 3600, now, PARIS) == "not before 12:12"  # 80 % of four hours from 9:00


def test_wrong_links_count_against_the_address_then_it_waits(client, line, settings):
    settings.RINGBACK_BAD_TOKEN_LIMIT = 3
    for attempt in range(3):
        assert client.get(f"/my/forged-{attempt}/standing/").status_code == 404
    refused = client.get(standing_url(line[0]))
    assert refused.status_code == 429 and "Too many wrong links" in refused.content.decode()
    assert client.get("/my/forged/", REMOTE_ADDR="10.0.0.9").status_code == 404, "another address is not held up"
    assert client.get(standing_url(line[0]), REMOTE_ADDR="10.0.0.9").status_code == 200


def test_a_wrong_or_expired_link_says_so_on_the_customers_own_page(client, line, settings):
    """Not Django's bare "Not Found", nor a page pointing to an agent's workspace: the reason, on the customer's
    layout, in their language; and the wait after too many wrong links, the same way."""
    wrong = client.get("/my/forged-token/", HTTP_ACCEPT_LANGUAGE="fr")
    page = html.unescape(wrong.content.decode())
    assert wrong.status_code == 404 and "public.css" in page and "workspace" not in page
    assert "Ce lien n'est pas valide ou a expiré." in page
    settings.RINGBACK_BAD_TOKEN_LIMIT = 1
    waited = client.get(standing_url(line[0]))
    assert waited.status_code == 429 and "public.css" in waited.content.decode()
    assert "Too many wrong links" in waited.content.decode()
    assert client.get("/no-such-page/").status_code == 404, "elsewhere, Django's own page"
