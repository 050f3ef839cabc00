"""The board's agent row shows the agent's own call (Dialling, On a call, Customer on hold, with its time) and offers
Listen only while there is a call to listen to; the call's changes ring the boards, so the row follows live."""

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from callbacks import lifecycle, roles
from callbacks.consumers import BoardConsumer
from callbacks.enums import CallState

from .factories import make_agent, make_queue, refreshed
from .test_calls import accepted, answer, dial
from .test_monitoring import supervisor

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def floor(transactional_db):
    roles.ensure_roles()
    billing = make_queue("billing")
    alice = make_agent("alice", billing)
    return {"billing": billing, "alice": alice, "sam": supervisor("sam", billing)}


def row(client, floor) -> str:
    """Alice's row on Sam's board."""
    client.force_login(floor["sam"])
    html = client.get("/board/").content.decode()
    start = html.index(f'data-testid="agent-{floor["alice"].pk}"')
    return html[start : html.index("</tr>", start)]


def test_the_row_shows_the_agents_call_and_offers_listen_only_while_there_is_one_to_hear(client, floor):
    alice = floor["alice"]
    idle = row(client, floor)
    assert f'data-testid="call-{alice.pk}"' not in idle and "Listen" not in idle  # Ready, no call: nothing to hear

    interaction = accepted(alice, floor["billing"])
    call = dial(alice, interaction)
    dialling = row(client, floor)
    assert "Dialling" in dialling and "Listen" not in dialling  # ringing the customer: nobody to listen to yet

    call = answer(call)
    on_call = row(client, floor)
    assert "On a call" in on_call, on_call
    assert f'data-since="{int(call.connected_at.timestamp())}"' in on_call
    assert "Listen to Alice" in on_call

    # Sam listens in: every board says who is on the call, and Listen goes (one supervisor on a call at a time).
    sue = supervisor("sue", floor["billing"])
    sue.last_name = "Okafor"
    sue.save(update_fields=["last_name"])
    session = lifecycle.do_monitor(user=sue, agent_id=alice.pk)
    monitored = row(client, floor)
    assert "Sue Okafor is on the call" in monitored and "Listen to Alice" not in monitored
    lifecycle.do_leave_monitoring(user=sue, session_id=session.pk)
    assert "is on the call" not in row(client, floor) and "Listen to Alice" in row(client, floor)

    lifecycle.do_hold_call(user=alice.user, interaction_id=interaction.pk)
    held = row(client, floor)
    assert "Customer on hold" in held and "Listen to Alice" in held  # monitoring works on hold too

    lifecycle.do_resume_call(user=alice.user, interaction_id=interaction.pk)
    lifecycle.do_end_call(user=alice.user, interaction_id=interaction.pk)
    assert refreshed(call).state == CallState.ENDED
    after = row(client, floor)
    assert f'data-testid="call-{alice.pk}"' not in after and "Listen" not in after


async def test_the_calls_answer_re_renders_the_board_with_the_row_on_a_call(floor, settings):
    settings.RINGBACK_BOARD_REFRESH_SECONDS = 0.1
    board = WebsocketCommunicator(BoardConsumer.as_asgi(), "/ws/board/", headers=[(b"origin", b"http://127.0.0.1:8000")])
    board.scope["user"] = floor["sam"]
    assert (await board.connect(timeout=10))[0]
    await board.send_to(text_data=json.dumps({"hello": 0}))
    assert 'id="figures"' in await board.receive_from(timeout=5)
    alice = floor["alice"]
    call = await sync_to_async(lambda: dial(alice, accepted(alice, floor["billing"])))()
    html = ""
    while "Dialling" not in html:  # the accept and the dial ring the board; the last render shows the dial
        html = await board.receive_from(timeout=5)
    await sync_to_async(answer)(call)  # no transition of the callback: the call's own change rings the board
    html = await board.receive_from(timeout=5)
    while "On a call" not in html:
        html = await board.receive_from(timeout=5)
    assert f"Listen to {alice.display_name}" in html
    await board.disconnect()
