"""The Celery app. Workers run only in production mode; embedded mode runs tasks in-process.

Production runs `celery -A config worker --without-gossip --without-mingle` (any number) and
`celery -A config beat` (exactly one), each under a supervisor that restarts it: the systemd
units in deploy/systemd/. The settings (CELERY_* in config/settings.py) say how a task survives
a killed worker or a Redis restart."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("debate_platform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
