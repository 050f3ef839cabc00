"""The customer's own pages: "Request a callback" for the company website, the confirmation, and the signed link
where the customer sees their request, moves it to another free slot, or cancels it.

Public and mobile first. Times are shown in the visitor's zone (the page asks the browser once; a select
changes it without JavaScript). Abuse is kept out without hurting customers: CSRF on every form, a honeypot
field a person never sees, a per-address budget of requests per hour (shared cache), and intake's own
per-number daily limit.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import calendars, intake_schema, lifecycle, links, throttle
from ..enums import CallbackState, CallbackType, Origin
from ..errors import DomainError
from ..models import CallbackRequest, Queue
from ..phone import display_phone, validate_timezone
from ..presenters import schedule
from ..presenters.standing import customer_standing

DAYS_SHOWN = 7
SLOTS_SHOWN = 150
STATE_WORDS = {
    CallbackState.SCHEDULED: gettext_lazy("Booked"),
    CallbackState.QUEUED: gettext_lazy("Waiting for the next free agent"),
    CallbackState.OFFERED: gettext_lazy("An agent is about to call you"),
    CallbackState.IN_PROGRESS: gettext_lazy("An agent is on it"),
    CallbackState.COMPLETED: pgettext_lazy("a callback's state, for the customer", "Done"),
    CallbackState.CANCELLED: pgettext_lazy("a callback's state, for the customer", "Cancelled"),
    CallbackState.FAILED: pgettext_lazy("a callback's state, for the customer", "Closed"),
}
# The day of a free time in the slot picker, in the visitor's language (a Django date format: "Monday 7 December").
DAY_FORMAT = pgettext_lazy("a day in the customer's time picker (Django date format)", "l j F")


class RequestForm(forms.Form):
    when = forms.ChoiceField(
        choices=[("now", gettext_lazy("As soon as possible")), ("slot", gettext_lazy("At a time I choose"))], initial="now"
    )
    slot = forms.CharField(required=False, max_length=40)
    phone = forms.CharField(max_length=40, label=gettext_lazy("Phone number"))
    name = forms.CharField(max_length=200, label=gettext_lazy("Your name"))
    email = forms.EmailField(required=False, max_length=254, label=gettext_lazy("E-mail (optional)"))
    reason = forms.CharField(
        required=False, max_length=500, label=gettext_lazy("What is it about? (optional)"), widget=forms.Textarea
    )
    tz = forms.CharField(max_length=64, required=False)
    website = forms.CharField(required=False, max_length=200)  # the honeypot: hidden from people, filled by bots

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Every other field of the request marked public (`intake_schema`) is asked for too, under its own name and
        # title; its checks are the request's own (one definition, validated once when the request is made).
        for name, info in intake_schema.public_fields().items():
            if name not in PAGE_OWN:
                self.fields[name] = forms.CharField(required=False, label=info.title or name, help_text=info.description or "")

    def extra_fields(self) -> list:
        return [self[name] for name in self.fields if name in intake_schema.FIELDS and name not in PAGE_OWN]

    def extra_values(self) -> dict[str, str]:
        return {field.name: self.cleaned_data[field.name] or None for field in self.extra_fields()}


# The request's public fields this page asks for under names of its own (the rest are asked for by their own).
PAGE_OWN = {"customer_name": "name", "phone_number": "phone", "email": "email"}


def visitor_zone(request: HttpRequest, queue: Queue) -> ZoneInfo:
    raw = (request.POST.get("tz") or request.GET.get("tz") or "").strip()
    if raw:
        try:
            return ZoneInfo(validate_timezone(raw, field="tz"))
        except DomainError:
            pass
    return calendars.spec_for(queue).zone if queue.calendar_id else ZoneInfo(settings.TIME_ZONE)


def slot_days(queue: Queue, zone: ZoneInfo, now: datetime, *, excluding: int | None = None) -> list[schedule.SlotDay]:
    """Free slots of the next days, grouped by the visitor's day. A slot needs a moment to be offered: 15 minutes."""
    start, end = now + timedelta(minutes=15), now + timedelta(days=DAYS_SHOWN)
    return schedule.free_slot_days(queue, start, end, zone, excluding=excluding, limit=SLOTS_SHOWN, day_format=str(DAY_FORMAT))


def _queue(slug: str) -> Queue:
    queue = Queue.objects.filter(slug=slug[:50], active=True).select_related("calendar").first()
    if queue is None:
        raise Http404("No such service.")
    return queue


def _context(request: HttpRequest, queue: Queue, form: RequestForm, error: str = "") -> dict:
    now = timezone.now()
    zone = visitor_zone(request, queue)
    spec = calendars.spec_for(queue)
    opens = None if calendars.is_open(spec, now) else calendars.next_open(spec, now)
    return {
        "queue": queue,
        "form": form,
        "error": error,
        "zone": str(zone),
        "zones": ["Europe/Paris", "Europe/London", "Europe/Berlin", "Europe/Rome", "America/New_York", "UTC"],
        "days": slot_days(queue, zone, now),
        "opens": opens.astimezone(zone) if opens else None,
    }


@require_http_methods(["GET", "POST"])
def request_callback(request: HttpRequest, slug: str) -> HttpResponse:
    queue = _queue(slug)
    if request.method == "GET":
        return render(request, "public/request.html", _context(request, queue, RequestForm(initial={"when": "now"})))
    form = RequestForm(request.POST)
    if not form.is_valid():
        first = next(iter(form.errors.values()))[0]
        return render(request, "public/request.html", _context(request, queue, form, first), status=400)
    data = form.cleaned_data
    if data["website"]:
        return render(
            request,
            "public/request.html",
            _context(request, queue, form, gettext("Please leave the last field empty.")),
            status=400,
        )
    wait = throttle.hit(
        "public-form", request.META.get("REMOTE_ADDR", ""), limit=settings.RINGBACK_PUBLIC_FORM_PER_HOUR, window=3600
    )
    if wait is not None:
        message = gettext("Too many requests from your connection; please try again in %(minutes)s minutes.") % {
            "minutes": max(1, wait // 60)
        }
        return render(request, "public/request.html", _context(request, queue, form, message), status=429)
    desired = None
    if data["when"] == "slot":
        try:
            desired = datetime.fromisoformat(data["slot"])
        except ValueError:
            desired = None
        if desired is None or timezone.is_naive(desired):
            return render(
                request, "public/request.html", _context(request, queue, form, gettext("Please pick a time.")), status=400
            )
    zone = visitor_zone(request, queue)
    fields = {
        **form.extra_values(),
        "queue": queue.slug,
        "phone_number": data["phone"],
        "type": CallbackType.SCHEDULED if desired else CallbackType.IMMEDIATE,
        "origin": Origin.WEB,
        "customer_name": data["name"],
        "desired_time": desired.isoformat() if desired else None,
        "customer_timezone": str(zone),
        "data": {"reason": data["reason"]} if data["reason"] else {},
        "email": data["email"],
        "language": translation.get_language() or "",  # the page's: the customer's e-mails are written in it
    }
    try:
        if queue.verify_numbers:  # the request waits for the code texted to the number
            address = request.META.get("REMOTE_ADDR", "")
            token = lifecycle.do_start_number_check(queue=queue, number=data["phone"], request=fields, address=address)
            return redirect("public_verify", token=token)
        return booked(request, queue, form, fields)
    except DomainError as error:
        status = error.status if error.status < 500 else 503
        return render(request, "public/request.html", _context(request, queue, form, error.message), status=status)


def booked(request: HttpRequest, queue: Queue, form: RequestForm | None, fields: dict) -> HttpResponse:
    """Take the request (as the form gave it, or as a number check kept it) and show the customer their link."""
    desired = datetime.fromisoformat(fields["desired_time"]) if fields.get("desired_time") else None
    callback, created = lifecycle.do_create_callback(request=lifecycle.callback_request(**{**fields, "desired_time": desired}))
    if not created:
        form = form or RequestForm(initial={"when": "now"})
        # Someone's open request for this number: say so, but show nothing of it (whoever typed the number).
        message = gettext("This number already has a callback request with us. Use the link we gave you to change or cancel it.")
        return render(request, "public/request.html", _context(request, queue, form, message), status=409)
    return redirect("public_done", token=links.manage_token(callback.reference))


@require_http_methods(["GET", "POST"])
def verify_number(request: HttpRequest, token: str) -> HttpResponse:
    """The code texted to the number typed: right, and the request is taken; wrong, and the visitor tries again
    (5 tries, 10 minutes); "Send a new code" starts a new check with the same request."""
    try:
        check = lifecycle.number_check(token)
    except DomainError as error:
        raise Http404(error.message) from None
    context = {"queue": check.queue, "phone": display_phone(check.number), "error": ""}
    if request.method == "GET":
        return render(request, "public/verify.html", context)
    try:
        if request.POST.get("resend"):
            address = request.META.get("REMOTE_ADDR", "")
            fresh = lifecycle.do_start_number_check(
                queue=check.queue, number=check.number, request=check.request, address=address
            )
            return redirect("public_verify", token=fresh)
        confirmed, wrong = lifecycle.do_confirm_number(token=token, code=request.POST.get("code", "")[:20])
        if confirmed is None:
            return render(request, "public/verify.html", {**context, "error": wrong}, status=400)
        return booked(request, confirmed.queue, None, confirmed.request)
    except DomainError as error:
        status = error.status if error.status < 500 else 503
        return render(request, "public/verify.html", {**context, "error": error.message}, status=status)


def _link_address(request: HttpRequest) -> str:
    """The address asking with a customer's link, refused (429) while its wrong links are over the limit."""
    address = request.META.get("REMOTE_ADDR", "")
    if throttle.bad_token_wait(address) is not None:
        raise DomainError(gettext("Too many wrong links from this address: try again later."), status=429)
    return address


def _callback_for(request: HttpRequest, token: str) -> CallbackRequest:
    """The callback a customer's signed link names. Wrong links count against the address, as wrong short links
    and API tokens do: past the limit, the address waits (429) before any link of it is looked at again."""
    address = _link_address(request)
    reference = links.reference_from(token)
    callback = CallbackRequest.objects.select_related("queue").filter(reference=reference).first() if reference else None
    if callback is None:
        throttle.bad_token(address)
        raise Http404(gettext("This link is not valid or has expired."))
    return callback


@require_GET
def short_link(request: HttpRequest, code: str) -> HttpResponse:
    """The short link a text message carries: to the customer's page, by its long signed link. A wrong code counts
    against the address, as a wrong API token does."""
    address = _link_address(request)
    reference = links.reference_from_short(code)
    callback = CallbackRequest.objects.filter(reference=reference).only("created_at").first() if reference else None
    if callback is None or callback.created_at < timezone.now() - timedelta(days=settings.RINGBACK_CUSTOMER_LINK_DAYS):
        throttle.bad_token(address)
        raise Http404(gettext("This link is not valid or has expired."))
    return redirect("public_manage", token=links.manage_token(reference))


def _standing_context(callback: CallbackRequest, token: str) -> dict:
    return {
        "cb": callback,
        "token": token,
        "state_words": STATE_WORDS[callback.state],
        "standing": customer_standing(callback, timezone.now()),
        "poll_seconds": settings.RINGBACK_CUSTOMER_POLL_SECONDS,
    }


def _manage_context(request: HttpRequest, callback: CallbackRequest, token: str, error: str = "", notice: str = "") -> dict:
    zone = callback.customer_zone
    waiting = callback.state in (CallbackState.SCHEDULED, CallbackState.QUEUED, CallbackState.OFFERED)
    return {
        **_standing_context(callback, token),
        "when": callback.desired_time.astimezone(zone)
        if callback.desired_time and callback.state == CallbackState.SCHEDULED
        else None,
        "phone": display_phone(callback.phone_number),
        "can_change": waiting,
        "days": slot_days(callback.queue, zone, timezone.now(), excluding=callback.pk) if waiting else [],
        "error": error,
        "notice": notice,
        "link": request.build_absolute_uri(reverse("public_manage", args=[token])),
    }


def done(request: HttpRequest, token: str) -> HttpResponse:
    callback = _callback_for(request, token)
    return render(request, "public/done.html", _manage_context(request, callback, token))


@require_http_methods(["GET"])
def manage(request: HttpRequest, token: str) -> HttpResponse:
    callback = _callback_for(request, token)
    notices = {"moved": gettext("Your new time is booked."), "cancelled": gettext("Your request is cancelled.")}
    notice = notices.get(request.GET.get("done", ""), "")
    return render(request, "public/manage.html", _manage_context(request, callback, token, notice=notice))


@require_GET
def standing(request: HttpRequest, token: str) -> HttpResponse:
    """Where the request stands, for the customer's page to poll: the same words give the same entity tag, and a
    poll that names it (If-None-Match) is answered 304 with no body."""
    callback = _callback_for(request, token)
    context = _standing_context(callback, token)
    etag = context["standing"].etag
    if etag in (tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")):
        response = HttpResponse(status=304)
    else:
        response = render(request, "public/_standing.html", context)
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    return response


@require_POST
def manage_move(request: HttpRequest, token: str) -> HttpResponse:
    callback = _callback_for(request, token)
    try:
        when = datetime.fromisoformat(request.POST.get("slot", ""))
    except ValueError:
        when = None
    if when is None or timezone.is_naive(when):
        return render(
            request, "public/manage.html", _manage_context(request, callback, token, gettext("Please pick a time.")), status=400
        )
    try:
        lifecycle.do_move_callback(reference=callback.reference, when=when, by="the customer (web page)")
    except DomainError as error:
        callback.refresh_from_db()
        return render(
            request, "public/manage.html", _manage_context(request, callback, token, error.message), status=error.status
        )
    return redirect(reverse("public_manage", args=[token]) + "?done=moved")


@require_POST
def manage_cancel(request: HttpRequest, token: str) -> HttpResponse:
    callback = _callback_for(request, token)
    try:
        lifecycle.do_cancel_callback(reference=callback.reference, reason="Cancelled by the customer on the web page")
    except DomainError as error:
        return render(
            request, "public/manage.html", _manage_context(request, callback, token, error.message), status=error.status
        )
    return redirect(reverse("public_manage", args=[token]) + "?done=cancelled")
