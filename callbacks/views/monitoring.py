"""Listen, Whisper and Barge from the live board: the supervisor's monitoring panel and its three actions.

Who may is the lifecycle's to decide (`lifecycle.monitoring`); these views parse, call one action and render the
panel (`supervisor/board.html#monitor`), which carries what the board's softphone needs to call the agent's page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_POST

from .. import lifecycle
from ..enums import MonitorMode
from ..models import require_supervisor
from ..telephony.sip import agent_user

BOARD = "supervisor/board.html"


def monitor_context(user) -> dict:
    session = lifecycle.open_monitoring(user)
    return {
        "monitoring": session,
        "monitor_to": agent_user(session.agent_id) if session else "",
        "monitor_modes": list(MonitorMode),
    }


def _panel(request: HttpRequest) -> HttpResponse:
    if not request.htmx:
        return redirect("board")
    return HttpResponse(render_to_string(f"{BOARD}#monitor", monitor_context(request.user), request=request))


@require_GET
@login_required
def panel(request: HttpRequest) -> HttpResponse:
    """The supervisor's monitoring panel as it is now (the board re-reads it after a push, or when its call ends)."""
    require_supervisor(request.user)
    return _panel(request)


@require_POST
@login_required
def start(request: HttpRequest, agent_id: int) -> HttpResponse:
    lifecycle.do_monitor(user=request.user, agent_id=agent_id, mode=request.POST.get("mode", MonitorMode.LISTEN))
    return _panel(request)


@require_POST
@login_required
def switch(request: HttpRequest, session_id: int) -> HttpResponse:
    lifecycle.do_monitor_mode(user=request.user, session_id=session_id, mode=request.POST.get("mode", ""))
    return _panel(request)


@require_POST
@login_required
def leave(request: HttpRequest, session_id: int) -> HttpResponse:
    lifecycle.do_leave_monitoring(user=request.user, session_id=session_id)
    return _panel(request)


@require_POST
@login_required
def line_gone(request: HttpRequest) -> HttpResponse:
    """The board's softphone: its call to the agent's page (the session with `token`) ended from the far end or
    failed, with the SIP `code` if any. The session ends; the panel as it is now."""
    code = request.POST.get("code", "")
    lifecycle.do_monitoring_line_gone(
        user=request.user, token=request.POST.get("token", "")[:64], code=int(code) if code.isdigit() and len(code) == 3 else None
    )
    return _panel(request)
