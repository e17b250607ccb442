"""Settings for the debate platform, chosen by environment variables alone.

Two run modes (DESIGN.md section 6):

- embedded (nothing set): a SQLite file in the project folder, the in-memory channel layer and
  background work in a thread pool inside the web process. For one machine and for `make run`.
- production (`DATABASE_URL` and `REDIS_URL` set): PostgreSQL through psycopg 3 with a connection
  pool, Redis for the channel layer, the cache and the Celery broker, Celery workers for background
  work. `SECRET_KEY` and `ALLOWED_HOSTS` must then be given; there are no unsafe defaults.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_number[N: (int, float)](name: str, default: N, kind: type[N] = int, minimum=0) -> N:
    """A number from the environment; a value that is not one (or below ``minimum``) is an
    ImproperlyConfigured naming the variable, not a bare ValueError."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = kind(value)
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} must be {'a whole number' if kind is int else 'a number'}, not {value!r}"
        ) from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value!r}")
    return number


def env_json(name: str, default: str) -> object:
    value = os.environ.get(name) or default
    try:
        return json.loads(value)
    except ValueError as error:
        raise ImproperlyConfigured(f"{name} must be JSON: {error}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


# ------------------------------------------------------------------------------
# RUN MODE
# ------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")
EMBEDDED = not DATABASE_URL and not REDIS_URL

# ------------------------------------------------------------------------------
# SECURITY
# ------------------------------------------------------------------------------
DEBUG = env_bool("DEBUG", default=EMBEDDED)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not EMBEDDED:
        raise ImproperlyConfigured("SECRET_KEY must be set when DATABASE_URL or REDIS_URL is set.")
    # Embedded mode only: a fixed key is fine for a platform that listens on this machine.
    SECRET_KEY = "embedded-mode-only-not-secret-0b1d5c2e9f7a4e3c8d6b2a1f0e9d8c7b6a5f4e3d"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if EMBEDDED else [])
if not EMBEDDED and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DATABASE_URL or REDIS_URL is set.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Behind TLS in production; a local embedded platform speaks plain HTTP.
HTTPS = env_bool("HTTPS", default=not EMBEDDED)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=HTTPS)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env_number("SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content Security Policy (Django's own middleware): scripts, styles, images and connections
# (the pages' WebSocket included: 'self' covers ws: and wss: on the same host) only from this
# site; no inline script or style, no eval, no framing, forms post only here. The templates hold
# no inline script, style or event handler, and htmx is told not to add its indicator style.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
SESSION_COOKIE_HTTPONLY = True
if env_bool("BEHIND_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# ------------------------------------------------------------------------------
# APPLICATIONS
# ------------------------------------------------------------------------------
INSTALLED_APPS = [
    "daphne",  # must come first: its runserver serves HTTP and WebSocket on one port
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "debate",
    "judging",
    "llm_agents",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.request_checks.RefuseUnreadableInput",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.private_pages.PrivatePages",
    "config.busy_database.BusyDatabase",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

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

# ------------------------------------------------------------------------------
# DATABASE
# ------------------------------------------------------------------------------
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # psycopg 3's pool; persistent per-thread connections leak under ASGI (PITFALLS.md).
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env_number("DB_POOL_MIN", 2),
            "max_size": env_number("DB_POOL_MAX", 20),
            "timeout": 20,
        }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            # WAL, a busy timeout and IMMEDIATE transactions keep SQLite from "database is
            # locked" under concurrent ASGI requests and background threads (PITFALLS.md).
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ------------------------------------------------------------------------------
# CHANNEL LAYER, CACHE, BACKGROUND WORK
# ------------------------------------------------------------------------------
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py 8 reads with a 5 s socket timeout by default, the same 5 s that
            # channels-redis blocks in BZPOPMIN: idle consumers then die with "Timeout reading".
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "socket_timeout": 30}],
                # All sockets of one server process share one Redis queue; at the default
                # capacity of 100 a busy moment silently drops pushes (pages catch up only on
                # reconnect), so allow a deep backlog instead.
                "capacity": 10_000,
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# "celery": tasks go to Celery workers through Redis. "inprocess": a thread pool in the web
# process, which is the only way a task can reach the in-memory channel layer (PITFALLS.md).
BACKGROUND_MODE = os.environ.get("BACKGROUND_MODE", "celery" if REDIS_URL else "inprocess")
if BACKGROUND_MODE not in {"celery", "inprocess"}:
    raise ImproperlyConfigured("BACKGROUND_MODE must be 'celery' or 'inprocess'.")
BACKGROUND_THREADS = env_number("BACKGROUND_THREADS", 8)

# Celery. What makes an AI turn safe is its claim, a lease (llm_agents/services.py), not the
# broker: a turn whose process died is sent again by the sweep within the lease plus
# AI_TURN_SWEEP_S, and any other delivery of it finds the turn held, done or no longer due. The
# settings below keep the broker from adding delays or duplicates of its own; the faults are
# tested with a real worker in tests/reliability/test_worker_faults.py.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
# A message is acknowledged when its task ends, so a task whose whole worker vanished (kill -9, a
# lost machine) is delivered again once the visibility timeout has passed.
CELERY_TASK_ACKS_LATE = True
# A task whose pool process dies (WorkerLostError: the kernel's OOM killer, kill -9 of the child)
# is acknowledged as failed, not put back: put back at once it would find the dead process's lease
# still running and do nothing, and a task that kills its process every time would loop. The
# sweep sends the turn again when the lease runs out, to the worker's new pool process.
CELERY_TASK_REJECT_ON_WORKER_LOST = False
# When the connection to Redis is lost (a restart), the tasks already running go on to their end
# (a move needs only the database) instead of being cancelled: a cancelled turn would wait out
# its lease, and a restarted Redis may have lost its message anyway. Celery 6 turns this on by
# default, hence the explicit setting (its warning at each reconnect is expected).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# A hard limit per task, well past an AI turn's deadline (AI_TURN_DEADLINE_S, 300 s by default).
CELERY_TASK_TIME_LIMIT = 15 * 60
# Redis hands a message that is still unacknowledged after the visibility timeout to a worker
# again, even while the first one still runs it or holds it for its countdown. So it must exceed
# the longest task (the time limit above) and the longest countdown (a Slack retry waits up to an
# hour: debate/slack.py). Nothing waits for it to recover (the 1 hour that an AI turn once waited
# after its worker died): the sweeps re-send AI turns and Slack deliveries, beat re-runs periodic
# work, and a late redelivery finds its work done (each task here is safe to run twice).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * 60 * 60}
# A worker waits out a Redis outage of any length, at start and after a lost connection, instead
# of giving up after 100 tries (its supervisor restarts it after any other exit: README).
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# One message reserved per pool process: a turn waits in Redis, not behind another long turn.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"

# AI turns (llm_agents/services.py): every provider call of one turn ends by its deadline; the
# turn's claim (a lease) lasts the margin longer; the sweeper enqueues every due AI turn nobody
# holds (a lost message, a killed worker) every AI_TURN_SWEEP_S: Celery beat in production, a
# timer in the embedded server process.
AI_TURN_DEADLINE_S = env_number("AI_TURN_DEADLINE_S", 300, float)
AI_TURN_LEASE_MARGIN_S = env_number("AI_TURN_LEASE_MARGIN_S", 60, float)
AI_TURN_SWEEP_S = env_number("AI_TURN_SWEEP_S", 60, float)
# LLM endpoints (llm_agents/endpoint_limits.py): limits per endpoint (a base URL and a model)
# across every worker and process, shared in Redis (LLM_LIMITS_REDIS_URL, by default REDIS_URL;
# none: each process limits its own calls). An agent's own limits win; the ones it leaves empty
# come from LLM_ENDPOINT_LIMITS, a JSON object by base URL ("*": any), e.g.
# {"https://api.openai.com/v1": {"concurrency": 32, "requests_per_minute": 500,
#  "tokens_per_minute": 800000}, "*": {"concurrency": 8}}; concurrency at last from
# LLM_CONCURRENCY_PER_ENDPOINT. A failing vLLM replica is avoided for LLM_REPLICA_COOLDOWN_S.
LLM_CONCURRENCY_PER_ENDPOINT = env_number("LLM_CONCURRENCY_PER_ENDPOINT", 16, minimum=1)
LLM_ENDPOINT_LIMITS = env_json("LLM_ENDPOINT_LIMITS", "{}")
if not isinstance(LLM_ENDPOINT_LIMITS, dict):
    raise ImproperlyConfigured("LLM_ENDPOINT_LIMITS must be a JSON object by base URL.")
LLM_LIMITS_REDIS_URL = os.environ.get("LLM_LIMITS_REDIS_URL", REDIS_URL)
LLM_REPLICA_COOLDOWN_S = env_number("LLM_REPLICA_COOLDOWN_S", 30, float)
# Periodic work inside the embedded server process (the AI turn sweep); off in the test suite.
EMBEDDED_PERIODIC = env_bool("EMBEDDED_PERIODIC", default=True)

# Nightly AI batches, run by `celery -A config beat` (exactly one beat): a JSON list of run_batch
# settings, e.g. [{"name": "gpt4o-consultancy", "protocol": "consultancy",
# "debaters": "openai:gpt-4o", "judge": "openai:gpt-4o-mini", "questions": 40,
# "concurrency": 8, "budget_usd": 20}]. Each night's batch id is "<name>-<date>".
NIGHTLY_BATCHES = env_json("NIGHTLY_BATCHES", "[]")
NIGHTLY_BATCH_HOUR_UTC = env_number("NIGHTLY_BATCH_HOUR_UTC", 2)
CELERY_BEAT_SCHEDULE = (
    {
        "nightly-batches": {
            "task": "llm_agents.nightly_batches",
            "schedule": crontab(hour=NIGHTLY_BATCH_HOUR_UTC, minute=0),
        }
    }
    if NIGHTLY_BATCHES
    else {}
)
CELERY_BEAT_SCHEDULE["ai-turn-sweep"] = {
    "task": "llm_agents.ai_turns_sweep",
    "schedule": AI_TURN_SWEEP_S,
}

# ------------------------------------------------------------------------------
# AUTHENTICATION
# ------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
# Failed logins (config/login.py): LOGIN_FAILURE_LIMIT wrong passwords for one username from one
# address, or LOGIN_FAILURE_LIMIT_PER_ADDRESS for any usernames from one address, lock further
# attempts for LOGIN_LOCKOUT_S seconds.
LOGIN_FAILURE_LIMIT = env_number("LOGIN_FAILURE_LIMIT", 5)
LOGIN_FAILURE_LIMIT_PER_ADDRESS = env_number("LOGIN_FAILURE_LIMIT_PER_ADDRESS", 30)
LOGIN_LOCKOUT_S = env_number("LOGIN_LOCKOUT_S", 15 * 60)
LOGOUT_REDIRECT_URL = "/"

# ------------------------------------------------------------------------------
# INTERNATIONALISATION
# ------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# ------------------------------------------------------------------------------
# STATIC FILES
# ------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
# Embedded mode serves the files straight from the source folders (no collectstatic needed), with
# DEBUG on or off; production serves the collected, hashed and compressed copies.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or EMBEDDED
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG or EMBEDDED
WHITENOISE_MANIFEST_STRICT = False  # a missing collectstatic degrades, it does not 500
FIXTURE_DIRS = [BASE_DIR / "fixtures"]

# ------------------------------------------------------------------------------
# EMAIL
# ------------------------------------------------------------------------------
# Django 6.1's MAILERS; the console backend prints mail in embedded mode.
if os.environ.get("EMAIL_HOST") or not EMBEDDED:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": os.environ.get("EMAIL_HOST", "localhost"),
                "port": env_number("EMAIL_PORT", 587),
                "username": os.environ.get("EMAIL_HOST_USER", ""),
                "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
                "use_tls": env_bool("EMAIL_USE_TLS", default=True),
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "debate-platform@localhost")
# Links in emails start with this (no trailing slash), e.g. https://debate.example.org.
SITE_URL = os.environ.get("SITE_URL", "http://localhost:8000" if EMBEDDED else "").rstrip("/")
# A notification (your turn, a survey) still open after this many seconds is emailed once, to
# users with an address; 0 turns the emails off. Production checks every minute (Celery beat);
# embedded mode checks in-process (debate/notifications.py).
NOTIFY_EMAIL_AFTER_S = env_number("NOTIFY_EMAIL_AFTER_S", 600)
if BACKGROUND_MODE == "celery" and NOTIFY_EMAIL_AFTER_S > 0:
    CELERY_BEAT_SCHEDULE["notification-emails"] = {
        "task": "debate.notifications_email",
        "schedule": 60.0,
    }

# Slack: people (or staff, per group) may give an incoming-webhook URL; "your turn", "survey due"
# and new assignments are posted there once, in the background, retried on failure. Only these
# hosts are accepted as webhooks (a comma-separated list), so nobody can aim the server elsewhere.
SLACK_WEBHOOK_HOSTS = [
    h.strip()
    for h in os.environ.get("SLACK_WEBHOOK_HOSTS", "hooks.slack.com").split(",")
    if h.strip()
]
SLACK_TIMEOUT_S = env_number("SLACK_TIMEOUT_S", 10, float)
SLACK_MAX_ATTEMPTS = env_number("SLACK_MAX_ATTEMPTS", 6)
SLACK_RETRY_BASE_S = env_number("SLACK_RETRY_BASE_S", 30, float)  # doubles each retry
if BACKGROUND_MODE == "celery":
    CELERY_BEAT_SCHEDULE["slack-deliveries"] = {"task": "debate.slack_sweep", "schedule": 60.0}

# ------------------------------------------------------------------------------
# LOGGING
# ------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # Django's and the dev server's loggers bring console handlers of their own: without this,
    # each of their lines is printed twice (once by them, once by the root).
    "loggers": {
        name: {"handlers": [], "propagate": True}
        for name in ("django", "django.server", "django.channels.server", "daphne")
    },
}
