import asyncio
import os
import socketserver
import threading
import uuid

import httpx
import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.wsgi import get_wsgi_application
from django.db.backends.postgresql.operations import DatabaseOperations as PostgresOperations
from django.urls import reverse
from django.utils import translation

from callbacks import configuration
from callbacks.enums import OfferOutcome
from callbacks.models import Offer
from workspace import oidc

from . import servers
from .browser.a11y import Axe
from .factories import make_agent, make_callback, make_queue, set_ready
from .servers import OidcProvider

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


class QuickPBKDF2(PBKDF2PasswordHasher):
    """The test users' passwords: production's algorithm with few rounds (1.5 million take 0.4 s on this box, per
    user made and per password checked). A server process verifies such a hash with the rounds it names."""

    iterations = 1000


settings.PASSWORD_HASHERS = ["tests.conftest.QuickPBKDF2", *settings.PASSWORD_HASHERS]


def quick_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
    """Empty PostgreSQL's tables after a transactional test with DELETE, not TRUNCATE: on a few rows, 2 ms instead of
    170 ms for the 47 tables (TRUNCATE makes new files). Triggers (the history's append-only guard, the deferred
    foreign keys) are off for this transaction only; every row goes, so nothing is left dangling."""
    if reset_sequences or not tables:
        return TRUNCATE(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
    return ["SET LOCAL session_replication_role = replica", *(f"DELETE FROM {self.quote_name(t)}" for t in tables)]


if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    TRUNCATE = PostgresOperations.sql_flush
    PostgresOperations.sql_flush = quick_flush


@pytest.fixture(autouse=True)
def english_after_each_test():
    """A request in French leaves French active in the thread (LocaleMiddleware activates, nothing deactivates):
    the next test starts in English."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def fresh_configuration():
    """Each test's database starts empty, and emptying it sends no signal: the configuration every process keeps
    (this one and any server a test started) is read again."""
    configuration.changed()


@pytest.fixture(autouse=True)
def fresh_throttles(settings):
    """Each test counts its own requests: throttle windows live in the shared cache, which outlives a test."""
    settings.RINGBACK_THROTTLE_NAMESPACE = uuid.uuid4().hex[:12]


@pytest.fixture(autouse=True)
def local_webhooks(settings):
    """The tests' webhook receivers listen on 127.0.0.1: a private address production refuses (tests/test_webhooks.py
    checks the refusal with this off)."""
    settings.RINGBACK_WEBHOOK_ALLOW_PRIVATE = True


@pytest.fixture
def queue(transactional_db):
    return make_queue("billing", offer_timeout_seconds=30)


@pytest.fixture
def alice(queue):
    return make_agent("alice", queue)


@pytest.fixture
def bob(queue):
    return make_agent("bob", queue)


@pytest.fixture
def carol(queue):
    return make_agent("carol", queue)


@pytest.fixture
def live(client, alice, queue):
    """alice, signed in, has accepted a callback to +33612345678 through the page; returns her window's id."""
    client.force_login(alice.user)
    set_ready(alice)
    offer = Offer.objects.get(callback=make_callback(queue, customer_name="Camille Laurent"), outcome=OfferOutcome.OPEN)
    client.post(reverse("accept_offer", args=[offer.pk]), HTTP_HX_REQUEST="true")
    return offer.callback.interactions.get().pk


class PushRecorder:
    """Listens on real channel-layer groups, as a browser's consumer would."""

    def __init__(self, layer):
        self.layer = layer
        self.channels: list[tuple[str, str]] = []

    def listen(self, group: str) -> None:
        name = async_to_sync(self.layer.new_channel)()
        async_to_sync(self.layer.group_add)(group, name)
        self.channels.append((group, name))

    def messages(self) -> list[dict]:
        """The messages delivered so far, in order; call once per test (or `received`)."""

        async def drain():
            out = []
            for _, name in self.channels:
                while True:
                    try:
                        out.append(await asyncio.wait_for(self.layer.receive(name), timeout=0.2))
                    except TimeoutError:
                        break
            return out

        self.drained = async_to_sync(drain)()
        return self.drained

    @property
    def last(self) -> dict:
        return self.drained[-1]

    def received(self) -> list[tuple[str, str]]:
        """(group, event) pairs delivered so far; call once per test."""

        async def drain():
            out = []
            for group, name in self.channels:
                while True:
                    try:
                        message = await asyncio.wait_for(self.layer.receive(name), timeout=0.2)
                    except TimeoutError:
                        break
                    out.extend((group, event) for event in message["events"])
            return out

        return async_to_sync(drain)()


@pytest.fixture
def pushes():
    layer = get_channel_layer()
    async_to_sync(layer.flush)()
    return PushRecorder(layer)


@pytest.fixture
def axe():
    """axe-core checks every state of every page a browser test opens through it; any violation fails the test."""
    checker = Axe()
    yield checker
    found = checker.finish()
    assert not found, "axe-core found accessibility violations:\n" + "\n".join(found)


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1 (`servers.SMTPHandler`): what it accepted is in `.messages`."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), servers.SMTPHandler)
    server.messages = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory):
    """A real OpenID Connect provider in a second process (tests/oidc_provider), for this whole run; Ringback's
    callback at the test client's host may come back to it (a browser run's server adds its own)."""
    provider = OidcProvider(tmp_path_factory.mktemp("oidc-provider"))
    provider.allow("http://testserver")
    yield provider
    provider.close()


@pytest.fixture
def sso(settings, oidc_provider):
    """Ringback configured from the environment a deployment would set, to sign in with the test provider."""
    for name, value in oidc.from_environment(oidc_provider.environment()).items():
        setattr(settings, name, value)
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, oidc.BACKEND]
    return oidc_provider


@pytest.fixture
def gms_http():
    """HTTP to Ringback in process (a WSGI transport), for the GMS client (tests/gms_client.py)."""
    with httpx.Client(transport=httpx.WSGITransport(app=get_wsgi_application()), base_url="http://testserver") as client:
        yield client
