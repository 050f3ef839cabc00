"""The supervisor's pages: the live board, the work list and its bulk actions, a callback's trail, forcing an agent's
status. Who sees what is decided by the permission getters next to the models (`queues_for` and friends)."""

from __future__ import annotations

import threading
import time

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.translation import gettext, gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_GET, require_POST

from .. import lifecycle
from ..board import board_for
from ..enums import OPEN_CALLBACK_STATES, AgentStatus
from ..errors import Invalid
from ..models import (
    Agent,
    CallRecording,
    agents_for,
    callbacks_for,
    get_callback_for_supervisor,
    queues_for,
    require_supervisor,
    supervises,
)
from ..phone import display_phone
from ..telephony import sip
from .monitoring import monitor_context
from .ranges import ranged_file_response, starts_inside
from .workspace import first_error

BOARD = "supervisor/board.html"
PAGE_SIZE = 50
# The bulk actions' names as the supervisor reads them (lifecycle.BulkAction's labels are English).
BULK_LABELS = {
    lifecycle.BulkAction.RESCHEDULE: pgettext_lazy("a bulk action", "Reschedule"),
    lifecycle.BulkAction.CANCEL: pgettext_lazy("a bulk action", "Cancel"),
    lifecycle.BulkAction.REASSIGN_QUEUE: gettext_lazy("Move to a queue"),
    lifecycle.BulkAction.REASSIGN_AGENT: gettext_lazy("Assign to an agent"),
    lifecycle.BulkAction.PRIORITY: gettext_lazy("Set priority"),
    lifecycle.BulkAction.PAUSE: pgettext_lazy("a bulk action", "Pause"),
    lifecycle.BulkAction.RESUME: pgettext_lazy("a bulk action", "Resume"),
}
# Words the board's charts draw (static/js/board.js), in the supervisor's language.
CHART_WORDS = {
    "callbacks": gettext_lazy("callbacks"),
    "time": gettext_lazy("Time"),
    "handled": gettext_lazy("Handled"),
    "nothing": gettext_lazy("Nothing handled yet today"),
}


def bulk_choices() -> list[tuple[str, str]]:
    return [(action.value, BULK_LABELS[action]) for action in lifecycle.BulkAction]


def board_context(user) -> dict:
    return _board_context(list(queues_for(user).select_related("calendar")), supervises(user, "callbacks.manage_agents"))


def _board_context(queues: list, can_manage_agents: bool, *, charts: bool = True) -> dict:
    """The board's context; without `charts`, the tiles' alone (no day of waiting read)."""
    board = board_for(queues) if charts else board_for(queues, charts=False)
    context = {"board": board, "can_manage_agents": can_manage_agents, "statuses": AgentStatus}
    if charts:
        context["chart_data"] = {**board.chart_data(), "words": {key: str(word) for key, word in CHART_WORDS.items()}}
    return context


# The boards of one process that show the same queues, in the same language and zone, with the same rights, share
# one render: a change on a floor watched by twenty supervisors is read and rendered once, not twenty times. A board
# takes a shared render only if it began after the latest ring that asked for it (`fresh_since`, `time.monotonic()`),
# so it shows that change; a board's first render (its hello) is always its own.
_SHARED: dict[tuple, tuple[float, str]] = {}
_SHARED_KEPT = 256
_SHARED_LOCK = threading.Lock()


def render_figures(user, language: str | None = None, *, fresh_since: float | None = None, tiles: set[int] | None = None) -> str:
    """The board's live region as an out-of-band swap (for the websocket), in the page's language: a render another
    board of the same queues began after `fresh_since`, or a new one. With `tiles`, only the tiles of those queues
    (each its own swap; the charts wait for the next whole render): what a ring for some queues changed."""
    queues = list(queues_for(user).select_related("calendar"))
    manage = supervises(user, "callbacks.manage_agents")
    if tiles is not None:
        queues = [q for q in queues if q.pk in tiles]
    key = (tiles is not None, tuple(q.pk for q in queues), manage, language or "", timezone.get_current_timezone_name())
    shared = _SHARED.get(key)
    if fresh_since is not None and shared is not None and shared[0] >= fresh_since:
        return shared[1]
    began = time.monotonic()
    with translation.override(language):
        if tiles is None:
            html = render_to_string(f"{BOARD}#figures", {**_board_context(queues, manage), "oob": True})
        else:
            context = {**_board_context(queues, manage, charts=False), "tile_oob": True}
            html = "".join(render_to_string(f"{BOARD}#queue-card", {**context, "q": q}) for q in context["board"].queues)
    with _SHARED_LOCK:
        if len(_SHARED) >= _SHARED_KEPT and key not in _SHARED:
            _SHARED.clear()
        if key not in _SHARED or _SHARED[key][0] < began:
            _SHARED[key] = (began, html)
    return html


@require_GET
@login_required
def board(request: HttpRequest) -> HttpResponse:
    require_supervisor(request.user)
    context = {**board_context(request.user), **monitor_context(request.user), "ws_url": "/ws/board/", "nav": "board"}
    # The board's softphone: it calls an agent's page to listen in (Listen, Whisper, Barge).
    context["softphone"] = sip.user_page_config(sip.supervisor_user(request.user.pk))
    return render(request, BOARD, context)


@require_GET
@login_required
def figures(request: HttpRequest) -> HttpResponse:
    """The live region alone: what a board without a socket fetches."""
    require_supervisor(request.user)
    return HttpResponse(render_to_string(f"{BOARD}#figures", board_context(request.user), request=request))


class FilterForm(forms.Form):
    state = forms.ChoiceField(
        required=False,
        choices=[("", gettext_lazy("Any open state"))] + [(s.value, gettext_lazy(s.label)) for s in OPEN_CALLBACK_STATES],
    )
    queue = forms.IntegerField(required=False, min_value=1)
    owner = forms.IntegerField(required=False, min_value=1)
    due_from = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    due_to = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    number = forms.CharField(required=False, max_length=30)


def worklist_rows(user, data) -> tuple[FilterForm, object]:
    form = FilterForm(data)
    if not form.is_valid():
        raise Invalid(first_error(form))
    rows = callbacks_for(user).filter(state__in=OPEN_CALLBACK_STATES).select_related("queue", "owner")
    f = form.cleaned_data
    if f["state"]:
        rows = rows.filter(state=f["state"])
    if f["queue"]:
        rows = rows.filter(queue_id=f["queue"])
    if f["owner"]:
        rows = rows.filter(owner_id=f["owner"])
    if f["due_from"]:
        rows = rows.filter(Q(desired_time__gte=f["due_from"]) | Q(desired_time__isnull=True, created_at__gte=f["due_from"]))
    if f["due_to"]:
        rows = rows.filter(Q(desired_time__lt=f["due_to"]) | Q(desired_time__isnull=True, created_at__lt=f["due_to"]))
    digits = "".join(ch for ch in (f["number"] or "") if ch.isdigit())
    if digits:
        rows = rows.filter(phone_number__contains=digits)
    return form, rows.order_by("-priority", "desired_time", "enqueued_at", "id")


@require_GET
@login_required
def worklist(request: HttpRequest) -> HttpResponse:
    require_supervisor(request.user)
    form, rows = worklist_rows(request.user, request.GET)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "supervisor/worklist.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "queues": queues_for(request.user),
            "agents": agents_for(request.user, "callbacks.supervise").order_by("display_name"),
            "actions": bulk_choices(),
            "can_manage": supervises(request.user, "callbacks.manage_callbacks"),
            "nav": "worklist",
        },
    )


class BulkForm(forms.Form):
    action = forms.ChoiceField(choices=lifecycle.BulkAction.choices)
    ids = forms.TypedMultipleChoiceField(coerce=int, choices=())
    when = forms.DateTimeField(required=False)
    queue = forms.IntegerField(required=False, min_value=1)
    agent = forms.IntegerField(required=False, min_value=1)
    priority = forms.IntegerField(required=False, min_value=1, max_value=10)
    reason = forms.CharField(required=False, max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        raw = self.data.getlist("ids") if hasattr(self.data, "getlist") else []
        self.fields["ids"].choices = [(v, v) for v in raw if v.isascii() and v.isdigit() and len(v) < 19]

    def clean(self):
        data = super().clean()
        needs = {"reschedule": "when", "reassign_queue": "queue", "reassign_agent": "agent", "priority": "priority"}
        wanted = needs.get(data.get("action", ""))
        if wanted and data.get(wanted) in (None, ""):
            message = {
                "when": gettext("Choose a new time for this action."),
                "queue": gettext("Choose a queue for this action."),
                "agent": gettext("Choose an agent for this action."),
                "priority": gettext("Choose a priority for this action."),
            }[wanted]
            raise forms.ValidationError(message)
        return data

    def params(self) -> dict:
        d = self.cleaned_data
        return {
            "reschedule": {"when": d["when"]},
            "cancel": {"reason": d["reason"] or ""},
            "reassign_queue": {"queue_id": d["queue"]},
            "reassign_agent": {"agent_id": d["agent"]},
            "priority": {"priority": d["priority"]},
            "pause": {},
            "resume": {},
        }[d["action"]]

    def describe(self, user) -> str:
        d = self.cleaned_data
        if d["action"] == "reschedule":
            when = formats.date_format(timezone.localtime(d["when"]), gettext("D d M Y H:i"))
            return gettext("Reschedule to %(when)s") % {"when": when}
        if d["action"] == "reassign_queue":
            queue = queues_for(user).filter(pk=d["queue"]).first()
            return gettext("Move to %(queue)s") % {"queue": queue or gettext("an unknown queue")}
        if d["action"] == "reassign_agent":
            agent = Agent.objects.filter(pk=d["agent"]).first()
            return gettext("Assign to %(agent)s") % {"agent": agent or gettext("an unknown agent")}
        if d["action"] == "priority":
            return gettext("Set priority %(priority)s") % {"priority": d["priority"]}
        if d["action"] in ("pause", "resume"):
            return str(BULK_LABELS[lifecycle.BulkAction(d["action"])])
        if d["reason"]:
            return gettext("Cancel (“%(reason)s”)") % {"reason": d["reason"]}
        return str(BULK_LABELS[lifecycle.BulkAction.CANCEL])


@require_POST
@login_required
def bulk_action(request: HttpRequest) -> HttpResponse:
    """First a confirmation page naming the callbacks and the action; on Confirm, the action on each one."""
    require_supervisor(request.user, "callbacks.manage_callbacks")
    form = BulkForm(request.POST)
    if not request.POST.getlist("ids"):
        raise Invalid(gettext("Select at least one callback."), field="ids")
    if not form.is_valid():
        raise Invalid(first_error(form))
    ids = form.cleaned_data["ids"]
    context = {"form": form, "description": form.describe(request.user), "nav": "worklist"}
    if request.POST.get("confirm") != "yes":
        chosen = callbacks_for(request.user, "callbacks.manage_callbacks").filter(pk__in=ids).select_related("queue")
        return render(request, "supervisor/confirm.html", {**context, "chosen": chosen, "ids": ids})
    result = lifecycle.bulk(request.user, lifecycle.BulkAction(form.cleaned_data["action"]), ids, **form.params())
    return render(request, "supervisor/bulk_done.html", {**context, "result": result})


@require_POST
@login_required
def force_status(request: HttpRequest, agent_id: int) -> HttpResponse:
    status = request.POST.get("status", "")
    if status not in (AgentStatus.NOT_READY, AgentStatus.LOGGED_OUT):
        raise Invalid(gettext("Choose Not Ready or Log out."), field="status")
    lifecycle.do_force_status(user=request.user, agent_id=agent_id, status=status)
    if request.htmx:
        return HttpResponse(status=204)  # the board's socket shows the change
    return redirect("board")


@require_GET
@login_required
def callback_detail(request: HttpRequest, callback_id: int) -> HttpResponse:
    """One callback and its whole trail: every change, by whom or what, and when."""
    callback = get_callback_for_supervisor(request.user, callback_id)
    trail = callback.history.select_related("actor", "agent", "callback__api_client").order_by("at", "id")
    return render(
        request,
        "supervisor/callback.html",
        {
            "cb": callback,
            "phone": display_phone(callback.phone_number),
            "trail": trail,
            "offers": callback.offers.select_related("agent").order_by("created_at"),
            "interactions": callback.interactions.select_related("agent", "disposition").order_by("created_at"),
            "recordings": callback.recordings.select_related("agent").order_by("started_at"),
            "nav": "worklist",
        },
    )


@require_GET
@login_required
def recording_audio(request: HttpRequest, recording_id: int, how: str) -> HttpResponse:
    """A call's recording, played in the trail or downloaded: for supervisors of its queue and admins (403 for anyone
    else), each time in the callback's trail."""
    if how not in RECORDING_ACCESS:
        raise Http404
    recording = CallRecording.objects.select_related("callback").filter(pk=recording_id).first()
    if recording is None:
        raise Http404
    get_callback_for_supervisor(request.user, recording.callback_id)
    lifecycle.do_open_recording(user=request.user, recording=recording, how=RECORDING_ACCESS[how], seeking=starts_inside(request))
    name = f"{recording.callback.reference}-recording-{recording.pk}.wav"
    audio = recording.audio.open("rb")
    return ranged_file_response(
        request, audio, recording.audio.size, content_type="audio/wav", filename=name, as_attachment=how == "download"
    )


RECORDING_ACCESS = {"play": "played", "download": "downloaded"}
