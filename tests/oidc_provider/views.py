"""/fixture/: how the test sets up the provider's clients and users (a shared token, never a browser's call)."""

import json
import os

from django.contrib.auth import get_user_model
from django.http import HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from oauth2_provider.models import Application

from .models import Claims


@csrf_exempt
@require_POST
def fixture(request):
    if request.headers.get("X-Fixture-Token") != os.environ["OIDC_PROVIDER_FIXTURE_TOKEN"]:
        return HttpResponseForbidden()
    body = json.loads(request.body)
    for client in body.get("clients", []):
        app = Application.objects.filter(client_id=client["client_id"]).first() or Application(client_id=client["client_id"])
        app.name = client["client_id"]
        app.client_secret = client["client_secret"]  # hashed on save
        app.client_type = Application.CLIENT_CONFIDENTIAL
        app.authorization_grant_type = Application.GRANT_AUTHORIZATION_CODE
        app.redirect_uris = " ".join(client["redirect_uris"])
        app.post_logout_redirect_uris = " ".join(client.get("post_logout_redirect_uris", []))
        app.algorithm = Application.RS256_ALGORITHM
        app.skip_authorization = True
        app.save()
    for person in body.get("users", []):
        user, _ = get_user_model().objects.get_or_create(username=person["username"])
        user.email = person.get("email", f"{person['username']}@example.com")
        user.first_name = person.get("name", person["username"].title())
        user.set_password(person["password"])
        user.save()
        Claims.objects.update_or_create(user=user, defaults={"groups": person["groups"], "queues": person.get("queues")})
    return HttpResponse(status=204)
