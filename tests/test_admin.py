"""Every model is in admin, and its list, search and change pages render."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model

from callbacks.models import CallbackRequest

from .factories import make_agent, make_callback, make_queue, set_ready

MODELS = [m for m in admin.site._registry if m._meta.app_label == "callbacks"]


@pytest.fixture
def admin_client_with_data(client, transactional_db):
    queue = make_queue("billing")
    agent = make_agent("alice", queue)
    set_ready(agent)
    make_callback(queue, data={"reason": "Refund"})
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "secret-pass-123")
    client.force_login(user)
    return client


def test_every_callbacks_model_is_registered():
    from django.apps import apps

    assert set(apps.get_app_config("callbacks").get_models()) == set(MODELS)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_changelist_and_search_render(admin_client_with_data, model):
    url = f"/admin/callbacks/{model._meta.model_name}/"
    assert admin_client_with_data.get(url).status_code == 200
    assert admin_client_with_data.get(url, {"q": "alice"}).status_code == 200
    obj = model.objects.first()
    if obj is not None:
        assert admin_client_with_data.get(f"{url}{obj.pk}/change/").status_code == 200


def test_callback_change_page_shows_read_only_history(admin_client_with_data):
    callback = CallbackRequest.objects.get()
    html = admin_client_with_data.get(f"/admin/callbacks/callbackrequest/{callback.pk}/change/").content.decode()
    assert "Offered to Alice" in html


def test_lifecycle_records_are_view_only(admin_client_with_data):
    from callbacks.models import HistoryEvent, Offer

    offer = Offer.objects.first()
    page = admin_client_with_data.get(f"/admin/callbacks/offer/{offer.pk}/change/").content.decode()
    assert 'name="_save"' not in page  # no Save button on a record
    assert admin_client_with_data.get("/admin/callbacks/historyevent/add/").status_code == 403
    event = HistoryEvent.objects.first()
    response = admin_client_with_data.post(f"/admin/callbacks/historyevent/{event.pk}/change/", {"message": "rewritten"})
    assert response.status_code == 403
    event.refresh_from_db()
    assert event.message != "rewritten"
