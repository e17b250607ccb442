"""QuALITY (Pang et al., 2022) read as plain data: one JSON line per article and question writer,
its article as text, each question's best distractor, and which questions a study's filters keep.

No Django here: `debate/quality/importer.py` writes what this module decides. Lines and questions
are validated by pydantic models of QuALITY v1.0.1's real layout; one that cannot be read becomes
a `LineProblem` or `QuestionSkip` naming the file, line, article, question and field, never an
exception, because one bad line in a file of thousands must not stop the rest.

The real v1.0.1 files call the best-distractor vote `untimed_best_distractor`; the dataset's
README calls it `untimed_eval3_distractor`. Both are read (the real name first).

QuALITY's labels are 1-based (option 1 to 4); this module keeps them 1-based on the parsed
dataclasses, as in the files, and converts to the platform's 0-based indices only where it says so.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from html.parser import HTMLParser
from statistics import fmean
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

OPTION_COUNT = 4
PAPER_SOURCE = "gutenberg"
PAPER_MAX_SPEED_ACCURACY = 0.5
PAPER_ROUNDED_CONTEXT_ABOVE = 1


@dataclass(frozen=True)
class QualityFilter:
    """Which labelled questions to keep; every filter is off by default."""

    hard_only: bool = False  # QuALITY's `difficult` flag
    source: str | None = None  # case-insensitive substring of the line's `source`
    min_context: float | None = None  # the mean context rating must be strictly above this
    unanimous_untimed: bool = False
    gold_is_writer: bool = False
    max_speed_accuracy: float | None = None  # the speed annotators' share right, at most this
    rounded_context_above: int | None = None  # the mean context rating rounded half up, above


@dataclass(frozen=True)
class UntimedValidation:
    annotator_id: str | None
    answer: int
    answerability: int | None
    context: int | None
    distractor: int | None


@dataclass(frozen=True)
class QualityQuestion:
    external_id: str
    unique_id: str | None  # QuALITY's question_unique_id, when the line has one
    text: str
    options: tuple[str, ...]
    gold_label: int
    writer_label: int | None
    difficult: bool
    untimed: tuple[UntimedValidation, ...]
    speed_answers: tuple[int, ...]

    @property
    def correct_index(self) -> int:
        return self.gold_label - 1

    @property
    def best_distractor_index(self) -> int | None:
        return best_distractor_index(
            [v.distractor for v in self.untimed], gold_label=self.gold_label
        )

    @property
    def untimed_accuracy(self) -> float | None:
        return _share(self.gold_label, [v.answer for v in self.untimed])

    @property
    def speed_accuracy(self) -> float | None:
        return _share(self.gold_label, self.speed_answers)

    @property
    def mean_context(self) -> float | None:
        return _mean([v.context for v in self.untimed])

    @property
    def mean_answerability(self) -> float | None:
        return _mean([v.answerability for v in self.untimed])

    @property
    def difficulty(self) -> dict[str, Any]:
        """What the platform stores as `Question.difficulty`; writer_label stays 1-based."""
        return {
            "difficult": self.difficult,
            "untimed_accuracy": self.untimed_accuracy,
            "untimed_annotators": len(self.untimed),
            "speed_accuracy": self.speed_accuracy,
            "speed_annotators": len(self.speed_answers),
            "mean_context": self.mean_context,
            "mean_answerability": self.mean_answerability,
            "writer_label": self.writer_label,
        }


@dataclass(frozen=True)
class QuestionSkip:
    """A question not imported whatever the filters; `message` only when the input is at fault."""

    reason: str
    message: str | None = None


@dataclass(frozen=True)
class QualityLine:
    file_name: str
    line_number: int
    article_id: str
    set_unique_id: str
    title: str
    author: str
    source: str
    article: str
    questions: tuple[QualityQuestion | QuestionSkip, ...]


@dataclass(frozen=True)
class LineProblem:
    file_name: str
    line_number: int
    article_id: str | None
    reason: str
    detail: str

    def __str__(self) -> str:
        return f"{_where(self.file_name, self.line_number, self.article_id)}: {self.detail}"


def paper_filter(base: QualityFilter) -> QualityFilter:
    """The authors' selection (Michael et al. 2023), tightened by whatever `base` already asks
    for. Each rule and where it comes from:

    - Project Gutenberg articles (the paper's setup; the NYU scheduler's source filter);
    - the gold label equals the writer's label, every untimed annotator answered correctly, and
      the speed annotators' accuracy is at most 0.5 (`DebateScheduler.getQAsForStory`);
    - QuALITY's `difficult` flag (the paper's "hard" questions);
    - the mean untimed context rating, rounded half up as Scala's `math.round` does, above 1,
      so a mean of 1.4 is out and 1.5 in (`AnalyzeResults.isNotTooLittleContextRequired`).
    """
    source = base.source
    if source is None:
        source = PAPER_SOURCE
    elif PAPER_SOURCE not in source.lower():
        raise ValueError(f"The paper filter keeps Gutenberg articles only, not source {source!r}.")
    speed = min(base.max_speed_accuracy or PAPER_MAX_SPEED_ACCURACY, PAPER_MAX_SPEED_ACCURACY)
    context = max(base.rounded_context_above or 0, PAPER_ROUNDED_CONTEXT_ABOVE)
    return replace(
        base,
        hard_only=True,
        source=source,
        unanimous_untimed=True,
        gold_is_writer=True,
        max_speed_accuracy=speed,
        rounded_context_above=context,
    )


def filter_reason(question: QualityQuestion, *, source: str, filters: QualityFilter) -> str | None:
    """Why `filters` drop the question, or None to keep it. Only the first failing filter is
    named, in a fixed order, so each dropped question is counted once in a summary."""
    if filters.source is not None and filters.source.lower() not in source.lower():
        return f"source does not contain {filters.source!r}"
    if filters.hard_only and not question.difficult:
        return "not difficult"
    if filters.max_speed_accuracy is not None:
        speed = question.speed_accuracy
        # No speed annotators is no evidence that the question is hard.
        if speed is None or speed > filters.max_speed_accuracy:
            return f"speed annotators' accuracy above {filters.max_speed_accuracy:g}"
    if filters.gold_is_writer and question.gold_label != question.writer_label:
        return "gold label differs from writer label"
    if filters.unanimous_untimed and not (
        question.untimed and all(v.answer == question.gold_label for v in question.untimed)
    ):
        # No untimed annotators is no evidence of agreement, so it fails rather than passes.
        return "untimed annotators not unanimous"
    if filters.min_context is not None:
        mean = question.mean_context
        if mean is None or mean <= filters.min_context:
            return f"mean context rating not above {filters.min_context:g}"
    if filters.rounded_context_above is not None:
        mean = question.mean_context
        # A question with no rating is kept, as the authors' `forall` keeps it.
        if mean is not None and round_half_up(mean) <= filters.rounded_context_above:
            return f"mean context rating, rounded, not above {filters.rounded_context_above}"
    return None


def round_half_up(value: float) -> int:
    """Scala's `math.round`: halves round up (Python's `round` rounds them to even)."""
    return math.floor(value + 0.5)


def best_distractor_index(votes: Sequence[int | None], *, gold_label: int) -> int | None:
    """The 0-based index of the wrong option most often named as the best distractor (1-based
    votes, as QuALITY records them); ties go to the lowest index, no wrong votes give None."""
    counts = Counter(v for v in votes if v is not None and v != gold_label)
    if not counts:
        return None
    label = min(counts, key=lambda option: (-counts[option], option))
    return label - 1


def article_text(article: str) -> str:
    """The article as plain text, a blank line between paragraphs, whether QuALITY gave it as
    HTML or as its HTML-stripped text."""
    extractor = _extract(article)
    if extractor.saw_html:
        return "\n\n".join(extractor.paragraphs)
    return plain_text(article)


# QuALITY breaks lines with "\n" only; the other characters Python counts as line breaks
# (U+2028, U+2029, U+0085, form feeds) stand inside its lines, and read as spaces.
def _lines(text: str) -> list[str]:
    return [line.removesuffix("\r") for line in text.split("\n")]


def html_to_text(html: str) -> str:
    """HTML as plain text: block elements become paragraphs separated by a blank line, <br> a line
    break, entities unescaped, whitespace inside a line collapsed; head, script and style text
    dropped."""
    return "\n\n".join(_extract(html).paragraphs)


def plain_text(text: str) -> str:
    """Text whose paragraphs are separated by blank lines, each paragraph's whitespace collapsed:
    QuALITY's stripped files keep the indentation and line breaks of pretty-printed HTML."""
    paragraphs: list[str] = []
    current: list[str] = []
    for line in [*_lines(text), ""]:
        if line.strip():
            current.append(line)
        elif current:
            paragraphs.append(" ".join(" ".join(current).split()))
            current = []
    return "\n\n".join(paragraphs)


def parse_quality_lines(
    lines: Iterable[str | bytes], *, file_name: str
) -> Iterator[QualityLine | LineProblem]:
    """Each non-blank line of a QuALITY file, parsed or explained."""
    for line_number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        yield parse_quality_line(raw, file_name=file_name, line_number=line_number)


def parse_quality_line(
    raw: str | bytes, *, file_name: str, line_number: int
) -> QualityLine | LineProblem:
    """One line of a QuALITY file; a problem names the file, line and (when known) article."""

    def problem(reason: str, detail: str, article_id: str | None = None) -> LineProblem:
        return LineProblem(file_name, line_number, article_id, reason, detail)

    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            return problem("not UTF-8", f"not UTF-8 text ({error.reason} at byte {error.start})")
    try:
        data = json.loads(raw.lstrip("\ufeff"))
    except json.JSONDecodeError as error:
        return problem("not JSON", f"not JSON ({error.msg} at column {error.colno})")
    if not isinstance(data, dict):
        return problem("not a JSON object", "not a JSON object")

    raw_id = data.get("article_id")
    usable = isinstance(raw_id, str | int) and not isinstance(raw_id, bool)
    article_id = str(raw_id) if usable else None
    try:
        line = ArticleLine.model_validate(data)
    except ValidationError as error:
        missing = [str(e["loc"][0]) for e in error.errors() if e["type"] == "missing"]
        if missing:
            fields = ", ".join(missing)
            return problem("missing field", f"missing field(s): {fields}", article_id)
        return problem("bad field", field_errors(error), article_id)
    article_id = str(line.article_id)

    where = _where(file_name, line_number, article_id)
    questions = tuple(
        _parse_question(item, index=index, set_unique_id=line.set_unique_id, where=where)
        for index, item in enumerate(line.questions, start=1)
    )
    return QualityLine(
        file_name=file_name,
        line_number=line_number,
        article_id=article_id,
        set_unique_id=line.set_unique_id,
        title=line.title.strip(),
        author=line.author.strip(),
        source=line.source,
        article=line.article,
        questions=questions,
    )


# --------------------------------------------------------------------------------------------------
# QuALITY v1.0.1's layout, as pydantic models (fields the platform does not use are ignored)
# --------------------------------------------------------------------------------------------------

_NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
_Label = Annotated[int, Field(strict=True, ge=1, le=OPTION_COUNT)]


class _Layout(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ArticleLine(_Layout):
    """One line: an article and one writer's questions on it."""

    article_id: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
        | Annotated[int, Field(strict=True)]
    )
    set_unique_id: _NonEmpty
    title: _NonEmpty
    author: str
    source: str
    article: Annotated[str, StringConstraints(min_length=1, pattern=r"\S")]
    questions: list[Any]  # each question is read on its own: one bad question spares the rest


class UntimedVote(_Layout):
    untimed_annotator_id: str | int | None = None
    untimed_answer: _Label
    untimed_eval1_answerability: Annotated[int, Field(strict=True, ge=1, le=3)] | None = None
    untimed_eval2_context: Annotated[int, Field(strict=True, ge=1, le=4)] | None = None
    untimed_best_distractor: _Label | None = None  # the name in the real v1.0.1 files
    untimed_eval3_distractor: _Label | None = None  # the name in the dataset's README


class SpeedVote(_Layout):
    speed_annotator_id: str | int | None = None
    speed_answer: _Label


class QuestionRecord(_Layout):
    question: _NonEmpty
    options: Annotated[list[_NonEmpty], Field(min_length=OPTION_COUNT, max_length=OPTION_COUNT)]
    question_unique_id: _NonEmpty | None = None
    gold_label: _Label | None = None  # none in the test files: an unlabelled question
    writer_label: _Label | None = None
    difficult: Literal[0, 1] | None = None
    validation: list[UntimedVote] = []
    speed_validation: list[SpeedVote] = []


def field_errors(error: ValidationError, limit: int = 3) -> str:
    """A pydantic error as one line naming each field at fault: `validation[0].untimed_answer:
    Input should be less than or equal to 4`."""
    parts = []
    for item in error.errors()[:limit]:
        path = ""
        for part in item["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        parts.append(f"{path or 'the record'}: {item['msg'].removeprefix('Value error, ')}")
    more = error.error_count() - limit
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


_BLOCK_TAGS = frozenset(
    "address article aside blockquote body caption center dd div dl dt figcaption figure footer "  # noqa: SIM905
    "form h1 h2 h3 h4 h5 h6 header hr html li main nav ol p pre section table tbody td tfoot th "
    "thead tr ul".split()
)
_HIDDEN_TAGS = frozenset({"head", "script", "style", "template", "title"})
_INLINE_TAGS = frozenset(
    "a abbr b big br cite code em font i img small span strong sub sup tt u".split()  # noqa: SIM905
)
_KNOWN_TAGS = _BLOCK_TAGS | _HIDDEN_TAGS | _INLINE_TAGS


class _TextExtractor(HTMLParser):
    """Collects paragraphs; a paragraph is a list of lines, a line a list of text chunks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[str] = []
        # Plain text with a stray "<grin>" must not lose its blank-line paragraphs, so only a
        # real HTML tag switches a document to HTML reading.
        self.saw_html = False
        self._lines: list[list[str]] = [[]]
        self._hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.saw_html = self.saw_html or tag in _KNOWN_TAGS
        if tag == "body":
            # An unclosed <head> must not hide the whole story.
            self._hidden_depth = 0
        if tag in _HIDDEN_TAGS:
            self._hidden_depth += 1
        elif tag == "br":
            self._lines.append([])
        elif tag in _BLOCK_TAGS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        self.saw_html = self.saw_html or tag in _KNOWN_TAGS
        if tag in _HIDDEN_TAGS:
            self._hidden_depth = max(0, self._hidden_depth - 1)
        elif tag in _BLOCK_TAGS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth:
            self._lines[-1].append(data)

    def close(self) -> None:
        super().close()
        self._flush()

    def _flush(self) -> None:
        paragraph: list[str] = []
        for chunks in self._lines:
            line = " ".join("".join(chunks).split())
            if line:
                paragraph.append(line)
            elif paragraph:
                # An empty line (<br><br>) reads as a paragraph break on the page.
                self.paragraphs.append("\n".join(paragraph))
                paragraph = []
        if paragraph:
            self.paragraphs.append("\n".join(paragraph))
        self._lines = [[]]


def _extract(html: str) -> _TextExtractor:
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    return extractor


def _parse_question(
    item: Any, *, index: int, set_unique_id: str, where: str
) -> QualityQuestion | QuestionSkip:
    try:
        record = QuestionRecord.model_validate(item)
    except ValidationError as error:
        return QuestionSkip("malformed", f"{where} question {index}: {field_errors(error)}")
    if record.gold_label is None:
        # Test files have no labels by design; that is not worth a message per question.
        return QuestionSkip("no gold label")
    if record.difficult is None:
        return QuestionSkip("malformed", f"{where} question {index}: difficult: Field required")
    return QualityQuestion(
        external_id=record.question_unique_id or f"{set_unique_id}_{index}",
        unique_id=record.question_unique_id,
        text=record.question,
        options=tuple(record.options),
        gold_label=record.gold_label,
        writer_label=record.writer_label,
        difficult=bool(record.difficult),
        untimed=tuple(
            UntimedValidation(
                annotator_id=None
                if v.untimed_annotator_id is None
                else str(v.untimed_annotator_id),
                answer=v.untimed_answer,
                answerability=v.untimed_eval1_answerability,
                context=v.untimed_eval2_context,
                distractor=v.untimed_best_distractor
                if v.untimed_best_distractor is not None
                else v.untimed_eval3_distractor,
            )
            for v in record.validation
        ),
        speed_answers=tuple(v.speed_answer for v in record.speed_validation),
    )


def _share(gold_label: int, answers: Sequence[int]) -> float | None:
    if not answers:
        return None
    return sum(1 for a in answers if a == gold_label) / len(answers)


def _mean(values: Iterable[int | None]) -> float | None:
    present = [v for v in values if v is not None]
    return fmean(present) if present else None


def _where(file_name: str, line_number: int, article_id: str | None) -> str:
    article = f" (article {article_id})" if article_id is not None else ""
    return f"{file_name} line {line_number}{article}"
