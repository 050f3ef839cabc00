"""`verify_action`, after Zulip's: what an action pushes to each agent, applied to the page they had, equals a fresh render.

Each agent listens on their real channel-layer group, as their browser's
consumer does. After the action, the regions each event names (the
consumer's own `regions_for`) are rendered by the consumer's own renderer, laid
over the regions the page showed before, and compared with a fresh render of
the whole page. A region that changed without a push, or a push that shows
something else than the truth, fails the check. Time stands still meanwhile,
so timers and countdowns read the same in both renders.
"""

from __future__ import annotations

import asyncio
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
from callbacks.push import agent_group, regions_for
from callbacks.views.render import render_regions

PAGE_REGIONS = ("status", "notifications", "interaction", "emails")


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

    def events(self) -> dict[int, list[str]]:
        async def drain():
            out: dict[int, list[str]] = {}
            for agent_id, name in self.channels.items():
                out[agent_id] = []
                while True:
                    try:
                        message = await asyncio.wait_for(self.layer.receive(name), timeout=QUIET)
                    except TimeoutError:
                        break
                    out[agent_id].extend(message["events"])
            return out

        return async_to_sync(drain)()


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
        events = listener.events()
        pushed: dict[int, set[str]] = {}
        for agent in agents:
            names = set(regions_for({"events": events[agent.pk]}))  # the consumer's own mapping
            pushed[agent.pk] = names
            shown = dict(before[agent.pk])
            fresh_agent = Agent.objects.get(pk=agent.pk)
            for name in names:
                pushed_html = render_regions(fresh_agent, [name])  # what the consumer sends on that event
                if pushed_html != before[agent.pk][name]:
                    # The page skips a pushed region whose data-version it already shows.
                    assert _version(pushed_html) != _version(before[agent.pk][name]), (
                        f"{agent}: region “{name}” changed but kept its data-version, so the page would skip it"
                    )
                    shown[name] = pushed_html
            after = page_of(agent)
            for name in PAGE_REGIONS:
                assert shown[name] == after[name], (
                    f"{agent}: region “{name}” {'was pushed but differs from' if name in names else 'changed without a push; it differs from'} a fresh render"
                )
    verify_action.result = result
    return pushed
