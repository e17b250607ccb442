"""Settings for the test suite: the same env-driven settings with test-only speed-ups.

`make test` runs with nothing set (SQLite, in-memory layer); CI runs the suite a second time with
DATABASE_URL and REDIS_URL pointing at PostgreSQL and Redis.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-4f9a8b7c6d5e4f3a2b1c")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("HTTPS", "false")

from config.settings import *  # noqa: F403
from config.settings import BASE_DIR, DATABASES

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not :memory:, so that threads and live servers in the tests share one database.
    # TEST_SQLITE_PATH lets two test runs on one checkout use files of their own.
    _test_db = os.environ.get("TEST_SQLITE_PATH") or str(BASE_DIR / ".test-db.sqlite3")
    DATABASES["default"]["NAME"] = _test_db
    DATABASES["default"]["TEST"] = {"NAME": _test_db}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
EMBEDDED_PERIODIC = False  # a test runs a sweep when it means to
# Tests post to local stub webhooks (tests/slack_stub.py) as well as Slack's own host.
SLACK_WEBHOOK_HOSTS = ["hooks.slack.com", "127.0.0.1"]
