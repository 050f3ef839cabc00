"""Listen, Whisper, Barge from the live board, through the HTTP endpoints the board uses, on the simulated switch:
who may, the modes and their audit rows, Leave, the agent's call ending, two supervisors at once, bad input, what
the agent's window and the supervisor's panel show. (tests/sip/test_monitoring.py proves the audio.)"""

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.utils import timezone

from callbacks import lifecycle, roles
from callbacks.consumers import BoardConsumer
from callbacks.enums import CallState, EffectKind, HistoryKind, MonitorEnd, MonitorMode
from callbacks.models import Call, Effect, HistoryEvent, MonitoringSession, Queue
from callbacks.telephony.simulator.models import SimCall

from .factories import PASSWORD, make_agent, make_queue, refreshed, worker
from .test_calls import connected

pytestmark = pytest.mark.django_db(transaction=True)
User = get_user_model()
HTMX = {"HTTP_HX_REQUEST": "true"}


def supervisor(username: str, *queues: Queue):
    user = User.objects.create_user(username, f"{username}@example.com", PASSWORD, first_name=username.title())
    user.groups.add(Group.objects.get(name=roles.SUPERVISOR))
    for queue in queues:
        queue.supervisors.add(user)
    return user


@pytest.fixture
def floor(transactional_db):
    """Alice talks to a customer of Billing; Sam and Sue supervise Billing, Tom supervises Support only."""
    roles.ensure_roles()
    cache.clear()  # the count of each supervisor's open boards
    billing, support = make_queue("billing"), make_queue("support")
    alice = make_agent("alice", billing)
    interaction, call = connected(alice, billing)
    return {
        "alice": alice,
        "interaction": interaction,
        "call": call,
        "sam": supervisor("sam", billing),
        "sue": supervisor("sue", billing),
        "tom": supervisor("tom", support),
    }


def listen(client, user, agent, mode="listen"):
    client.force_login(user)
    return client.post(f"/board/agents/{agent.pk}/monitor/", {"mode": mode}, **HTMX)


def monitor_rows(callback) -> list[tuple]:
    rows = HistoryEvent.objects.filter(callback=callback, kind=HistoryKind.MONITOR).order_by("id")
    return [(r.actor.username if r.actor else None, r.agent.user.username, r.data["change"], r.data["mode"]) for r in rows]


def desk(client, agent) -> str:
    client.force_login(agent.user)
    return client.get("/").content.decode()


def test_listen_opens_a_session_recorded_in_the_audit_trail_and_told_to_the_switch(client, floor):
    response = listen(client, floor["sam"], floor["alice"])
    assert response.status_code == 200
    session = MonitoringSession.objects.get()
    assert (session.supervisor, session.agent, session.call, session.mode) == (
        floor["sam"],
        floor["alice"],
        floor["call"],
        MonitorMode.LISTEN,
    )
    assert refreshed(floor["call"]).monitoring == session
    html = response.content.decode()
    assert f'data-monitor-token="{session.token}"' in html and f'data-monitor-to="agent-{floor["alice"].pk}"' in html
    assert "On Alice&#x27;s call" in html or "On Alice's call" in html
    assert monitor_rows(floor["call"].callback) == [("sam", "alice", "start", "listen")]
    worker()
    effect = Effect.objects.get(kind=EffectKind.MONITOR)
    assert effect.payload == {"call_ref": floor["call"].switch_ref, "supervisor": str(floor["sam"].pk), "mode": "listen"}
    log = SimCall.objects.get(call_ref=floor["call"].switch_ref).log
    assert any("listen: supervisor hears customer and agent; nobody hears the supervisor" in line for line in log)


def test_the_agent_sees_they_are_monitored_and_in_which_mode(client, floor):
    listen(client, floor["sam"], floor["alice"])
    session = MonitoringSession.objects.get()
    page = desk(client, floor["alice"])
    assert "Monitored by Sam (Listen)" in page
    assert f'data-monitor-token="{session.token}"' in page and 'data-monitor-mode="listen"' in page
    client.force_login(floor["sam"])
    client.post(f"/board/monitor/{session.pk}/mode/", {"mode": "whisper"}, **HTMX)
    assert "Monitored by Sam (Whisper)" in desk(client, floor["alice"])


def test_a_queue_set_not_to_show_monitoring_hides_it_from_the_agent_but_still_carries_the_call(client, floor):
    Queue.objects.filter(slug="billing").update(monitoring_shown=False)
    listen(client, floor["sam"], floor["alice"])
    page = desk(client, floor["alice"])
    assert "Monitored by" not in page
    assert 'data-monitor-mode="listen"' in page  # the agent's page still answers and mixes the supervisor's call


def test_switching_modes_keeps_the_session_and_records_each_switch(client, floor):
    listen(client, floor["sam"], floor["alice"])
    session = MonitoringSession.objects.get()
    for mode in ("whisper", "barge", "listen"):
        response = client.post(f"/board/monitor/{session.pk}/mode/", {"mode": mode}, **HTMX)
        assert response.status_code == 200
        assert f'data-monitor-mode="{mode}"' in response.content.decode()
    assert MonitoringSession.objects.get() == session and refreshed(session).mode == MonitorMode.LISTEN
    assert [r[2:] for r in monitor_rows(floor["call"].callback)] == [
        ("start", "listen"),
        ("mode", "whisper"),
        ("mode", "barge"),
        ("mode", "listen"),
    ]
    assert refreshed(floor["call"]).state == CallState.CONNECTED


def test_leave_ends_the_session_and_leaves_the_call_as_it_was(client, floor):
    listen(client, floor["sam"], floor["alice"])
    session = MonitoringSession.objects.get()
    response = client.post(f"/board/monitor/{session.pk}/leave/", **HTMX)
    assert response.status_code == 200 and "data-monitor-token" not in response.content.decode()
    session.refresh_from_db()
    assert session.ended_at is not None and session.end_reason == MonitorEnd.LEFT
    call = refreshed(floor["call"])
    assert call.state == CallState.CONNECTED and call.monitoring is None
    assert monitor_rows(call.callback)[-1] == ("sam", "alice", "end", "listen")
    assert "Monitored by" not in desk(client, floor["alice"])
    worker()
    assert Effect.objects.filter(kind=EffectKind.END_MONITOR).count() == 1


def end_row(callback):
    return HistoryEvent.objects.filter(callback=callback, kind=HistoryKind.MONITOR, data__change="end").get()


def test_the_agent_pressing_end_call_ends_the_monitoring_and_the_end_row_names_the_supervisor(client, floor):
    listen(client, floor["sam"], floor["alice"], mode="barge")
    client.force_login(floor["alice"].user)
    assert client.post(f"/interactions/{floor['interaction'].pk}/end/", **HTMX).status_code == 204  # the push redraws
    session = MonitoringSession.objects.get()
    assert session.ended_at is not None and session.end_reason == MonitorEnd.CALL_ENDED
    row = end_row(floor["call"].callback)
    assert (row.actor, row.about, row.agent, row.data["reason"]) == (None, floor["sam"], floor["alice"], "call_ended")
    assert row.message == "Supervisor Sam stopped monitoring Alice (Barge): the call ended"
    client.force_login(floor["sam"])
    assert "data-monitor-token" not in client.get("/board/monitor/", **HTMX).content.decode()


def test_the_customer_hanging_up_ends_the_monitoring(client, floor):
    listen(client, floor["sam"], floor["alice"])
    worker()
    sim = SimCall.objects.get(call_ref=floor["call"].switch_ref)
    client.logout()
    assert client.post(f"/sim/phone/{sim.token}/hangup/").status_code == 302  # the customer's phone page
    session = MonitoringSession.objects.get()
    assert session.end_reason == MonitorEnd.CALL_ENDED and refreshed(floor["call"]).state == CallState.ENDED
    assert end_row(floor["call"].callback).about == floor["sam"]
    assert "Monitored by" not in desk(client, floor["alice"])


def test_every_monitoring_row_names_the_supervisor_as_who_it_is_about(client, floor):
    listen(client, floor["sam"], floor["alice"])
    session = MonitoringSession.objects.get()
    client.post(f"/board/monitor/{session.pk}/mode/", {"mode": "whisper"}, **HTMX)
    client.post(f"/board/monitor/{session.pk}/leave/", **HTMX)
    rows = HistoryEvent.objects.filter(kind=HistoryKind.MONITOR).order_by("id")
    assert [(r.data["change"], r.actor, r.about) for r in rows] == [
        ("start", floor["sam"], floor["sam"]),
        ("mode", floor["sam"], floor["sam"]),
        ("end", floor["sam"], floor["sam"]),
    ]


# --- The supervisor gone: logout, their line, their board --------------------------------------------------------


def test_the_supervisor_logging_out_ends_their_session(client, floor):
    listen(client, floor["sam"], floor["alice"])
    assert client.post("/logout/").status_code == 302
    session = MonitoringSession.objects.get()
    assert session.end_reason == MonitorEnd.LOGGED_OUT and refreshed(floor["call"]).monitoring is None
    row = end_row(floor["call"].callback)
    assert (row.actor, row.about, row.data["reason"]) == (floor["sam"], floor["sam"], "logged_out")
    assert row.message == "Supervisor Sam stopped monitoring Alice (Listen): the supervisor logged out"
    assert listen(client, floor["sue"], floor["alice"]).status_code == 200  # nobody is kept off the call
    worker()
    assert Effect.objects.filter(kind=EffectKind.END_MONITOR).count() == 1


def test_the_supervisors_line_ending_reported_by_their_board_ends_the_session(client, floor):
    listen(client, floor["sam"], floor["alice"], mode="whisper")
    session = MonitoringSession.objects.get()
    response = client.post("/board/monitor/line-gone/", {"token": session.token, "code": "403"}, **HTMX)
    assert response.status_code == 200 and "data-monitor-token" not in response.content.decode()
    session.refresh_from_db()
    assert session.end_reason == MonitorEnd.LINE_ENDED
    row = end_row(floor["call"].callback)
    assert (row.actor, row.about, row.data["reason"], row.data["code"]) == (None, floor["sam"], "line_ended", 403)
    assert "Monitored by" not in desk(client, floor["alice"])
    assert refreshed(floor["call"]).state == CallState.CONNECTED  # the customer's call goes on


def test_a_line_report_for_a_token_not_ones_own_or_already_ended_is_refused(client, floor):
    listen(client, floor["sam"], floor["alice"])
    session = MonitoringSession.objects.get()
    client.force_login(floor["sue"])
    assert client.post("/board/monitor/line-gone/", {"token": session.token}, **HTMX).status_code == 404
    client.force_login(floor["alice"].user)
    assert client.post("/board/monitor/line-gone/", {"token": session.token}, **HTMX).status_code == 403
    client.force_login(floor["sam"])
    assert client.post("/board/monitor/line-gone/", {"token": "x" * 5000, "code": "9" * 50}, **HTMX).status_code == 404
    assert refreshed(session).ended_at is None
    client.post(f"/board/monitor/{session.pk}/leave/", **HTMX)
    assert client.post("/board/monitor/line-gone/", {"token": session.token}, **HTMX).status_code == 409
    assert client.get("/board/monitor/line-gone/").status_code == 405


def board_socket(user):
    socket = WebsocketCommunicator(BoardConsumer.as_asgi(), "/ws/board/", headers=[(b"origin", b"http://127.0.0.1:8000")])
    socket.scope["user"] = user
    return socket


def sweep_after(seconds: float) -> int:
    return lifecycle.sweep(now=timezone.now() + timedelta(seconds=seconds))["monitoring"]


async def test_the_supervisors_last_board_closing_ends_the_session_after_the_grace(client, floor):
    sam = floor["sam"]
    first, second = board_socket(sam), board_socket(sam)
    assert (await first.connect(timeout=10))[0] and (await second.connect(timeout=10))[0]
    await sync_to_async(listen)(client, sam, floor["alice"])
    await first.disconnect()  # another board of Sam's is still open
    assert await sync_to_async(lambda: MonitoringSession.objects.get().board_left_at)() is None
    await second.disconnect()
    assert await sync_to_async(lambda: MonitoringSession.objects.get().board_left_at)() is not None
    assert await sync_to_async(sweep_after)(20) == 0  # within the grace (30 s): a reload comes back in time
    assert await sync_to_async(sweep_after)(31) == 1
    session = await sync_to_async(MonitoringSession.objects.get)()
    assert session.end_reason == MonitorEnd.BOARD_CLOSED
    row = await sync_to_async(lambda: end_row(floor["call"].callback))()
    assert (row.actor_id, row.about_id, row.data["reason"]) == (None, sam.pk, "board_closed")
    assert row.message == "Supervisor Sam stopped monitoring Alice (Listen): the supervisor's board closed"


async def test_a_board_back_within_the_grace_keeps_the_session(client, floor):
    sam = floor["sam"]
    board = board_socket(sam)
    assert (await board.connect(timeout=10))[0]
    await sync_to_async(listen)(client, sam, floor["alice"])
    await board.disconnect()
    again = board_socket(sam)  # the page reloaded
    assert (await again.connect(timeout=10))[0]
    assert await sync_to_async(sweep_after)(60) == 0
    session = await sync_to_async(MonitoringSession.objects.get)()
    assert session.ended_at is None and session.board_left_at is None
    await again.disconnect()


def test_an_agent_and_a_supervisor_of_another_queue_get_403(client, floor):
    bob = make_agent("bob", Queue.objects.get(slug="billing"))
    response = listen(client, bob.user, floor["alice"])
    assert response.status_code == 403
    response = listen(client, floor["tom"], floor["alice"])
    assert response.status_code == 403 and "You do not supervise the queue of this call." in response.content.decode()
    assert not MonitoringSession.objects.exists()
    assert not HistoryEvent.objects.filter(kind=HistoryKind.MONITOR).exists()


def test_another_supervisors_session_cannot_be_switched_or_left(client, floor):
    listen(client, floor["sam"], floor["alice"])
    session = MonitoringSession.objects.get()
    client.force_login(floor["sue"])
    assert client.post(f"/board/monitor/{session.pk}/mode/", {"mode": "barge"}, **HTMX).status_code == 403
    assert client.post(f"/board/monitor/{session.pk}/leave/", **HTMX).status_code == 403
    client.force_login(floor["alice"].user)
    assert client.post(f"/board/monitor/{session.pk}/leave/", **HTMX).status_code == 403
    assert refreshed(session).ended_at is None


def test_two_supervisors_on_one_call_the_second_is_told_who_is_on_it(client, floor):
    assert listen(client, floor["sam"], floor["alice"]).status_code == 200
    response = listen(client, floor["sue"], floor["alice"])
    assert response.status_code == 409 and "Sam is already on this call." in response.content.decode()
    assert MonitoringSession.objects.count() == 1


def test_a_supervisor_monitors_one_call_at_a_time(client, floor):
    billing = Queue.objects.get(slug="billing")
    bob = make_agent("bob", billing)
    connected(bob, billing, phone="+33612345699")
    listen(client, floor["sam"], floor["alice"])
    response = listen(client, floor["sam"], bob)
    assert response.status_code == 409 and "Leave Alice" in response.content.decode()


@pytest.mark.parametrize(
    "url, data, status",
    [
        ("/board/agents/999999/monitor/", {"mode": "listen"}, 404),
        ("/board/agents/{alice}/monitor/", {"mode": "shout"}, 400),
        ("/board/agents/{alice}/monitor/", {"mode": "x" * 5000}, 400),
        ("/board/monitor/999999/mode/", {"mode": "barge"}, 404),
        ("/board/monitor/{session}/mode/", {"mode": ""}, 400),
        ("/board/monitor/{session}/mode/", {"mode": "listen"}, 409),
        ("/board/monitor/999999/leave/", {}, 404),
    ],
)
def test_bad_input_is_a_4xx_never_a_500(client, floor, url, data, status):
    listen(client, floor["sam"], floor["alice"])
    session = MonitoringSession.objects.get()
    url = url.format(alice=floor["alice"].pk, session=session.pk)
    assert client.post(url, data, **HTMX).status_code == status
    assert client.get(url).status_code == 405


def test_an_agent_without_a_connected_call_cannot_be_monitored(client, floor):
    lifecycle.do_end_call(user=floor["alice"].user, interaction_id=floor["interaction"].pk)
    response = listen(client, floor["sam"], floor["alice"])
    assert response.status_code == 409 and "Alice has no call to listen to." in response.content.decode()


def test_a_session_that_ended_cannot_be_switched(client, floor):
    listen(client, floor["sam"], floor["alice"])
    session = MonitoringSession.objects.get()
    client.post(f"/board/monitor/{session.pk}/leave/", **HTMX)
    assert client.post(f"/board/monitor/{session.pk}/mode/", {"mode": "barge"}, **HTMX).status_code == 409


def test_the_board_offers_listen_on_each_agents_row(client, floor):
    client.force_login(floor["sam"])
    page = client.get("/board/").content.decode()
    assert f'action="/board/agents/{floor["alice"].pk}/monitor/"' in page and "Listen to Alice" in page
    assert 'id="monitor"' in page


def test_without_htmx_the_forms_go_back_to_the_board(client, floor):
    client.force_login(floor["sam"])
    response = client.post(f"/board/agents/{floor['alice'].pk}/monitor/", {"mode": "listen"})
    assert response.status_code == 302 and response["Location"] == "/board/"
    assert Call.objects.get().monitoring is not None
