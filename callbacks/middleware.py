"""Edges of every request: the APIs refuse oversized or mistyped bodies up front, and one handler turns a refused
action into a clear message and a 4xx."""

import logging
import re
import sys
import time

from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.views import redirect_to_login
from django.db import InterfaceError, OperationalError, connection
from django.http import Http404, HttpRequest, JsonResponse
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.deprecation import MiddlewareMixin
from django.utils.translation import gettext
from django.views.defaults import page_not_found
from django.views.defaults import server_error as default_server_error

from . import twofactor
from .errors import DomainError
from .languages import activate_for_user, is_machine_path
from .metrics import REQUESTS
from .models import agent_for_user
from .views.render import refusal_response

access_log = logging.getLogger("callbacks.access")


class AccessLogMiddleware(MiddlewareMixin):
    """One structured line per request (method, path, status, milliseconds, user id), through logging, so the
    personal-data filter masks it (Daphne's own access log writes raw URLs and is off)."""

    def process_request(self, request: HttpRequest) -> None:
        request._started = time.perf_counter()

    def process_response(self, request: HttpRequest, response):
        started = getattr(request, "_started", None)
        ms = round((time.perf_counter() - started) * 1000, 1) if started is not None else None
        if ms is not None:
            REQUESTS.labels(method=request.method, status=f"{response.status_code // 100}xx").observe(ms / 1000)
        user = getattr(request, "_cached_user", None)  # only if the request loaded it: logging adds no statement
        access_log.info(
            "%s %s → %s in %s ms",
            request.method,
            request.get_full_path(),
            response.status_code,
            ms,
            extra={"status": response.status_code, "ms": ms, "user_id": getattr(user, "pk", None), "method": request.method},
        )
        return response


class DatabaseUnavailableMiddleware(MiddlewareMixin):
    """The database did not answer (restarting, failing over, a network cut): 503 with Retry-After, never a 500.
    Nothing was half-written: every action is one transaction, and it did not commit."""

    def process_exception(self, request: HttpRequest, exception: Exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        return database_unavailable(request, exception)


def drop_broken_connections() -> None:
    """One pooled connection failed: check the pool's idle ones now (only on this error path, never per request),
    so those the outage broke are dropped before they fail a request after the database is back."""
    pool = getattr(connection, "pool", None)
    if pool is None:
        return
    try:
        pool.check()
    except Exception:  # the database is still away: the pool reconnects by itself
        access_log.info("pool check failed", exc_info=True)


def database_unavailable(request: HttpRequest, exception: Exception):
    """503 with Retry-After, as JSON for the APIs and htmx, as a page otherwise (rendered without the user, whom
    the database would have to load)."""
    access_log.warning("database unavailable: %s %s (%s)", request.method, request.path, type(exception).__name__)
    drop_broken_connections()
    message = gettext("Ringback cannot reach its database for a moment. Nothing was changed: please try again in a few seconds.")
    if request.path.startswith(("/api/", "/genesys/", "/readyz", "/metrics")) or request.headers.get("HX-Request"):
        response = JsonResponse({"detail": message, "code": "unavailable"}, status=503)
    else:
        context = {"title": gettext("Briefly unavailable"), "message": message, "user": None}
        response = render(request, "message.html", context, status=503)
    response["Retry-After"] = "5"
    return response


def server_error(request: HttpRequest):
    """handler500: a database error raised outside a view (in a middleware, in the session) is still a 503."""
    exception = sys.exc_info()[1]
    if isinstance(exception, OperationalError | InterfaceError):
        return database_unavailable(request, exception)
    return default_server_error(request)


# The largest body either API reads; a callback request is a few hundred bytes.
API_MAX_BODY = 64 * 1024
JSON_TYPES = ("application/json",)
# The REST operations that read a body; the others (a delivery's replay) ignore whatever a client sends with it.
API_BODY_PATHS = re.compile(
    r"^/api/v1/(callbacks/?|callbacks/[^/]+(/reschedule|/cancel)?/?|webhooks/?|webhooks/[^/]+(/rotate-secret)?/?"
    r"|privacy/(export|erase)/?)$"
)
GMS_TYPES = ("application/json", "application/x-www-form-urlencoded")


def _refuse(request: HttpRequest, status: int, message: str, code: str) -> JsonResponse:
    if request.path.startswith("/genesys/"):  # GMS's own error shape
        return JsonResponse(
            {"exception": f"com.genesyslab.gsg.services.callback.exceptions.{code}", "message": message}, status=status
        )
    return JsonResponse({"detail": message, "code": code}, status=status)


class ApiBodyMiddleware(MiddlewareMixin):
    """Both APIs refuse, before anything reads it, a body that is too large (413) or of a type they do not read
    (415), in their own JSON error shape — not Django's HTML 400 page, and never parsed as JSON by mistake."""

    def process_request(self, request: HttpRequest):
        gms = request.path.startswith("/genesys/")
        if not (gms or request.path.startswith("/api/")) or request.method not in ("POST", "PUT", "PATCH", "DELETE"):
            return None
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _refuse(request, 400, "Content-Length is not a number.", "invalid")
        if length > API_MAX_BODY:
            return _refuse(request, 413, f"The request body is larger than {API_MAX_BODY // 1024} KB.", "too_large")
        if length == 0 or request.method == "DELETE" or not (gms or API_BODY_PATHS.match(request.path)):
            return None
        content_type = (request.content_type or "").lower()
        allowed = GMS_TYPES if gms else JSON_TYPES
        if content_type not in allowed:
            return _refuse(
                request,
                415,
                f"Send the body as {' or '.join(allowed)} (got “{content_type or 'none'}”).",
                "unsupported_media_type",
            )
        return None


class ApiMethodMiddleware(MiddlewareMixin):
    """A method the REST API does not offer on a path is a 405 in the API's JSON error shape, with `Allow` (ninja's
    own is plain text)."""

    def process_response(self, request: HttpRequest, response):
        if response.status_code != 405 or not request.path.startswith("/api/") or not response.has_header("Allow"):
            return response
        allowed = ", ".join(sorted(method.strip() for method in response["Allow"].split(",")))
        refusal = JsonResponse(
            {"detail": f"{request.method} is not allowed here: use {allowed}.", "code": "method_not_allowed"}, status=405
        )
        refusal["Allow"] = allowed
        return refusal


class DomainErrorMiddleware(MiddlewareMixin):
    """Sync and async capable (MiddlewareMixin), so an ASGI request does not hop threads for it."""

    def process_exception(self, request: HttpRequest, exception: Exception):
        if not isinstance(exception, DomainError):
            return None
        if request.path.startswith("/api/"):
            body = {"detail": exception.message, "code": exception.code}
            if exception.field:
                body["field"] = exception.field
            return JsonResponse(body, status=exception.status)
        if is_customer_path(request.path):  # a customer's page: no workspace to go back to
            context = {"title": gettext("Not possible"), "message": exception.message}
            return render(request, "public/message.html", context, status=exception.status)
        agent = agent_for_user(request.user)
        if agent is not None:
            return refusal_response(request, agent, exception.message, exception.status)
        context = {"title": gettext("Not possible"), "message": exception.message}
        return render(request, "message.html", context, status=exception.status)


class LocaleMiddleware(DjangoLocaleMiddleware):
    """Django's: pages in the visitor's language (the switch's cookie, else Accept-Language). The machine endpoints
    are left in English, whatever the client's Accept-Language says (see callbacks.languages)."""

    def process_request(self, request: HttpRequest) -> None:
        if is_machine_path(request.path):
            translation.activate(settings.LANGUAGE_CODE)
            request.LANGUAGE_CODE = settings.LANGUAGE_CODE
            return None
        return super().process_request(request)

    def process_response(self, request: HttpRequest, response):
        if is_machine_path(request.path):
            return response
        return super().process_response(request, response)


class AgentLanguageMiddleware(MiddlewareMixin):
    """The hook for the agent's own language: a signed-in agent whose profile has a non-empty `language` gets their
    pages in it, whatever the browser asks. Adds no query: the session's user (and their profile, in the same
    query) is loaded only when the session is signed in, and every signed-in page loads it anyway."""

    def process_request(self, request: HttpRequest) -> None:
        if is_machine_path(request.path) or SESSION_KEY not in request.session:
            return None
        activate_for_user(request)
        return None


class SecondFactorMiddleware(MiddlewareMixin):
    """Where a second factor is required (RINGBACK_ADMIN_TWO_FACTOR, always on in production), an Admin-role account
    signed in without one may only set it up, or sign out: any other page, Django admin's included, sends it to the
    set-up page. Off, it costs nothing; on, a session found not to be an Admin's is remembered as such, so agents' pages
    pay one query per session (a role given later counts from the next sign-in)."""

    def process_request(self, request: HttpRequest):
        if not settings.RINGBACK_ADMIN_TWO_FACTOR or SESSION_KEY not in request.session or is_machine_path(request.path):
            return None
        user = request.user
        if not user.is_authenticated or user.is_verified() or request.session.get(NOT_ADMIN) == user.pk:
            return None
        if not twofactor.is_required(user):
            request.session[NOT_ADMIN] = user.pk
            return None
        if request.path in {reverse(name) for name in SETUP_PAGES} or request.path.startswith(settings.STATIC_URL):
            return None
        if twofactor.has_second_factor(user):
            # Signed in before the second factor was asked for (a session older than it): sign in again, with it.
            logout(request)
            return redirect_to_login(request.get_full_path())
        return redirect("two_factor")


NOT_ADMIN = "ringback_not_admin_role"
SETUP_PAGES = ("two_factor", "logout", "javascript-catalog", "set_language")


class OneThreadMiddleware:
    """Last in MIDDLEWARE, and sync only: Django then runs the whole middleware chain and the (sync) view in one
    thread per request. Without it, under ASGI each `MiddlewareMixin` hook of an async-capable middleware is its own
    thread hand-off (`sync_to_async`), and WhiteNoise (sync only) splits the chain in two: about 20 hand-offs per
    request, measured at a fifth of a lifecycle's CPU (docs/performance.md). Daphne keeps serving the websockets
    and streaming bodies on its event loop."""

    sync_capable = True
    async_capable = False

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)


CUSTOMER_PATHS = ("/my/", "/m/", "/request/")


def is_customer_path(path: str) -> bool:
    """The customer's own pages (the request form, their signed and short links)."""
    return path.startswith(CUSTOMER_PATHS)


def not_found(request: HttpRequest, exception: Exception):
    """handler404: on a customer's pages, the reason in their language on the customer's own layout ("This link is
    not valid or has expired."); elsewhere Django's own page."""
    if not is_customer_path(request.path):
        return page_not_found(request, exception)
    reason = exception.args[0] if isinstance(exception, Http404) and exception.args and isinstance(exception.args[0], str) else ""
    context = {"title": gettext("Page not found"), "message": reason or gettext("This page does not exist.")}
    return render(request, "public/message.html", context, status=404)
