"""The two run modes are chosen by environment variables alone. Each case runs Django in a fresh
process, as a user would, with exactly the variables given."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DATABASE_URL": "postgres://debate:pw@db.internal:5432/debate",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "SECRET_KEY": "x" * 30 + "a-long-random-production-secret-key-value-1234567890",
    "ALLOWED_HOSTS": "debate.example.org",
}
PROBE = """
import json, django
from django.conf import settings
django.setup()
db = settings.DATABASES["default"]
print(json.dumps({
    "engine": db["ENGINE"], "options": db.get("OPTIONS", {}),
    "conn_max_age": db.get("CONN_MAX_AGE"),
    "layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "layer_config": settings.CHANNEL_LAYERS["default"].get("CONFIG"),
    "cache": settings.CACHES["default"]["BACKEND"],
    "background": settings.BACKGROUND_MODE, "broker": settings.CELERY_BROKER_URL,
    "debug": settings.DEBUG, "hosts": settings.ALLOWED_HOSTS, "embedded": settings.EMBEDDED,
}, default=str))
"""


def run_django(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in _MODE_VARIABLES}
    clean.update(env, DJANGO_SETTINGS_MODULE="config.settings")
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


_MODE_VARIABLES = {
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DEBUG",
    "HTTPS",
    "BACKGROUND_MODE",
    "SQLITE_PATH",
    "SECURE_SSL_REDIRECT",
}


def probe(env: dict[str, str]) -> dict:
    result = run_django(env, "-c", PROBE)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_nothing_set_means_embedded_mode():
    found = probe({})
    assert found["embedded"] is True
    assert found["engine"] == "django.db.backends.sqlite3"
    assert found["options"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in found["options"]["init_command"]
    assert found["layer"] == "channels.layers.InMemoryChannelLayer"
    assert found["background"] == "inprocess"
    assert found["debug"] is True
    assert found["hosts"] == ["localhost", "127.0.0.1", "[::1]"]


def test_database_and_redis_urls_mean_production_mode():
    found = probe(PRODUCTION)
    assert found["embedded"] is False
    assert found["engine"] == "django.db.backends.postgresql"
    assert found["options"]["pool"]["max_size"] >= 1
    assert found["conn_max_age"] == 0
    assert found["layer"] == "channels_redis.core.RedisChannelLayer"
    # Longer than channels-redis's 5 s blocking pop, or idle sockets die with "Timeout reading".
    assert found["layer_config"]["hosts"][0]["socket_timeout"] > 5
    assert found["layer_config"]["capacity"] >= 1000  # one queue per server process
    assert found["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert found["background"] == "celery"
    assert found["broker"] == PRODUCTION["REDIS_URL"]
    assert found["debug"] is False
    assert found["hosts"] == ["debate.example.org"]


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS"])
def test_production_refuses_to_start_without_secret_key_or_hosts(missing):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    result = run_django(env, "-c", PROBE)
    assert result.returncode != 0
    assert f"{missing} must be set" in result.stderr


def test_production_settings_pass_the_deploy_check():
    result = run_django(PRODUCTION, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_embedded_defaults_would_fail_the_deploy_check():
    """The embedded defaults are for one machine only; the deploy check says so."""
    result = run_django({}, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    assert "DEBUG" in result.stdout + result.stderr


@pytest.mark.parametrize("env", [{}, PRODUCTION], ids=["embedded", "production"])
def test_each_log_line_is_printed_once(env):
    script = (
        "import django, logging; django.setup()\n"
        "for name in ('django.request', 'django.server', 'django.channels.server', 'debate'):\n"
        "    logging.getLogger(name).warning('probe line from %s', name)\n"
    )
    result = run_django(env, "-c", script)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    for name in ("django.request", "django.server", "django.channels.server", "debate"):
        assert output.count(f"probe line from {name}") == 1, output


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("LOGIN_LOCKOUT_S", "fifteen", "LOGIN_LOCKOUT_S must be a whole number, not 'fifteen'"),
        ("AI_TURN_DEADLINE_S", "5 min", "AI_TURN_DEADLINE_S must be a number, not '5 min'"),
        ("BACKGROUND_THREADS", "-1", "BACKGROUND_THREADS must be at least 0, not '-1'"),
        ("NIGHTLY_BATCHES", "[{", "NIGHTLY_BATCHES must be JSON"),
        ("HTTPS", "maybe", "HTTPS must be true or false, not 'maybe'"),
    ],
)
def test_a_bad_setting_is_refused_naming_the_variable(variable, value, message):
    result = run_django({variable: value}, "-c", "import django; django.setup()")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr
