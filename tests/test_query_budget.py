"""The SQL budget of one whole lifecycle, step by step, as the browser and the integration cause it.

A lifecycle is: the API creates a callback and routing offers it to a Ready agent, the agent clicks
Accept, then Mark Done, and is free (Ready) again. Its statements are pinned per step and in total
(at most 27). Transaction control (BEGIN, COMMIT, SAVEPOINT, RELEASE) is not counted: SQLite shows it
as statements, PostgreSQL does not. What each step pushes has its own budget, in statements and in partials
rendered: pushes scale with the pages open, not with the lifecycle."""

import json

import pytest
from django.db import connection
from django.test.signals import template_rendered
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from callbacks import configuration
from callbacks.enums import AgentStatus
from callbacks.models import AgentChannelStatus, Offer
from callbacks.views.render import render_push

from .factories import make_api_client, set_ready
from .verify import Listener

HTMX = {"HTTP_HX_REQUEST": "true"}
CONTROL = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK")

LIFECYCLE = 27
STEPS = {
    "create via the API, with routing": 13,  # 12 once the client's last use (kept per minute) is fresh
    "Accept": 6,
    "Mark Done (Ready again, routing looks for more)": 8,
}
# What each step pushes to the agent's page, as the consumer renders it (`render_push`; the agent's profile, like
# the configuration, is kept by the process):
# the statements, and the partials rendered (an offer's card alone when it rings; the new window alone on Accept,
# with the card's removal and the notices it ends, which read nothing; the window's removal on Mark Done, which
# reads nothing either).
PUSHES = {
    "create via the API, with routing": (1, ["offer-cards", "callbacks/_offer.html"]),
    "Accept": (5, ["offer-cards", "interaction-windows", "notices", "callbacks/_interaction.html"]),
    "Mark Done (Ready again, routing looks for more)": (0, ["interaction-windows"]),
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

    listening: list[Listener] = []

    def step(name: str, path: str, **post):
        listening[:] = [Listener([alice])]  # a listener per step: channels-redis binds a receive to one event loop
        with CaptureQueriesContext(connection) as captured:
            result = client.post(path, **post)
        sql = statements(captured)
        assert len(sql) <= STEPS[name], f"{name}: {len(sql)} statements\n" + "\n".join(sql)
        spent[name] = len(sql)
        return result

    # A running server keeps the configuration it read (preview fields, reasons, dispositions): read it once here.
    configuration.preview_fields(), configuration.not_ready_reasons(), configuration.disposition_codes()
    configuration.agent_profile(alice.pk)

    def push(name: str):
        """Render what the step rang on alice's group, as her socket's consumer does; pin statements and partials."""
        budget, partials = PUSHES[name]
        rendered: list[str] = []

        def seen(sender, template, context, **kwargs):
            rendered.append(template.name)

        messages = listening[0].messages()[alice.pk]
        assert len(messages) == 1, f"{name}: one message per step, not {len(messages)}"
        template_rendered.connect(seen)
        try:
            with CaptureQueriesContext(connection) as captured:
                render_push(configuration.agent_profile(alice.pk), messages[0])
        finally:
            template_rendered.disconnect(seen)
        assert len(captured.captured_queries) <= budget, (
            f"push of {name}: {len(captured.captured_queries)} statements\n"
            + "\n".join(q["sql"] for q in captured.captured_queries)
        )
        assert rendered == partials, f"push of {name} rendered {rendered}"

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
        push("create via the API, with routing")
        offer = Offer.objects.get(outcome="open")
        response = step("Accept", reverse("accept_offer", args=[offer.pk]), **HTMX)
        assert response.status_code == 204
        push("Accept")
        interaction = offer.callback.interactions.get()
        response = step("Mark Done (Ready again, routing looks for more)", reverse("mark_done", args=[interaction.pk]), **HTMX)
        assert response.status_code == 204
        push("Mark Done (Ready again, routing looks for more)")
        assert AgentChannelStatus.objects.get(agent=alice, channel="voice").status == AgentStatus.READY
        assert sum(spent.values()) <= LIFECYCLE
