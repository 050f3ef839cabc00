"""The agent's websocket: authenticate, join the agent's group, forward rendered partials.

It never changes state: clicks go over HTTP to views that call actions.
"""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from .models import Agent
from .push import REGIONS, Push, agent_group
from .selectors import agent_for_user
from .views.render import render_regions

CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_AN_AGENT = 4403


class AgentConsumer(AsyncWebsocketConsumer):
    agent_id: int | None = None

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        agent = await database_sync_to_async(agent_for_user)(user)
        if agent is None:
            await self.close(code=CLOSE_NOT_AN_AGENT)
            return
        self.agent_id = agent.pk
        # Join first, then render: a change committed in between is either in
        # the render or arrives as a push, never lost.
        await self.channel_layer.group_add(agent_group(agent.pk), self.channel_name)
        await self.accept()
        await self._send_regions(None)

    async def disconnect(self, code):
        if self.agent_id is not None:
            await self.channel_layer.group_discard(agent_group(self.agent_id), self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        # The page never sends commands here; a message is a request to resync.
        await self._send_regions(None)

    async def ringback_event(self, message):
        regions = list(REGIONS.get(Push(message["event"]), ()))
        if regions:
            await self._send_regions(regions)

    async def _send_regions(self, regions):
        agent = await database_sync_to_async(Agent.objects.get)(pk=self.agent_id)
        html = await database_sync_to_async(render_regions)(agent, regions)
        await self.send(text_data=html)
