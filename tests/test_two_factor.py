"""A second factor for local accounts, through the pages: an authenticator app (TOTP) set up at /account/two-factor/
with ten one-time recovery codes; then a password alone signs nobody in, and the code step does. Admin-role accounts
must set one up where it is required (the production profile). Codes are computed from the device's key, as the
user's app would, on a clock the test moves."""

import re
from datetime import UTC, datetime

import pytest
import time_machine
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from callbacks.consumers import CLOSE_UNAUTHENTICATED, BoardConsumer
from callbacks.roles import ADMIN

from .factories import PASSWORD
from .test_production import PRODUCTION, manage

pytestmark = pytest.mark.django_db(transaction=True)

SETUP = "/account/two-factor/"
CODE_STEP = "/login/code/"


@pytest.fixture
def clock():
    with time_machine.travel(datetime(2026, 12, 7, 9, 0, 5, tzinfo=UTC), tick=False) as traveller:
        yield traveller


def code_for(device: TOTPDevice, steps_later: int = 0) -> str:
    """What the user's authenticator app shows now (or that many 30-second steps later)."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=steps_later):06d}"


def recovery_codes(response) -> list[str]:
    return re.findall(r"<li><code>([a-z2-7]{8})</code></li>", response.content.decode())


def enrol(client, user, clock) -> tuple[TOTPDevice, list[str]]:
    """The user sets up their app (signed in), then signs out; the clock moves past the code they used."""
    client.force_login(user)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    codes = recovery_codes(client.post(SETUP, {"action": "confirm", "code": code_for(device)}))
    client.logout()
    clock.shift(30)
    device.refresh_from_db()
    return device, codes


def sign_in(client, username: str = "alice", password: str = PASSWORD):
    return client.post("/login/", {"username": username, "password": password})


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_setting_up_shows_a_qr_code_and_the_secret_then_ten_recovery_codes_once(client, alice, clock):
    client.force_login(alice.user)
    page = client.get(SETUP)
    assert page.status_code == 200
    html = page.content.decode()
    device = TOTPDevice.objects.get(user=alice.user)
    assert not device.confirmed
    assert '<img class="qr" src="data:image/svg+xml' in html  # inline, allowed by img-src data: (no inline style)
    assert re.search(r'<code class="secret">([A-Z2-7]{4} ){7}[A-Z2-7]{4}</code>', html)
    assert "unsafe-inline" not in page["Content-Security-Policy"]

    wrong = client.post(SETUP, {"action": "confirm", "code": code_for(device, steps_later=5)})
    assert wrong.status_code == 400 and "That code is not right" in wrong.content.decode()
    clock.shift(2)  # past the one-second wait a wrong code costs

    done = client.post(SETUP, {"action": "confirm", "code": code_for(device)})
    codes = recovery_codes(done)
    assert done.status_code == 200 and len(set(codes)) == 10
    device.refresh_from_db()
    assert device.confirmed
    assert sorted(StaticToken.objects.filter(device__user=alice.user).values_list("token", flat=True)) == sorted(codes)
    again = client.get(SETUP).content.decode()
    assert "10 recovery codes left" in again
    assert not any(code in again for code in codes)  # shown once


def test_a_password_alone_does_not_sign_in_and_then_a_right_code_does(client, alice, clock):
    device, _ = enrol(client, alice.user, clock)
    step = sign_in(client)
    assert step.status_code == 302 and step["Location"] == CODE_STEP
    assert not signed_in(client)
    assert client.get("/")["Location"].startswith("/login/")
    assert "Two-factor sign-in" in client.get(CODE_STEP).content.decode()

    done = client.post(CODE_STEP, {"code": code_for(device)})
    assert done.status_code == 302 and done["Location"] == "/"
    assert signed_in(client) and client.get("/").status_code == 200


def test_a_wrong_code_is_refused_and_signs_nobody_in(client, alice, clock):
    device, _ = enrol(client, alice.user, clock)
    sign_in(client)
    wrong = client.post(CODE_STEP, {"code": code_for(device, steps_later=-5)})
    assert wrong.status_code == 400
    assert "That code is not right" in wrong.content.decode()
    assert not signed_in(client)
    device.refresh_from_db()
    assert device.throttling_failure_count == 1


def test_wrong_codes_make_the_user_wait_longer_each_time_even_after_a_new_password(client, alice, clock):
    device, _ = enrol(client, alice.user, clock)
    sign_in(client)
    client.post(CODE_STEP, {"code": "000000" if code_for(device) != "000000" else "111111"})
    throttled = client.post(CODE_STEP, {"code": code_for(device)})  # the right code, within the second it must wait
    assert throttled.status_code == 400 and "try again in 1 second." in throttled.content.decode()
    assert not signed_in(client)
    sign_in(client)  # a right password again does not lift the wait: it is the user's, kept in the database
    assert "try again in" in client.post(CODE_STEP, {"code": code_for(device)}).content.decode()
    clock.shift(5)
    assert client.post(CODE_STEP, {"code": code_for(device)}).status_code == 302
    assert signed_in(client)


def test_five_wrong_codes_end_the_step_and_the_password_is_asked_again(client, alice, clock):
    device, _ = enrol(client, alice.user, clock)
    sign_in(client)
    for _ in range(5):
        answer = client.post(CODE_STEP, {"code": "abcdefgh"})
        clock.shift(20)
    assert answer.status_code == 400 and "Too many wrong codes" in answer.content.decode()
    assert client.post(CODE_STEP, {"code": code_for(device)}).status_code == 400  # the step is over
    assert not signed_in(client)


def test_a_recovery_code_signs_in_once(client, alice, clock):
    _, codes = enrol(client, alice.user, clock)
    sign_in(client)
    typed = f"{codes[0][:4].upper()}-{codes[0][4:].upper()}"  # as read aloud from paper
    assert client.post(CODE_STEP, {"code": typed})["Location"] == "/"
    assert signed_in(client)
    client.logout()
    clock.shift(30)

    sign_in(client)
    again = client.post(CODE_STEP, {"code": codes[0]})
    assert again.status_code == 400 and not signed_in(client)
    assert StaticToken.objects.filter(device__user=alice.user).count() == 9


def test_a_code_replayed_within_its_time_step_is_refused(client, alice, clock):
    device, _ = enrol(client, alice.user, clock)
    sign_in(client)
    code = code_for(device)
    assert client.post(CODE_STEP, {"code": code}).status_code == 302
    client.logout()
    sign_in(client)
    replayed = client.post(CODE_STEP, {"code": code})
    assert replayed.status_code == 400 and not signed_in(client)


def test_the_code_step_expires_after_five_minutes(client, alice, clock):
    device, _ = enrol(client, alice.user, clock)
    sign_in(client)
    clock.shift(5 * 60 + 1)
    late = client.post(CODE_STEP, {"code": code_for(device)})
    assert late.status_code == 400 and "This sign-in has expired" in late.content.decode()
    assert not signed_in(client)


def test_a_user_without_a_second_factor_signs_in_with_the_password_as_before(client, alice):
    answer = sign_in(client)
    assert answer.status_code == 302 and answer["Location"] == "/"
    assert signed_in(client)


def test_turning_it_off_needs_a_current_code(client, alice, clock):
    device, _ = enrol(client, alice.user, clock)
    client.force_login(alice.user)
    refused = client.post(SETUP, {"action": "disable", "code": code_for(device, steps_later=4)})
    assert refused.status_code == 400 and TOTPDevice.objects.filter(user=alice.user, confirmed=True).exists()
    clock.shift(2)
    assert client.post(SETUP, {"action": "disable", "code": code_for(device)}).status_code == 302
    assert not TOTPDevice.objects.filter(user=alice.user, confirmed=True).exists()
    assert not StaticToken.objects.filter(device__user=alice.user).exists()
    client.logout()
    assert sign_in(client)["Location"] == "/"


def test_new_recovery_codes_replace_the_old_ones(client, alice, clock):
    device, old = enrol(client, alice.user, clock)
    client.force_login(alice.user)
    new = recovery_codes(client.post(SETUP, {"action": "codes", "code": code_for(device)}))
    assert len(new) == 10 and not set(new) & set(old)
    assert set(StaticToken.objects.filter(device__user=alice.user).values_list("token", flat=True)) == set(new)


@pytest.fixture
def required(settings):
    settings.RINGBACK_ADMIN_TWO_FACTOR = True  # what the production profile sets


@pytest.mark.parametrize("role", ["superuser", "Admin group"])
def test_where_required_an_admin_without_a_second_factor_can_only_set_one_up(client, required, role, clock):
    users = get_user_model().objects
    if role == "superuser":
        boss = users.create_superuser("boss", "b@example.com", PASSWORD)
    else:
        boss = users.create_user("boss", "b@example.com", PASSWORD, is_staff=True)
        boss.groups.add(Group.objects.get_or_create(name=ADMIN)[0])
    assert sign_in(client, "boss")["Location"] == SETUP
    for page in ("/", "/board/", "/reports/", "/admin/", "/admin/auth/user/"):
        assert client.get(page)["Location"] == SETUP, page
    setup = client.get(SETUP)
    assert "Admin accounts must set up two-factor sign-in" in setup.content.decode()
    assert "Turn off" not in setup.content.decode()

    device = TOTPDevice.objects.get(user=boss)
    assert recovery_codes(client.post(SETUP, {"action": "confirm", "code": code_for(device)}))
    assert client.get("/admin/").status_code == 200  # this session signed in with its new second factor


async def test_where_required_an_admin_without_a_second_factor_gets_no_board_socket(required):
    boss = await sync_to_async(get_user_model().objects.create_superuser)("boss", "b@example.com", PASSWORD)
    socket = WebsocketCommunicator(BoardConsumer.as_asgi(), "/ws/board/", headers=[(b"origin", b"http://127.0.0.1:8000")])
    socket.scope["user"] = boss
    assert await socket.connect(timeout=10) == (False, CLOSE_UNAUTHENTICATED)


def test_where_required_an_agent_is_not_asked_for_one(client, alice, required):
    assert sign_in(client)["Location"] == "/"
    assert client.get("/").status_code == 200


def test_where_required_an_admin_signed_in_without_the_code_must_sign_in_again(client, required, clock):
    boss = get_user_model().objects.create_superuser("boss", "b@example.com", PASSWORD)
    enrol(client, boss, clock)
    client.force_login(boss)  # a session from before (no second factor in it)
    assert client.get("/admin/")["Location"].startswith("/login/")
    assert not signed_in(client)


def test_django_admins_own_sign_in_refuses_an_account_with_a_second_factor(client, clock):
    boss = get_user_model().objects.create_superuser("boss", "b@example.com", PASSWORD)
    enrol(client, boss, clock)
    answer = client.post("/admin/login/", {"username": "boss", "password": PASSWORD, "next": "/admin/"})
    assert answer.status_code == 200 and "sign in on Ringback&#x27;s sign-in page" in answer.content.decode()
    assert not signed_in(client)


def test_the_production_profile_requires_it_of_admins():
    result = manage("shell", "-c", "from django.conf import settings; print(settings.RINGBACK_ADMIN_TWO_FACTOR)", **PRODUCTION)
    assert result.stdout.strip().splitlines()[-1] == "True", result.stdout + result.stderr
