"""Ringback settings: one module, configured from the environment.

With nothing set, Ringback runs on the embedded default: SQLite in WAL mode
and the in-process channel layer. DATABASE_URL and REDIS_URL switch it to the
scaled set-up (PostgreSQL, channels-redis, several web processes).
"""

import os
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from workspace import oidc

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("RINGBACK_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DEBUG", False)
PRODUCTION = env_bool("RINGBACK_PRODUCTION", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when RINGBACK_PRODUCTION is on.")
    SECRET_KEY = "ringback-embedded-default-not-for-production"

ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "channels",
    "django_tasks_db",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "callbacks",
]

MIDDLEWARE = [
    "callbacks.middleware.AccessLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "callbacks.middleware.ApiBodyMiddleware",
    "callbacks.middleware.ApiMethodMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The page's language: the visitor's choice (the language switch's cookie), else the browser's Accept-Language;
    # the APIs always answer in English (callbacks.middleware.LocaleMiddleware).
    "callbacks.middleware.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Which second factor, if any, this session signed in with (request.user.is_verified()); then, where one is
    # required, an Admin-role account without it may only set it up.
    "django_otp.middleware.OTPMiddleware",
    "callbacks.middleware.SecondFactorMiddleware",
    # An agent's own language (their profile's `language`, once it exists) wins over the browser's.
    "callbacks.middleware.AgentLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "callbacks.middleware.DomainErrorMiddleware",
    "callbacks.middleware.DatabaseUnavailableMiddleware",
    "axes.middleware.AxesMiddleware",
    "callbacks.middleware.OneThreadMiddleware",  # last: the chain above runs in one thread per request
]

ROOT_URLCONF = "workspace.urls"
ASGI_APPLICATION = "workspace.asgi.application"
WSGI_APPLICATION = "workspace.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": VAR_DIR / "ringback.sqlite3"}}

_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the one writer; IMMEDIATE takes the write
    # lock at the start of every atomic block, so two writers never race on a
    # read-then-write (SQLite ignores SELECT ... FOR UPDATE).
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory: browser tests run a real Daphne process against it.
    _db["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
elif _db["ENGINE"] == "django.db.backends.postgresql":
    # Under ASGI, a pool instead of persistent connections (Django's advice).
    # When PostgreSQL is unreachable, a request waits at most DB_POOL_TIMEOUT seconds for a connection, then
    # answers 503 with Retry-After (callbacks.middleware); that first failure checks the pool's idle connections,
    # so those the outage broke are gone before the database is back. Checking every connection before use
    # (DB_HEALTH_CHECKS=1) costs a round trip per checkout: +60 ms of CPU per lifecycle, 4x the offer latency.
    _db.setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": int(os.environ.get("DB_POOL_SIZE", "10")),
        "timeout": float(os.environ.get("DB_POOL_TIMEOUT", "10")),
        # psycopg_pool doubles its wait between reconnects for this long, then gives up until the next request
        # asks: a short span keeps the wait short, so the pool is back within seconds of the database.
        "reconnect_timeout": float(os.environ.get("DB_RECONNECT_TIMEOUT", "5")),
    }
    _db["OPTIONS"].setdefault("connect_timeout", int(os.environ.get("DB_CONNECT_TIMEOUT", "5")))
    _db["CONN_MAX_AGE"] = 0
    _db["CONN_HEALTH_CHECKS"] = env_bool("DB_HEALTH_CHECKS", False)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channels -------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    # channels-redis blocks up to 5 s reading a channel: the socket timeout must be longer, or an idle
    # agent's websocket is closed with 1011 ("Timeout reading from …"). The pool must hold a burst of
    # group_discard calls when hundreds of sockets close at once (redis-py's default cap is 100).
    REDIS_SOCKET_TIMEOUT = float(os.environ.get("RINGBACK_REDIS_SOCKET_TIMEOUT", "30"))
    REDIS_MAX_CONNECTIONS = int(os.environ.get("RINGBACK_REDIS_MAX_CONNECTIONS", "2000"))
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": REDIS_SOCKET_TIMEOUT,
                        "socket_connect_timeout": 5,
                        "socket_keepalive": True,
                        "health_check_interval": 15,
                        "max_connections": REDIS_MAX_CONNECTIONS,
                    }
                ],
                "prefix": os.environ.get("RINGBACK_CHANNEL_PREFIX", "ringback"),
                "capacity": 500,
                "group_expiry": 86400,
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Where routing timers run: "inprocess" starts the sweep inside each web
# process (needed with the in-process channel layer); "external" leaves it to
# `manage.py dispatcher` processes (scaled mode).
RINGBACK_DISPATCHER = os.environ.get("RINGBACK_DISPATCHER", "external" if REDIS_URL else "inprocess")
RINGBACK_SWEEP_SECONDS = float(os.environ.get("RINGBACK_SWEEP_SECONDS", "1"))
RINGBACK_DEFAULT_REGION = os.environ.get("RINGBACK_DEFAULT_REGION", "US")
# The switch connector: the built-in simulated switch, or a real SIP/CTI adapter's import path.
RINGBACK_TELEPHONY = os.environ.get("RINGBACK_TELEPHONY", "callbacks.telephony.simulator.switch.SimulatedSwitch")
# The simulator's app (models, customer phone page) is installed only where it is the configured switch.
RINGBACK_SIMULATOR = RINGBACK_TELEPHONY.startswith("callbacks.telephony.simulator.")
# The browser softphone's SIP side (`manage.py sip_config` writes kamailio's and rtpengine's configuration):
# the SIP domain, kamailio's address and ports, the secret shared with kamailio (agents' time-limited
# credentials, and the signature of the call events kamailio reports), and the trunk numbers not registered
# go to ("host:port", none by default: they are not found).
RINGBACK_SIP_DOMAIN = os.environ.get("RINGBACK_SIP_DOMAIN", "127.0.0.1")
RINGBACK_SIP_ADDRESS = os.environ.get("RINGBACK_SIP_ADDRESS", "127.0.0.1")
RINGBACK_SIP_PORT = int(os.environ.get("RINGBACK_SIP_PORT", "5060"))
RINGBACK_SIP_WS_URL = os.environ.get("RINGBACK_SIP_WS_URL", "ws://127.0.0.1:8600")
RINGBACK_SIP_SECRET = os.environ.get("RINGBACK_SIP_SECRET", "")
# Rotation: the secret being replaced stays valid (agents' credentials, the proxy's reports) while both are set.
RINGBACK_SIP_SECRET_PREVIOUS = os.environ.get("RINGBACK_SIP_SECRET_PREVIOUS", "")
# Where kamailio's reports may come from (comma-separated addresses or networks): its private channel to Ringback.
RINGBACK_SIP_PROXY_ADDRESSES = os.environ.get("RINGBACK_SIP_PROXY_ADDRESSES", "127.0.0.1,::1")
# A report older or newer than this (kamailio's clock against Ringback's) is refused as stale.
RINGBACK_SIP_REPORT_WINDOW_SECONDS = int(os.environ.get("RINGBACK_SIP_REPORT_WINDOW_SECONDS", "60"))
# The pages that may open kamailio's SIP websocket (comma-separated origins); RINGBACK_PUBLIC_URL's by default.
RINGBACK_SIP_ORIGINS = os.environ.get("RINGBACK_SIP_ORIGINS", "")
RINGBACK_SIP_TRUNK = os.environ.get("RINGBACK_SIP_TRUNK", "")
# The carrier's own addresses (comma-separated IPs or networks): what it sends (a customer following a transfer) is
# trusted without Ringback's credentials; anything else unauthenticated is challenged. And what kamailio answers the
# carrier's challenge with (uac): username, realm, password.
RINGBACK_SIP_TRUNK_ADDRESSES = os.environ.get("RINGBACK_SIP_TRUNK_ADDRESSES", "")
# The number customers see calling (From and P-Asserted-Identity, E.164): never an agent's internal SIP address.
RINGBACK_SIP_CALLER_ID = os.environ.get("RINGBACK_SIP_CALLER_ID", "+33100000000")
# The voice application (`manage.py voice`): its lines (ivr-1 … ivr-N, one call each, registered at the proxy),
# the baresip it drives (its SIP port and control port, on this host), and where its prompts are generated.
RINGBACK_VOICE_LINES = int(os.environ.get("RINGBACK_VOICE_LINES", "4"))
RINGBACK_VOICE_SIP_PORT = int(os.environ.get("RINGBACK_VOICE_SIP_PORT", "5200"))
RINGBACK_VOICE_CONTROL_PORT = int(os.environ.get("RINGBACK_VOICE_CONTROL_PORT", "8700"))
RINGBACK_VOICE_DIR = os.environ.get("RINGBACK_VOICE_DIR", str(BASE_DIR / "var" / "voice"))
RINGBACK_SIP_TRUNK_USERNAME = os.environ.get("RINGBACK_SIP_TRUNK_USERNAME", "")
RINGBACK_SIP_TRUNK_REALM = os.environ.get("RINGBACK_SIP_TRUNK_REALM", "")
RINGBACK_SIP_TRUNK_PASSWORD = os.environ.get("RINGBACK_SIP_TRUNK_PASSWORD", "")
RINGBACK_SIP_CREDENTIAL_HOURS = float(os.environ.get("RINGBACK_SIP_CREDENTIAL_HOURS", "12"))
# TURN for agents behind NAT (coturn, use-auth-secret): comma-separated turn:/turns: URLs and coturn's static-auth-secret.
RINGBACK_SIP_TURN_URLS = os.environ.get("RINGBACK_SIP_TURN_URLS", "")
RINGBACK_SIP_TURN_SECRET = os.environ.get("RINGBACK_SIP_TURN_SECRET", "")
# "relay": the browsers send all media through TURN (networks that allow nothing else); "all": any path that works.
RINGBACK_SIP_TURN_POLICY = os.environ.get("RINGBACK_SIP_TURN_POLICY", "all")
# kamailio's WSS listener (the port of a wss:// RINGBACK_SIP_WS_URL): the SIP domain's certificate and key (PEM).
RINGBACK_SIP_TLS_CERTIFICATE = os.environ.get("RINGBACK_SIP_TLS_CERTIFICATE", "")
RINGBACK_SIP_TLS_KEY = os.environ.get("RINGBACK_SIP_TLS_KEY", "")
# The dial plan every queue starts from (callbacks/dialplan.py; a queue adds its own in admin): prefixes never dialled
# (premium-rate and fraud-prone ranges), and the prefixes dialled when a queue names none (empty: any other number).
RINGBACK_DIAL_BLOCKED_PREFIXES = os.environ.get(
    "RINGBACK_DIAL_BLOCKED_PREFIXES",
    "+1900 +1976 +3389 +3290 +34803 +34806 +34807 +39899 +4190 +449 +4487 +49137 +49900 +870 +881 +882 +883 +979",
)
RINGBACK_DIAL_ALLOWED_PREFIXES = os.environ.get("RINGBACK_DIAL_ALLOWED_PREFIXES", "")
RINGBACK_RTPENGINE_PORT = int(os.environ.get("RINGBACK_RTPENGINE_PORT", "2223"))
# Where /readyz pings rtpengine's control port (kamailio's host: `sip_config` has it listen on loopback there).
RINGBACK_RTPENGINE_HOST = os.environ.get("RINGBACK_RTPENGINE_HOST", "127.0.0.1")
RINGBACK_RTP_PORTS = os.environ.get("RINGBACK_RTP_PORTS", "10200-10999")  # rtpengine: four per call
# Where rtpengine writes the calls Ringback records (pcap segments and their metadata: docs/recording.md); empty: no
# recording. A directory on rtpengine's host that Ringback reads (the same host, or a shared mount).
RINGBACK_RTPENGINE_RECORDING_DIR = os.environ.get("RINGBACK_RTPENGINE_RECORDING_DIR", "")
if RINGBACK_SIMULATOR:
    INSTALLED_APPS.append("callbacks.telephony.simulator")
SIM_NO_ANSWER_SECONDS = int(os.environ.get("SIM_NO_ANSWER_SECONDS", "30"))
# An offer's countdown starts when the agent's page acknowledges the notification; an offer no page
# acknowledged within this window goes back to the queue, and the agent is not set Not Ready.
RINGBACK_OFFER_DELIVERY_SECONDS = int(os.environ.get("RINGBACK_OFFER_DELIVERY_SECONDS", "10"))
# How much later than that window the server may read an acknowledgement and still keep the offer: a page that
# showed it in time is not robbed of it because a saturated server read its message late. The answer's countdown
# counts from when the card was rendered for the page (signed into the acknowledgement), as the page's does.
RINGBACK_OFFER_ACK_GRACE_SECONDS = int(os.environ.get("RINGBACK_OFFER_ACK_GRACE_SECONDS", "10"))
# Offers rung but not yet shown on any page, at most, across the deployment. Beyond it, routing waits and the
# burst stays queued in the database: offers are made only as fast as pages can show them, so none rings out
# unseen (and comes back to be rung again) while the servers are saturated.
# The customer's page: where links in e-mails point, how long a customer's signed link works, and how many
# requests one address may send from the public form per hour.
RINGBACK_PUBLIC_URL = os.environ.get("RINGBACK_PUBLIC_URL", "http://127.0.0.1:8000")
# Text messages (callbacks/messaging): "none", "http" for a Twilio-compatible gateway (its Messages URL, account
# and token; texts come from RINGBACK_SMS_FROM; the gateway calls back RINGBACK_SMS_CALLBACK_BASE + /sms/inbound and
# /sms/status, signed with the token), or "sip" for SIP MESSAGE through Ringback's kamailio (from RINGBACK_SMS_FROM,
# whose texts kamailio hands back to Ringback).
RINGBACK_SMS_BACKEND = os.environ.get("RINGBACK_SMS_BACKEND", "none")
RINGBACK_SMS_GATEWAY_URL = os.environ.get("RINGBACK_SMS_GATEWAY_URL", "")
RINGBACK_SMS_GATEWAY_ACCOUNT = os.environ.get("RINGBACK_SMS_GATEWAY_ACCOUNT", "")
RINGBACK_SMS_GATEWAY_TOKEN = os.environ.get("RINGBACK_SMS_GATEWAY_TOKEN", "")
RINGBACK_SMS_FROM = os.environ.get("RINGBACK_SMS_FROM", "")
RINGBACK_SMS_CALLBACK_BASE = os.environ.get("RINGBACK_SMS_CALLBACK_BASE", RINGBACK_PUBLIC_URL)
if RINGBACK_SMS_BACKEND not in ("none", "http", "sip"):
    raise ImproperlyConfigured("RINGBACK_SMS_BACKEND is none, http or sip.")
if RINGBACK_SMS_BACKEND == "sip" and not re.fullmatch(r"\+[1-9][0-9]{5,14}", RINGBACK_SMS_FROM):
    # The number texts come from, which customers reply to: kamailio hands texts to it to Ringback.
    raise ImproperlyConfigured("RINGBACK_SMS_BACKEND=sip needs RINGBACK_SMS_FROM, an E.164 number (+33184880099).")
if RINGBACK_SMS_BACKEND == "http" and not (RINGBACK_SMS_GATEWAY_URL and RINGBACK_SMS_GATEWAY_TOKEN and RINGBACK_SMS_FROM):
    # Without its token Ringback could neither send nor tell the gateway's calls from forged ones.
    raise ImproperlyConfigured("RINGBACK_SMS_BACKEND=http needs RINGBACK_SMS_GATEWAY_URL, _TOKEN and RINGBACK_SMS_FROM.")
RINGBACK_CUSTOMER_LINK_DAYS = int(os.environ.get("RINGBACK_CUSTOMER_LINK_DAYS", "30"))
# How often the customer's page asks where their request stands (seconds; a 304 when nothing they see changed).
RINGBACK_CUSTOMER_POLL_SECONDS = max(2, int(os.environ.get("RINGBACK_CUSTOMER_POLL_SECONDS", "20")))
RINGBACK_PUBLIC_FORM_PER_HOUR = int(os.environ.get("RINGBACK_PUBLIC_FORM_PER_HOUR", "10"))
# Minutes before a scheduled callback that the customer is reminded by e-mail (when they gave an address).
RINGBACK_CUSTOMER_REMINDER_MINUTES = int(os.environ.get("RINGBACK_CUSTOMER_REMINDER_MINUTES", "60"))
# The GMS-compatible API answers anonymous requests as the built-in "GMS" client unless this is true; with
# Basic authentication (an API client's name and token) a request acts as that client either way.
RINGBACK_GMS_REQUIRE_AUTH = os.environ.get("RINGBACK_GMS_REQUIRE_AUTH", "false").lower() in ("1", "true", "yes")
# GMS's shared mode: the ContactCenterId values Ringback answers to (comma-separated). Empty: the header is ignored.
RINGBACK_GMS_CONTACT_CENTER_IDS = [
    v.strip() for v in os.environ.get("RINGBACK_GMS_CONTACT_CENTER_IDS", "").split(",") if v.strip()
]
# A supervisor's live board re-renders at most this often, however many changes ring it (they fold into one).
RINGBACK_BOARD_REFRESH_SECONDS = float(os.environ.get("RINGBACK_BOARD_REFRESH_SECONDS", "1"))
# A supervisor's monitoring session ends when none of their boards has been open for this long: longer than a reload
# or a reconnect after a network blip (the board retries within seconds), short enough that nobody else is kept off
# the call, or the agent told they are monitored, for long after the supervisor has gone.
RINGBACK_MONITOR_BOARD_GRACE_SECONDS = float(os.environ.get("RINGBACK_MONITOR_BOARD_GRACE_SECONDS", "30"))
# A ring for some queues re-renders their tiles alone; the charts (across every queue, over the whole day) follow
# at most this often.
RINGBACK_BOARD_CHART_SECONDS = float(os.environ.get("RINGBACK_BOARD_CHART_SECONDS", "5"))
RINGBACK_MAX_UNDELIVERED_OFFERS = int(os.environ.get("RINGBACK_MAX_UNDELIVERED_OFFERS", "40"))
# A side effect whose worker died mid-way (SIGKILL, a lost machine) is tried again once its lease has run out
# (by default per kind: e-mail 120 s, webhook 60 s, switch command 20 s; a lease must outlast the slowest try,
# a webhook's 5 s timeout) and the clock has seen it overdue for RINGBACK_EFFECT_STALE_SECONDS.
RINGBACK_EFFECT_LEASE_SECONDS = float(os.environ.get("RINGBACK_EFFECT_LEASE_SECONDS", "0")) or None
RINGBACK_EFFECT_STALE_SECONDS = float(os.environ.get("RINGBACK_EFFECT_STALE_SECONDS", "60"))
# Webhook URLs that resolve to private, loopback or link-local addresses are refused (callbacks/outbound.py) unless
# this is on: for a deployment whose integrations live on its own private network.
RINGBACK_WEBHOOK_ALLOW_PRIVATE = env_bool("RINGBACK_WEBHOOK_ALLOW_PRIVATE", False)
# Call supervision: a call still Dialing this long after Call ends as failed (the switch never answered).
RINGBACK_DIAL_LIMIT_SECONDS = int(os.environ.get("RINGBACK_DIAL_LIMIT_SECONDS", "90"))
# An Instant Call Conference request left unanswered on the asked agent's desk this long ends as not answered
# (the same time a customer's phone rings by default).
RINGBACK_CONFERENCE_REQUEST_SECONDS = int(os.environ.get("RINGBACK_CONFERENCE_REQUEST_SECONDS", "30"))
# A consultation request an agent leaves unanswered ends after this long (the customer stays on hold).
RINGBACK_CONSULT_REQUEST_SECONDS = int(os.environ.get("RINGBACK_CONSULT_REQUEST_SECONDS", "30"))

# --- Background tasks -----------------------------------------------------
# Durable side effects (switch commands, e-mail) are django.tasks rows in the
# database, written in the action's transaction and run by a worker:
# `manage.py task_worker` processes in scaled mode, the in-process runner on the embedded default.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "effects"]}}

# --- Auth, i18n, static ---------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "workspace"
LOGOUT_REDIRECT_URL = "login"

# --- Languages: English, French, Spanish. Texts are Django's gettext catalogs in locale/ (compiled .mo files are
# committed: see docs/desk.md, "Languages"); dates and numbers follow the active language's formats.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/Paris")
USE_I18N = True
USE_TZ = True
# The language switch's choice, kept a year; readable by no script.
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"

# --- Call recordings (docs/recording.md) -------------------------------------
# Finished recordings are kept on their own storage: local files (readable by their owner only) under
# RINGBACK_RECORDINGS_DIR by default, or an S3-compatible bucket through django-storages when
# RINGBACK_RECORDINGS_S3_BUCKET is set (for several machines): _ENDPOINT (empty: AWS itself), _REGION,
# _ACCESS_KEY and _SECRET_KEY. Ringback serves them itself, to supervisors of the queue and admins only.
RINGBACK_RECORDINGS_DIR = os.environ.get("RINGBACK_RECORDINGS_DIR", str(VAR_DIR / "recordings"))
RINGBACK_RECORDINGS_S3_BUCKET = os.environ.get("RINGBACK_RECORDINGS_S3_BUCKET", "")
if RINGBACK_RECORDINGS_S3_BUCKET:
    _RECORDINGS = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": RINGBACK_RECORDINGS_S3_BUCKET,
            "endpoint_url": os.environ.get("RINGBACK_RECORDINGS_S3_ENDPOINT") or None,
            "region_name": os.environ.get("RINGBACK_RECORDINGS_S3_REGION") or None,
            "access_key": os.environ.get("RINGBACK_RECORDINGS_S3_ACCESS_KEY") or None,
            "secret_key": os.environ.get("RINGBACK_RECORDINGS_S3_SECRET_KEY") or None,
            "location": "recordings",
            "file_overwrite": False,
            "default_acl": None,  # the bucket's own (private); nothing is ever public
            "querystring_auth": True,
        },
    }
else:
    _RECORDINGS = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": RINGBACK_RECORDINGS_DIR,
            "base_url": None,
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    }
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "recordings": _RECORDINGS,
}

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = True

# --- E-mail ----------------------------------------------------------------
# EMAIL_BACKEND: "console" (default), "smtp", or a backend's import path. With
# "smtp": EMAIL_HOST (required), EMAIL_PORT (25), EMAIL_HOST_USER,
# EMAIL_HOST_PASSWORD, EMAIL_USE_TLS / EMAIL_USE_SSL (off), EMAIL_TIMEOUT (10 s).
_MAIL_BACKENDS = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "memory": "django.core.mail.backends.locmem.EmailBackend",
}
# In production the default is "smtp" (and EMAIL_HOST is then required): a console mailer sends nothing.
EMAIL_BACKEND_NAME = os.environ.get("EMAIL_BACKEND", "smtp" if PRODUCTION else "console")
_mailer = {"BACKEND": _MAIL_BACKENDS.get(EMAIL_BACKEND_NAME, EMAIL_BACKEND_NAME)}
if _mailer["BACKEND"] == _MAIL_BACKENDS["smtp"]:
    if not os.environ.get("EMAIL_HOST"):
        raise ImproperlyConfigured(
            "EMAIL_BACKEND=smtp needs EMAIL_HOST (and usually EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD)."
        )
    _mailer["OPTIONS"] = {
        "host": os.environ["EMAIL_HOST"],
        "port": int(os.environ.get("EMAIL_PORT", "25")),
        "username": os.environ.get("EMAIL_HOST_USER", ""),
        "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("EMAIL_USE_TLS", False),
        "use_ssl": env_bool("EMAIL_USE_SSL", False),
        "timeout": float(os.environ.get("EMAIL_TIMEOUT", "10")),
    }
MAILERS = {"default": _mailer}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "callbacks@ringback.local")

SESSION_COOKIE_HTTPONLY = True
# Every click reads the session: keep it in a cache in front of the database (written to both, so a
# restart or a cold cache logs nobody out). The cache is Redis in scaled mode (shared by every web
# process), the process's memory in the embedded default (one process).
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
CACHES = {
    "default": (
        {
            "BACKEND": "callbacks.cache.ForgivingRedisCache",  # Redis down is a miss, not a 500
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("RINGBACK_CHANNEL_PREFIX", "ringback"),
            "OPTIONS": {"socket_timeout": 5, "socket_connect_timeout": 5},
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "OPTIONS": {"MAX_ENTRIES": 20000}}
    )
}
# The session's user comes with its agent profile in one query.
# django-axes first: it refuses a locked-out login before any password is checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "callbacks.auth.AgentBackend"]

# --- Single sign-on (OpenID Connect, mozilla-django-oidc; docs/accounts.md "Single sign-on") -------------------------
# Off unless RINGBACK_OIDC_CLIENT_ID is set; then the issuer, the endpoints and the secret are required (checked here).
# RINGBACK_LOCAL_PASSWORDS=admins keeps passwords for break-glass admins only.
_sso = oidc.from_environment(os.environ, production=PRODUCTION)
globals().update(_sso)  # RINGBACK_SSO, RINGBACK_LOCAL_PASSWORDS, RINGBACK_OIDC_* and mozilla-django-oidc's OIDC_*
if _sso["RINGBACK_SSO"]:
    AUTHENTICATION_BACKENDS.append(oidc.BACKEND)

# --- Login throttling (django-axes) ------------------------------------------------------------------------------------
# After RINGBACK_LOGIN_FAILURE_LIMIT wrong passwords, the username is locked (from any address) and so is the address
# (for any username), for RINGBACK_LOGIN_LOCKOUT_MINUTES; a right password then is refused too. An admin unlocks
# early by deleting the "Access attempts" rows in Django admin (or `manage.py axes_reset_username <name>`). The
# agents' login page, Django admin's and GMS admin's Basic authentication all count. Behind the scaled recipe's
# nginx the address is the client's (Daphne --proxy-headers, nginx overwrites X-Forwarded-For).
AXES_FAILURE_LIMIT = int(os.environ.get("RINGBACK_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("RINGBACK_LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked.html"
AXES_HTTP_RESPONSE_CODE = 429
# --- A second factor for local accounts (django-otp: an authenticator app, TOTP, and one-time recovery codes) ----------
# Any user may set one up at /account/two-factor/; it is then asked after the password. Admin-role accounts (superusers
# and the Admin group) must have one where RINGBACK_ADMIN_TWO_FACTOR is on, and always in the production profile.
RINGBACK_ADMIN_TWO_FACTOR = PRODUCTION or env_bool("RINGBACK_ADMIN_TWO_FACTOR", False)
OTP_TOTP_ISSUER = os.environ.get("RINGBACK_TOTP_ISSUER", "Ringback")  # the name authenticator apps list the account by
# Django admin lists and deletes users' devices (a lost phone), never shows their secrets or recovery codes.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# /metrics: the Prometheus scraper's bearer token (empty: only signed-in Admin-role users may read it).
RINGBACK_METRICS_TOKEN = os.environ.get("RINGBACK_METRICS_TOKEN", "")
# Wrong API tokens (REST and GMS) one address may send in 10 minutes before it is refused outright.
RINGBACK_BAD_TOKEN_LIMIT = int(os.environ.get("RINGBACK_BAD_TOKEN_LIMIT", "20"))
CSRF_COOKIE_HTTPONLY = False
# A session lasts a shift (12 hours by default), and ends with the browser in production.
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(12 * 3600)))

# --- Content-Security-Policy (Django's own middleware), on every page in every mode --------------------------------
# No inline script or style anywhere: behaviour lives in static/js, data for scripts in json_script blocks. The
# websockets are same-origin (connect-src 'self' covers ws: and wss: of this host).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    # The browser softphone's SIP-over-WebSocket connection to kamailio (only with that adapter).
    "connect-src": [CSP.SELF, *([RINGBACK_SIP_WS_URL] if RINGBACK_TELEPHONY.endswith(".BrowserSoftphone") else [])],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    # Logging out through the identity provider (RP-initiated logout): the logout form's answer redirects there, and
    # browsers hold a form's redirects to form-action too.
    "form-action": [CSP.SELF, *oidc.logout_origins(_sso)],
    "frame-ancestors": [CSP.NONE],
}

# --- The production profile: RINGBACK_PRODUCTION=1, everything else from the environment ------------------------------
# `manage.py check --deploy` is clean with it (tests/test_production.py). Ringback sits behind a TLS-terminating
# proxy (nginx) that sets X-Forwarded-Proto; the health probes stay reachable over plain HTTP inside the network.
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)  # (SECURE_HSTS_PRELOAD=0 if the domain is not to be listed)
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"
    if DEBUG:
        raise ImproperlyConfigured("DEBUG must be off when RINGBACK_PRODUCTION is on.")
    if RINGBACK_TELEPHONY.endswith(".BrowserSoftphone"):
        # Whoever holds the SIP secret mints agents' credentials: it is its own, long, and never Django's key.
        for name, value in (
            ("RINGBACK_SIP_SECRET", RINGBACK_SIP_SECRET),
            ("RINGBACK_SIP_SECRET_PREVIOUS", RINGBACK_SIP_SECRET_PREVIOUS),
        ):
            if name == "RINGBACK_SIP_SECRET" and not value:
                raise ImproperlyConfigured(
                    "RINGBACK_SIP_SECRET must be set when RINGBACK_PRODUCTION is on with the browser softphone."
                )
            if value and (len(value) < 32 or value == SECRET_KEY):
                raise ImproperlyConfigured(f"{name} must be at least 32 characters and differ from SECRET_KEY.")
        if not RINGBACK_SIP_WS_URL.startswith("wss://"):
            raise ImproperlyConfigured(
                "RINGBACK_SIP_WS_URL must be wss:// when RINGBACK_PRODUCTION is on (agents' browsers need TLS)."
            )

# Logs: JSON lines in production (RINGBACK_LOG_FORMAT=json|text), personal data masked in every record (callbacks.logs).
LOG_FORMAT = os.environ.get("RINGBACK_LOG_FORMAT", "json" if PRODUCTION else "text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask": {"()": "callbacks.logs.MaskPersonalData"}},
    "formatters": {
        "json": {"()": "callbacks.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)-8s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["mask"], "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": os.environ.get("RINGBACK_ROOT_LOG_LEVEL", "WARNING")},
    "loggers": {
        "callbacks": {"handlers": ["console"], "level": os.environ.get("RINGBACK_LOG_LEVEL", "INFO"), "propagate": False},
        "django.request": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        "daphne": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # One line a request (callbacks.middleware.AccessLogMiddleware): on by default, RINGBACK_ACCESS_LOG=0 to quiet it.
        "callbacks.access": {
            "handlers": ["console"],
            "level": "INFO" if env_bool("RINGBACK_ACCESS_LOG", True) else "WARNING",
            "propagate": False,
        },
        # The in-process runner polls every 0.1 s: its "no more tasks" lines are noise ("db_worker -v1" shows them).
        "django_tasks_db": {"level": "WARNING"},
    },
}
