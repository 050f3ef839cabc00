"""The customer's language on the supervisor's callback page, in Chromium: a callback an integration created in
Spanish says so; one without a language says its e-mails follow the centre's."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from callbacks import roles
from callbacks.models import CallbackRequest

from ..factories import PASSWORD, make_api_client, make_queue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def setup(transactional_db):
    roles.ensure_roles()
    queue = make_queue("billing", name="Billing")
    sam = get_user_model().objects.create_user("sam", "sam@example.com", PASSWORD, first_name="Sam", last_name="Rivera")
    sam.groups.add(Group.objects.get(name=roles.SUPERVISOR))
    queue.supervisors.add(sam)
    _, token = make_api_client("Website")
    return {"queue": queue, "token": token}


def test_the_supervisor_sees_the_customers_language(server, setup, open_page, shot):
    body = {"queue": "billing", "phone_number": "+34612345678", "customer_name": "Ana García", "language": "es"}
    status, data = server.api("POST", "/api/v1/callbacks", setup["token"], {**body, "email": "ana@example.com"})
    assert status == 201 and data["language"] == "es", data
    board = open_page("sam", PASSWORD, viewport={"width": 1366, "height": 768})
    board.goto(f"/board/callbacks/{CallbackRequest.objects.get(reference=data['reference']).pk}/")
    expect(board.get_by_test_id("language")).to_have_text("Español")
    shot(board, "supervisor-callback-language")

    status, data = server.api(
        "POST", "/api/v1/callbacks", setup["token"], {**body, "phone_number": "+34612345679", "language": ""}
    )
    assert status == 201, data
    board.goto(f"/board/callbacks/{CallbackRequest.objects.get(reference=data['reference']).pk}/")
    expect(board.get_by_test_id("language")).to_have_text("The centre's own")
