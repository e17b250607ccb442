"""Fixtures, demo data and the paper's rules: what `make run` loads must be valid and repeatable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command

from debate import protocol
from debate.demo import demo_data_create
from debate.models import Judgment, Passage, Question, Rules, Session
from debate.protocol import Protocol
from debate.services import paper_rules

pytestmark = pytest.mark.django_db

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "stories.json"


def test_fixture_stories_are_short_stories_with_hard_questions():
    data = json.loads(FIXTURE.read_text())
    passages = [d["fields"] for d in data if d["model"] == "debate.passage"]
    questions = [d["fields"] for d in data if d["model"] == "debate.question"]
    assert 3 <= len(passages) <= 5
    assert all(2000 <= len(p["text"]) <= 6000 for p in passages)
    for passage in passages:
        mine = [q for q in questions if q["passage"][1] == passage["external_id"]]
        assert len(mine) >= 2, passage["title"]
    for question in questions:
        assert question["correct_index"] != question["best_distractor_index"]


def test_loaddata_is_idempotent_and_rows_validate():
    call_command("loaddata", "stories", verbosity=0)
    call_command("loaddata", "stories", verbosity=0)
    assert Passage.objects.filter(source="platform-fixtures").count() == 4
    assert Question.objects.count() == 12
    for question in Question.objects.all():
        question.full_clean()


def test_demo_data_creates_sessions_in_several_states_once():
    first = demo_data_create()
    assert first.created
    statuses = set(Session.objects.values_list("status", flat=True))
    assert statuses == {"not_started", "in_progress", "finished"}
    assert Judgment.objects.filter(end=True).count() == 1
    counts = (Session.objects.count(), Judgment.objects.count())
    again = demo_data_create()
    assert not again.created
    assert (Session.objects.count(), Judgment.objects.count()) == counts


@pytest.mark.parametrize("protocol_name", list(Protocol))
def test_migrated_paper_rules_match_the_core(protocol_name):
    """The data migration wrote the same rules the pure core defines."""
    rules = Rules.objects.get(name=f"paper-{protocol_name}")
    assert rules.get_structure() == protocol.default_structure(protocol_name)
    assert paper_rules(protocol_name) == rules
    rules.full_clean()


def test_migrated_judgeless_rules_match_the_core():
    from debate.services import judgeless_debate_rules

    rules = Rules.objects.get(name="judgeless-debate")
    assert rules.get_structure() == protocol.judgeless_debate_structure()
    assert judgeless_debate_rules() == rules and not rules.get_structure().has_judge
    rules.full_clean()


def test_rules_validation_explains_a_broken_structure():
    from django.core.exceptions import ValidationError

    rules = Rules(name="broken", structure={"opening": [{"kind": "speechify", "char_limit": 5}]})
    with pytest.raises(ValidationError, match="Invalid round structure"):
        rules.full_clean()
