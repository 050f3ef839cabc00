"""The Contact directory and the Responses library, as an agent uses them."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import lifecycle
from ..errors import DomainError, Invalid, Refused, clean_text, is_id
from ..models import Contact, Interaction
from ..models.config import TIMEZONE_CHOICES
from ..presenters.conversations import text_window_for
from ..presenters.directory import contact_history, contact_search, response_search, response_values
from ..presenters.emails import contact_emails, email_window_for, newest_email_draft
from .render import action_response
from .workspace import agent_or_refuse, first_error


class ContactForm(forms.Form):
    first_name = forms.CharField(max_length=100, required=False, label=gettext_lazy("First name"))
    last_name = forms.CharField(max_length=100, required=False, label=gettext_lazy("Last name"))
    timezone = forms.ChoiceField(choices=[("", "—")] + TIMEZONE_CHOICES, required=False, label=gettext_lazy("Time zone"))
    notes = forms.CharField(
        max_length=5000, required=False, label=gettext_lazy("Notes"), widget=forms.Textarea(attrs={"rows": 3})
    )
    phones = forms.CharField(
        max_length=500,
        label=gettext_lazy("Phone numbers"),
        help_text=gettext_lazy("One per line"),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    emails = forms.CharField(
        max_length=1000,
        required=False,
        label=gettext_lazy("E-mails"),
        help_text=gettext_lazy("One per line"),
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def to_input(self) -> lifecycle.ContactInput:
        d = self.cleaned_data
        return lifecycle.ContactInput(
            first_name=d["first_name"],
            last_name=d["last_name"],
            timezone=d["timezone"],
            notes=d["notes"],
            phones=d["phones"].splitlines(),
            emails=d["emails"].splitlines(),
        )


def _initial(contact: Contact) -> dict:
    return {
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "timezone": contact.timezone,
        "notes": contact.notes,
        "phones": "\n".join(p.number for p in contact.phones.all()),
        "emails": "\n".join(e.address for e in contact.emails.all()),
    }


@require_GET
@login_required
def contacts(request: HttpRequest) -> HttpResponse:
    agent_or_refuse(request)
    q = clean_text(request.GET.get("q", ""))
    link_to = request.GET.get("link", "")
    context = {"contacts": contact_search(q), "q": q, "link_to": link_to if is_id(link_to) else ""}
    template = "callbacks/contacts.html#results" if request.htmx else "callbacks/contacts.html"
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
@login_required
def contact_detail(request: HttpRequest, contact_id: int) -> HttpResponse:
    agent = agent_or_refuse(request)
    contact = Contact.objects.prefetch_related("phones", "emails").filter(pk=contact_id).first()
    if contact is None:
        raise DomainError(gettext("That contact does not exist."), status=404)
    status, error = 200, ""
    if request.method == "POST":
        form = ContactForm(request.POST)
        try:
            if not form.is_valid():
                raise Invalid(first_error(form))
            lifecycle.do_update_contact(user=request.user, contact_id=contact.pk, data=form.to_input())
            return redirect(reverse("contact", args=[contact.pk]) + "?saved=1")
        except DomainError as exc:
            status, error = exc.status, exc.message
    else:
        form = ContactForm(initial=_initial(contact))
    context = {
        "contact": contact,
        "form": form,
        "history": contact_history(contact),
        "emails": contact_emails(contact.pk),
        "error": error,
        "saved": request.method == "GET" and "saved" in request.GET,
    }
    with timezone.override(agent.zone):  # history times in the agent's own zone
        return render(request, "callbacks/contact.html", context, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def contact_new(request: HttpRequest) -> HttpResponse:
    agent = agent_or_refuse(request)
    status, error = 200, ""
    link = request.POST.get("link") or request.GET.get("link", "")
    if request.method == "POST":
        form = ContactForm(request.POST)
        try:
            if not form.is_valid():
                raise Invalid(first_error(form))
            if link and not (is_id(link) and Interaction.objects.filter(pk=link, agent=agent, state="open").exists()):
                raise Refused(gettext("You can only link a contact to your own open interaction."))
            contact = lifecycle.do_create_contact(user=request.user, data=form.to_input())
            if link:
                lifecycle.do_link_contact(user=request.user, interaction_id=int(link), contact_id=contact.pk)
                return redirect("workspace")
            return redirect("contact", contact.pk)
        except DomainError as exc:
            status, error = exc.status, exc.message
    else:
        form = ContactForm(initial={"phones": request.GET.get("phone", ""), "first_name": request.GET.get("first", "")})
    context = {"contact": None, "form": form, "error": error, "link": link if is_id(link) else ""}
    return render(request, "callbacks/contact.html", context, status=status)


@require_POST
@login_required
def link_contact(request: HttpRequest, interaction_id: int) -> HttpResponse:
    agent_or_refuse(request)
    contact_id = request.POST.get("contact", "")
    if not is_id(contact_id):
        raise Invalid(gettext("Pick a contact."), field="contact")
    lifecycle.do_link_contact(user=request.user, interaction_id=interaction_id, contact_id=int(contact_id))
    return action_response(request)


@require_GET
@login_required
def responses(request: HttpRequest) -> HttpResponse:
    """Search standard responses, filled in for the contact of the interaction (or of the e-mail) they are for.

    From a call window they go into its Note, or into the newest e-mail draft started from it; from an e-mail
    window, into that e-mail's body; from a text conversation, into its compose box. Only the agent's own interaction or e-mail fills anything in."""
    agent = agent_or_refuse(request)
    ix, email, text = request.GET.get("interaction", ""), request.GET.get("email", ""), request.GET.get("text", "")
    values, email_id, text_id = {}, None, None
    if is_id(text):
        conversation = text_window_for(agent, int(text)).window
        values, text_id, ix = response_values(conversation.callback, agent), conversation.pk, ""
    elif is_id(email):
        mail = email_window_for(agent, int(email)).email
        values, email_id, ix = response_values(mail.callback, agent), mail.pk, ""
    elif is_id(ix):
        interaction = (
            Interaction.objects.select_related("callback__contact", "callback__queue").filter(pk=ix, agent=agent).first()
        )
        if interaction:
            values = response_values(interaction.callback, agent)
            email_id = newest_email_draft(agent, interaction.pk)
    context = {
        "responses": response_search(clean_text(request.GET.get("q", "")), values),
        "ix": ix if is_id(ix) else "",
        "email": email_id or "",
        "conversation": text_id or "",
    }
    return render(request, "callbacks/responses.html", context)
