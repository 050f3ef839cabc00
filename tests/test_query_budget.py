"""The SQL budget of one whole lifecycle, step by step, as the browser and the integration cause it.

A lifecycle is: the API creates a callback and routing offers it to a Ready agent, the agent clicks
Accept, then Mark Done, and is free (Ready) again. Its statements are pinned per step and in total
(at most 30). Transaction control (BEGIN, COMMIT, SAVEPOINT, RELEASE) is not counted: SQLite shows it
as statements, PostgreSQL does not. Each region render a push causes has its own budget: pushes scale
with the pages open, not with the lifecycle."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from callbacks.enums import AgentStatus
from callbacks.models import Agent, AgentChannelStatus, Offer
from callbacks.views.render import render_regions

from .factories import make_api_client, set_ready

HTMX = {"HTTP_HX_REQUEST": "true"}
CONTROL = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK")

LIFECYCLE = 30
STEPS = {
    "create via the API, with routing": 14,  # 13 once the client's last use (kept per minute) is fresh
    "Accept": 7,
    "Mark Done (Ready again, routing looks for more)": 9,
}
PUSHES = {
    "notifications": 7,
    # The windows another agent brought me into are read only when my status rows say I am in one (see
    # Workspace.joined): two statements, and a quarter of a push's CPU, that most renders do not need.
    "notifications + interaction": 14,
    "notifications + interaction (closed)": 7,
}


def statements(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if not q["sql"].upper().startswith(CONTROL)]


def test_the_step_budgets_add_up_to_the_lifecycle_budget():
    assert sum(STEPS.values()) <= LIFECYCLE


@pytest.mark.parametrize("round_", [1, 2])  # the second lifecycle costs the same as the first
def test_a_whole_lifecycle_stays_within_its_query_budget(client, queue, alice, round_):
    _, token = make_api_client()
    client.force_login(alice.user)
    set_ready(alice)
    spent: dict[str, int] = {}

    def step(name: str, path: str, **post):
        with CaptureQueriesContext(connection) as captured:
            result = client.post(path, **post)
        sql = statements(captured)
        assert len(sql) <= STEPS[name], f"{name}: {len(sql)} statements\n" + "\n".join(sql)
        spent[name] = len(sql)
        return result

    def push(name: str, regions):
        with CaptureQueriesContext(connection) as captured:
            render_regions(Agent.objects.get(pk=alice.pk), regions)
        assert len(captured.captured_queries) <= PUSHES[name], f"push {name}: {len(captured.captured_queries)} queries"

    for n in range(round_):
        spent.clear()
        response = step(
            "create via the API, with routing",
            "/api/v1/callbacks",
            data=json.dumps({"queue": "billing", "phone_number": f"+3361234500{n}"}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        assert response.status_code == 201
        push("notifications", ["notifications"])
        offer = Offer.objects.get(outcome="open")
        response = step("Accept", reverse("accept_offer", args=[offer.pk]), **HTMX)
        assert response.status_code == 204
        push("notifications + interaction", ["notifications", "interaction"])
        interaction = offer.callback.interactions.get()
        response = step("Mark Done (Ready again, routing looks for more)", reverse("mark_done", args=[interaction.pk]), **HTMX)
        assert response.status_code == 204
        push("notifications + interaction (closed)", ["notifications", "interaction"])
        assert AgentChannelStatus.objects.get(agent=alice, channel="voice").status == AgentStatus.READY
        assert sum(spent.values()) <= LIFECYCLE
