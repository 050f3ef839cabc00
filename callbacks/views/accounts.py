"""Signing in and out (with a password, or through the organisation's identity provider), and the account's second
factor (an authenticator app and its recovery codes).

A user with a second factor is not signed in by their password: the password starts a short second step, kept in
the server-side session (the user's id, the address to go to, a deadline five minutes away, the wrong codes so far),
and only a right code signs them in. Wrong codes are throttled per user by django-otp (callbacks.twofactor); five in
one step end it, and the password is asked again.
"""

import functools
import logging
import math

import django_otp
import requests
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_http_methods
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from .. import identity, lifecycle, twofactor

log = logging.getLogger(__name__)

PENDING = "ringback_second_step"
SECOND_STEP_SECONDS = 5 * 60
WRONG_CODES_PER_STEP = 5
CODE_STEP = "registration/code.html"
ENROLMENT = "registration/two_factor.html"


class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if settings.RINGBACK_SSO:
            context["provider"] = identity.provider_name()
            context["admins_only"] = settings.RINGBACK_LOCAL_PASSWORDS == "admins"
        return context

    def form_valid(self, form):
        user = form.get_user()
        if not identity.may_use_password(user):
            # Only after a right password: the refusal tells nobody which accounts are admins'.
            return self.render_to_response(self.get_context_data(form=form, refusal=identity.password_refusal()), status=403)
        if twofactor.has_second_factor(user):
            begin_second_step(self.request, user, self.get_success_url())
            return redirect("login_code")
        response = super().form_valid(form)
        lifecycle.do_log_in(user=user)
        if twofactor.must_enrol(user):
            return redirect("two_factor")
        return response


class LogoutView(auth_views.LogoutView):
    """Signing out ends Ringback's session (an agent's channels Logged Out, their sockets closed); a session that
    signed in through the provider then goes to the provider's end_session_endpoint, where it publishes one, which
    ends its session too and sends the browser back to the sign-in page (RP-initiated logout)."""

    def post(self, request, *args, **kwargs):
        provider_logout = identity.provider_logout_url(request)  # read before the session is flushed
        if request.user.is_authenticated:
            lifecycle.do_log_out(user=request.user)
        response = super().post(request, *args, **kwargs)
        return redirect(provider_logout) if provider_logout else response


REFUSED = "registration/sso_refused.html"


def refused(request: HttpRequest, message: str, status: int) -> HttpResponse:
    return render(request, REFUSED, {"message": message, "provider": identity.provider_name()}, status=status)


def single_sign_on_only(view):
    """Single sign-on's pages exist only where it is configured (RINGBACK_OIDC_CLIENT_ID …)."""

    @functools.wraps(view)
    def guarded(request, *args, **kwargs):
        if not settings.RINGBACK_SSO:
            raise Http404
        return view(request, *args, **kwargs)

    return guarded


class ProviderCallbackView(OIDCAuthenticationCallbackView):
    """Where the provider sends the browser back with a code: mozilla-django-oidc exchanges it (with the PKCE
    verifier), checks the ID token and signs the user in; every refusal is a page that says why, and signs nobody in."""

    def get(self, request):
        sent_state = request.GET.get("state")
        if "code" in request.GET and sent_state not in request.session.get("oidc_states", {}):
            return refused(
                request,
                gettext("This sign-in was not started in this browser, or was already used. Start again from the sign-in page."),
                400,
            )
        try:
            return super().get(request)
        except (SuspiciousOperation, requests.HTTPError) as error:  # a forged answer; a code the provider refuses
            log.warning("single sign-on refused: %s", error)
            return refused(
                request,
                gettext("The answer from %(provider)s could not be verified, so nobody was signed in. Start again.")
                % {"provider": identity.provider_name()},
                400,
            )
        except identity.SignInRefused as refusal:
            return refused(request, refusal.message, 403)
        except requests.RequestException as error:
            log.warning("single sign-on: the provider could not be reached: %s", error)
            return refused(
                request,
                gettext("%(provider)s could not be reached. Try again in a moment.") % {"provider": identity.provider_name()},
                502,
            )

    def login_failure(self):
        return refused(
            self.request,
            gettext("%(provider)s did not sign you in. Start again from the sign-in page.")
            % {"provider": identity.provider_name()},
            403,
        )

    def login_success(self):
        response = super().login_success()
        lifecycle.do_log_in(user=self.user)
        return response


provider_sign_in = single_sign_on_only(OIDCAuthenticationRequestView.as_view())
provider_callback = single_sign_on_only(ProviderCallbackView.as_view())


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
    return not twofactor.is_required(user)


@login_required
@require_http_methods(["GET", "POST"])
def two_factor(request: HttpRequest) -> HttpResponse:
    """The account's second factor: set up an authenticator app (QR code, secret, a code to confirm), then new
    recovery codes or turning it off, each with a current code. Recovery codes are shown once, in the answer that
    made them."""
    user = request.user
    if not user.has_usable_password():  # signed in through the identity provider: its second factor applies
        message = gettext("You sign in with %(provider)s: your second factor is set up there, not in Ringback.")
        context = {"title": gettext("Two-factor sign-in"), "message": message % {"provider": identity.provider_name()}}
        return render(request, "message.html", context)
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
