"""One handler turns a refused action into a clear message and a 4xx."""

from django.http import HttpRequest, JsonResponse
from django.shortcuts import render

from .errors import DomainError
from .selectors import agent_for_user
from .views.render import workspace_response


class DomainErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        return self.get_response(request)

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
            return workspace_response(request, agent, error=exception.message, status=exception.status)
        return render(request, "message.html", {"title": "Not possible", "message": exception.message}, status=exception.status)
