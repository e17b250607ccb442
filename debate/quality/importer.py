"""Writes QuALITY articles and questions as passages and questions (`format.py` beside it decides
what a line means and which questions the filters keep; this module only stores the result).

Rows are addressed by natural keys (passage: source "quality" and article id; question: passage
and question id), so importing the same file again updates rows in place and never duplicates.
All lines of a file are read before anything is written, so that an article two writers wrote
questions for is written once, in one transaction with all its questions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction

from debate.models import Passage, Question
from debate.quality.format import (
    LineProblem,
    QualityFilter,
    QualityLine,
    QualityQuestion,
    QuestionSkip,
    article_text,
    filter_reason,
    parse_quality_lines,
)

PASSAGE_SOURCE = "quality"
NO_FILTER = QualityFilter()


@dataclass
class QualityImportSummary:
    """What an import read, wrote and left out; a dry run reports what it would have written."""

    dry_run: bool
    files: int = 0
    lines_read: int = 0
    passages: Counter[str] = field(default_factory=Counter)  # created / updated / unchanged
    questions: Counter[str] = field(default_factory=Counter)  # created / updated / unchanged
    questions_filtered: Counter[str] = field(default_factory=Counter)  # by the first filter failed
    questions_skipped: Counter[str] = field(default_factory=Counter)  # unlabelled or malformed
    lines_skipped: Counter[str] = field(default_factory=Counter)
    articles_without_questions: int = 0  # every question left out, so no passage written
    articles_rejected: int = 0  # refused by model validation, nothing of it written
    problems: list[str] = field(default_factory=list)  # one message per bad line or question
    # Imported questions with no usable best-distractor vote (none, or only for the gold
    # answer): named, because a debate needs a second answer and none is guessed for them.
    without_best_distractor: list[str] = field(default_factory=list)


def quality_import(
    *, paths: Sequence[Path], filters: QualityFilter = NO_FILTER, dry_run: bool = False
) -> QualityImportSummary:
    """Import QuALITY JSON-lines files. Raises FileNotFoundError, before writing anything, when a
    path is not a file; bad lines and questions are reported in the summary instead."""
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"No such QuALITY file: {', '.join(missing)}")
    summary = QualityImportSummary(dry_run=dry_run, files=len(paths))
    articles = _articles_read(paths, filters=filters, summary=summary)
    # A dry run does every write a real one does, so its counts are the real ones, and then
    # rolls them all back; each article's own transaction becomes a savepoint inside it.
    with transaction.atomic() if dry_run else nullcontext():
        for article in articles.values():
            _article_write(article, summary=summary)
        if dry_run:
            transaction.set_rollback(True)
    return summary


@dataclass
class _Article:
    line: QualityLine  # the first line that names the article; its text and title are used
    questions: dict[str, tuple[QualityLine, QualityQuestion]] = field(default_factory=dict)


def _articles_read(
    paths: Sequence[Path], *, filters: QualityFilter, summary: QualityImportSummary
) -> dict[str, _Article]:
    articles: dict[str, _Article] = {}
    for path in paths:
        with path.open("rb") as handle:
            for item in parse_quality_lines(handle, file_name=str(path)):
                summary.lines_read += 1
                if isinstance(item, LineProblem):
                    summary.lines_skipped[item.reason] += 1
                    summary.problems.append(str(item))
                    continue
                article = articles.setdefault(item.article_id, _Article(line=item))
                for question in item.questions:
                    if isinstance(question, QuestionSkip):
                        summary.questions_skipped[question.reason] += 1
                        if question.message:
                            summary.problems.append(question.message)
                        continue
                    reason = filter_reason(question, source=item.source, filters=filters)
                    if reason is not None:
                        summary.questions_filtered[reason] += 1
                        continue
                    article.questions[question.external_id] = (item, question)
    kept = {key: article for key, article in articles.items() if article.questions}
    summary.articles_without_questions = len(articles) - len(kept)
    return kept


def _article_write(article: _Article, *, summary: QualityImportSummary) -> None:
    line = article.line
    try:
        with transaction.atomic():
            passage, passage_outcome = _upsert(
                Passage,
                lookup={"source": PASSAGE_SOURCE, "external_id": line.article_id},
                values={
                    "title": line.title,
                    "author": line.author,
                    "text": article_text(line.article),
                    "story_key": f"quality:{line.article_id}",
                },
            )
            question_outcomes = [
                _upsert(
                    Question,
                    lookup={"passage": passage, "external_id": question.external_id},
                    values=_question_values(question, line=question_line),
                )[1]
                for question_line, question in article.questions.values()
            ]
    except ValidationError as error:
        summary.articles_rejected += 1
        summary.problems.append(
            f"{line.file_name} line {line.line_number} (article {line.article_id}): "
            f"not imported: {'; '.join(error.messages)}"
        )
        return
    # Counted only after the commit, so a rejected article leaves no trace in the counts.
    summary.passages[passage_outcome] += 1
    summary.questions.update(question_outcomes)
    summary.without_best_distractor += [
        question.external_id
        for _, question in article.questions.values()
        if question.best_distractor_index is None
    ]


def _question_values(question: QualityQuestion, *, line: QualityLine) -> dict[str, Any]:
    return {
        "text": question.text,
        "answers": list(question.options),
        "correct_index": question.correct_index,
        "best_distractor_index": question.best_distractor_index,
        "difficulty": question.difficulty,
        "source_ids": {
            "article_id": line.article_id,
            "set_unique_id": line.set_unique_id,
            "question_unique_id": question.unique_id,
        },
    }


def _upsert[M: models.Model](
    model: type[M], *, lookup: dict[str, Any], values: dict[str, Any]
) -> tuple[M, str]:
    """update_or_create that also tells an unchanged row from an updated one, so a re-import
    reports that it changed nothing, and validates the row as the admin would."""
    row = model._default_manager.select_for_update().filter(**lookup).first()
    if row is None:
        row = model(**lookup, **values)
        row.full_clean(validate_unique=False, validate_constraints=False)
        row.save()
        return row, "created"
    changed = [name for name, value in values.items() if getattr(row, name) != value]
    if not changed:
        return row, "unchanged"
    for name in changed:
        setattr(row, name, values[name])
    row.full_clean(validate_unique=False, validate_constraints=False)
    row.save(update_fields=changed)
    return row, "updated"
