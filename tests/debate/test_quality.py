"""Tests of reading QuALITY lines, article text, best distractors and filters (pure, no Django)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from debate.quality.format import (
    LineProblem,
    QualityFilter,
    QualityLine,
    QualityQuestion,
    QuestionSkip,
    UntimedValidation,
    article_text,
    best_distractor_index,
    filter_reason,
    html_to_text,
    paper_filter,
    parse_quality_line,
    parse_quality_lines,
    plain_text,
)

# --- article text ---------------------------------------------------------------------------


def test_html_paragraphs_are_separated_by_a_blank_line():
    html = "<html><body><p>First one.</p><p>Second\n   one.</p></body></html>"
    assert html_to_text(html) == "First one.\n\nSecond one."


def test_html_whitespace_inside_a_paragraph_collapses_across_inline_tags():
    html = "<p>\n   He waited for\n   <i>\n    eleven\n   </i>\n   years.\n  </p>"
    assert html_to_text(html) == "He waited for eleven years."


def test_html_br_is_a_line_break_and_two_are_a_paragraph_break():
    assert html_to_text("<p>one<br>two<br/>three</p>") == "one\ntwo\nthree"
    assert html_to_text("<p>one<br><br>two</p>") == "one\n\ntwo"
    assert html_to_text("<p><br>one<br></p>") == "one"


def test_html_entities_are_unescaped():
    html = "<p>salt &amp; pepper&mdash;a&nbsp;b &lt;c&gt; &#233;t&#xE9;</p>"
    assert html_to_text(html) == "salt & pepper\u2014a b <c> \u00e9t\u00e9"


def test_html_head_script_and_style_are_dropped():
    html = (
        "<html><head><title>Title only in head</title><style>p {}</style></head>"
        "<body><h1>Heading</h1><script>var x = 1;</script><div>Body text</div></body></html>"
    )
    assert html_to_text(html) == "Heading\n\nBody text"


def test_an_unclosed_head_does_not_hide_the_body():
    assert html_to_text("<head><title>T</title><body><p>Kept.</p></body>") == "Kept."


def test_text_between_blocks_is_its_own_paragraph():
    assert html_to_text("<div>Loose text<p>In a paragraph</p>tail</div>") == (
        "Loose text\n\nIn a paragraph\n\ntail"
    )


def test_article_text_reads_html_as_html():
    assert article_text("<p>a\n\nb</p><p>c</p>") == "a b\n\nc"


def test_article_text_keeps_the_paragraphs_of_stripped_text():
    stripped = "\n\n\n    THE TITLE\n   \n\n\n    A first\n    paragraph.\n   \n\n    Second.\n"
    assert article_text(stripped) == "THE TITLE\n\nA first paragraph.\n\nSecond."


def test_a_stray_angle_bracket_word_does_not_make_plain_text_html():
    stripped = "The sign read <NO WATER> here.\n\nNext & last."
    assert article_text(stripped) == "The sign read <NO WATER> here.\n\nNext & last."


def test_plain_text_treats_whitespace_only_lines_as_blank():
    assert plain_text("a\n   \t\nb\r\nc\n\n\n") == "a\n\nb c"
    assert plain_text("") == ""


# --- best distractor ------------------------------------------------------------------------


def test_best_distractor_is_the_most_voted_wrong_option_0_based():
    assert best_distractor_index([3, 3, 1], gold_label=2) == 2


def test_best_distractor_ignores_votes_for_the_gold_label():
    assert best_distractor_index([2, 2, 4], gold_label=2) == 3


def test_best_distractor_ties_go_to_the_lowest_option():
    assert best_distractor_index([4, 1, 4, 1], gold_label=2) == 0


@pytest.mark.parametrize("votes", [[], [None, None], [2, 2]])
def test_best_distractor_is_none_without_votes_for_a_wrong_option(votes):
    assert best_distractor_index(votes, gold_label=2) is None


# --- filters --------------------------------------------------------------------------------


def make_question(
    *,
    answers: list[int] | None = None,
    contexts: list[int | None] | None = None,
    **fields: Any,
) -> QualityQuestion:
    """A question every filter keeps, unless the arguments say otherwise."""
    answers = [2, 2, 2] if answers is None else answers
    contexts = [3, 2, 4][: len(answers)] if contexts is None else contexts
    untimed = tuple(
        UntimedValidation(f"a{n}", answer, 1, context, 1)
        for n, (answer, context) in enumerate(zip(answers, contexts, strict=True))
    )
    base = QualityQuestion(
        external_id="q1",
        unique_id="q1",
        text="Which?",
        options=("A", "B", "C", "D"),
        gold_label=2,
        writer_label=2,
        difficult=True,
        untimed=untimed,
        speed_answers=(2, 1, 3, 2),
    )
    return replace(base, **fields)


PAPER = paper_filter(QualityFilter())


def test_no_filter_keeps_everything():
    question = make_question(difficult=False, writer_label=None, answers=[])
    assert filter_reason(question, source="Slate", filters=QualityFilter()) is None


def test_the_paper_filter_keeps_a_question_that_meets_every_condition():
    assert filter_reason(make_question(), source="Project Gutenberg", filters=PAPER) is None


def test_source_filter_is_a_case_insensitive_substring():
    filters = QualityFilter(source="gutenberg")
    assert filter_reason(make_question(), source="Project GUTENBERG", filters=filters) is None
    assert filter_reason(make_question(), source="Slate", filters=filters) == (
        "source does not contain 'gutenberg'"
    )


def test_hard_only_drops_questions_not_marked_difficult():
    filters = QualityFilter(hard_only=True)
    assert filter_reason(make_question(), source="x", filters=filters) is None
    assert filter_reason(make_question(difficult=False), source="x", filters=filters) == (
        "not difficult"
    )


def test_min_context_needs_a_mean_strictly_above_n():
    filters = QualityFilter(min_context=1)
    above = make_question(contexts=[1, 2, 1])
    exactly = make_question(contexts=[1, 1, 1])
    unrated = make_question(contexts=[None, None, None])
    assert filter_reason(above, source="x", filters=filters) is None
    assert filter_reason(exactly, source="x", filters=filters) == (
        "mean context rating not above 1"
    )
    assert filter_reason(unrated, source="x", filters=filters) == (
        "mean context rating not above 1"
    )
    assert filter_reason(above, source="x", filters=QualityFilter(min_context=2.5)) == (
        "mean context rating not above 2.5"
    )


def test_unanimous_untimed_needs_every_annotator_right_and_at_least_one():
    filters = QualityFilter(unanimous_untimed=True)
    assert filter_reason(make_question(), source="x", filters=filters) is None
    for answers in ([2, 3, 2], []):
        assert filter_reason(make_question(answers=answers), source="x", filters=filters) == (
            "untimed annotators not unanimous"
        )


def test_gold_is_writer_drops_a_disagreeing_or_missing_writer_label():
    filters = QualityFilter(gold_is_writer=True)
    assert filter_reason(make_question(), source="x", filters=filters) is None
    for writer_label in (3, None):
        question = make_question(writer_label=writer_label)
        assert filter_reason(question, source="x", filters=filters) == (
            "gold label differs from writer label"
        )


def test_only_the_first_failing_filter_is_named():
    question = make_question(difficult=False, writer_label=1)
    assert filter_reason(question, source="Slate", filters=PAPER).startswith("source")
    assert filter_reason(question, source="Gutenberg", filters=PAPER) == "not difficult"


def test_paper_filter_is_every_condition_at_once():
    expected = QualityFilter(
        hard_only=True,
        source="gutenberg",
        unanimous_untimed=True,
        gold_is_writer=True,
        max_speed_accuracy=0.5,
        rounded_context_above=1,
    )
    assert paper_filter(QualityFilter()) == expected


def test_paper_filter_keeps_stricter_options_and_refuses_another_source():
    tightened = paper_filter(
        QualityFilter(source="Project Gutenberg", min_context=2, max_speed_accuracy=0.2)
    )
    assert tightened.source == "Project Gutenberg"
    assert tightened.min_context == 2 and tightened.max_speed_accuracy == 0.2
    assert paper_filter(QualityFilter(max_speed_accuracy=0.9)).max_speed_accuracy == 0.5
    with pytest.raises(ValueError, match="Gutenberg"):
        paper_filter(QualityFilter(source="slate"))


def test_the_papers_hard_questions_are_difficult_and_missed_by_most_speed_annotators():
    easy = make_question(speed_answers=(2, 2, 2, 1))  # 3 of 4 speed annotators right
    half = make_question(speed_answers=(2, 2, 1, 3))
    unknown = make_question(speed_answers=())
    assert filter_reason(half, source="Gutenberg", filters=PAPER) is None
    for question in (easy, unknown):
        assert filter_reason(question, source="Gutenberg", filters=PAPER) == (
            "speed annotators' accuracy above 0.5"
        )


@pytest.mark.parametrize(
    ("contexts", "kept"),
    [
        ([1, 2, 1, 2], True),
        ([1, 1, 2, 1, 2], False),
        ([1, 1, 1], False),
        ([None, None, None], True),
    ],
)
def test_the_papers_context_rule_rounds_the_mean_half_up(contexts, kept):
    # A mean of 1.5 rounds to 2 and is kept; 1.4 rounds to 1 and is out (Scala's math.round);
    # a question nobody rated is kept, as the authors' forall keeps it.
    answers = [2] * len(contexts)
    question = make_question(answers=answers, contexts=contexts)
    reason = filter_reason(question, source="Gutenberg", filters=PAPER)
    assert (reason is None) == kept
    if not kept:
        assert reason == "mean context rating, rounded, not above 1"


def test_best_distractor_votes_are_read_under_the_real_name_and_the_readmes():
    real = quality_line()
    vote = real["questions"][0]["validation"][0]
    vote["untimed_best_distractor"] = vote.pop("untimed_eval3_distractor")
    assert only_question(real).best_distractor_index == 3
    both = quality_line()
    both["questions"][0]["validation"][0]["untimed_best_distractor"] = 1
    assert only_question(both).best_distractor_index == 0  # the real name wins
    none = quality_line()
    del none["questions"][0]["validation"][0]["untimed_eval3_distractor"]
    assert only_question(none).best_distractor_index is None


def test_only_quality_line_breaks_split_paragraphs():
    # U+2028, U+2029 and U+0085 stand inside QuALITY's lines: spaces, not breaks.
    text = "The sea\u2028was calm.\n\nIt\u2029rose\x85at noon."
    assert plain_text(text) == "The sea was calm.\n\nIt rose at noon."
    assert article_text(text) == "The sea was calm.\n\nIt rose at noon."


def test_difficulty_summarises_the_validations():
    question = make_question(answers=[2, 3, 2, 2], contexts=[4, 3, None, 2])
    assert question.difficulty == {
        "difficult": True,
        "untimed_accuracy": 0.75,
        "untimed_annotators": 4,
        "speed_accuracy": 0.5,
        "speed_annotators": 4,
        "mean_context": 3.0,
        "mean_answerability": 1.0,
        "writer_label": 2,
    }
    bare = make_question(answers=[], speed_answers=())
    assert bare.difficulty["untimed_accuracy"] is None
    assert bare.difficulty["speed_accuracy"] is None
    assert bare.difficulty["mean_context"] is None


# --- lines ----------------------------------------------------------------------------------


def quality_line(**fields: Any) -> dict[str, Any]:
    line = {
        "article_id": "777",
        "set_unique_id": "777_W1",
        "title": "A Title",
        "author": "Someone",
        "source": "Project Gutenberg",
        "article": "<p>Text.</p>",
        "questions": [
            {
                "question": "Q?",
                "options": ["a", "b", "c", "d"],
                "gold_label": 3,
                "writer_label": 3,
                "difficult": 1,
                "question_unique_id": "777_W1_1",
                "validation": [
                    {
                        "untimed_annotator_id": "7",
                        "untimed_answer": 3,
                        "untimed_eval1_answerability": 1,
                        "untimed_eval2_context": 2,
                        "untimed_eval3_distractor": 4,
                    }
                ],
                "speed_validation": [{"speed_answer": 3}, {"speed_answer": 1}],
            }
        ],
    }
    line.update(fields)
    return line


def parse(data: Any, line_number: int = 4) -> QualityLine | LineProblem:
    raw = data if isinstance(data, str) else json.dumps(data)
    return parse_quality_line(raw, file_name="train.jsonl", line_number=line_number)


def only_question(data: dict[str, Any]) -> QualityQuestion | QuestionSkip:
    parsed = parse(data)
    assert isinstance(parsed, QualityLine)
    (question,) = parsed.questions
    return question


def test_a_good_line_parses_into_its_article_and_questions():
    parsed = parse(quality_line(article_id=777))
    assert isinstance(parsed, QualityLine)
    assert (parsed.article_id, parsed.title, parsed.author) == ("777", "A Title", "Someone")
    (question,) = parsed.questions
    assert question == QualityQuestion(
        external_id="777_W1_1",
        unique_id="777_W1_1",
        text="Q?",
        options=("a", "b", "c", "d"),
        gold_label=3,
        writer_label=3,
        difficult=True,
        untimed=(UntimedValidation("7", 3, 1, 2, 4),),
        speed_answers=(3, 1),
    )
    assert (question.correct_index, question.best_distractor_index) == (2, 3)


def test_a_question_without_an_id_is_named_after_its_set_and_position():
    data = quality_line()
    del data["questions"][0]["question_unique_id"]
    question = only_question(data)
    assert isinstance(question, QualityQuestion)
    assert (question.external_id, question.unique_id) == ("777_W1_1", None)


def test_an_unlabelled_question_is_skipped_quietly():
    data = quality_line()
    for key in ("gold_label", "writer_label", "validation", "speed_validation", "difficult"):
        del data["questions"][0][key]
    assert only_question(data) == QuestionSkip("no gold label")


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"options": ["a", "b", "c"]}, "options: List should have at least 4 items"),
        ({"options": ["a", "b", "c", 4]}, "options[3]: Input should be a valid string"),
        ({"options": ["a", "b", "c", " "]}, "options[3]: String should have at least 1 character"),
        ({"options": "abcd"}, "options: Input should be a valid list"),
        ({"gold_label": 5}, "gold_label: Input should be less than or equal to 4"),
        ({"gold_label": True}, "gold_label: Input should be a valid integer"),
        ({"difficult": 2}, "difficult: Input should be 0 or 1"),
        (
            {"validation": [{"untimed_eval2_context": 2}]},
            "validation[0].untimed_answer: Field required",
        ),
        (
            {"validation": [{"untimed_answer": 1, "untimed_eval2_context": 9}]},
            "validation[0].untimed_eval2_context: Input should be less than or equal to 4",
        ),
        (
            {"speed_validation": [{"speed_annotator_id": "9", "speed_answer": 0}]},
            "speed_validation[0].speed_answer: Input should be greater than or equal to 1",
        ),
    ],
)
def test_a_malformed_question_is_skipped_with_file_line_article_question_and_field(change, detail):
    data = quality_line()
    data["questions"][0].update(change)
    skip = only_question(data)
    assert skip.reason == "malformed"
    assert skip.message.startswith(f"train.jsonl line 4 (article 777) question 1: {detail}")


def test_a_line_that_is_not_json_is_named_by_file_and_line():
    problem = parse('{"article_id": "1", "title": ', line_number=9)
    assert isinstance(problem, LineProblem)
    assert problem.reason == "not JSON"
    assert str(problem).startswith("train.jsonl line 9: not JSON")


def test_a_missing_field_names_the_article_when_it_is_known():
    data = quality_line()
    del data["article"], data["title"]
    problem = parse(data)
    assert isinstance(problem, LineProblem)
    assert problem.reason == "missing field"
    assert str(problem) == "train.jsonl line 4 (article 777): missing field(s): title, article"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ([1, 2], "not a JSON object"),
        (quality_line(questions={}), "bad field"),
        (quality_line(title=3), "bad field"),
        (quality_line(article="  "), "bad field"),
        (quality_line(article_id=None), "bad field"),
    ],
)
def test_other_bad_lines_are_problems_not_exceptions(data, reason):
    problem = parse(data)
    assert isinstance(problem, LineProblem)
    assert problem.reason == reason


def test_lines_are_numbered_in_the_file_and_blank_ones_skipped():
    good = json.dumps(quality_line()).encode()
    items = list(parse_quality_lines([good, b"\n", b"\xff\xfe\n", good], file_name="f"))
    assert [type(item) for item in items] == [QualityLine, LineProblem, QualityLine]
    assert [item.line_number for item in items] == [1, 3, 4]
    assert items[1].reason == "not UTF-8"
