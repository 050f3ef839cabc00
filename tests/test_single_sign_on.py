"""Single sign-on with OpenID Connect, against a real provider (django-oauth-toolkit in a second process, started by the
`oidc_provider` fixture). The Django test client plays Ringback's side of the browser; a `requests` session with its
own cookie jar plays the provider's side, following the redirects by hand, so every hop is seen: Ringback's
authorisation request (PKCE, nonce, state), the provider's login page, the code back to Ringback, and Ringback's own
HTTP calls to the provider for the token, its keys and the userinfo."""

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urljoin, urlparse

import pytest
import requests
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.db import connections

from callbacks.consumers import CLOSE_UNAUTHENTICATED, AgentConsumer, BoardConsumer
from callbacks.enums import AgentStatus, HistoryKind
from callbacks.identity import ProviderBackend
from callbacks.models import Agent, AgentChannelStatus, HistoryEvent
from callbacks.roles import ADMIN, AGENT, SUPERVISOR
from workspace import oidc

from .factories import PASSWORD, make_agent, make_queue
from .test_production import PRODUCTION, manage

pytestmark = pytest.mark.django_db(transaction=True)

RINGBACK = "http://testserver"
AGENTS, LEADS, ADMINS = "callback-agents", "callback-leads", "it-admins"


@dataclass
class SignIn:
    answer: object  # Ringback's answer to the provider's redirect back
    authorize_url: str  # where Ringback sent the browser
    at_provider: requests.Session  # the browser's cookies at the provider


def provider_login(at_provider: requests.Session, provider, url: str, username: str) -> str:
    """The browser goes to `url` at the provider, signs in on its login page, and is sent on: where to."""
    answer = at_provider.get(url, allow_redirects=False)
    if answer.status_code == 302 and "/accounts/login/" in answer.headers["Location"]:
        login_url = urljoin(provider.url, answer.headers["Location"])
        page = at_provider.get(login_url)
        assert "Test identity provider" in page.text
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        form = {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": csrf}
        form["next"] = parse_qs(urlparse(login_url).query)["next"][0]
        answer = at_provider.post(login_url, data=form, allow_redirects=False)
        assert answer.status_code == 302, answer.text
        answer = at_provider.get(urljoin(provider.url, answer.headers["Location"]), allow_redirects=False)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def sign_in(client, provider, username: str, *, next_url: str = "/", authorize=lambda url: url, callback=lambda url: url):
    """Sign in with the provider: `authorize` and `callback` may change the addresses on the way (an attacker's)."""
    start = client.get("/oidc/authenticate/?" + urlencode({"next": next_url}))
    assert start.status_code == 302
    at_provider = requests.Session()
    back = provider_login(at_provider, provider, authorize(start["Location"]), username)
    assert back.startswith(f"{RINGBACK}/oidc/callback/?"), back
    return SignIn(client.get(callback(back).removeprefix(RINGBACK)), start["Location"], at_provider)


def with_param(url: str, name: str, value: str) -> str:
    parts = urlparse(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | {name: value}
    return parts._replace(query=urlencode(query)).geturl()


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def roles_of(user) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


@pytest.fixture
def queues(transactional_db):
    return make_queue("billing", name="Billing"), make_queue("support", name="Support")


def test_first_sign_in_creates_an_agent_with_the_claimed_queues(client, sso, queues):
    sso.user("ann", PASSWORD, [AGENTS], ["billing"], name="Ann Agent")
    done = sign_in(client, sso, "ann")
    request = parse_qs(urlparse(done.authorize_url).query)
    assert request["code_challenge_method"] == ["S256"] and request["code_challenge"] and request["nonce"]  # PKCE
    assert done.answer.status_code == 302 and done.answer["Location"] == "/"
    assert signed_in(client)

    ann = get_user_model().objects.get(username="ann")
    assert not ann.has_usable_password()  # an account of the provider's: no password here
    assert roles_of(ann) == {AGENT} and not ann.is_staff
    assert ann.agent.display_name == "Ann Agent"
    assert list(ann.agent.queues.values_list("slug", flat=True)) == ["billing"]
    assert set(AgentChannelStatus.objects.filter(agent=ann.agent).values_list("status", flat=True)) == {AgentStatus.NOT_READY}
    assert client.get("/").status_code == 200  # the workspace


def test_a_supervisor_supervises_the_claimed_queues(client, sso, queues):
    sso.user("sue", PASSWORD, [LEADS], ["support"])
    assert sign_in(client, sso, "sue").answer.status_code == 302
    sue = get_user_model().objects.get(username="sue")
    assert roles_of(sue) == {SUPERVISOR}
    assert not Agent.objects.filter(user=sue).exists()
    assert list(sue.supervised_queues.values_list("slug", flat=True)) == ["support"]
    assert client.get("/board/").status_code == 200


def test_without_a_queues_claim_the_queues_stay_as_an_admin_set_them(client, sso, queues):
    billing, support = queues
    sso.user("ann", PASSWORD, [AGENTS], ["billing"])
    sign_in(client, sso, "ann")
    ann = Agent.objects.get(user__username="ann")
    ann.queues.add(support)  # an admin adds one
    sso.user("ann", PASSWORD, [AGENTS], None)  # the provider sends no queues claim
    client.logout()
    sign_in(client, sso, "ann")
    assert set(ann.queues.values_list("slug", flat=True)) == {"billing", "support"}


def test_an_admin_from_the_provider_gets_staff_status_and_no_second_factor_step(client, sso, queues, settings):
    settings.RINGBACK_ADMIN_TWO_FACTOR = True  # required of local Admin accounts; the provider's are its business
    sso.user("ida", PASSWORD, [ADMINS])
    assert sign_in(client, sso, "ida").answer["Location"] == "/"
    ida = get_user_model().objects.get(username="ida")
    assert roles_of(ida) == {ADMIN} and ida.is_staff and not ida.is_superuser
    assert client.get("/admin/").status_code == 200
    assert client.get("/board/").status_code == 200


def test_a_changed_claim_changes_the_role(client, sso, queues):
    sso.user("ann", PASSWORD, [AGENTS], ["billing"])
    sign_in(client, sso, "ann")
    client.logout()
    sso.user("ann", PASSWORD, [LEADS, ADMINS], ["billing"])  # IT moves Ann to the team leads and makes her an admin
    assert sign_in(client, sso, "ann").answer["Location"] == "/"
    ann = get_user_model().objects.get(username="ann")
    assert roles_of(ann) == {SUPERVISOR, ADMIN} and ann.is_staff
    assert list(ann.supervised_queues.values_list("slug", flat=True)) == ["billing"]
    assert client.get("/")["Location"] == "/board/"  # no longer an agent: the board, not the workspace
    trail = HistoryEvent.objects.filter(kind=HistoryKind.CONFIG, actor=ann).order_by("pk")
    assert [e.message for e in trail] == [
        "Single sign-on: ann's roles are now Agent",
        "Single sign-on: ann's roles are now Supervisor, Admin",
    ]
    assert trail.last().data["before"] == [AGENT]

    client.logout()
    sso.user("ann", PASSWORD, [AGENTS], ["billing"])
    sign_in(client, sso, "ann")
    ann.refresh_from_db()
    assert roles_of(ann) == {AGENT} and not ann.is_staff and not ann.supervised_queues.exists()


async def test_a_removed_role_closes_that_users_sockets(client, sso, queues):
    await sync_to_async(sso.user)("ann", PASSWORD, [AGENTS], ["billing"])
    await sync_to_async(sign_in)(client, sso, "ann")
    ann = await sync_to_async(get_user_model().objects.select_related("agent").get)(username="ann")
    socket = WebsocketCommunicator(AgentConsumer.as_asgi(), "/ws/agent/", headers=[(b"origin", b"http://127.0.0.1:8000")])
    socket.scope["user"] = ann
    assert (await socket.connect(timeout=10))[0]
    try:
        await socket.receive_from(timeout=10)  # the first render

        def lose_the_agent_role():
            sso.user("ann", PASSWORD, [LEADS], ["billing"])
            other = type(client)()  # Ann signs in again elsewhere, a team lead now
            assert sign_in(other, sso, "ann").answer["Location"] == "/"

        await sync_to_async(lose_the_agent_role)()
        while (output := await socket.receive_output(timeout=10))["type"] != "websocket.close":
            pass
        assert output["code"] == CLOSE_UNAUTHENTICATED  # as at logout: the page goes to the sign-in page
        statuses = await sync_to_async(
            lambda: set(AgentChannelStatus.objects.filter(agent=ann.agent).values_list("status", flat=True))
        )()
        assert statuses == {AgentStatus.LOGGED_OUT}
    finally:
        await socket.disconnect()
        await sync_to_async(connections.close_all)()


async def test_a_removed_supervisor_role_closes_that_users_board(client, sso, queues):
    await sync_to_async(sso.user)("sue", PASSWORD, [LEADS], ["billing"])
    await sync_to_async(sign_in)(client, sso, "sue")
    sue = await sync_to_async(get_user_model().objects.get)(username="sue")
    board = WebsocketCommunicator(BoardConsumer.as_asgi(), "/ws/board/", headers=[(b"origin", b"http://127.0.0.1:8000")])
    board.scope["user"] = sue
    assert (await board.connect(timeout=10))[0]
    try:

        def back_to_the_floor():
            sso.user("sue", PASSWORD, [AGENTS], ["billing"])
            assert sign_in(type(client)(), sso, "sue").answer["Location"] == "/"

        await sync_to_async(back_to_the_floor)()
        while (output := await board.receive_output(timeout=10))["type"] != "websocket.close":
            pass
        assert output["code"] == CLOSE_UNAUTHENTICATED  # the page reloads, and shows what Sue may see now
    finally:
        await board.disconnect()
        await sync_to_async(connections.close_all)()


def test_a_user_with_no_mapped_group_is_refused_and_not_created(client, sso, queues):
    sso.user("mo", PASSWORD, ["marketing"])
    answer = sign_in(client, sso, "mo").answer
    assert answer.status_code == 403
    assert "gives you no Ringback role" in answer.content.decode()
    assert not signed_in(client)
    assert not get_user_model().objects.filter(username="mo").exists()


def test_a_user_left_with_no_role_is_refused_and_keeps_none(client, sso, queues):
    sso.user("ann", PASSWORD, [AGENTS], ["billing"])
    sign_in(client, sso, "ann")
    client.logout()
    sso.user("ann", PASSWORD, ["leavers"])
    answer = sign_in(client, sso, "ann").answer
    assert answer.status_code == 403 and "gives you no Ringback role" in answer.content.decode()
    assert not signed_in(client)
    assert roles_of(get_user_model().objects.get(username="ann")) == set()


@pytest.mark.parametrize(
    ("changed", "message"),
    [
        # The browser comes back with a state this session never sent (a forged or replayed link).
        ({"callback": lambda url: with_param(url, "state", "forged-state")}, "was not started in this browser"),
        # The provider is asked for a token bound to another nonce than the one Ringback keeps for this sign-in.
        ({"authorize": lambda url: with_param(url, "nonce", "replayed-nonce")}, "could not be verified, so nobody was signed in"),
    ],
    ids=["bad state", "bad nonce"],
)
def test_a_bad_state_or_nonce_is_refused(client, sso, queues, changed, message):
    sso.user("ann", PASSWORD, [AGENTS])
    answer = sign_in(client, sso, "ann", **changed).answer
    assert answer.status_code == 400
    assert message in answer.content.decode()
    assert not signed_in(client) and not get_user_model().objects.filter(username="ann").exists()


def test_a_sign_in_the_provider_answers_with_an_error_signs_nobody_in(client, sso, queues):
    start = client.get("/oidc/authenticate/")
    state = parse_qs(urlparse(start["Location"]).query)["state"][0]
    answer = client.get("/oidc/callback/?" + urlencode({"error": "access_denied", "state": state}))  # the person said no
    assert answer.status_code == 403 and "Test ID did not sign you in" in answer.content.decode()
    assert not signed_in(client)
    assert state not in client.session.get("oidc_states", {})  # that sign-in cannot be finished later


def test_a_token_from_another_issuer_is_refused(client, sso, queues, settings):
    settings.RINGBACK_OIDC_ISSUER = "https://login.other.example/"
    sso.user("ann", PASSWORD, [AGENTS])
    answer = sign_in(client, sso, "ann").answer
    assert answer.status_code == 400 and not signed_in(client)


def test_a_token_issued_to_another_client_is_refused(sso, transactional_db):
    """A genuine ID token of the same provider, issued to another application: Ringback's backend refuses it."""
    sso.client(["http://other.example"], client_id="other-app", secret="other-secret")
    sso.user("ann", PASSWORD, [AGENTS])
    verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    redirect_uri = "http://other.example/oidc/callback/"
    query = {"response_type": "code", "client_id": "other-app", "redirect_uri": redirect_uri, "scope": "openid"}
    query |= {"state": "s", "nonce": nonce, "code_challenge": challenge, "code_challenge_method": "S256"}
    back = provider_login(requests.Session(), sso, sso.discovery["authorization_endpoint"] + "?" + urlencode(query), "ann")
    code = parse_qs(urlparse(back).query)["code"][0]
    token = requests.post(
        sso.discovery["token_endpoint"],
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "code_verifier": verifier},
        auth=("other-app", "other-secret"),
        timeout=10,
    ).json()["id_token"]
    with pytest.raises(SuspiciousOperation, match="issued to another client"):
        ProviderBackend().verify_token(token, nonce=nonce)


def test_next_cannot_send_the_user_to_another_site(client, sso, queues):
    sso.user("ann", PASSWORD, [AGENTS])
    assert sign_in(client, sso, "ann", next_url="https://evil.example/phish").answer["Location"] == "/"


def test_logout_ends_the_providers_session_too(client, sso, queues):
    sso.user("ann", PASSWORD, [AGENTS], ["billing"])
    done = sign_in(client, sso, "ann")
    id_token = client.session["oidc_id_token"]
    out = client.post("/logout/")
    assert out.status_code == 302
    end_session = urlparse(out["Location"])
    assert out["Location"].startswith(sso.discovery["end_session_endpoint"] + "?")
    query = parse_qs(end_session.query)
    assert query["id_token_hint"] == [id_token] and query["post_logout_redirect_uri"] == [f"{RINGBACK}/login/"]
    assert not signed_in(client)
    assert set(AgentChannelStatus.objects.filter(agent__user__username="ann").values_list("status", flat=True)) == {
        AgentStatus.LOGGED_OUT
    }

    # The browser follows: the provider signs it out and sends it back to Ringback's sign-in page.
    back = done.at_provider.get(out["Location"], allow_redirects=False)
    assert back.status_code == 302 and back.headers["Location"] == f"{RINGBACK}/login/"
    again = done.at_provider.get(done.authorize_url, allow_redirects=False)
    assert "/accounts/login/" in again.headers["Location"]  # signed out at the provider: its login page again


def test_the_login_page_offers_the_provider(client, sso):
    page = client.get("/login/?next=/board/").content.decode()
    assert '<a class="btn btn-primary btn-block sso" href="/oidc/authenticate/?next=/board/">Sign in with Test ID</a>' in page
    assert 'name="password"' in page  # local passwords for everyone, by default


def test_without_single_sign_on_the_login_page_is_as_before(client, transactional_db):
    page = client.get("/login/").content.decode()
    assert "Sign in with" not in page and 'name="password"' in page
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/?code=x&state=y").status_code == 404


@pytest.fixture
def admins_only(sso, settings):
    settings.RINGBACK_LOCAL_PASSWORDS = "admins"


def test_with_passwords_for_admins_only_an_agents_password_is_refused(client, admins_only, queues):
    make_agent("alice", queues[0])
    answer = client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert answer.status_code == 403
    assert "emergency accounts only. Sign in with Test ID instead." in answer.content.decode()
    assert not signed_in(client)
    admin = client.post("/admin/login/", {"username": "alice", "password": PASSWORD, "next": "/admin/"})
    assert not signed_in(client) and admin.status_code == 200


@pytest.mark.parametrize("how", ["superuser", "Admin group"])
def test_with_passwords_for_admins_only_a_break_glass_admin_signs_in(client, admins_only, how):
    users = get_user_model().objects
    if how == "superuser":
        users.create_superuser("root", "root@example.com", PASSWORD)
    else:
        users.create_user("root", "root@example.com", PASSWORD, is_staff=True).groups.add(Group.objects.get(name=ADMIN))
    page = client.get("/login/").content.decode()
    assert "emergency sign-in</summary>" in page
    answer = client.post("/login/", {"username": "root", "password": PASSWORD})
    assert answer.status_code == 302 and signed_in(client)


def test_a_local_account_of_the_same_name_is_not_taken_over(client, sso, queues):
    make_agent("ann", queues[0])  # a local account, with its password
    sso.user("ann", PASSWORD, [ADMINS])
    answer = sign_in(client, sso, "ann").answer
    assert answer.status_code == 403 and "local account named ann" in answer.content.decode()
    assert not signed_in(client)
    assert roles_of(get_user_model().objects.get(username="ann")) == {AGENT}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RINGBACK_OIDC_CLIENT_ID": "ringback"}, "also needs RINGBACK_OIDC_ISSUER"),
        ({"RINGBACK_LOCAL_PASSWORDS": "admins"}, "needs single sign-on"),
        ({"RINGBACK_LOCAL_PASSWORDS": "nobody"}, "all .* or admins"),
    ],
)
def test_settings_are_checked_at_start(env, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        oidc.from_environment(env)


def test_a_role_map_naming_an_unknown_role_is_refused(oidc_provider):
    with pytest.raises(ImproperlyConfigured, match="each Role one of Agent, Supervisor, Admin"):
        oidc.from_environment(oidc_provider.environment(RINGBACK_OIDC_ROLES="staff=Manager"))


def test_production_needs_https_endpoints(oidc_provider):
    with pytest.raises(ImproperlyConfigured, match="must be https"):
        oidc.from_environment(oidc_provider.environment(), production=True)


def test_the_production_profile_starts_with_single_sign_on_and_lets_the_logout_reach_the_provider():
    """A deployment's environment: https endpoints, passwords for admins only; `check --deploy` stays clean and the
    Content-Security-Policy lets the logout form's answer redirect to the provider's end_session_endpoint."""
    idp = "https://login.example.com/realms/staff/protocol/openid-connect"
    env = PRODUCTION | {
        "RINGBACK_OIDC_CLIENT_ID": "ringback",
        "RINGBACK_OIDC_CLIENT_SECRET": "s3cret",
        "RINGBACK_OIDC_ISSUER": "https://login.example.com/realms/staff",
        "RINGBACK_OIDC_AUTHORIZATION_ENDPOINT": f"{idp}/auth",
        "RINGBACK_OIDC_TOKEN_ENDPOINT": f"{idp}/token",
        "RINGBACK_OIDC_USERINFO_ENDPOINT": f"{idp}/userinfo",
        "RINGBACK_OIDC_JWKS_ENDPOINT": f"{idp}/certs",
        "RINGBACK_OIDC_END_SESSION_ENDPOINT": f"{idp}/logout",
        "RINGBACK_LOCAL_PASSWORDS": "admins",
    }
    assert manage("check", "--deploy", "--fail-level", "WARNING", **env).returncode == 0
    shown = manage(
        "shell",
        "-c",
        "from django.conf import settings as s; print(*s.SECURE_CSP['form-action'], s.AUTHENTICATION_BACKENDS[-1])",
        **env,
    )
    assert shown.stdout.strip().splitlines()[-1] == "'self' https://login.example.com callbacks.identity.ProviderBackend"


def test_an_sso_account_has_no_two_factor_page_of_its_own(client, django_user_model):
    """Its second factor is the provider's: the page says so, and the desk's and board's header do not link it."""
    user = django_user_model.objects.create_user("ines")  # no password: as single sign-on creates them
    client.force_login(user)
    page = client.get("/account/two-factor/")
    assert page.status_code == 200 and "your second factor is set up there" in page.content.decode()
    assert "QR code" not in page.content.decode()
