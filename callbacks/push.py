"""The one way Ringback pushes to browsers: events after commit, to small groups, coalesced, never blocking a request.

The channel layer is only a doorbell. A push names what changed; the consumer
renders from it (an offer's card from one read by primary key, a removed
offer's card from nothing) or re-reads the truth of a whole region, so a lost
message costs freshness, never correctness.

Message: {"events": every event rung, "bare": the events rung without an
entity (their regions re-render), "entities": {event: [ids]}}. An event rung
with an entity (`offer.new` with the offer's id) and never bare is rendered
as that entity's partial alone.

The pushes of one transaction are gathered and rung once when it commits: one
message per group, however many changes the action made. After a commit the
events for each agent's group are handed to the server's event loop, which
sends them; the request thread does not wait on the channel layer. Events for
the same group that arrive before the loop sends are merged into one message.
A process without a server loop (the dispatcher, the task worker, tests) sends
at once.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Iterable
from enum import StrEnum

from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from redis.exceptions import RedisError

from .metrics import PUSHES

# Whether this process serves agents' pages. The voice application (`manage.py voice`) serves none: on the embedded
# in-process channel layer its pushes would reach nobody, so it leaves routing (offers are pushes) to the server's
# clock, which routes every queue within a sweep.
SERVES_PAGES = True


def pushes_reach_pages() -> bool:
    """Pushes from this process reach agents' pages: it serves them, or the channel layer is shared (Redis)."""
    return SERVES_PAGES or not settings.CHANNEL_LAYERS["default"]["BACKEND"].endswith("InMemoryChannelLayer")


log = logging.getLogger(__name__)


class Push(StrEnum):
    OFFER_NEW = "offer.new"
    OFFER_ENDED = "offer.ended"
    STATUS_CHANGED = "status.changed"
    INTERACTION_CHANGED = "interaction.changed"
    INTERACTION_OPENED = "interaction.opened"  # Accept: the new window, and the notices it ends (not the other notifications)
    INTERACTION_CLOSED = "interaction.closed"  # Mark Done: the window goes; nothing else on the desk changes
    EMAIL_CHANGED = "email.changed"  # the agent's e-mail interaction windows (a draft opened, sent, delivered …)
    TEXT_CHANGED = "text.changed"  # the agent's text conversation windows (opened, a text sent, a reply, a delivery report)
    SESSION_ENDED = "session.ended"  # the agent logged out or was deactivated, a board's role taken: sockets close at once
    BOARD_CHANGED = "board.changed"  # to supervisors' boards: re-read the figures (coalesced by the board's consumer)


# Events that may name an entity, and the region that shows it: rung with one, they render that entity's partial
# instead of the region (an offer's card, an interaction's window), unless the region re-renders anyway.
ENTITY_REGION: dict[Push, str] = {
    Push.OFFER_NEW: "notifications",
    Push.OFFER_ENDED: "notifications",
    Push.INTERACTION_OPENED: "interaction",  # its window alone, and the notices it ends
    Push.INTERACTION_CLOSED: "interaction",  # its window removed: nothing read
}
ENTITY_EVENTS = frozenset(ENTITY_REGION)
# What kind of entity each names (which id a transition passes with it).
ENTITY_KIND = {event: event.value.split(".")[0] for event in ENTITY_EVENTS}

# Which regions of the agent workspace each event re-renders when rung bare (without an entity).
REGIONS: dict[Push, tuple[str, ...]] = {
    Push.OFFER_NEW: ("notifications",),
    Push.OFFER_ENDED: ("notifications",),
    # The notifications say "Set yourself Ready …" when no channel is Ready (their "quiet" line).
    Push.STATUS_CHANGED: ("status", "quiet"),
    Push.INTERACTION_CHANGED: ("notifications", "interaction"),
    # An interaction opening ends the notices of the last one the system closed ("notices", inside "notifications").
    Push.INTERACTION_OPENED: ("notices", "interaction"),
    Push.INTERACTION_CLOSED: ("interaction",),
    Push.EMAIL_CHANGED: ("emails",),
    Push.TEXT_CHANGED: ("texts",),
}
REGION_ORDER = ("status", "notifications", "notices", "quiet", "interaction", "emails", "texts")
# Regions inside another one: rendered whole, the outer one carries them.
INSIDE = {"notices": "notifications", "quiet": "notifications"}

MESSAGE_TYPE = "ringback.event"


def agent_group(agent_id: int) -> str:
    return f"agent.{agent_id}"


def board_group(queue_id: int) -> str:
    """Boards showing a queue: rung whenever one of its callbacks changes."""
    return f"board.{queue_id}"


# Boards of every queue: rung when an agent's status changes (which queues they work in is the board's to read).
BOARD_AGENTS_GROUP = "board.agents"


def session_group(user_id: int) -> str:
    """A user's open boards: rung when the role a board needs was taken away (their sockets close)."""
    return f"session.{user_id}"


def end_boards_on_commit(user_id: int) -> None:
    """Once the transaction commits, the user's open boards close (the page reloads with what they may see now)."""
    transaction.on_commit(
        lambda: doorbell.ring_changes({session_group(user_id): {Push.SESSION_ENDED.value: {None}}}, record=False)
    )


def board_ring_of(group: str) -> int | None:
    """The queue a board group's ring names (its tile re-renders), or None for the agents' group (the whole board)."""
    return None if group == BOARD_AGENTS_GROUP else int(group.removeprefix("board."))


def _wanted(message: dict) -> tuple[set[str], set[str]]:
    """(the regions the message re-renders, before folding parts into their regions; the events rendered as
    entities). An event that came with its entities only (and never bare) asks for no region, unless the region
    showing its entities re-renders anyway: then it is rendered with it, as if rung bare."""
    events = [Push(e) for e in message.get("events", ())]
    bare = set(message.get("bare", events))  # a message without "bare" (an older process's) re-renders every region
    alone = {e for e in events if e in ENTITY_EVENTS and e not in bare}
    wanted = {region for e in events if e not in alone for region in REGIONS.get(e, ())}
    folded = {e for e in alone if ENTITY_REGION[e] in wanted}
    wanted |= {region for e in folded for region in REGIONS[e]}
    return wanted, alone - folded


def regions_for(message: dict) -> list[str]:
    """The regions a doorbell message asks the consumer to re-render, in page order (`entities_for` says which
    entities' partials it renders besides)."""
    wanted, _ = _wanted(message)
    return [name for name in REGION_ORDER if name in wanted and INSIDE.get(name) not in wanted]


def entities_for(message: dict) -> dict[str, list[int]]:
    """The entities a message names per event, left to render as their own partials: none of an event whose
    region re-renders anyway."""
    _, alone = _wanted(message)
    return {event: ids for event, ids in message.get("entities", {}).items() if ids and event in alone}


# --- What changed when: lets a reconnecting page skip its full render -----------------------------
#
# Every push first records, per agent group, when it happened (in the shared cache), then rings. A page
# knows when what it shows was rendered (`#synced[data-at]`, in the page and in every frame). A socket
# that (re)connects joins the group, then compares: nothing recorded after the page's time means the
# page is current (any later change either is recorded before the consumer reads, or rings after it
# joined). SKEW covers clocks of several hosts; an unknown record (cache restarted) means "render".

SKEW = 2.0
CHANGED_TTL = 24 * 3600


def _changed_key(group: str) -> str:
    return f"rb:changed:{group}"


def record_changes(groups: Iterable[str]) -> None:
    try:
        cache.set_many({_changed_key(g): time.time() for g in groups}, timeout=CHANGED_TTL)
    except Exception:  # the cache is an optimisation: a page that cannot tell renders in full
        log.warning("could not record a change", exc_info=True)


async def changed_since(group: str, since: float) -> bool:
    """Whether the group's pages may have missed something since `since` (True when unsure)."""
    if not math.isfinite(since):
        return True
    try:  # on the thread pool: Django's `cache.aget` would queue on the one thread kept for sync code
        last = await sync_to_async(cache.get, thread_sensitive=False)(_changed_key(group))
    except Exception:
        return True
    return last is None or last >= since - SKEW


def push_on_commit(event: Push, *, agent_ids: Iterable[int], entity: int | None = None) -> None:
    """Ring the agents' groups with `event` once the transaction commits (nothing if it rolls back). `entity` names
    what changed (an offer's id, for the offer events), so the page gets that partial alone.

    Every push of the transaction is gathered into one ring at its commit (an action that changes a callback, its
    interaction and the agent's idle time sends one message per agent, not three)."""
    groups = [agent_group(a) for a in agent_ids]
    if not groups:
        return
    batch = _transaction_batch()
    if batch is None:  # autocommit: nothing to wait for
        doorbell.ring_changes({g: {event.value: {entity}} for g in groups})
        return
    for group in groups:
        batch.setdefault(group, {}).setdefault(event.value, set()).add(entity)


class _Batch(dict):
    """The pushes of one transaction, per group: {group: {event: {entity or None}}}; rung once at its commit."""

    def __call__(self) -> None:
        doorbell.ring_changes(self)


def _transaction_batch() -> _Batch | None:
    """This transaction's batch, registered with `on_commit` on first use; None outside a transaction. A batch whose
    callback Django dropped (a rollback) is not reused: the next push starts a new one."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        return None
    batch = getattr(connection, "ringback_batch", None)
    if batch is not None and any(func is batch for _, func, _ in connection.run_on_commit):
        return batch
    batch = connection.ringback_batch = _Batch()
    transaction.on_commit(batch)
    return batch


def push_board_on_commit(queue_ids: Iterable[int] = (), *, agents: bool = False) -> None:
    """Ring the boards of these queues (and every board, for an agent's status) once the transaction commits."""
    groups = [board_group(q) for q in queue_ids] + ([BOARD_AGENTS_GROUP] if agents else [])
    if groups:
        transaction.on_commit(lambda: board_bell.ring(groups))


# Boards are rung at most once per interval per process and group (a trailing ring carries the rest): at 50 callbacks
# a second a queue's transitions would otherwise cost the channel layer ~150 sends a second for pages that
# re-render once a second anyway (RINGBACK_BOARD_REFRESH_SECONDS).
BOARD_RING_INTERVAL = 0.25


class BoardBell:
    def __init__(self) -> None:
        self.pending: set[str] = set()
        self.scheduled = False
        self.lock = threading.Lock()

    def ring(self, groups: list[str]) -> None:
        with self.lock:
            self.pending.update(groups)
            if self.scheduled:
                return
            self.scheduled = True
        loop = doorbell.loop
        try:
            if loop is not None and loop.is_running():
                loop.call_soon_threadsafe(loop.call_later, BOARD_RING_INTERVAL, self._fire)
                return
        except Exception:  # the loop is closing: ring at once instead
            log.warning("board push could not be scheduled", exc_info=True)
        self._fire()

    def _fire(self) -> None:
        with self.lock:
            groups, self.pending, self.scheduled = sorted(self.pending), set(), False
        if groups:  # each ring names its queue, so a board re-renders that queue's tile alone
            event = Push.BOARD_CHANGED.value
            doorbell.ring_changes({g: {event: {board_ring_of(g)}} for g in groups}, record=False)


board_bell = BoardBell()


class Doorbell:
    """Gathers (group, event) pairs and sends one message per group from the server's event loop."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.loop_thread: int | None = None
        self.pending: dict[str, dict[str, set[int | None]]] = {}
        self.scheduled = False
        self.lock = threading.Lock()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The server's event loop: pushes are sent from it."""
        self.loop = loop

    def ring(self, groups: list[str], event: str, *, record: bool = True) -> None:
        self.ring_changes({g: {event: {None}} for g in groups}, record=record)

    def ring_changes(self, changes: dict[str, dict[str, set[int | None]]], *, record: bool = True) -> None:
        """{group: {event: {entity id, or None for the event rung bare}}}, merged into what waits to be sent."""
        if record:  # agents' pages only: a board re-reads everything on connect anyway
            record_changes(changes)  # before the message: see "What changed when" above
        with self.lock:
            for group, events in changes.items():
                pending = self.pending.setdefault(group, {})
                for event, entities in events.items():
                    pending.setdefault(event, set()).update(entities)
            first = not self.scheduled
            self.scheduled = True
        if not first:
            return  # a flush is already on its way and will take these too
        loop = self.loop
        try:
            if loop is not None and loop.is_running():
                loop.call_soon_threadsafe(self._flush_on_loop)
            else:
                self._flush_now()
        except Exception:  # runs after a commit: a lost doorbell is survivable, a 500 is not
            log.exception("push could not be scheduled")
            self._take()

    def _take(self) -> dict[str, dict[str, set[int | None]]]:
        with self.lock:
            batch, self.pending, self.scheduled = self.pending, {}, False
        return batch

    def _flush_on_loop(self) -> None:
        for group, events in self._take().items():
            asyncio.get_running_loop().create_task(_send(group, events))

    def _flush_now(self) -> None:
        for group, events in self._take().items():
            async_to_sync(_send)(group, events)


def message_of(events: dict[str, set[int | None]]) -> dict:
    """The doorbell message for one group's gathered events (see the module's docstring)."""
    return {
        "type": MESSAGE_TYPE,
        "events": sorted(events),
        "bare": sorted(e for e, ids in events.items() if None in ids),
        "entities": {e: sorted(i for i in ids if i is not None) for e, ids in events.items() if ids - {None}},
    }


async def _send(group: str, events: dict[str, set[int | None]]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        await layer.group_send(group, message_of(events))
    except (RedisError, OSError) as exc:  # the layer is down: counted, and one line, not a traceback per push
        PUSHES.labels(result="failed").inc()
        log.warning("push to %s failed: channel layer unreachable (%s)", group, type(exc).__name__)
    except Exception:  # a lost doorbell is survivable; the page re-reads the truth on its next update
        PUSHES.labels(result="failed").inc()
        log.exception("push to %s failed", group)
    else:
        PUSHES.labels(result="sent").inc()


doorbell = Doorbell()


def with_push_loop(app):
    """Wrap the ASGI app so pushes are sent from the server's event loop (bound when it first serves)."""

    async def wrapped(scope, receive, send):
        if doorbell.loop is None:
            doorbell.bind(asyncio.get_running_loop())
        return await app(scope, receive, send)

    return wrapped
