"""Scaled mode behind nginx: the whole flow crosses processes, and a web process SIGKILLed mid-flow and
started again loses nothing.

nginx (Debian's package, as `scripts/run` starts it) balances two Daphne processes; two dispatchers and a
task worker run beside them on PostgreSQL and Redis (`bench.cluster`). Agents are simulated pages
(`bench.floor`) that only ever talk to nginx: they go Ready, acknowledge each offer, Accept and Mark Done.
Callbacks come in through the intake API, also through nginx. Halfway, one Daphne and one dispatcher are
SIGKILLed: the agents whose sockets it held reconnect through nginx (to the live process). Then the killed
Daphne is started again and the other one killed: the restarted process carries the whole floor. Every
callback, before, between and after, ends Completed exactly once.
"""

import asyncio

import httpx

from bench.floor import Floor, until

from .factories import make_agent, make_queue, numbers, session_key_for
from .test_faults import Intake, assert_nothing_lost_duplicated_or_stuck, cluster_of, completed, db, feed, pytestmark

__all__ = ["cluster_of", "pytestmark"]  # the fault tests' fixture and skip conditions

AGENTS = 6


def answered_by(cluster, pid: int) -> bool:
    return httpx.get(f"{cluster.url}/healthz").json()["pid"] == pid


def test_flow_through_nginx_survives_a_web_process_killed_and_started_again(cluster_of):
    queue = make_queue("sales", offer_timeout_seconds=30)
    sessions = [session_key_for(make_agent(f"agent{i}", queue).user) for i in range(AGENTS)]
    cluster = cluster_of()
    intake = Intake(cluster, "sales")
    phones = numbers(24)

    async def scenario():
        async with Floor(cluster.url, sessions) as floor, httpx.AsyncClient(timeout=30) as http:
            floor.start()
            await until(lambda: floor.connects >= AGENTS, 30, "every agent connected")
            await feed(intake, http, phones[:8], gap=0.2)
            await until(db(lambda: completed() >= 4), 60, "half the first callbacks done")
            cluster.webs[0].kill()  # mid-flow: offers ringing, interactions open, sockets on it
            cluster.dispatchers[0].kill()
            await feed(intake, http, phones[8:16], gap=0.2)
            await until(db(lambda: completed() == 16), 120, "every callback so far completed")
            connects = floor.connects
            cluster.webs[0].start()
            cluster.webs[0].wait_ready()
            await until(lambda: answered_by(cluster, cluster.webs[0].pid), 30, "nginx sending requests to the restarted process")
            cluster.webs[1].kill()  # now only the restarted process serves
            await feed(intake, http, phones[16:], gap=0.2)
            await until(db(lambda: completed() == len(phones)), 120, "every callback completed")
            assert floor.connects > connects, "the pages moved to the restarted process"

    asyncio.run(scenario())
    assert len(intake.created) == len(phones) and not intake.refused, "nginx sends intake to a live process"
    assert_nothing_lost_duplicated_or_stuck(intake.created)
