"""The SQL budget of one whole lifecycle, step by step, as the browser and the integration cause it:
each HTTP request, and each region render a push causes. Pinned so a regression shows."""

import json

import pytest
from django.urls import reverse

from callbacks.models import Agent, Offer
from callbacks.views.render import render_regions

from .factories import make_api_client, set_ready

HTMX = {"HTTP_HX_REQUEST": "true"}

# step: the most queries it may take (SQLite counts BEGIN, COMMIT and savepoints too)
BUDGET = {
    "create via the API, with routing": 26,
    "push: notifications": 7,
    "Accept": 11,
    "push: notifications + interaction": 16,
    "Mark Done": 18,
    "push: notifications + interaction (closed)": 9,
}


@pytest.mark.parametrize("round_", [1, 2])  # the second lifecycle costs the same as the first
def test_a_whole_lifecycle_stays_within_its_query_budget(client, queue, alice, django_assert_max_num_queries, round_):
    _, token = make_api_client()
    client.force_login(alice.user)
    set_ready(alice)

    def push(regions):
        render_regions(Agent.objects.get(pk=alice.pk), regions)

    for n in range(round_):
        with django_assert_max_num_queries(BUDGET["create via the API, with routing"]):
            response = client.post(
                "/api/v1/callbacks",
                json.dumps({"queue": "billing", "phone_number": f"+3361234500{n}"}),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {token}",
            )
        assert response.status_code == 201
        with django_assert_max_num_queries(BUDGET["push: notifications"]):
            push(["notifications"])
        offer = Offer.objects.get(outcome="open")
        with django_assert_max_num_queries(BUDGET["Accept"]):
            assert client.post(reverse("accept_offer", args=[offer.pk]), **HTMX).status_code == 204
        with django_assert_max_num_queries(BUDGET["push: notifications + interaction"]):
            push(["notifications", "interaction"])
        interaction = offer.callback.interactions.get()
        with django_assert_max_num_queries(BUDGET["Mark Done"]):
            assert client.post(reverse("mark_done", args=[interaction.pk]), **HTMX).status_code == 204
        with django_assert_max_num_queries(BUDGET["push: notifications + interaction (closed)"]):
            push(["notifications", "interaction"])
