"""How every workspace view answers.

After an action, htmx gets 204 No Content: the action's push re-renders the
regions it changed, once, over the agent's websocket (nothing is rendered
twice). A refusal answers with the message region alone. A plain form post
(no JavaScript) gets a redirect to the page, or the page with the message.
"""

import time
from contextlib import contextmanager, nullcontext

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.safestring import SafeString, mark_safe
from django_htmx.http import reswap, retarget, trigger_client_event

from ..models import Agent
from ..presenters.desk import workspace_context_for
from ..presenters.offers import offer_cards
from ..presenters.windows import interaction_windows
from ..push import Push, entities_for, regions_for
from ..telephony import sip

WORKSPACE = "callbacks/workspace.html"


@contextmanager
def as_agent(agent: Agent, language: str | None = None):
    """Render as the agent reads: times in their zone; texts in `language` (a push: its socket's page's language),
    or in the request's own (the locale middlewares chose it: the agent's, or their browser's)."""
    with timezone.override(agent.zone), translation.override(language, deactivate=False) if language else nullcontext():
        yield


def ws_url(request: HttpRequest) -> str:
    return "/ws/agent/?hello=1"  # the page says hello with the time of what it shows (static/js/workspace.js)


def synced_marker(at: float) -> SafeString:
    """When the page's or frame's data was read (before reading it): a reconnecting page sends it back."""
    return mark_safe(f'<span id="synced" hidden data-at="{at:.6f}" hx-swap-oob="true"></span>')


def render_regions(agent: Agent, regions: list[str] | None = None, *, error: str = "", language: str | None = None) -> str:
    """The named partials of the workspace as out-of-band swaps (for the websocket)."""
    at = time.time()
    context = {"ws": workspace_context_for(agent), "oob": True, "error": error}
    names = regions or ["status", "notifications", "interaction", "emails", "texts", "flash"]
    with as_agent(agent, language):
        return "".join(render_to_string(f"{WORKSPACE}#{name}", context) for name in names) + synced_marker(at)


def render_push(agent: Agent, message: dict, *, language: str | None = None) -> str:
    """What the agent's socket sends for a doorbell message (empty when it names nothing this page shows): the
    regions its bare events name, and the offers' cards and interactions' windows it names alone (a card for an
    offer that rings, from one read; a window for an interaction that opens, from its own reads, and the notices it
    ends, from nothing; a removal for one that ended, from nothing)."""
    regions = regions_for(message)
    entities = entities_for(message)
    if not regions and not entities:
        return ""
    at = time.time()
    parts = []
    ended = entities.get(Push.OFFER_ENDED, [])
    rung = [i for i in entities.get(Push.OFFER_NEW, []) if i not in ended]
    with as_agent(agent, language):
        if regions:
            context = {"ws": workspace_context_for(agent), "oob": True, "error": ""}
            parts += [render_to_string(f"{WORKSPACE}#{name}", context) for name in regions]
        if rung or ended:
            context = {"cards": offer_cards(agent, rung), "ended": ended, "ws": {"agent": agent}}
            parts.append(render_to_string(f"{WORKSPACE}#offer-cards", context))
        closed = entities.get(Push.INTERACTION_CLOSED, [])
        opened = [i for i in entities.get(Push.INTERACTION_OPENED, []) if i not in closed]
        if opened or closed:
            context = {
                "opened": opened,
                "windows": interaction_windows(agent, opened),
                "closed": closed,
                "ws": {"agent": agent},
                "no_notices": {"endings": ()},  # an interaction that opens ends every notice (`_recent_endings`)
                "oob": True,
            }
            parts.append(render_to_string(f"{WORKSPACE}#interaction-windows", context))
    return "".join(parts) + synced_marker(at)


def render_workspace(request: HttpRequest, agent: Agent, *, error: str = "", status: int = 200) -> HttpResponse:
    """The whole page, times shown in the agent's own zone."""
    synced = synced_marker(time.time())
    context = {
        "ws": workspace_context_for(agent),
        "error": error,
        "ws_url": ws_url(request),
        "synced": synced,
        "softphone": sip.page_config(agent.pk),
    }
    with as_agent(agent):
        return render(request, WORKSPACE, context, status=status)


def app_response(request: HttpRequest, agent: Agent) -> HttpResponse:
    """The whole of #app: what a page without a live socket fetches to catch up."""
    context = {"ws": workspace_context_for(agent), "error": ""}
    with as_agent(agent):
        return HttpResponse(render_to_string(f"{WORKSPACE}#app", context, request=request))


def action_response(request: HttpRequest) -> HttpResponse:
    """An action succeeded: its push updates the page (htmx), or the page is reloaded (plain form)."""
    if request.htmx:
        return HttpResponse(status=204)
    return redirect("workspace")


def window_opened(request: HttpRequest, anchor: str, focus_event: str) -> HttpResponse:
    """A window beside the call was opened from the Party Action Menu (or the open one found): the page focuses it
    once the push renders it (htmx), or goes to it (a plain form). `anchor` is its element's id ("email-7")."""
    if not request.htmx:
        return redirect(reverse("workspace") + f"#{anchor}")
    return trigger_client_event(action_response(request), focus_event, {"id": int(anchor.rpartition("-")[2])})


def render_window(request: HttpRequest, agent: Agent, template: str, context: dict) -> HttpResponse:
    """One window of the desk on its own, times in the agent's zone."""
    with timezone.override(agent.zone):
        return render(request, template, context)


def refusal_response(request: HttpRequest, agent: Agent, message: str, status: int) -> HttpResponse:
    """An action was refused: the message region alone (htmx), or the page with the message."""
    if request.htmx:
        with as_agent(agent):
            html = render_to_string(f"{WORKSPACE}#flash", {"error": message}, request=request)
        return reswap(retarget(HttpResponse(html, status=status), "#flash"), "outerHTML")
    return render_workspace(request, agent, error=message, status=status)
