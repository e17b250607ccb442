"""Embedded-mode background work: runs off the request thread, and only after the commit."""

from __future__ import annotations

import threading

import pytest
from django.db import transaction

from config.background import enqueue, wait_for_background
from config.celery import app
from debate.models import Passage

seen: list[dict] = []


@app.task(name="tests.record_passage_count")
def record_passage_count(label: str) -> None:
    seen.append(
        {
            "label": label,
            "thread": threading.current_thread().name,
            "passages": Passage.objects.filter(external_id=label).count(),
        }
    )


@pytest.fixture(autouse=True)
def inprocess(settings):
    settings.BACKGROUND_MODE = "inprocess"
    seen.clear()


@pytest.mark.django_db(transaction=True)
def test_task_runs_in_a_background_thread_after_commit_and_sees_the_commit():
    with transaction.atomic():
        Passage.objects.create(title="t", source="tests", external_id="bg-1", text="x")
        enqueue(record_passage_count, label="bg-1")
        assert seen == []  # nothing runs inside the transaction
    wait_for_background()
    assert seen == [{"label": "bg-1", "thread": seen[0]["thread"], "passages": 1}]
    assert seen[0]["thread"].startswith("background")
    assert seen[0]["thread"] != threading.current_thread().name


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_enqueues_nothing():
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue(record_passage_count, label="bg-2")
        raise RuntimeError("rollback")
    wait_for_background()
    assert seen == []
