"""One handler turns a refused action into a clear message and a 4xx."""

from django.http import HttpRequest, JsonResponse
from django.shortcuts import render
from django.utils.deprecation import MiddlewareMixin

from .errors import DomainError
from .selectors import agent_for_user
from .views.render import refusal_response


class DomainErrorMiddleware(MiddlewareMixin):
    """Sync and async capable (MiddlewareMixin), so an ASGI request does not hop threads for it."""

    def process_exception(self, request: HttpRequest, exception: Exception):
        if not isinstance(exception, DomainError):
            return None
        if request.path.startswith("/api/"):
            body = {"detail": exception.message}
            if exception.field:
                body["field"] = exception.field
            return JsonResponse(body, status=exception.status)
        agent = agent_for_user(request.user)
        if agent is not None:
            return refusal_response(request, agent, exception.message, exception.status)
        return render(request, "message.html", {"title": "Not possible", "message": exception.message}, status=exception.status)
