"""The language a page is written in.

People's pages follow, in this order: the agent's own language (their profile's `language`, when the field exists and
is set), the visitor's choice in the language switch (Django's language cookie), the browser's Accept-Language, then
English. The machine endpoints (the REST API, GMS, probes, metrics, the switch's events) always answer in English:
their messages are part of their contract with integrators.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils import translation

# Paths whose answers are read by programs, not people: never translated.
MACHINE_PATHS = ("/api/", "/genesys/", "/healthz", "/readyz", "/metrics", "/sip/", "/softphone/events/")


def is_machine_path(path: str) -> bool:
    return path.startswith(MACHINE_PATHS)


def supported(code: str) -> str:
    """A supported language for `code` ("fr-CA" gives "fr"), or "" when there is none."""
    if not code:
        return ""
    try:
        return translation.get_supported_language_variant(code)
    except LookupError:
        return ""


def agent_language(user) -> str:
    """The agent's own language (`Agent.language`), or "" to follow the browser. Read with getattr, so it works for
    users without an agent profile (the session's user comes with its profile: no query)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return ""
    agent = getattr(user, "agent", None)
    return supported(str(getattr(agent, "language", "") or ""))


def activate_for_user(request: HttpRequest) -> str:
    """Activate the signed-in agent's own language for this request, when they chose one; returns it (or "")."""
    language = agent_language(request.user)
    if language:
        translation.activate(language)
        request.LANGUAGE_CODE = language
    return language


def language_for_socket(scope: dict) -> str:
    """A websocket's language, chosen as its page's was: the agent's own, the switch's cookie, the browser's."""
    return agent_language(scope.get("user")) or browser_language(scope)


def browser_language(scope: dict) -> str:
    """The language a socket's page was written in when nobody chose one: the switch's cookie, the browser's."""
    request = HttpRequest()
    request.COOKIES = dict(scope.get("cookies") or {})
    for name, value in scope.get("headers") or []:
        if name == b"accept-language":
            request.META["HTTP_ACCEPT_LANGUAGE"] = value.decode("latin-1")
    return translation.get_language_from_request(request) or settings.LANGUAGE_CODE
