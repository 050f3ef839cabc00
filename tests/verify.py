"""`verify_action`, after Zulip's: what an action pushes to each agent, applied to the page they had, equals a fresh render.

Each agent listens on their real channel-layer group, as their browser's
consumer does. After the action, each message is rendered by the consumer's
own renderer (`render_push`) and laid over the regions the page showed
before, as the page's htmx does: a region replaces the region (unless it
kept its data-version), an offer's card pushed alone is added to the offer
list or removed from it (and the notifications' version is dropped, as
static/js/workspace.js does). The result is compared with a fresh render of
the whole page. A region that changed without a push, or a push that shows
something else than the truth, fails the check. Time stands still meanwhile,
so timers and countdowns read the same in both renders.
"""

from __future__ import annotations

import asyncio
import difflib
import os
import re
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

import time_machine
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from callbacks.models import Agent
from callbacks.push import INSIDE, agent_group, regions_for
from callbacks.views.render import render_push, render_regions

PAGE_REGIONS = ("status", "notifications", "interaction", "emails", "texts")


def _version(html: str) -> str | None:
    found = re.search(r'data-version="([^"]*)"', html)
    return found.group(1) if found else None


def page_of(agent: Agent) -> dict[str, str]:
    """The regions of the agent's workspace as a fresh page shows them."""
    agent = Agent.objects.get(pk=agent.pk)
    return {name: render_regions(agent, [name]) for name in PAGE_REGIONS}


# How long a channel must stay quiet to count as drained: Redis delivers a push committed a moment ago a little later
# than the in-memory layer does, and more so on a busy machine.
QUIET = 0.3 if os.environ.get("REDIS_URL") else 0.05


class Listener:
    def __init__(self, agents: list[Agent]):
        self.layer = get_channel_layer()
        self.channels: dict[int, str] = {}
        for agent in agents:
            name = async_to_sync(self.layer.new_channel)()
            async_to_sync(self.layer.group_add)(agent_group(agent.pk), name)
            self.channels[agent.pk] = name

    def messages(self) -> dict[int, list[dict]]:
        async def drain():
            out: dict[int, list[dict]] = {}
            for agent_id, name in self.channels.items():
                out[agent_id] = []
                while True:
                    try:
                        message = await asyncio.wait_for(self.layer.receive(name), timeout=QUIET)
                    except TimeoutError:
                        break
                    out[agent_id].append(message)
            return out

        return async_to_sync(drain)()


OFFER_LIST = re.compile(r'(<div id="offer-list" class="offer-list">)((?:<section id="offer-\d+".*?</section>\s*)*)(</div>)', re.S)
CARD_ADDED = re.compile(r'<div hx-swap-oob="beforeend:#offer-list">(.*?</section>\s*)</div>', re.S)
CARD_REMOVED = re.compile(r'<div id="offer-(\d+)" hx-swap-oob="delete"></div>')
VERSION = re.compile(r' data-version="[^"]*"')
PART = {
    "notices": re.compile(r'<div id="notices" class="notices">.*?</div>', re.S),
    "quiet": re.compile(r'<p id="quiet" class="quiet">.*?</p>', re.S),
}


def apply_cards(region: str, frame: str) -> str:
    """The notifications region after the frame's cards: added at the end of the offer list, or removed."""
    found = OFFER_LIST.search(region)
    assert found, "the notifications region has no offer list"
    cards = found.group(2)
    for card in CARD_ADDED.findall(frame):
        if re.match(r'<section id="offer-\d+"', card).group(0) not in cards:  # the page adds a card it lacks only
            cards += card
    for offer_id in CARD_REMOVED.findall(frame):
        cards = re.sub(rf'<section id="offer-{offer_id}".*?</section>\s*', "", cards, flags=re.S)
    return VERSION.sub("", region[: found.start(2)] + cards + region[found.end(2) :], count=1)


WINDOW_ADDED = re.compile(
    r'<div hx-swap-oob="beforeend:#interaction">(\s*<article id="window-(\d+)".*?</article>\s*)</div>', re.S
)
WINDOW_REMOVED = re.compile(r'<div id="window-(\d+)" hx-swap-oob="delete"></div>')


def apply_windows(region: str, frame: str) -> str:
    """The interaction region after the frame's windows: added as its last child (the page adds a window it lacks
    only), or removed. The region's version is dropped, as the page drops it; white space between tags too."""
    for window, window_id in WINDOW_ADDED.findall(frame):
        if f'<article id="window-{window_id}"' not in region:
            end = list(re.finditer(r"\s*</section>", region))[-1].start()  # the region's own end tag
            region = region[:end] + window + region[end:]
    for window_id in WINDOW_REMOVED.findall(frame):
        region = re.sub(rf'<article id="window-{window_id}".*?</article>', "", region, flags=re.S)
    return between_tags(VERSION.sub("", region, count=1))


def between_tags(html: str) -> str:
    """The same markup without the white space between tags (what a window added or removed alone leaves around
    it differs from a fresh render only there: text nodes of white space, shown as nothing)."""
    return re.sub(r">\s+<", "><", html)


@contextmanager
def frozen():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def verify_action(agents: list[Agent], fn: Callable[[], Any]) -> dict[int, set[str]]:
    """Run `fn` and check every agent's page: old page + pushed regions == fresh page. Returns the regions pushed."""
    with frozen():
        before = {a.pk: page_of(a) for a in agents}
        listener = Listener(agents)
        result = fn()
        messages = listener.messages()
        pushed: dict[int, set[str]] = {}
        for agent in agents:
            pushed[agent.pk] = set()
            shown = dict(before[agent.pk])
            fresh_agent = Agent.objects.get(pk=agent.pk)
            carded = False
            windowed = False
            names: list[str] = []
            for message in messages[agent.pk]:
                names = regions_for(message)  # the consumer's own mapping
                pushed[agent.pk].update(names)
                for name in names:
                    pushed_html = render_regions(fresh_agent, [name])  # what the consumer sends on that event
                    if name in INSIDE:  # a part of a region, swapped into it (htmx drops the swap attribute)
                        outer = INSIDE[name]
                        part = pushed_html.split('<span id="synced"')[0].replace(' hx-swap-oob="true"', "", 1).strip()
                        shown[outer] = VERSION.sub("", PART[name].sub(lambda _, part=part: part, shown[outer], count=1), count=1)
                        carded = True
                        continue
                    if pushed_html != shown[name]:
                        # The page skips a pushed region whose data-version it already shows.
                        assert _version(pushed_html) is None or _version(pushed_html) != _version(shown[name]), (
                            f"{agent}: region “{name}” changed but kept its data-version, so the page would skip it"
                        )
                        shown[name] = pushed_html
                        carded = carded and name != "notifications"
                        windowed = windowed and name != "interaction"
                frame = render_push(fresh_agent, message)
                if CARD_ADDED.search(frame) or CARD_REMOVED.search(frame):
                    pushed[agent.pk].add("offer cards")
                    shown["notifications"] = apply_cards(shown["notifications"], frame)
                    carded = True
                if WINDOW_ADDED.search(frame) or WINDOW_REMOVED.search(frame):
                    pushed[agent.pk].add("interaction windows")
                    shown["interaction"] = apply_windows(shown["interaction"], frame)
                    windowed = True
                notices = PART["notices"].search(frame.replace(' hx-swap-oob="true"', "", 1))
                if notices and "notifications" not in names:  # the notices an opened window ends, pushed alone
                    shown["notifications"] = VERSION.sub(
                        "",
                        PART["notices"].sub(lambda _, notices=notices: notices.group(0), shown["notifications"], count=1),
                        count=1,
                    )
                    carded = True
            after = page_of(agent)
            if carded:
                after["notifications"] = VERSION.sub("", after["notifications"], count=1)
            if windowed:
                after["interaction"] = between_tags(VERSION.sub("", after["interaction"], count=1))
            for name in PAGE_REGIONS:
                assert shown[name] == after[name], (
                    f"{agent}: region “{name}” {'was pushed but differs from' if name in names else 'changed without a push; it differs from'} a fresh render:\n"
                    + "\n".join(
                        difflib.unified_diff(
                            shown[name].splitlines(), after[name].splitlines(), "page", "fresh", lineterm="", n=1
                        )
                    )
                )
    verify_action.result = result
    return pushed
