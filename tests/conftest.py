import asyncio
import os
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from .factories import make_agent, make_queue

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def fresh_throttles(settings):
    """Each test counts its own requests: throttle windows live in the shared cache, which outlives a test."""
    settings.RINGBACK_THROTTLE_NAMESPACE = uuid.uuid4().hex[:12]


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


class PushRecorder:
    """Listens on real channel-layer groups, as a browser's consumer would."""

    def __init__(self, layer):
        self.layer = layer
        self.channels: list[tuple[str, str]] = []

    def listen(self, group: str) -> None:
        name = async_to_sync(self.layer.new_channel)()
        async_to_sync(self.layer.group_add)(group, name)
        self.channels.append((group, name))

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
