"""Shared by the bench scripts: Django set up on a fresh database, migrated, ready to measure."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django(name: str) -> None:
    """A temporary SQLite file unless DATABASE_URL names a (new, empty) database; fast password
    hashing, since creating users is never what a bench measures."""
    sys.path.insert(0, str(ROOT))
    if os.environ.get("BENCH_SQLITE_PATH"):  # a file kept between runs (see analysis_scale.py)
        os.environ["SQLITE_PATH"] = os.environ["BENCH_SQLITE_PATH"]
    elif not os.environ.get("DATABASE_URL"):
        os.environ["SQLITE_PATH"] = str(Path(tempfile.mkdtemp()) / f"{name}.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnopqrstuv")
    os.environ.setdefault("ALLOWED_HOSTS", "localhost")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DEBUG", "false")  # measured as deployed: no query log
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)
