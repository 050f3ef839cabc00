"""Signing in and out, and the account's second factor (an authenticator app and its recovery codes).

A user with a second factor is not signed in by their password: the password starts a short second step, kept in
the server-side session (the user's id, the address to go to, a deadline five minutes away, the wrong codes so far),
and only a right code signs them in. Wrong codes are throttled per user by django-otp (callbacks.twofactor); five in
one step end it, and the password is asked again.
"""

import math

import django_otp
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_http_methods

from .. import lifecycle, twofactor

PENDING = "ringback_second_step"
SECOND_STEP_SECONDS = 5 * 60
WRONG_CODES_PER_STEP = 5
CODE_STEP = "registration/code.html"
ENROLMENT = "registration/two_factor.html"


class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        if twofactor.has_second_factor(user):
            begin_second_step(self.request, user, self.get_success_url())
            return redirect("login_code")
        response = super().form_valid(form)
        lifecycle.do_log_in(user=user)
        if twofactor.must_enrol(user):
            return redirect("two_factor")
        return response


class LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            lifecycle.do_log_out(user=request.user)
        return super().post(request, *args, **kwargs)


def begin_second_step(request: HttpRequest, user, next_url: str) -> None:
    """The password was right: remember who is signing in, for five minutes, in a session no one else holds."""
    request.session.cycle_key()
    request.session[PENDING] = {
        "user": user.pk,
        "backend": user.backend,
        "next": next_url,
        "until": timezone.now().timestamp() + SECOND_STEP_SECONDS,
        "wrong": 0,
    }


def pending_user(request: HttpRequest):
    """The user of an unexpired second step, or None (the step is then forgotten)."""
    pending = request.session.get(PENDING)
    if not pending or pending["until"] < timezone.now().timestamp():
        request.session.pop(PENDING, None)
        return None
    user = get_user_model()._default_manager.filter(pk=pending["user"], is_active=True).first()
    if user is None:
        request.session.pop(PENDING, None)
    return user


class CodeForm(forms.Form):
    code = forms.CharField(max_length=32, strip=True)


def wrong_code_message(check: twofactor.Check) -> str:
    if check.wait_until is not None:
        seconds = max(1, math.ceil((check.wait_until - timezone.now()).total_seconds()))
        return ngettext(
            "Too many wrong codes for this account: try again in %(seconds)s second.",
            "Too many wrong codes for this account: try again in %(seconds)s seconds.",
            seconds,
        ) % {"seconds": seconds}
    return gettext("That code is not right. Type the code your authenticator app shows now, or a recovery code.")


@require_http_methods(["GET", "POST"])
def login_code(request: HttpRequest) -> HttpResponse:
    """The second step of signing in: a code from the authenticator app, or a recovery code (each works once)."""
    user = pending_user(request)
    if user is None:
        return render(request, CODE_STEP, {"expired": True}, status=400 if request.method == "POST" else 200)
    form = CodeForm(request.POST if request.method == "POST" else None)
    if not form.is_valid():
        return render(request, CODE_STEP, {"form": form})
    check = twofactor.check_code(user, form.cleaned_data["code"])
    pending = request.session.pop(PENDING)
    if check.device is None:
        pending["wrong"] += 1
        if pending["wrong"] >= WRONG_CODES_PER_STEP:
            return render(request, CODE_STEP, {"expired": True, "too_many": True}, status=400)
        request.session[PENDING] = pending
        return render(request, CODE_STEP, {"form": form, "error": wrong_code_message(check)}, status=400)
    login(request, user, backend=pending["backend"])
    django_otp.login(request, check.device)
    lifecycle.do_log_in(user=user)
    return redirect(pending["next"])


class ActionForm(CodeForm):
    action = forms.ChoiceField(choices=[("confirm", "confirm"), ("codes", "codes"), ("disable", "disable")])


def may_turn_off(user) -> bool:
    return not (settings.RINGBACK_ADMIN_TWO_FACTOR and twofactor.is_admin_role(user))


@login_required
@require_http_methods(["GET", "POST"])
def two_factor(request: HttpRequest) -> HttpResponse:
    """The account's second factor: set up an authenticator app (QR code, secret, a code to confirm), then new
    recovery codes or turning it off, each with a current code. Recovery codes are shown once, in the answer that
    made them."""
    user = request.user
    form = ActionForm(request.POST if request.method == "POST" else None)
    context = {"form": form, "may_turn_off": may_turn_off(user), "required": twofactor.must_enrol(user)}
    if form.is_valid():
        action, code = form.cleaned_data["action"], form.cleaned_data["code"]
        if action == "confirm":
            confirmed = twofactor.confirm_enrolment(user, code)
            if confirmed is not None:
                device, codes = confirmed
                django_otp.login(request, device)
                return render(request, ENROLMENT, {"codes": codes})
        elif action == "disable" and not context["may_turn_off"]:
            context["error"] = gettext("Admin accounts must keep their second factor.")
        elif twofactor.has_second_factor(user):
            check = twofactor.check_code(user, code)
            if check.device is not None and action == "codes":
                return render(request, ENROLMENT, {"codes": twofactor.new_recovery_codes(user)})
            if check.device is not None and action == "disable":
                twofactor.disable(user)
                return redirect("two_factor")
            context["error"] = wrong_code_message(check)
        context.setdefault("error", gettext("That code is not right. Type the code your authenticator app shows now."))
    elif request.method == "POST":
        context["error"] = gettext("Type a code.")
    if twofactor.has_second_factor(user):
        context["codes_left"] = twofactor.recovery_codes_left(user)
    else:
        device = twofactor.pending_enrolment(user)
        context |= {"qr": twofactor.qr_data_uri(device), "secret": twofactor.secret_text(device)}
    return render(request, ENROLMENT, context, status=400 if "error" in context else 200)
