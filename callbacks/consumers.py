"""The agent's websocket: authenticate, join the agent's group, forward rendered partials.

Clicks go over HTTP to views that call actions. The one message a page sends
is the acknowledgement that it shows an offer, which starts the offer's
countdown (`lifecycle.do_acknowledge_offer`).
Renders run on the thread pool (not the one thread Django keeps for sync
views), so many agents' pushes render in parallel.
"""

import asyncio
import json
import logging
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import InterfaceError, OperationalError
from redis.exceptions import RedisError

from . import twofactor
from .configuration import agent_profile
from .errors import is_id
from .languages import browser_language, language_for_socket, supported
from .layerwatch import watch
from .lifecycle import do_acknowledge_offer, do_board_back, do_board_gone
from .metrics import SOCKETS
from .models import agent_for_user, queues_for, supervises
from .presenters.offers import shown_at
from .push import (
    BOARD_AGENTS_GROUP,
    Push,
    agent_group,
    board_group,
    changed_since,
    entities_for,
    regions_for,
    session_group,
)
from .views.board import render_figures
from .views.render import render_push, render_regions, synced_marker

log = logging.getLogger(__name__)

User = get_user_model()

CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_AN_AGENT = 4403
CLOSE_NOT_A_SUPERVISOR = 4403
CLOSE_TRY_AGAIN = 4013  # "try again later" (1013, which a server may not send): the page reconnects after a while


async def second_factor_missing(user) -> bool:
    """Where Admin-role accounts must have a second factor, one signed in without it gets no socket (every page but
    the set-up page is closed to it too: callbacks.middleware.SecondFactorMiddleware). Off, no query."""
    if not settings.RINGBACK_ADMIN_TWO_FACTOR:
        return False
    return await database_sync_to_async(twofactor.must_enrol, thread_sensitive=False)(user)


def _render_for(agent_id: int, regions: list[str] | None, language: str | None = None) -> str:
    return render_regions(agent_profile(agent_id), regions, language=language)


def _render_push_for(agent_id: int, message: dict, language: str | None = None) -> str:
    return render_push(agent_profile(agent_id), message, language=language)


render_off_thread = database_sync_to_async(_render_for, thread_sensitive=False)
render_push_off_thread = database_sync_to_async(_render_push_for, thread_sensitive=False)
acknowledge = database_sync_to_async(do_acknowledge_offer, thread_sensitive=False)


# What goes away in an outage: the channel layer (Redis) or the database (restarting, failing over, a cut).
OUTAGE = (RedisError, OSError, OperationalError, InterfaceError)


def refuse_during_outages(app):
    """ASGI middleware for the websockets: when Redis or the database is unreachable during the handshake (the
    session's user) or under an open socket (a push, a render), the socket closes with 4013 ("try again later"),
    one warning line instead of a traceback, and the page reconnects by itself with its back-off."""

    async def guarded(scope, receive, send):
        try:
            return await app(scope, receive, send)
        except OUTAGE as exc:
            what = "database" if isinstance(exc, OperationalError | InterfaceError) else "channel layer"
            log.warning("%s unreachable (%s): the socket closes and its page reconnects", what, type(exc).__name__)
            try:
                await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN})
            except Exception:  # noqa: S110 - already closed by the client: nothing left to tell it
                pass

    return guarded


class GroupConsumer(AsyncWebsocketConsumer):
    """A socket that joins groups. However it ends (disconnect, a failed send, an outage, Daphne cancelling a
    consumer that took too long to close), it leaves its groups and its process stops watching for it."""

    async def __call__(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, send)
        finally:
            watch.discard(self)
            await self.leave()

    async def leave(self) -> None:
        raise NotImplementedError

    async def close_for_outage(self) -> None:
        """The channel layer went away or restarted empty (see `layerwatch`): the page reconnects and rejoins."""
        await self.close(code=CLOSE_TRY_AGAIN)


class AgentConsumer(GroupConsumer):
    agent_id: int | None = None
    group: str | None = None
    counted = False

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or await second_factor_missing(user):
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if User.agent.is_cached(user):  # loaded with the user (callbacks.auth.AgentBackend): no thread hop
            agent = agent_for_user(user)
        else:
            agent = await database_sync_to_async(agent_for_user, thread_sensitive=False)(user)
        if agent is None:
            await self.close(code=CLOSE_NOT_AN_AGENT)
            return
        self.agent_id = agent.pk
        self.language = supported(agent.language) or browser_language(self.scope)  # the page's own, for every push
        SOCKETS.labels(kind="agent").inc()
        self.counted = True
        # Join first, then render: a change committed in between is either in
        # the render or arrives as a push, never lost.
        self.group = agent_group(agent.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        watch.add(self)
        if b"hello=1" not in self.scope.get("query_string", b""):
            await self._send_regions(None)
        # Otherwise the page says hello first (see `hello`): it may already show the truth.

    async def disconnect(self, code):
        await self.leave()

    async def leave(self):
        if self.counted:
            self.counted = False
            SOCKETS.labels(kind="agent").dec()
        group, self.group = self.group, None
        if group is None:
            return
        try:
            await self.channel_layer.group_discard(group, self.channel_name)
        except Exception as exc:  # the layer's group_expiry drops the membership later; a dead channel costs a lost send
            log.warning("group_discard failed for agent %s (%s)", self.agent_id, type(exc).__name__)

    async def receive(self, text_data=None, bytes_data=None):
        """The page says hello ({"hello": when what it shows was rendered}), acknowledges a notification it
        shows ({"ack": offer id}); anything else asks for a resync."""
        try:
            data = json.loads(text_data or "{}")
            ack, hello = data.get("ack"), data.get("hello")
        except (ValueError, AttributeError):
            ack = hello = None
        if hello is not None:
            await self.hello(hello)
            return
        if ack is not None:
            if is_id(str(ack)):
                offer_id = int(ack)
                await acknowledge(agent_id=self.agent_id, offer_id=offer_id, shown_at=shown_at(offer_id, data.get("shown")))
            return
        await self._send_regions(None)

    async def hello(self, since) -> None:
        """Render what the page shows only if something may have changed since it was rendered."""
        try:
            since = float(since)
        except (TypeError, ValueError):
            since = 0.0
        if await changed_since(self.group, since):
            await self._send_regions(None)
        else:
            await self._send(synced_marker(time.time()))

    async def ringback_event(self, message):
        if Push.SESSION_ENDED in message.get("events", ()):
            await self.close(code=CLOSE_UNAUTHENTICATED)  # logged out or deactivated: the page goes to the login
            return
        if regions_for(message) or entities_for(message):
            await self._send(await render_push_off_thread(self.agent_id, message, self.language))

    async def _send_regions(self, regions):
        await self._send(await render_off_thread(self.agent_id, regions, self.language))

    async def _send(self, html: str) -> None:
        try:
            await self.send(text_data=html)
        except Exception:  # the page closed while this push rendered; its disconnect is next in line
            log.info("agent %s's socket closed before a push reached it", self.agent_id)


def _board_groups(user) -> list[str] | None:
    if not supervises(user):
        return None
    return [board_group(q) for q in queues_for(user).values_list("pk", flat=True)] + [BOARD_AGENTS_GROUP]


board_groups = database_sync_to_async(_board_groups, thread_sensitive=False)


def boards_open(user_id: int, step: int) -> int | None:
    """How many of the user's boards are open once one opened (`step` 1) or closed (-1), counted in the shared
    cache (every web process's sockets). None when the count was lost (the cache emptied): nothing is then marked."""
    key = f"boards-open:{user_id}"
    try:
        if step > 0:
            cache.add(key, 0, timeout=None)
        return cache.incr(key, step)
    except ValueError:
        return None


def _board_opened(user_id: int) -> None:
    if boards_open(user_id, 1) in (1, None):  # the first board again: a monitoring session marked as left is not
        do_board_back(user_id=user_id)


def _board_closed(user_id: int) -> None:
    left = boards_open(user_id, -1)
    if left is not None and left <= 0:
        if left < 0:  # a count that drifted (a process died with sockets open) starts again
            cache.set(f"boards-open:{user_id}", 0, timeout=None)
        do_board_gone(user_id=user_id)  # the clock ends the supervisor's monitoring if no board is back in time


board_opened = database_sync_to_async(_board_opened, thread_sensitive=False)
board_closed = database_sync_to_async(_board_closed, thread_sensitive=False)
render_board = database_sync_to_async(render_figures, thread_sensitive=False)
socket_language = database_sync_to_async(language_for_socket, thread_sensitive=False)


class BoardConsumer(GroupConsumer):
    """A supervisor's live board: joins the groups of the queues they supervise (and the agents' status group) and
    re-renders when rung, at most once per RINGBACK_BOARD_REFRESH_SECONDS however busy the floor is.

    A ring names its queue: the tiles of the queues rung since the last render re-render alone, and the charts
    (every queue, the whole day) follow within RINGBACK_BOARD_CHART_SECONDS. An agent's status (their tiles are
    not known here), a hello, and a ring naming no queue re-render the whole board."""

    groups_joined: list[str] = []
    counted = False
    last_render = 0.0
    language: str | None = None
    pending: asyncio.TimerHandle | None = None
    rung_at: float | None = None
    rung_tiles: set[int] = frozenset()  # the queues rung since the last render (a set of its own from connect)
    rung_whole = False  # something since the last render asks for the whole board
    last_whole = 0.0  # loop time of the last whole render (its charts)
    charts_due: asyncio.TimerHandle | None = None
    gone = False  # the socket left: a render under way neither sends nor schedules another
    board_of: int | None = None  # the supervisor whose open boards this socket counts in (`boards_open`)

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or await second_factor_missing(user):
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        groups = await board_groups(user)
        if groups is None:
            await self.close(code=CLOSE_NOT_A_SUPERVISOR)
            return
        self.language = await socket_language(self.scope)  # the page's own language, for every push
        self.groups_joined = []
        self.rung_tiles = set()
        SOCKETS.labels(kind="board").inc()
        self.counted = True
        for group in [*groups, session_group(user.pk)]:  # the last: rung when the role this board needs is taken
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.append(group)
        self.board_of = user.pk
        await board_opened(user.pk)  # before the accept: the page's socket is open once it is counted
        await self.accept()
        watch.add(self)
        # The page says hello when its socket opens: the figures are rendered then (see `receive`).

    async def disconnect(self, code):
        await self.leave()

    async def leave(self):
        if self.counted:
            self.counted = False
            SOCKETS.labels(kind="board").dec()
        self.gone = True
        for handle in (self.pending, self.charts_due):
            if handle is not None:
                handle.cancel()
        self.pending = self.charts_due = None
        if self.board_of is not None:
            user_id, self.board_of = self.board_of, None
            try:
                await board_closed(user_id)
            except Exception as exc:  # the database away: the socket still leaves its groups
                log.warning("a board's close was not recorded (%s)", type(exc).__name__)
        groups, self.groups_joined = self.groups_joined, []
        for group in groups:
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except Exception as exc:
                log.warning("group_discard failed for a board (%s)", type(exc).__name__)

    async def receive(self, text_data=None, bytes_data=None):
        await self._render()  # hello, or any message: send the figures now

    async def ringback_event(self, message):
        """Coalesced: one render per refresh interval at most; rings in between fold into it."""
        if Push.SESSION_ENDED in message.get("events", ()):
            await self.close(code=CLOSE_UNAUTHENTICATED)  # the role was taken away: the page reloads what it may see
            return
        self.rung_at = time.monotonic()  # the render that answers must begin after the latest ring (`render_figures`)
        named = message.get("entities", {}).get(Push.BOARD_CHANGED.value, [])
        if message.get("bare") or not named:
            self.rung_whole = True
        else:
            self.rung_tiles.update(named)
        if self.pending is not None:
            return
        loop = asyncio.get_running_loop()
        wait = max(0.0, self.last_render + settings.RINGBACK_BOARD_REFRESH_SECONDS - loop.time())
        self.pending = loop.call_later(wait, lambda: loop.create_task(self._render_pending()))

    async def _render_pending(self):
        self.pending = None
        fresh_since, self.rung_at = self.rung_at, None
        tiles, whole = self.rung_tiles, self.rung_whole
        self.rung_tiles, self.rung_whole = set(), False
        loop = asyncio.get_running_loop()
        if whole or loop.time() >= self.last_whole + settings.RINGBACK_BOARD_CHART_SECONDS:
            await self._render(fresh_since)
            return
        await self._render(fresh_since, tiles=tiles)
        if self.charts_due is None and not self.gone:  # the charts follow, with a whole render, once their interval is over
            wait = max(0.0, self.last_whole + settings.RINGBACK_BOARD_CHART_SECONDS - loop.time())
            self.charts_due = loop.call_later(wait, lambda: loop.create_task(self._render_charts(fresh_since)))

    async def _render_charts(self, fresh_since: float | None):
        self.charts_due = None
        await self._render(fresh_since)

    async def _render(self, fresh_since: float | None = None, *, tiles: set[int] | None = None):
        if self.gone:
            return
        now = asyncio.get_running_loop().time()
        self.last_render = now
        if tiles is None:
            self.last_whole = now
            if self.charts_due is not None:
                self.charts_due.cancel()
                self.charts_due = None
        try:
            html = await render_board(self.scope["user"], self.language, fresh_since=fresh_since, tiles=tiles)
            if html:  # tiles of queues this board no longer shows render nothing
                await self.send(text_data=html)
        except Exception:  # the socket closed while rendering; its disconnect is next in line
            log.info("a board's socket closed before its update reached it", exc_info=True)
