"""Brute force: after 5 wrong passwords the username is locked from anywhere, and the address for any username
(django-axes); the right password is then refused too, until the cool-off or an admin's unlock."""

import base64

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model

from .factories import PASSWORD, make_agent, make_queue

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alice(transactional_db):
    return make_agent("alice", make_queue("billing"))


def sign_in(client, username, password, address="10.0.0.1"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def test_fifty_wrong_passwords_then_the_right_one_is_refused(client, alice):
    answers = [sign_in(client, "alice", "wrong-password").status_code for _ in range(50)]
    assert answers == [200] * 4 + [429] * 46  # the form again with its message, then locked at the fifth
    locked = sign_in(client, "alice", PASSWORD)
    assert locked.status_code == 429
    assert b"Too many failed sign-ins" in locked.content
    assert sign_in(client, "alice", PASSWORD, address="10.9.9.9").status_code == 429  # the username, from anywhere
    assert "_auth_user_id" not in client.session


def test_one_address_trying_many_usernames_is_locked(client, alice):
    for name in ("bob", "carol", "dave", "erin", "frank"):
        sign_in(client, name, "guess", address="10.0.0.66")
    assert sign_in(client, "alice", PASSWORD, address="10.0.0.66").status_code == 429
    assert sign_in(client, "alice", PASSWORD, address="10.0.0.67").status_code == 302  # others still sign in


def test_a_right_password_resets_the_count(client, alice):
    for _ in range(4):
        sign_in(client, "alice", "wrong-password")
    assert sign_in(client, "alice", PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        sign_in(client, "alice", "wrong-password")
    assert sign_in(client, "alice", PASSWORD).status_code == 302


def test_an_admin_unlocks_an_agent(client, alice):
    for _ in range(5):
        sign_in(client, "alice", "wrong-password")
    assert sign_in(client, "alice", PASSWORD).status_code == 429
    boss = get_user_model().objects.create_superuser("boss", "b@example.com", "secret-pass-123")
    client.force_login(boss)
    attempts = client.get("/admin/axes/accessattempt/")
    assert attempts.status_code == 200 and b"alice" in attempts.content
    ids = list(AccessAttempt.objects.filter(username="alice").values_list("pk", flat=True))
    client.post("/admin/axes/accessattempt/", {"action": "delete_selected", "_selected_action": ids, "post": "yes"})
    assert not AccessAttempt.objects.filter(username="alice").exists()
    client.logout()
    assert sign_in(client, "alice", PASSWORD).status_code == 302


def test_django_admin_and_gms_basic_auth_count_too(client, alice):
    get_user_model().objects.create_superuser("boss", "b@example.com", "secret-pass-123")
    for _ in range(5):
        client.post("/admin/login/", {"username": "boss", "password": "nope", "next": "/admin/"}, REMOTE_ADDR="10.0.0.5")
    assert (
        client.post("/admin/login/", {"username": "boss", "password": "secret-pass-123"}, REMOTE_ADDR="10.0.0.6").status_code
        == 429
    )
    token = base64.b64encode(b"boss:secret-pass-123").decode()
    response = client.get("/genesys/1/admin/callback/queues", HTTP_AUTHORIZATION=f"Basic {token}", REMOTE_ADDR="10.0.0.7")
    assert response.status_code in (401, 429)  # refused: the locked user's right password does not get in
