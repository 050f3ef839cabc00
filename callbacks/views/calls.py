"""Call handling views: each parses its input, calls one action and answers with the workspace."""

from datetime import datetime

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from .. import lifecycle
from ..errors import Invalid, clean_text
from ..models import Interaction
from ..presenters import directory, schedule
from .render import action_response
from .workspace import agent_or_refuse, first_error


def _run(request: HttpRequest, fn, **kwargs) -> HttpResponse:
    agent_or_refuse(request)
    fn(user=request.user, **kwargs)
    return action_response(request)


def _field(request: HttpRequest, name: str, form_field: forms.Field):
    form = type("F", (forms.Form,), {name: form_field})(request.POST)
    if not form.is_valid():
        raise Invalid(first_error(form), field=name)
    return form.cleaned_data[name]


SIMPLE = {
    "call": lifecycle.do_call,
    "end": lifecycle.do_end_call,
    "hold": lifecycle.do_hold_call,
    "resume": lifecycle.do_resume_call,
    "done": lifecycle.do_mark_done,
    "record": lifecycle.do_record_call,
    "pause_recording": lifecycle.do_pause_recording,
    "resume_recording": lifecycle.do_resume_recording,
}


@require_POST
@login_required
def interaction_action(request: HttpRequest, interaction_id: int, verb: str) -> HttpResponse:
    return _run(request, SIMPLE[verb], interaction_id=interaction_id)


@require_POST
@login_required
def send_dtmf(request: HttpRequest, interaction_id: int) -> HttpResponse:
    digits = _field(request, "digits", forms.CharField(max_length=40))
    return _run(request, lifecycle.do_send_dtmf, interaction_id=interaction_id, digits=digits)


@require_GET
@login_required
def reschedule_slots(request: HttpRequest, interaction_id: int) -> HttpResponse:
    """The free slots the Reschedule picker offers, loaded when it opens (pushes stay lean)."""
    agent = agent_or_refuse(request)
    days = schedule.reschedule_slots(agent, interaction_id, timezone.now())
    return render(request, "callbacks/_slots.html", {"days": days, "interaction_id": interaction_id})


@require_POST
@login_required
def reschedule(request: HttpRequest, interaction_id: int) -> HttpResponse:
    personal = request.POST.get("personal") == "on"
    slot = request.POST.get("slot", "").strip()
    if slot:
        try:
            when = datetime.fromisoformat(slot)
        except ValueError:
            raise Invalid(gettext("slot: pick one of the free times."), field="slot") from None
        if timezone.is_naive(when):
            raise Invalid(gettext("slot: pick one of the free times."), field="slot")
        return _run(request, lifecycle.do_reschedule_callback, interaction_id=interaction_id, when=when, personal=personal)
    raw = request.POST.get("when", "").strip()
    when = None
    for fmt in ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"):
        try:
            # Naive on purpose: the picker is in the customer's zone, which the action applies.
            when = datetime.strptime(raw, fmt)
            break
        except ValueError:
            continue
    if when is None:
        raise Invalid(gettext("when: pick a free time or enter a date and time."), field="when")
    return _run(request, lifecycle.do_reschedule_callback, interaction_id=interaction_id, when=when, personal=personal)


@require_POST
@login_required
def set_disposition(request: HttpRequest, interaction_id: int) -> HttpResponse:
    code = _field(request, "disposition", forms.IntegerField())
    return _run(request, lifecycle.do_set_disposition, interaction_id=interaction_id, code_id=code)


@require_POST
@login_required
def add_note(request: HttpRequest, interaction_id: int) -> HttpResponse:
    text = _field(request, "text", forms.CharField(max_length=lifecycle.NOTE_MAX, strip=True))
    return _run(request, lifecycle.do_add_note, interaction_id=interaction_id, text=text)


TEAM = {"transfer": lifecycle.do_transfer, "conference": lifecycle.do_conference, "consult": lifecycle.do_start_consultation}


@require_POST
@login_required
def team_action(request: HttpRequest, interaction_id: int, mode: str) -> HttpResponse:
    target = _field(request, "target", forms.CharField(max_length=60))
    return _run(request, TEAM[mode], interaction_id=interaction_id, target=target)


CONSULT = {
    "accept": lifecycle.do_accept_consultation,
    "decline": lifecycle.do_decline_consultation,
    "end": lifecycle.do_end_consultation,
}


@require_POST
@login_required
def consultation_action(request: HttpRequest, consultation_id: int, verb: str) -> HttpResponse:
    if verb in ("transfer", "conference"):
        return _run(request, lifecycle.do_complete_consultation, consultation_id=consultation_id, mode=verb)
    return _run(request, CONSULT[verb], consultation_id=consultation_id)


CONFERENCE_REQUEST = {"accept": lifecycle.do_accept_conference, "decline": lifecycle.do_decline_conference}


@require_POST
@login_required
def conference_request(request: HttpRequest, party_id: int, verb: str) -> HttpResponse:
    """Accept or Decline on a Conference request."""
    return _run(request, CONFERENCE_REQUEST[verb], party_id=party_id)


@require_POST
@login_required
def leave_conference(request: HttpRequest, party_id: int) -> HttpResponse:
    return _run(request, lifecycle.do_leave_conference, party_id=party_id)


def _team_results(request: HttpRequest, agent, q: str) -> HttpResponse:
    live = (
        Interaction.objects.filter(agent=agent, state="open", calls__state__in=["connected", "on_hold"])
        .order_by("-created_at")
        .values_list("pk", flat=True)
        .first()
    )
    context = {"results": directory.team_search(agent, q), "q": q, "live_interaction": live}
    return render(request, "callbacks/team.html", context)


@require_GET
@login_required
def team_communicator(request: HttpRequest) -> HttpResponse:
    """Search results; the action buttons apply to the agent's interaction with a live call."""
    return _team_results(request, agent_or_refuse(request), clean_text(request.GET.get("q", "")))


@require_POST
@login_required
def toggle_favorite(request: HttpRequest) -> HttpResponse:
    agent = agent_or_refuse(request)
    target = _field(request, "target", forms.CharField(max_length=60))
    lifecycle.do_toggle_favorite(user=request.user, target=target)
    return _team_results(request, agent, clean_text(request.POST.get("q", "")))
