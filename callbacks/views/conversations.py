"""The text conversation window: each view parses its input, calls one action and answers as every workspace view
does (the compose box's draft saves answer with its character and text counter)."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from .. import lifecycle
from ..presenters.conversations import count_label, text_window_for
from .render import action_response, render_window, window_opened
from .workspace import agent_or_refuse, posted

# The page focuses the window named by this event (a new conversation, or the open one a second "Text message" found).
FOCUS_EVENT = "ringback:text-focus"
TEMPLATE = "callbacks/_text.html"


class TextToForm(forms.Form):
    number = forms.CharField(max_length=40, required=False)


class DraftForm(forms.Form):
    """What the compose box posts as the agent types; the action checks the rules and says what is wrong."""

    body = forms.CharField(required=False, strip=False)


class SendForm(DraftForm):
    # How many texts the window had sent when the page showed it: a Send posted twice for one draft goes once.
    sent = forms.IntegerField(min_value=0)


@require_POST
@login_required
def open_text(request: HttpRequest, interaction_id: int) -> HttpResponse:
    """Party Action Menu → "Text message <number>"."""
    agent_or_refuse(request)
    number = posted(request, TextToForm, field="number")["number"]
    window = lifecycle.do_open_text(user=request.user, interaction_id=interaction_id, number=number)
    return window_opened(request, f"text-{window.pk}", FOCUS_EVENT)


@require_GET
@login_required
def text_window(request: HttpRequest, text_id: int) -> HttpResponse:
    """One of the agent's text conversations on its own (404 for anyone else's)."""
    agent = agent_or_refuse(request)
    return render_window(request, agent, TEMPLATE, {"conversation": text_window_for(agent, text_id)})


@require_POST
@login_required
def save_draft(request: HttpRequest, text_id: int) -> HttpResponse:
    """The compose box as typed: kept on the server; answered with what it costs ("42 characters · 1 text")."""
    agent_or_refuse(request)
    body = posted(request, DraftForm)["body"]
    window = lifecycle.do_save_text_draft(user=request.user, text_id=text_id, body=body)
    if not request.htmx:
        return action_response(request)
    return render(request, f"{TEMPLATE}#count", {"pk": window.pk, "count": count_label(body)})


@require_POST
@login_required
def send(request: HttpRequest, text_id: int) -> HttpResponse:
    agent_or_refuse(request)
    fields = posted(request, SendForm)
    lifecycle.do_send_text(user=request.user, text_id=text_id, body=fields["body"], sent=fields["sent"])
    return action_response(request)


@require_POST
@login_required
def close(request: HttpRequest, text_id: int) -> HttpResponse:
    agent_or_refuse(request)
    lifecycle.do_close_text(user=request.user, text_id=text_id)
    return action_response(request)
