"""The import_quality command end to end, on small made-up QuALITY files in tests/data/quality,
written in the real v1.0.1 layout (untimed_best_distractor, speed annotator ids, url, license).

sample.jsonl: line 1 and line 4 are two writers' questions on article 90001 (Gutenberg, HTML;
line 4 names the vote untimed_eval3_distractor, as the dataset's README does), line 2 is article
90002 (Slate), line 3 is not JSON, line 5 lacks its article. Each question fails at most one of
the paper's filters: K2PD_4 is easy for speed annotators, K2PD_5's mean context is 1.5 (kept),
K2PD_6's 1.4 (out). sample.htmlstripped: article 90003 as stripped text.
"""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from debate.models import Passage, Question
from debate.quality.format import QualityFilter
from debate.quality.importer import quality_import

pytestmark = pytest.mark.django_db

DATA = Path(__file__).resolve().parents[1] / "data" / "quality"
SAMPLE = DATA / "sample.jsonl"
STRIPPED = DATA / "sample.htmlstripped"

LAMPLIGHTER_TEXT = (
    "The Lamplighter of Vesk\n\n"
    "By ORLA FENN\n\n"
    "Every evening Tobin climbed the forty steps of the harbor tower and lit the great lamp. "
    "He had done it for eleven years, and he had never once been late.\n\n"
    "The ships of Vesk trusted the lamp & the man who lit it. Captains said that when the light "
    "came on, you could set your watch by it\u2014and some of them did.\n\n"
    "Then, in the winter of the long fog, a letter came from the capital:\n"
    "THE TOWER WILL BE FITTED WITH AN ELECTRIC BEACON.\n"
    "YOUR SERVICES ARE NO LONGER REQUIRED.\n\n"
    "Tobin folded the letter into a small square and put it in his boot. That night he lit the "
    "lamp as usual, and the next night, and the night after that, because no one had come to "
    "fit anything.\n\n"
    "The beacon arrived in spring, on a cart pulled by two tired mules. It failed on its first "
    "night, when salt got into the wires. Tobin climbed the forty steps and lit the old lamp "
    "beside it, and nobody in Vesk ever mentioned the letter again."
)

ALL_SAMPLE_QUESTIONS = {
    "90001_A7QX_1",
    "90001_A7QX_2",
    "90001_A7QX_3",
    "90001_K2PD_1",
    "90001_K2PD_2",
    "90001_K2PD_3",
    "90001_K2PD_4",
    "90001_K2PD_5",
    "90001_K2PD_6",
    "90002_ZZ01_1",
}


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_quality", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def imported_ids() -> set[str]:
    return set(Question.objects.values_list("external_id", flat=True))


def test_import_without_filters_writes_every_labelled_question_once():
    out, _ = run(str(SAMPLE))

    assert "Lines read: 5 from 1 file(s)." in out
    assert "Passages: 2 created, 0 updated, 0 unchanged." in out
    assert "Questions: 10 created, 0 updated, 0 unchanged." in out
    assert "Questions filtered out: 0." in out
    assert "Questions skipped: 2 (malformed: 1; no gold label: 1)." in out
    assert "Lines skipped: 2 (missing field: 1; not JSON: 1)." in out

    assert set(Passage.objects.values_list("source", "external_id")) == {
        ("quality", "90001"),
        ("quality", "90002"),
    }
    assert imported_ids() == ALL_SAMPLE_QUESTIONS
    for question in Question.objects.all():
        question.full_clean()


def test_bad_lines_and_questions_are_reported_by_file_line_and_article():
    _, err = run(str(SAMPLE))
    lines = err.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(
        f"{SAMPLE} line 2 (article 90002) question 3: options: List should have at least 4 items"
    )
    assert lines[1].startswith(f"{SAMPLE} line 3: not JSON")
    assert lines[2] == f"{SAMPLE} line 5 (article 90004): missing field(s): article"


def test_the_passage_is_plain_text_with_paragraphs_title_and_author():
    run(str(SAMPLE))
    passage = Passage.objects.get(source="quality", external_id="90001")
    assert passage.title == "The Lamplighter of Vesk"
    assert passage.author == "Fenn, Orla"
    assert passage.text == LAMPLIGHTER_TEXT
    assert Passage.objects.get(external_id="90002").text == (
        "Mira kept bees on the roof of the library.\n\n"
        "The librarian, Mr. Abernathy, objected at first; then he tasted the honey.\n\n"
        "By autumn the reading room smelled faintly of clover, and the overdue fines were paid "
        "in jars."
    )


def test_stripped_text_keeps_its_paragraphs():
    run(str(STRIPPED))
    assert Passage.objects.get(external_id="90003").text == (
        "THE SALT ROAD\n\n"
        "By WEN IDDLE\n\n"
        "The caravan left at dawn, before the heat could find it.\n\n"
        "At the dry well the sign read <NO WATER> & nobody needed to read it twice.\n\n"
        "They reached the coast on the ninth day."
    )


def test_both_writers_questions_share_one_passage():
    run(str(SAMPLE))
    passage = Passage.objects.get(external_id="90001")
    assert passage.questions.count() == 9
    sets = {q.source_ids["set_unique_id"] for q in passage.questions.all()}
    assert sets == {"90001_A7QX", "90001_K2PD"}


def test_question_fields_follow_the_source():
    run(str(SAMPLE))
    question = Question.objects.get(external_id="90001_A7QX_1")
    assert question.text == "How long had Tobin been lighting the lamp when the letter came?"
    assert question.answers == [
        "Forty years",
        "Eleven years",
        "Since the beacon failed",
        "One winter",
    ]
    assert question.correct_index == 1
    assert question.best_distractor_index == 0  # two votes for option 1, one for option 4
    assert question.difficulty == {
        "difficult": True,
        "untimed_accuracy": 1.0,
        "untimed_annotators": 3,
        "speed_accuracy": 0.4,
        "speed_annotators": 5,
        "mean_context": 3.0,
        "mean_answerability": pytest.approx(4 / 3),
        "writer_label": 2,
    }
    assert question.source_ids == {
        "article_id": "90001",
        "set_unique_id": "90001_A7QX",
        "question_unique_id": "90001_A7QX_1",
    }


def test_best_distractor_ties_and_missing_votes_and_missing_ids():
    run(str(SAMPLE))
    tied = Question.objects.get(external_id="90001_K2PD_3")  # no question_unique_id in the file
    assert tied.best_distractor_index == 0  # options 1 and 4 one vote each; the gold vote ignored
    assert tied.source_ids["question_unique_id"] is None
    assert Question.objects.get(external_id="90001_A7QX_2").best_distractor_index is None


def test_reimport_is_idempotent():
    run(str(SAMPLE), str(STRIPPED))
    rows = {q.pk: (q.external_id, q.answers, q.difficulty) for q in Question.objects.all()}
    passages = set(Passage.objects.values_list("pk", "text"))

    out, _ = run(str(SAMPLE), str(STRIPPED))

    assert "Passages: 0 created, 0 updated, 3 unchanged." in out
    assert "Questions: 0 created, 0 updated, 11 unchanged." in out
    assert {q.pk: (q.external_id, q.answers, q.difficulty) for q in Question.objects.all()} == rows
    assert set(Passage.objects.values_list("pk", "text")) == passages


def test_reimport_updates_a_changed_row_in_place(tmp_path):
    run(str(SAMPLE))
    lines = SAMPLE.read_text().splitlines()
    first = json.loads(lines[0])
    first["title"] = "The Lamplighter of Vesk (revised)"
    first["questions"][0]["options"][3] = "Two winters"
    changed = tmp_path / "changed.jsonl"
    changed.write_text(json.dumps(first) + "\n")

    out, _ = run(str(changed))

    assert "Passages: 0 created, 1 updated, 0 unchanged." in out
    assert "Questions: 0 created, 1 updated, 2 unchanged." in out
    assert Passage.objects.filter(external_id="90001").get().title.endswith("(revised)")
    assert Question.objects.get(external_id="90001_A7QX_1").answers[3] == "Two winters"
    assert Question.objects.count() == 10


def test_dry_run_writes_nothing_but_reports_the_same_counts():
    dry, dry_err = run("--dry-run", str(SAMPLE))
    assert Passage.objects.count() == 0
    assert Question.objects.count() == 0
    real, real_err = run(str(SAMPLE))
    assert dry.splitlines()[0].startswith("Dry run: nothing was written")
    assert dry.splitlines()[1:] == real.splitlines()
    assert dry_err == real_err


def test_paper_filter_keeps_only_questions_meeting_every_condition():
    out, _ = run("--paper-filter", str(SAMPLE))

    assert imported_ids() == {"90001_A7QX_1", "90001_K2PD_3", "90001_K2PD_5"}
    assert list(Passage.objects.values_list("external_id", flat=True)) == ["90001"]
    assert "Passages: 1 created, 0 updated, 0 unchanged." in out
    assert "Questions: 3 created, 0 updated, 0 unchanged." in out
    assert (
        "Questions filtered out: 7 (gold label differs from writer label: 1; "
        "mean context rating, rounded, not above 1: 2; not difficult: 1; "
        "source does not contain 'gutenberg': 1; speed annotators' accuracy above 0.5: 1; "
        "untimed annotators not unanimous: 1)."
    ) in out
    assert "Articles with no question kept (no passage written): 1." in out


@pytest.mark.parametrize(
    ("option", "dropped"),
    [
        (["--hard-only"], {"90001_A7QX_2"}),
        (["--source", "GUTENBERG"], {"90002_ZZ01_1"}),
        (["--min-context", "1"], {"90001_K2PD_2"}),
        (["--require-unanimous-untimed"], {"90001_K2PD_1"}),
    ],
)
def test_each_filter_drops_its_question(option, dropped):
    run(*option, str(SAMPLE))
    assert imported_ids() == ALL_SAMPLE_QUESTIONS - dropped


def test_filters_combine():
    run("--hard-only", "--require-unanimous-untimed", str(SAMPLE))
    assert imported_ids() == ALL_SAMPLE_QUESTIONS - {"90001_A7QX_2", "90001_K2PD_1"}


def test_paper_filter_refuses_a_different_source():
    with pytest.raises(CommandError, match="Gutenberg"):
        run("--paper-filter", "--source", "slate", str(SAMPLE))


def test_a_missing_file_is_a_command_error_and_nothing_is_written(tmp_path):
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(CommandError, match=f"No such QuALITY file: {missing}"):
        run(str(SAMPLE), str(missing))
    assert Passage.objects.count() == 0


def test_an_article_the_model_refuses_is_reported_and_not_written(tmp_path):
    line = json.loads(SAMPLE.read_text().splitlines()[1])
    line["title"] = "x" * 301
    bad = tmp_path / "long.jsonl"
    bad.write_text(json.dumps(line) + "\n")

    summary = quality_import(paths=[bad], filters=QualityFilter())

    assert summary.articles_rejected == 1
    assert summary.passages.total() == 0
    assert "line 1 (article 90002): not imported:" in summary.problems[-1]
    assert Passage.objects.count() == 0


def test_questions_without_a_usable_best_distractor_are_named_and_get_no_debate_pair():
    out, _ = run(str(SAMPLE))

    assert "Questions with no usable best-distractor vote: 1 (90001_A7QX_2)" in out
    question = Question.objects.get(external_id="90001_A7QX_2")
    assert question.best_distractor_index is None
    with pytest.raises(ValueError, match="no best distractor"):
        question.debate_pair()
    assert question.debate_pair(distractor=3) == (question.correct_index, 3)
    from debate.protocol import Protocol, Role
    from debate.services import MoveRejected, SeatAssignment, paper_rules, session_create
    from tests.factories import make_user

    with pytest.raises(MoveRejected, match="no best distractor"):
        session_create(
            question=question,
            protocol_name=Protocol.CONSULTANCY,
            rules=paper_rules(Protocol.CONSULTANCY),
            seats=[
                SeatAssignment(Role.JUDGE, user=make_user()),
                SeatAssignment(Role.CONSULTANT, user=make_user(), honest=True),
            ],
        )
    # The vote is read under both names: line 1 uses the real one, line 4 the README's.
    assert Question.objects.get(external_id="90001_A7QX_1").best_distractor_index == 0
    assert Question.objects.get(external_id="90001_K2PD_1").best_distractor_index == 2


def test_every_rendering_of_an_article_shares_its_story_key():
    run(str(SAMPLE))
    assert Passage.objects.get(external_id="90001").story_key == "quality:90001"
