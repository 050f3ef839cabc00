"""The e-mail interaction window: each view parses its input, calls one action and answers as every workspace view does."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET, require_POST

from .. import lifecycle
from ..presenters.emails import email_window_for
from .render import action_response, render_window, window_opened
from .workspace import agent_or_refuse, posted

# The page focuses the window named by this event (a new draft, or the open draft a second "E-mail" found).
FOCUS_EVENT = "ringback:email-focus"


class EmailToForm(forms.Form):
    to = forms.CharField(max_length=254)


class EmailForm(forms.Form):
    """What the compose window posts; the action checks the rules and says what is wrong in plain words."""

    to = forms.CharField(max_length=254, required=False)
    subject = forms.CharField(required=False, strip=False)
    body = forms.CharField(required=False, strip=False)


@require_POST
@login_required
def open_email(request: HttpRequest, interaction_id: int) -> HttpResponse:
    """Party Action Menu → "E-mail <address>"."""
    agent_or_refuse(request)
    to = posted(request, EmailToForm, field="to")["to"]
    email = lifecycle.do_open_email(user=request.user, interaction_id=interaction_id, to=to)
    return window_opened(request, f"email-{email.pk}", FOCUS_EVENT)


@require_GET
@login_required
def email_window(request: HttpRequest, email_id: int) -> HttpResponse:
    """One of the agent's e-mail windows on its own (404 for anyone else's)."""
    agent = agent_or_refuse(request)
    return render_window(request, agent, "callbacks/_email.html", {"mail": email_window_for(agent, email_id)})


# What the compose form posts to: keeping the draft as the agent types, and Send (both take the form's fields).
COMPOSE = {"draft": lifecycle.do_save_email_draft, "send": lifecycle.do_send_email}
# Discard (a draft) and Done (a sent e-mail): the window leaves the desk.
CLOSE = {"discard": lifecycle.do_discard_email, "done": lifecycle.do_close_email}


@require_POST
@login_required
def email_action(request: HttpRequest, email_id: int, verb: str) -> HttpResponse:
    agent_or_refuse(request)
    fields = posted(request, EmailForm) if verb in COMPOSE else {}
    (COMPOSE | CLOSE)[verb](user=request.user, email_id=email_id, **fields)
    return action_response(request)
