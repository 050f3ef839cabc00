"""Supervision: roles against every page, action, API endpoint and websocket group; bulk actions through the
lifecycle; forcing an agent's status; the audit trail."""

import base64
import json
import time
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, connections, transaction
from django.db.utils import DatabaseError
from django.utils import timezone

from callbacks import lifecycle, roles
from callbacks.consumers import CLOSE_NOT_A_SUPERVISOR, CLOSE_NOT_AN_AGENT, AgentConsumer, BoardConsumer, board_groups
from callbacks.enums import AgentStatus, CallbackState, Channel, CloseReason, HistoryKind
from callbacks.errors import DomainError
from callbacks.models import AgentChannelStatus, AppendOnlyError, CallbackRequest, HistoryEvent, NotReadyReason

from .factories import PASSWORD, make_agent, make_api_client, make_callback, make_queue, set_ready
from .gms_client import GmsClient

pytestmark = pytest.mark.django_db(transaction=True)
User = get_user_model()


def user_with_role(username: str, role: str | None, **kw):
    user = User.objects.create_user(username, f"{username}@example.com", PASSWORD, **kw)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def floor(transactional_db):
    """Two queues; Sam supervises Billing only; Ada is an Admin; Alice works Billing, Carol Support."""
    roles.ensure_roles()
    billing, support = make_queue("billing"), make_queue("support")
    alice, carol = make_agent("alice", billing), make_agent("carol", support)
    sam = user_with_role("sam", roles.SUPERVISOR)
    billing.supervisors.add(sam)
    ada = user_with_role("ada", roles.ADMIN, is_staff=True)
    billing_cb = make_callback(billing, "+33612345001")
    support_cb = make_callback(support, "+33612345002")
    return {
        "billing": billing,
        "support": support,
        "alice": alice,
        "carol": carol,
        "sam": sam,
        "ada": ada,
        "billing_cb": billing_cb,
        "support_cb": support_cb,
    }


def client_for(client, user):
    client.logout()
    if user is not None:
        client.force_login(user)
    return client


# --- The permission matrix ------------------------------------------------------------------------------------------

ROLES = ["anonymous", "agent", "supervisor", "admin"]


def _user(floor, role):
    return {"anonymous": None, "agent": floor["alice"].user, "supervisor": floor["sam"], "admin": floor["ada"]}[role]


# (what, method, url, {role: expected status}); 302 to the login page for anonymous users.
def matrix(floor):
    b, s = floor["billing_cb"], floor["support_cb"]
    carol, alice = floor["carol"], floor["alice"]
    return [
        ("workspace", "get", "/", {"anonymous": 302, "agent": 200, "supervisor": 302, "admin": 302}),
        ("contact directory", "get", "/contacts/", {"anonymous": 302, "agent": 200, "supervisor": 403, "admin": 403}),
        (
            "agent status action",
            "post",
            ("/status/", {"channel": "voice", "status": "ready"}),
            {"anonymous": 302, "agent": 302, "supervisor": 403, "admin": 403},
        ),
        ("board", "get", "/board/", {"anonymous": 302, "agent": 403, "supervisor": 200, "admin": 200}),
        ("board figures", "get", "/board/figures/", {"anonymous": 302, "agent": 403, "supervisor": 200, "admin": 200}),
        ("work list", "get", "/board/callbacks/", {"anonymous": 302, "agent": 403, "supervisor": 200, "admin": 200}),
        (
            "own queue's callback",
            "get",
            f"/board/callbacks/{b.pk}/",
            {"anonymous": 302, "agent": 403, "supervisor": 200, "admin": 200},
        ),
        (
            "other queue's callback",
            "get",
            f"/board/callbacks/{s.pk}/",
            {"anonymous": 302, "agent": 403, "supervisor": 403, "admin": 200},
        ),
        (
            "bulk on own queue",
            "post",
            ("/board/callbacks/bulk/", {"action": "priority", "priority": "9", "ids": [b.pk]}),
            {"anonymous": 302, "agent": 403, "supervisor": 200, "admin": 200},
        ),
        (
            "force own agent",
            "post",
            (f"/board/agents/{alice.pk}/status/", {"status": "not_ready"}),
            {"anonymous": 302, "agent": 403, "supervisor": 302, "admin": 302},
        ),
        (
            "force other agent",
            "post",
            (f"/board/agents/{carol.pk}/status/", {"status": "not_ready"}),
            {"anonymous": 302, "agent": 403, "supervisor": 403, "admin": 302},
        ),
        ("reports", "get", "/reports/", {"anonymous": 302, "agent": 403, "supervisor": 200, "admin": 200}),
        ("callbacks CSV", "get", "/reports/callbacks.csv", {"anonymous": 302, "agent": 403, "supervisor": 200, "admin": 200}),
        ("agents CSV", "get", "/reports/agents.csv", {"anonymous": 302, "agent": 403, "supervisor": 200, "admin": 200}),
        ("admin: queues", "get", "/admin/callbacks/queue/", {"anonymous": 302, "agent": 302, "supervisor": 302, "admin": 200}),
        (
            "admin: history",
            "get",
            "/admin/callbacks/historyevent/",
            {"anonymous": 302, "agent": 302, "supervisor": 302, "admin": 200},
        ),
        ("API without its token", "get", "/api/v1/callbacks", {"anonymous": 401, "agent": 401, "supervisor": 401, "admin": 401}),
        (
            "GMS admin",
            "get",
            "/genesys/1/admin/callback/queues",
            {"anonymous": 401, "agent": 401, "supervisor": 401, "admin": 401},
        ),
    ]


@pytest.mark.parametrize("role", ROLES)
def test_each_role_against_each_page_action_and_endpoint(client, floor, role):
    got, want = {}, {}
    for what, method, target, expected in matrix(floor):
        client_for(client, _user(floor, role))
        if method == "get":
            response = client.get(target)
        else:
            url, data = target
            response = client.post(url, data)
        got[what], want[what] = response.status_code, expected[role]
    assert got == want


def test_a_supervisor_sees_only_their_queues_on_the_board_and_work_list(client, floor):
    client_for(client, floor["sam"])
    board = client.get("/board/").content.decode()
    assert "Billing" in board and "Support" not in board
    work = client.get("/board/callbacks/").content.decode()
    assert floor["billing_cb"].reference in work and floor["support_cb"].reference not in work
    csv = b"".join(client.get("/reports/callbacks.csv").streaming_content).decode()
    assert floor["billing_cb"].reference in csv and floor["support_cb"].reference not in csv


def test_an_agent_taken_out_of_the_agent_role_can_no_longer_work(client, floor):
    alice = floor["alice"]
    alice.user.groups.clear()
    client_for(client, alice.user)
    assert client.get("/").status_code == 403
    assert client.post("/status/", {"channel": "voice", "status": "ready"}).status_code == 403


def _board_socket(user):
    comm = WebsocketCommunicator(BoardConsumer.as_asgi(), "/ws/board/", headers=[(b"origin", b"http://127.0.0.1:8000")])
    comm.scope["user"] = user
    return comm


@pytest.mark.parametrize("role", ["agent", "supervisor", "admin"])
async def test_websocket_groups_by_role(floor, role):
    user = _user(floor, role)
    comm = _board_socket(user)
    connected, code = await comm.connect(timeout=10)
    if role == "agent":
        assert (connected, code) == (False, CLOSE_NOT_A_SUPERVISOR)
        return
    assert connected
    consumer_groups = await sync_to_async(lambda: sorted(_groups_for(user)))()
    if role == "supervisor":
        assert consumer_groups == sorted([f"board.{floor['billing'].pk}", "board.agents"])
    else:
        assert consumer_groups == sorted([f"board.{floor['billing'].pk}", f"board.{floor['support'].pk}", "board.agents"])
    await comm.send_to(text_data=json.dumps({"hello": 0}))
    html = await comm.receive_from(timeout=5)
    assert 'id="figures"' in html
    assert ("Support" in html) == (role == "admin")
    await comm.disconnect()


def _groups_for(user):

    return async_to_sync(board_groups)(user)


async def test_the_agent_socket_refuses_a_supervisor_without_the_agent_role(floor):
    comm = WebsocketCommunicator(AgentConsumer.as_asgi(), "/ws/agent/", headers=[(b"origin", b"http://127.0.0.1:8000")])
    comm.scope["user"] = floor["sam"]
    assert await comm.connect() == (False, CLOSE_NOT_AN_AGENT)


async def test_a_change_rings_only_the_boards_of_its_queue(floor):
    billing_board, support_board = _board_socket(floor["sam"]), _board_socket(floor["ada"])
    assert (await billing_board.connect(timeout=10))[0] and (await support_board.connect(timeout=10))[0]
    await sync_to_async(make_callback)(floor["support"], "+33612345099")
    html = await support_board.receive_from(timeout=5)  # Ada's board (every queue) re-renders
    assert 'id="figures"' in html
    assert await billing_board.receive_nothing(timeout=1.5)  # Sam's (Billing only) is not rung
    await billing_board.disconnect()
    await support_board.disconnect()


async def test_a_ring_for_one_queue_re_renders_its_tile_alone_and_the_charts_follow(floor, settings):
    """Each tile is its own partial: a change in Support re-renders Support's tile on Ada's board (she sees both
    queues), not Billing's, not the charts; the charts follow with a whole render within their interval, unasked;
    an agent's status (whose tiles the socket does not know) re-renders the whole board."""
    settings.RINGBACK_BOARD_REFRESH_SECONDS = 0.1
    settings.RINGBACK_BOARD_CHART_SECONDS = 2.0
    support, billing = floor["support"].pk, floor["billing"].pk
    board = _board_socket(floor["ada"])
    assert (await board.connect(timeout=10))[0]
    await board.send_to(text_data=json.dumps({"hello": 0}))
    assert 'id="figures"' in await board.receive_from(timeout=5)  # the hello: the whole board
    await sync_to_async(make_callback)(floor["support"], "+33612345098")
    tile = await board.receive_from(timeout=5)
    assert f'<section class="queue-card" id="queue-{support}" hx-swap-oob="true"' in tile
    assert 'data-testid="waiting-support">2<' in tile
    assert 'id="figures"' not in tile and f'id="queue-{billing}"' not in tile and 'id="board-data"' not in tile
    started = time.monotonic()
    charts = await board.receive_from(timeout=10)  # nothing rang again: the charts come on their own
    assert 'id="figures"' in charts and 'id="board-data"' in charts and time.monotonic() - started < 5
    await sync_to_async(set_ready)(floor["carol"])  # an agent's status: every tile she is on, so the whole board
    whole = await board.receive_from(timeout=5)
    while 'id="figures"' not in whole:  # her Ready also routed Support's callbacks: a tile render may come first
        whole = await board.receive_from(timeout=5)
    assert f'id="queue-{billing}"' in whole and f'id="queue-{support}"' in whole
    await board.disconnect()


async def test_a_burst_of_changes_folds_into_few_board_renders(floor, settings):
    settings.RINGBACK_BOARD_REFRESH_SECONDS = 1.0
    board = _board_socket(floor["sam"])
    assert (await board.connect(timeout=10))[0]
    started = time.monotonic()
    for i in range(20):
        await sync_to_async(make_callback)(floor["billing"], f"+336123451{i:02d}")
    burst = time.monotonic() - started
    frames = []
    while not await board.receive_nothing(timeout=2.5):
        frames.append(await board.receive_from(timeout=10))
    # 20 creations rang the board 20 times; it rendered at most once a second while they came (and once after),
    # and the last render shows all of them.
    assert 1 <= len(frames) <= int(burst / settings.RINGBACK_BOARD_REFRESH_SECONDS) + 2 < 20
    assert 'data-testid="waiting-billing">21<' in frames[-1]
    await board.disconnect()


# --- Bulk actions through the lifecycle -----------------------------------------------------------------------------


def _bulk(client, ids, confirm=True, **data):
    payload = {"ids": ids, **data}
    if confirm:
        payload["confirm"] = "yes"
    return client.post("/board/callbacks/bulk/", payload)


def test_a_bulk_action_asks_for_confirmation_first(client, floor):
    client_for(client, floor["sam"])
    response = _bulk(client, [floor["billing_cb"].pk], confirm=False, action="cancel")
    assert response.status_code == 200
    assert b"Confirm: Cancel" in response.content
    assert CallbackRequest.objects.get(pk=floor["billing_cb"].pk).state == CallbackState.QUEUED


def test_bulk_reschedule_cancel_priority_and_reassign(client, floor):
    sam, billing, support = floor["sam"], floor["billing"], floor["support"]
    support.supervisors.add(sam)
    client_for(client, sam)
    cbs = [make_callback(billing, f"+3361234560{i}") for i in range(4)]
    when = (timezone.now() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    response = _bulk(client, [c.pk for c in cbs[:2]], action="reschedule", when=when.isoformat())
    assert response.status_code == 200 and b"2 done" in response.content
    for c in cbs[:2]:
        c.refresh_from_db()
        assert (c.state, c.desired_time) == (CallbackState.SCHEDULED, when)
        row = c.history.get(kind=HistoryKind.RESCHEDULED)
        assert row.actor == sam and "supervisor" in row.message

    _bulk(client, [cbs[2].pk], action="priority", priority="9")
    cbs[2].refresh_from_db()
    assert cbs[2].priority == 9 and cbs[2].history.filter(kind=HistoryKind.PRIORITY, actor=sam).exists()

    _bulk(client, [cbs[3].pk], action="reassign_queue", queue=str(support.pk))
    cbs[3].refresh_from_db()
    assert cbs[3].queue == support and cbs[3].history.filter(kind=HistoryKind.REASSIGNED, actor=sam).exists()

    _bulk(client, [cbs[2].pk], action="reassign_agent", agent=str(floor["alice"].pk))
    cbs[2].refresh_from_db()
    assert cbs[2].owner == floor["alice"]

    _bulk(client, [c.pk for c in cbs[:2]], action="cancel", reason="Duplicate requests")
    for c in cbs[:2]:
        c.refresh_from_db()
        assert (c.state, c.close_reason, c.outcome) == (
            CallbackState.CANCELLED,
            CloseReason.CANCELLED_BY_ADMIN,
            "Duplicate requests",
        )


def test_a_bulk_action_skips_what_an_agent_took_and_what_is_not_theirs(client, floor):
    alice = floor["alice"]
    set_ready(alice)
    taken = CallbackRequest.objects.get(pk=floor["billing_cb"].pk)
    offer = taken.offers.get()
    lifecycle.do_accept_offer(user=alice.user, offer_id=offer.pk)
    waiting = make_callback(floor["billing"], "+33612345077")
    client_for(client, floor["sam"])
    response = _bulk(client, [taken.pk, waiting.pk, floor["support_cb"].pk], action="cancel")
    body = response.content.decode()
    assert "1 done, 2 skipped" in body
    assert "An agent is working on this callback" in body
    assert "not found in the queues you supervise" in body
    assert CallbackRequest.objects.get(pk=taken.pk).state == CallbackState.IN_PROGRESS
    assert CallbackRequest.objects.get(pk=floor["support_cb"].pk).state == CallbackState.QUEUED
    assert CallbackRequest.objects.get(pk=waiting.pk).state == CallbackState.CANCELLED


def test_bulk_input_errors_are_clear_400s(client, floor):
    client_for(client, floor["sam"])
    assert _bulk(client, [], action="cancel").status_code == 400
    response = _bulk(client, [floor["billing_cb"].pk], action="reschedule")
    assert response.status_code == 400 and b"Choose a new time" in response.content
    assert _bulk(client, ["x"], action="cancel").status_code == 400
    assert _bulk(client, [floor["billing_cb"].pk], action="explode").status_code == 400
    assert _bulk(client, [floor["billing_cb"].pk], action="priority", priority="11").status_code == 400


def test_a_ringing_callback_moved_to_another_queue_stops_ringing(client, floor):
    alice, sam = floor["alice"], floor["sam"]
    floor["support"].supervisors.add(sam)
    set_ready(alice)
    cb = CallbackRequest.objects.get(pk=floor["billing_cb"].pk)
    assert cb.state == CallbackState.OFFERED
    client_for(client, sam)
    _bulk(client, [cb.pk], action="reassign_queue", queue=str(floor["support"].pk))
    cb.refresh_from_db()
    assert cb.queue == floor["support"]
    assert not cb.offers.filter(outcome="open", agent=alice).exists()


def test_a_paused_callback_keeps_its_place_is_offered_to_nobody_and_comes_back_on_resume(client, floor):
    """Pause (GMS's PAUSED): the ringing offer ends, a Ready agent is not offered it, the work list says Paused, GMS
    and the REST API show it paused; Resume offers it again."""
    alice, sam, cb = floor["alice"], floor["sam"], floor["billing_cb"]
    set_ready(alice)
    assert CallbackRequest.objects.get(pk=cb.pk).state == CallbackState.OFFERED
    client_for(client, sam)
    assert b"1 done" in _bulk(client, [cb.pk], action="pause").content
    cb.refresh_from_db()
    assert cb.state == CallbackState.QUEUED and cb.paused_at is not None
    assert not cb.offers.filter(outcome="open").exists(), "the ringing offer ended"
    assert cb.history.filter(kind=HistoryKind.PAUSED, actor=sam).exists()
    lifecycle.route_queue(floor["billing"].pk, Channel.VOICE)
    assert not cb.offers.filter(outcome="open").exists(), "paused: offered to nobody"
    assert '<span class="state state-paused">Paused</span>' in client.get("/board/callbacks/").content.decode()
    again = _bulk(client, [cb.pk], action="pause")
    assert "Already paused." in again.content.decode()
    assert b"1 done" in _bulk(client, [cb.pk], action="resume").content
    cb.refresh_from_db()
    assert cb.paused_at is None and cb.state == CallbackState.OFFERED, "offered again"
    assert cb.history.filter(kind=HistoryKind.RESUMED, actor=sam).exists()


def test_gms_and_the_api_show_a_paused_callback(client, gms_http, floor):
    billing, sam = floor["billing"], floor["sam"]
    billing.gms_service = "billing-cb"
    billing.save()
    api_client, token = make_api_client("Website")
    created = client.post(
        "/api/v1/callbacks",
        json.dumps({"queue": "billing", "phone_number": "+33612345088"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    ).json()
    lifecycle.do_pause_callback(user=sam, callback_id=CallbackRequest.objects.get(reference=created["reference"]).pk)
    shown = client.get(f"/api/v1/callbacks/{created['reference']}", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert shown["state"] == "queued" and shown["paused"] is True
    # A GMS client written from the public contract (tests/gms_client.py) sees it PAUSED, not QUEUED; on Resume it
    # waits again (and is offered at once to a Ready agent).
    gms = GmsClient(gms_http)
    gms_client_cb = gms.start("billing-cb", "+33612345089")["_id"]
    lifecycle.do_pause_callback(user=sam, callback_id=CallbackRequest.objects.get(reference=gms_client_cb).pk)
    [paused] = gms.paused("billing-cb")
    assert paused["_id"] == gms_client_cb and paused["_callback_state"] == "PAUSED"
    assert gms.query_id(gms_client_cb)[0]["_callback_state"] == "PAUSED"
    assert [r["_id"] for r in gms.query("billing-cb", _callback_state="QUEUED")] == []
    lifecycle.do_resume_callback(user=sam, callback_id=CallbackRequest.objects.get(reference=gms_client_cb).pk)
    assert gms.paused("billing-cb") == [] and gms.query_id(gms_client_cb)[0]["_callback_state"] in ("QUEUED", "ROUTING")
    with pytest.raises(DomainError, match="Not paused"):
        lifecycle.do_resume_callback(user=sam, callback_id=floor["billing_cb"].pk)


# --- Forcing an agent's status --------------------------------------------------------------------------------------


def test_a_supervisor_sets_an_agent_not_ready_and_logs_them_out(client, floor):
    alice, sam = floor["alice"], floor["sam"]
    lifecycle.do_log_in(user=alice.user)
    set_ready(alice)
    assert CallbackRequest.objects.get(pk=floor["billing_cb"].pk).state == CallbackState.OFFERED
    client_for(client, sam)
    client.post(f"/board/agents/{alice.pk}/status/", {"status": "not_ready"})
    voice = AgentChannelStatus.objects.get(agent=alice, channel=Channel.VOICE)
    assert voice.status == AgentStatus.NOT_READY and voice.reason.name == "Set by a supervisor"
    assert CallbackRequest.objects.get(pk=floor["billing_cb"].pk).state == CallbackState.QUEUED  # the offer went back
    assert HistoryEvent.objects.filter(kind=HistoryKind.STATUS, agent=alice, actor=sam).exists()
    client.post(f"/board/agents/{alice.pk}/status/", {"status": "logged_out"})
    assert set(AgentChannelStatus.objects.filter(agent=alice).values_list("status", flat=True)) == {AgentStatus.LOGGED_OUT}
    assert client.post(f"/board/agents/{alice.pk}/status/", {"status": "ready"}).status_code == 400


# --- The audit trail ------------------------------------------------------------------------------------------------


def test_the_history_is_append_only_through_the_orm(floor):
    row = HistoryEvent.objects.filter(callback=floor["billing_cb"]).first()
    row.message = "rewritten"
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()
    with pytest.raises(AppendOnlyError):
        HistoryEvent.objects.filter(pk=row.pk).update(message="rewritten")
    with pytest.raises(AppendOnlyError):
        HistoryEvent.objects.filter(pk=row.pk).delete()
    assert HistoryEvent.objects.get(pk=row.pk).message != "rewritten"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_the_database_refuses_to_change_or_delete_history(floor):
    row = HistoryEvent.objects.filter(callback=floor["billing_cb"]).first()
    for sql in (
        "UPDATE callbacks_historyevent SET message = 'rewritten' WHERE id = %s",
        "UPDATE callbacks_historyevent SET at = now() WHERE id = %s",
        f"UPDATE callbacks_historyevent SET actor_id = {floor['ada'].pk} WHERE id = %s",
        f"UPDATE callbacks_historyevent SET about_id = {floor['ada'].pk} WHERE id = %s",
        "DELETE FROM callbacks_historyevent WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [row.pk])
    # Filing a row under a contact and clearing a deleted user's link stay possible; a purge is the retention path.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE callbacks_historyevent SET actor_id = NULL, about_id = NULL WHERE id = %s", [row.pk])
    assert HistoryEvent.objects.filter(pk=row.pk).purge() == 1


def test_admin_changes_land_in_the_same_trail(client, floor):
    client_for(client, floor["ada"])
    response = client.post("/admin/callbacks/notreadyreason/add/", {"name": "Training", "order": "3", "active": "on"})
    assert response.status_code == 302
    reason = NotReadyReason.objects.get(name="Training")
    response = client.post(
        f"/admin/callbacks/notreadyreason/{reason.pk}/change/", {"name": "Coaching", "order": "3", "active": "on"}
    )
    assert response.status_code == 302
    rows = list(HistoryEvent.objects.filter(kind=HistoryKind.CONFIG).order_by("id"))
    assert [r.actor for r in rows] == [floor["ada"], floor["ada"]]
    assert "Not Ready reason “Training” added" in rows[0].message or "not ready reason “Training” added" in rows[0].message
    assert "“Coaching” changed: Changed Name." in rows[1].message
    assert rows[1].data == {"model": "callbacks.notreadyreason", "object_id": str(reason.pk), "action": "changed"}
    page = client.get("/admin/callbacks/historyevent/?kind=config").content.decode()
    assert "Coaching" in page


def test_a_callbacks_page_shows_its_whole_trail(client, floor):
    alice = floor["alice"]
    set_ready(alice)
    cb = floor["billing_cb"]
    lifecycle.do_reject_offer(user=alice.user, offer_id=cb.offers.get().pk)
    client_for(client, floor["sam"])
    page = client.get(f"/board/callbacks/{cb.pk}/").content.decode()
    assert "Audit trail" in page
    for text in ("Request received", "Offered", "Rejected", "Rejected by Alice"):
        assert text in page
    cb.api_client = make_api_client("IVR")[0]
    cb.save(update_fields=["api_client"])
    assert "IVR (API)" in client.get(f"/board/callbacks/{cb.pk}/").content.decode()  # who sent the request


@pytest.mark.parametrize(("role", "expected"), [("agent", 401), ("supervisor", 401), ("admin", 200)])
def test_gms_admin_endpoints_take_the_admin_role_over_basic_auth(client, floor, role, expected):
    user = _user(floor, role)
    token = base64.b64encode(f"{user.get_username()}:{PASSWORD}".encode()).decode()
    response = client.get("/genesys/1/admin/callback/queues", HTTP_AUTHORIZATION=f"Basic {token}")
    assert response.status_code == expected


# --- A session that ends closes the agent's sockets at once ------------------------------------------------------------


def _agent_socket(user):
    comm = WebsocketCommunicator(AgentConsumer.as_asgi(), "/ws/agent/", headers=[(b"origin", b"http://127.0.0.1:8000")])
    comm.scope["user"] = user
    return comm


async def _closed_with(comm, code: int) -> bool:
    while True:
        output = await comm.receive_output(timeout=10)
        if output["type"] == "websocket.close":
            return output.get("code") == code


@pytest.mark.parametrize("how", ["logs out", "is deactivated by an admin", "is logged out by a supervisor"])
async def test_an_ended_session_closes_the_agents_socket_and_offers_move_on(floor, how):
    alice = floor["alice"]
    await sync_to_async(set_ready)(alice)
    comm = _agent_socket(alice.user)
    assert (await comm.connect(timeout=10))[0]
    try:
        await comm.receive_from(timeout=10)  # the first render
        cb = floor["billing_cb"]
        assert (await sync_to_async(lambda: CallbackRequest.objects.get(pk=cb.pk).state)()) == CallbackState.OFFERED

        def end():
            if how == "logs out":
                lifecycle.do_log_out(user=alice.user)
            elif how == "is deactivated by an admin":
                user = User.objects.get(pk=alice.user_id)
                user.is_active = False
                user.save()
            else:
                lifecycle.do_force_status(user=floor["sam"], agent_id=alice.pk, status=AgentStatus.LOGGED_OUT)

        await sync_to_async(end)()
        if how != "is logged out by a supervisor":  # a supervisor's Log out leaves the page open, showing Logged Out
            assert await _closed_with(comm, 4401)
        state = await sync_to_async(lambda: CallbackRequest.objects.get(pk=cb.pk).state)()
        assert state == CallbackState.QUEUED  # the ringing offer went back: nobody else is Ready
        statuses = await sync_to_async(
            lambda: set(AgentChannelStatus.objects.filter(agent=alice).values_list("status", flat=True))
        )()
        assert statuses == {AgentStatus.LOGGED_OUT}
    finally:
        await comm.disconnect()
        await sync_to_async(connections.close_all)()  # this loop's thread gives its pooled connection back


def test_boards_of_the_same_queues_share_one_render_made_after_their_ring(floor, monkeypatch):
    """Twenty supervisors of one floor cost one read and render of the board per change, not twenty; a board never
    takes a render that began before the ring that asked for it."""
    import time

    from callbacks.views import board as board_views

    tom = user_with_role("tom", roles.SUPERVISOR)
    floor["billing"].supervisors.add(tom)
    reads = []
    real = board_views.board_for
    monkeypatch.setattr(board_views, "board_for", lambda queues: reads.append(queues) or real(queues))
    rung = time.monotonic()
    first = board_views.render_figures(floor["sam"], "en", fresh_since=rung)
    assert board_views.render_figures(tom, "en", fresh_since=rung) == first  # same queues, rights and language
    assert len(reads) == 1
    board_views.render_figures(tom, "fr", fresh_since=rung)  # another language: its own render
    board_views.render_figures(floor["ada"], "en", fresh_since=rung)  # every queue, other rights: its own
    assert len(reads) == 3
    make_callback(floor["billing"], "+33612345003")  # a change, and its ring after it
    later = time.monotonic()
    after = board_views.render_figures(tom, "en", fresh_since=later)
    assert len(reads) == 4 and after != first  # the shared render predates the ring: read again, and it shows it
    board_views.render_figures(floor["sam"], "en")  # a board's hello: always its own render
    assert len(reads) == 5
