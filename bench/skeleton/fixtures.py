"""The skeleton desk's fixtures, written in bulk: `python -m bench.skeleton.fixtures N` prints the agents' sessions
and the API token as JSON, in the form `bench.fixtures` prints Ringback's."""

import json
import sys
import time

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.contrib.sessions.backends.cached_db import SessionStore  # noqa: E402

from bench.skeleton.models import Desk  # noqa: E402


def main(n: int) -> None:
    User = get_user_model()
    password = make_password("skeleton-password")
    users = User.objects.bulk_create([User(username=f"floor{i:04d}", password=password) for i in range(n)])
    Desk.objects.bulk_create([Desk(user=u) for u in users])
    sessions = []
    for user in users:
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
        session.create()
        sessions.append((user.pk, session.session_key))
    print(json.dumps({"sessions": sessions, "token": settings.SKELETON_TOKEN, "rendered_at": time.time()}))


if __name__ == "__main__":
    main(int(sys.argv[1]))
