"""How every workspace view answers: htmx gets the regions, a plain form post a redirect."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone

from ..models import Agent
from ..selectors import workspace_context_for

WORKSPACE = "callbacks/workspace.html"


def ws_url(request: HttpRequest) -> str:
    return "/ws/agent/"


def render_regions(agent: Agent, regions: list[str] | None = None, *, error: str = "") -> str:
    """The named partials of the workspace as out-of-band swaps (for htmx and the websocket)."""
    context = {"ws": workspace_context_for(agent), "oob": True, "error": error}
    names = regions or ["status", "notifications", "interaction", "flash"]
    with timezone.override(agent.zone):
        return "".join(render_to_string(f"{WORKSPACE}#{name}", context) for name in names)


def render_workspace(request: HttpRequest, agent: Agent, *, error: str = "", status: int = 200) -> HttpResponse:
    """The whole page, times shown in the agent's own zone."""
    context = {"ws": workspace_context_for(agent), "error": error, "ws_url": ws_url(request)}
    with timezone.override(agent.zone):
        return render(request, WORKSPACE, context, status=status)


def workspace_response(request: HttpRequest, agent: Agent, *, error: str = "", status: int = 200) -> HttpResponse:
    if request.htmx:
        # The whole of #app, swapped by innerHTML into an element that never
        # leaves the page: a websocket push may already have replaced the
        # form that sent this request.
        context = {"ws": workspace_context_for(agent), "error": error}
        with timezone.override(agent.zone):
            return HttpResponse(render_to_string(f"{WORKSPACE}#app", context, request=request), status=status)
    if status >= 400:
        return render_workspace(request, agent, error=error, status=status)
    return redirect("workspace")
