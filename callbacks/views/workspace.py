"""The agent workspace: thin views, each one action and one answer."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRefresh

from .. import board, lifecycle
from ..enums import Channel, Language
from ..errors import Invalid, Refused
from ..models import agent_for_user, supervises
from .render import action_response, app_response, as_agent, render_workspace


def agent_or_refuse(request: HttpRequest):
    agent = agent_for_user(request.user)
    if agent is None:
        raise Refused(gettext("Your account has no agent profile. Ask an administrator to create one."))
    return agent


@require_GET
@login_required
def workspace(request: HttpRequest) -> HttpResponse:
    agent = agent_for_user(request.user)
    if agent is None:
        if supervises(request.user):
            return redirect("board")
        if request.user.is_staff:
            return redirect("admin:index")
        return render(
            request,
            "message.html",
            {
                "title": gettext("No agent role"),
                "message": gettext("Your account is not an agent's. Ask an administrator to give you the Agent role."),
            },
            status=403,
        )
    return render_workspace(request, agent)


@require_GET
@login_required
def regions(request: HttpRequest) -> HttpResponse:
    return app_response(request, agent_or_refuse(request))


@require_GET
@login_required
def my_day(request: HttpRequest) -> HttpResponse:
    """The agent's own day (polled by the workspace every minute and after each window closes)."""
    agent = agent_or_refuse(request)
    with as_agent(agent):
        return render(request, "callbacks/_day.html", {"day": board.agent_day(agent)})


class LanguageForm(forms.Form):
    language = forms.ChoiceField(choices=[("", "")] + list(Language.choices), required=False)


@require_POST
@login_required
def set_language(request: HttpRequest) -> HttpResponse:
    """The agent chooses their workspace's language (kept on their profile: pages and pushes follow it)."""
    form = LanguageForm(request.POST)
    if not form.is_valid():
        raise Invalid(first_error(form))
    lifecycle.do_set_language(user=request.user, language=form.cleaned_data["language"])
    if request.htmx:
        return HttpResponseClientRefresh()
    return redirect("workspace")


class StatusForm(forms.Form):
    channel = forms.ChoiceField(choices=Channel.choices)
    status = forms.ChoiceField(choices=[(s.value, s.label) for s in lifecycle.SETTABLE_STATUSES])
    reason = forms.IntegerField(required=False)


def first_error(form: forms.Form) -> str:
    for name, errors in form.errors.items():
        return f"{name}: {errors[0]}" if name != "__all__" else errors[0]
    return gettext("Invalid input.")


def posted(request: HttpRequest, form_class: type[forms.Form], *, field: str | None = None) -> dict:
    """The posted form's cleaned data; a clear 400 (its first error) when it does not parse."""
    form = form_class(request.POST)
    if not form.is_valid():
        raise Invalid(first_error(form), field=field)
    return form.cleaned_data


@require_POST
@login_required
def set_status(request: HttpRequest) -> HttpResponse:
    agent_or_refuse(request)
    form = StatusForm(request.POST)
    if not form.is_valid():
        raise Invalid(first_error(form))
    lifecycle.do_set_status(
        user=request.user,
        channel=form.cleaned_data["channel"],
        status=form.cleaned_data["status"],
        reason_id=form.cleaned_data["reason"],
    )
    return action_response(request)


OFFER_ACTIONS = {"accept": lifecycle.do_accept_offer, "reject": lifecycle.do_reject_offer}


@require_POST
@login_required
def offer_action(request: HttpRequest, offer_id: int, verb: str) -> HttpResponse:
    """Accept or Reject on an interaction notification."""
    agent_or_refuse(request)
    OFFER_ACTIONS[verb](user=request.user, offer_id=offer_id)
    return action_response(request)
