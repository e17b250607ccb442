"""QuALITY (Pang et al., 2022) read as plain data: one JSON line per article and question writer,
its article as text, each question's best distractor, and which questions a study's filters keep.

No Django here: `debate/quality_import.py` writes what this module decides. A line or question
that cannot be read becomes a `LineProblem` or `QuestionSkip` naming the file and line, never an
exception, because one bad line in a file of thousands must not stop the rest.

QuALITY's labels are 1-based (option 1 to 4); this module keeps them 1-based on the parsed
dataclasses, as in the files, and converts to the platform's 0-based indices only where it says so.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from html.parser import HTMLParser
from statistics import fmean
from typing import Any

OPTION_COUNT = 4
PAPER_SOURCE = "gutenberg"
PAPER_MIN_CONTEXT = 1.0

LINE_FIELDS = ("article_id", "set_unique_id", "title", "author", "source", "article", "questions")


@dataclass(frozen=True)
class QualityFilter:
    """Which labelled questions to keep; every filter is off by default."""

    hard_only: bool = False
    source: str | None = None  # case-insensitive substring of the line's `source`
    min_context: float | None = None  # the mean context rating must be strictly above this
    unanimous_untimed: bool = False
    gold_is_writer: bool = False


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
    """The paper's selection, tightened by whatever `base` already asks for: difficult questions
    from Project Gutenberg whose gold label is the writer's, answered correctly by every untimed
    annotator, with a mean context rating above 1."""
    source = base.source
    if source is None:
        source = PAPER_SOURCE
    elif PAPER_SOURCE not in source.lower():
        raise ValueError(f"The paper filter keeps Gutenberg articles only, not source {source!r}.")
    min_context = max(base.min_context or PAPER_MIN_CONTEXT, PAPER_MIN_CONTEXT)
    return replace(
        base,
        hard_only=True,
        source=source,
        min_context=min_context,
        unanimous_untimed=True,
        gold_is_writer=True,
    )


def filter_reason(question: QualityQuestion, *, source: str, filters: QualityFilter) -> str | None:
    """Why `filters` drop the question, or None to keep it. Only the first failing filter is
    named, in a fixed order, so each dropped question is counted once in a summary."""
    if filters.source is not None and filters.source.lower() not in source.lower():
        return f"source does not contain {filters.source!r}"
    if filters.hard_only and not question.difficult:
        return "not difficult"
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
    return None


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
    for line in [*text.splitlines(), ""]:
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
    missing = [name for name in LINE_FIELDS if name not in data]
    if missing:
        fields = ", ".join(missing)
        return problem("missing field", f"missing field(s): {fields}", article_id)
    if article_id is None or not article_id.strip():
        return problem("bad field", "article_id must be a non-empty string or number")
    for name in ("set_unique_id", "title", "author", "source", "article"):
        if not isinstance(data[name], str):
            return problem("bad field", f"{name} must be a string", article_id)
    empty = [name for name in ("set_unique_id", "title", "article") if not data[name].strip()]
    if empty:
        return problem("bad field", f"empty field(s): {', '.join(empty)}", article_id)
    if not isinstance(data["questions"], list):
        return problem("bad field", "questions must be a list", article_id)

    where = _where(file_name, line_number, article_id)
    questions = tuple(
        _parse_question(item, index=index, set_unique_id=data["set_unique_id"], where=where)
        for index, item in enumerate(data["questions"], start=1)
    )
    return QualityLine(
        file_name=file_name,
        line_number=line_number,
        article_id=article_id,
        set_unique_id=data["set_unique_id"],
        title=data["title"].strip(),
        author=data["author"].strip(),
        source=data["source"],
        article=data["article"],
        questions=questions,
    )


class _BadQuestion(ValueError):
    pass


class _Unlabelled(Exception):
    pass


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
        return _question_from(item, index=index, set_unique_id=set_unique_id)
    except _BadQuestion as error:
        return QuestionSkip("malformed", f"{where} question {index}: {error}")
    except _Unlabelled:
        # Test files have no labels by design; that is not worth a message per question.
        return QuestionSkip("no gold label")


def _question_from(item: Any, *, index: int, set_unique_id: str) -> QualityQuestion:
    if not isinstance(item, dict):
        raise _BadQuestion("not a JSON object")
    for name in ("question", "options"):
        if name not in item:
            raise _BadQuestion(f"missing field {name}")
    text = item["question"]
    if not isinstance(text, str) or not text.strip():
        raise _BadQuestion("question must be non-empty text")
    options = item["options"]
    if (
        not isinstance(options, list)
        or len(options) != OPTION_COUNT
        or not all(isinstance(o, str) and o.strip() for o in options)
    ):
        raise _BadQuestion(f"options must be {OPTION_COUNT} non-empty strings")
    unique_id = item.get("question_unique_id")
    if unique_id is not None and (not isinstance(unique_id, str) or not unique_id.strip()):
        raise _BadQuestion("question_unique_id must be a non-empty string")
    if item.get("gold_label") is None:
        raise _Unlabelled
    if "difficult" not in item:
        raise _BadQuestion("missing field difficult")
    difficult = item["difficult"]
    if difficult not in (0, 1):  # True and False compare equal to 1 and 0
        raise _BadQuestion("difficult must be 0 or 1")
    validation = item.get("validation") or []
    speed_validation = item.get("speed_validation") or []
    if not isinstance(validation, list) or not isinstance(speed_validation, list):
        raise _BadQuestion("validation and speed_validation must be lists")
    return QualityQuestion(
        external_id=unique_id or f"{set_unique_id}_{index}",
        unique_id=unique_id,
        text=text.strip(),
        options=tuple(o.strip() for o in options),
        gold_label=_label(item["gold_label"], "gold_label"),
        writer_label=(
            None
            if item.get("writer_label") is None
            else _label(item["writer_label"], "writer_label")
        ),
        difficult=bool(difficult),
        untimed=tuple(_untimed(v, n) for n, v in enumerate(validation, start=1)),
        speed_answers=tuple(
            _label(_field(v, "speed_answer", f"speed_validation {n}"), f"speed_validation {n}")
            for n, v in enumerate(speed_validation, start=1)
        ),
    )


def _untimed(item: Any, number: int) -> UntimedValidation:
    name = f"validation {number}"
    annotator = item.get("untimed_annotator_id") if isinstance(item, dict) else None
    distractor = item.get("untimed_eval3_distractor") if isinstance(item, dict) else None
    return UntimedValidation(
        annotator_id=None if annotator is None else str(annotator),
        answer=_label(_field(item, "untimed_answer", name), f"{name} untimed_answer"),
        answerability=_rating(item, "untimed_eval1_answerability", 3, name),
        context=_rating(item, "untimed_eval2_context", 4, name),
        distractor=(
            None if distractor is None else _label(distractor, f"{name} untimed_eval3_distractor")
        ),
    )


def _field(item: Any, key: str, name: str) -> Any:
    if not isinstance(item, dict) or key not in item:
        raise _BadQuestion(f"{name} has no {key}")
    return item[key]


def _label(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= OPTION_COUNT:
        raise _BadQuestion(f"{name} must be an option number from 1 to {OPTION_COUNT}")
    return value


def _rating(item: dict, key: str, top: int, name: str) -> int | None:
    value = item.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
        raise _BadQuestion(f"{name} {key} must be from 1 to {top}")
    return value


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
