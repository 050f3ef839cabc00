"""Settings of the skeleton floor: Django's own session, CSRF and authentication middleware, SQLite, the
in-process channel layer. Nothing of Ringback's."""

import os
from pathlib import Path

SECRET_KEY = "skeleton-floor-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "django.contrib.sessions", "channels"]
# The form of the request cycle and the consumer (`bench.forms`): "one-thread" (Ringback's: the chain and the sync
# view in one thread), "chain" (Django's default under ASGI: each middleware hook hops to a thread, then the view),
# "async" (async views and async ORM calls, the consumer reading through the async ORM), "sync-consumer"
# (one-thread views; a synchronous consumer, each event handled in a thread).
FORM = os.environ.get("SKELETON_FORM", "one-thread")
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
] + (["bench.skeleton.app.OneThreadMiddleware"] if FORM in ("one-thread", "sync-consumer") else [])
ROOT_URLCONF = "bench.skeleton.app"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": Path(os.environ.get("RINGBACK_VAR_DIR", "/tmp")) / "skeleton.sqlite3",
    }
}
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "OPTIONS": {
            "loaders": [
                (
                    "django.template.loaders.locmem.Loader",
                    {"card.html": '<div id="card" hx-swap-oob="true"><p>{{ step }}</p><p>{{ user.username }}</p></div>'},
                )
            ]
        },
    }
]
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
USE_TZ = True
