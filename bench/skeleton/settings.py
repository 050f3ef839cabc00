"""Settings of the skeleton floor: Django's own session, CSRF and authentication middleware, SQLite, the
in-process channel layer. Nothing of Ringback's. The desk under load (`bench.skeleton.desk`) adds PostgreSQL and Redis
when the benchmark names them."""

import os
from pathlib import Path

import dj_database_url

from bench.skeleton.desk_templates import DESK_TEMPLATES

SECRET_KEY = "skeleton-floor-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "django.contrib.sessions", "channels", "bench.skeleton"]
SKELETON_TOKEN = "skeleton-intake-token"  # the desk's intake API (bench.skeleton.desk)
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
                    {
                        "card.html": '<div id="card" hx-swap-oob="true"><p>{{ step }}</p><p>{{ user.username }}</p></div>',
                        **DESK_TEMPLATES,
                    },
                )
            ]
        },
    }
]
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# The skeleton desk under load (`bench.skeleton.desk`) runs on the scaled set-up's parts when the benchmark names
# them: PostgreSQL through a pool, Redis for the channel layer, the cache and the sessions, as Ringback does.
if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=0)}
    DATABASES["default"]["OPTIONS"] = {"pool": {"min_size": 1, "max_size": int(os.environ.get("DB_POOL_SIZE", "10"))}}
elif os.environ.get("SKELETON_DESK"):  # the desk's concurrent writers on SQLite, as Ringback's embedded default
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"}
if os.environ.get("REDIS_URL"):
    _redis = {"address": os.environ["REDIS_URL"], "socket_timeout": 30, "max_connections": 2000}
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [_redis], "prefix": "skeleton", "capacity": 500},
        }
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": os.environ["REDIS_URL"]}}
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
USE_TZ = True
