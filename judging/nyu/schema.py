"""The NYU debate platform's files (Michael et al. 2023, `julianmichael/debate`) as pydantic models:
what a debate file, the lobby metadata and `profiles.json` hold, validated as they are read, so
that a bad file is reported with the field that is wrong (`rounds[3].SequentialSpeeches.speeches.1
.content[0]`), never as a bare KeyError.

The platform writes with circe, which gives these shapes:

- every sealed trait is a one-key object (`{"JudgeFeedback": {...}}`, `{"Quote": {...}}`), a case
  object an empty one (`{"WaitingToBegin": {}}`);
- an Option is `null` (older files leave the key out: the same);
- maps keyed by a debater are keyed "0", "1"; by a role, "Judge", "Debater A", "Debater B";
- the offline judging mode is a bare string, "stepped" or "timed";
- quote spans are [begin, end) token indices into `setup.sourceMaterial.*.contents`.

Fields added over the platform's life are read with the defaults its own decoders use
(`assignedDebatersOnly` false, `NegotiateEndRound` once a case object `{}`, `scratchpads` empty);
the legacy offline judgment `{mode, startTimeMillis, numContinues, result}` is read as one final
judgment. Unknown fields are ignored, as the platform's decoders ignore them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

__all__ = ["ValidationError"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class _OneOf(_Model):
    """A circe sealed trait: exactly one of the fields, named by the variant."""

    @model_validator(mode="before")
    @classmethod
    def _one_key(cls, data: Any) -> Any:
        variants = set(cls.model_fields)
        if not isinstance(data, dict) or len(data) != 1:
            raise ValueError(f"expected one of {sorted(variants)} as a one-key object")
        (key,) = data
        if key not in variants:
            raise ValueError(
                f"unknown {cls.__name__} {key!r}; known: {', '.join(sorted(variants))}"
            )
        return data

    @property
    def variant(self) -> tuple[str, Any]:
        """(variant name, its body)."""
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is not None:
                return name, value
        raise AssertionError("validated one-of without a value")


def _unit_to_none(value: Any) -> Any:
    """Older files wrote some Option and mode values as `{}` (Scala's Unit)."""
    return None if value == {} else value


def _speaker_name(value: Any) -> Any:
    """The earliest files wrote the speaker as an object with a name."""
    if isinstance(value, dict) and "name" in value:
        return value["name"]
    return value


Mode = Literal["stepped", "timed"]


# --------------------------------------------------------------------------------------------------
# Speeches
# --------------------------------------------------------------------------------------------------


class TextSegment(_Model):
    text: str


class QuoteSegment(_Model):
    span: tuple[int, int]

    @model_validator(mode="after")
    def _ordered(self) -> QuoteSegment:
        begin, end = self.span
        if begin < 0 or end < begin:
            raise ValueError(
                f"quote span {list(self.span)} is not [begin, end) with 0 <= begin <= end"
            )
        return self


class Segment(_OneOf):
    Text: TextSegment | None = None
    Quote: QuoteSegment | None = None


class Speech(_Model):
    speaker: Annotated[str, BeforeValidator(_speaker_name)] = ""
    timestamp: int | None = None
    content: list[Segment] = []

    @property
    def text(self) -> str:
        """The text segments, joined (judges' notes have no quotes)."""
        return "".join(s.Text.text for s in self.content if s.Text is not None)


# --------------------------------------------------------------------------------------------------
# Rounds as played
# --------------------------------------------------------------------------------------------------


class JudgeTurn(_Model):
    """A `JudgeFeedback` round's body (also each offline judgment)."""

    distribution: list[float]
    feedback: Speech = Speech()
    endDebate: bool = False


class Speeches(_Model):
    speeches: dict[int, Speech] = {}


class Votes(_Model):
    """A `NegotiateEnd` round's body: debater index -> votes to end."""

    votes: dict[int, bool] = {}


class LegacyJudgingResult(_Model):
    distribution: list[float]
    explanation: str = ""
    timestamp: int | None = None


class OfflineJudgment(_Model):
    mode: Annotated[Mode | None, BeforeValidator(_unit_to_none)] = None
    startTimeMillis: int | None = None
    judgments: list[JudgeTurn] = []

    @model_validator(mode="before")
    @classmethod
    def _legacy(cls, data: Any) -> Any:
        """{mode, startTimeMillis, numContinues, result}: one final judgment (or none yet)."""
        if isinstance(data, dict) and "judgments" not in data and "result" in data:
            result = data.get("result")
            judgments = []
            if result is not None:
                parsed = LegacyJudgingResult.model_validate(result)
                judgments = [
                    {
                        "distribution": parsed.distribution,
                        "feedback": {
                            "speaker": "",
                            "timestamp": parsed.timestamp,
                            "content": [{"Text": {"text": parsed.explanation}}]
                            if parsed.explanation
                            else [],
                        },
                        "endDebate": True,
                    }
                ]
            return {**data, "judgments": judgments}
        return data


class OfflineRound(_Model):
    """An `OfflineJudgments` round's body: judge name -> their judging."""

    judgments: dict[str, OfflineJudgment] = {}


class DebateRound(_OneOf):
    JudgeFeedback: JudgeTurn | None = None
    SimultaneousSpeeches: Speeches | None = None
    SequentialSpeeches: Speeches | None = None
    NegotiateEnd: Votes | None = None
    OfflineJudgments: OfflineRound | None = None


# --------------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------------


class JudgeRoundRules(_Model):
    charLimit: int = 0
    reportBeliefs: bool = True


class SpeechRoundRules(_Model):
    charLimit: int = 0
    quoteLimit: int | None = None
    assignedDebatersOnly: bool = False


class VoteRoundRules(_Model):
    assignedDebatersOnly: bool = False


class RoundType(_OneOf):
    JudgeFeedbackRound: JudgeRoundRules | None = None
    SimultaneousSpeechesRound: SpeechRoundRules | None = None
    SequentialSpeechesRound: SpeechRoundRules | None = None
    NegotiateEndRound: VoteRoundRules | None = None
    OfflineJudgingRound: dict[str, Any] | None = None


class ClosingRules(_Model):
    # The platform's field is maxRepeatCycles; files this project wrote before it knew that
    # call it numOptionalRounds.
    maxRepeatCycles: int = Field(
        validation_alias=AliasChoices("maxRepeatCycles", "numOptionalRounds"), ge=0
    )
    rounds: list[RoundType] = []


class LogScore(_Model):
    baseCoefficient: float = 1.0
    constant: float = 0.0
    logBase: float = 2.0
    perTurnPenalty: float = 0.0


class LinearPenaltyScore(_Model):
    baseCoefficient: float = 1.0
    perTurnPenalty: float = 0.0


class ScoringFunction(_OneOf):
    LogScoreWithLinearPenalty: LogScore | None = None
    SphericalScoreWithLinearPenalty: LinearPenaltyScore | None = None
    QuadraticScoreWithLinearPenalty: LinearPenaltyScore | None = None


PAPER_SCORING = ScoringFunction(
    LogScoreWithLinearPenalty=LogScore(perTurnPenalty=0.05)  # the paper's rule
)


class Rules(_Model):
    fixedOpening: list[RoundType] = []
    repeatingStructure: list[RoundType] = []
    fixedClosing: ClosingRules | None = None
    globalQuoteRestriction: int | None = None
    scoringFunction: ScoringFunction = PAPER_SCORING


# --------------------------------------------------------------------------------------------------
# Setup, feedback, the whole file
# --------------------------------------------------------------------------------------------------


class QualitySource(_Model):
    articleId: str
    title: str = ""
    contents: list[str]


class CustomSource(_Model):
    title: str = ""
    contents: list[str]


class SourceMaterial(_OneOf):
    QuALITYSourceMaterial: QualitySource | None = None
    CustomSourceMaterial: CustomSource | None = None


class AnswerChoice(_Model):
    """Our own key (open consultancy and open debate, which the NYU platform did not have): the
    expert who chose the answer it argues, the answer, when (ms)."""

    speaker: str
    answerIndex: int
    timestamp: int | None = None


class Setup(_Model):
    rules: Rules
    sourceMaterial: SourceMaterial
    question: str
    answers: list[str]
    correctAnswerIndex: int
    roles: dict[str, str] = {}
    offlineJudges: dict[str, Annotated[Mode | None, BeforeValidator(_unit_to_none)]] = {}
    creationTime: int | None = None
    answerChoice: AnswerChoice | None = None

    @model_validator(mode="after")
    def _two_answers(self) -> Setup:
        if len(self.answers) != 2:
            raise ValueError(f"a debate has two answers, not {len(self.answers)}")
        if self.correctAnswerIndex not in (0, 1):
            raise ValueError(f"correctAnswerIndex must be 0 or 1, not {self.correctAnswerIndex}")
        if self.answerChoice is not None and self.answerChoice.answerIndex not in (0, 1):
            raise ValueError(
                f"answerChoice.answerIndex must be 0 or 1, not {self.answerChoice.answerIndex}"
            )
        return self

    @property
    def tokens(self) -> list[str]:
        contents: list[str] = self.sourceMaterial.variant[1].contents
        return contents

    @property
    def article_id(self) -> str:
        name, source = self.sourceMaterial.variant
        return source.articleId if name == "QuALITYSourceMaterial" else ""

    @property
    def title(self) -> str:
        title: str = self.sourceMaterial.variant[1].title
        return title


class SurveyAnswers(_Model):
    answers: dict[str, Any] = {}


class SurveyResponse(_OneOf):
    Debater: SurveyAnswers | None = None
    Judge: SurveyAnswers | None = None
    OfflineJudge: SurveyAnswers | None = None


def _feedback(value: Any) -> Any:
    """Older files hold `{}` (Unit) for who gave feedback: no answers to read."""
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if v != {}}
    return value


def _scratchpads(value: Any) -> Any:
    """The platform's own decoder reads a scratchpad it cannot decode as none at all."""
    try:
        return {
            str(k): [[Segment.model_validate(s) for s in note] for note in notes]
            for k, notes in value.items()
        }
    except (AttributeError, TypeError, ValueError):
        return {}


class Debate(_Model):
    setup: Setup
    rounds: list[DebateRound] = []
    feedback: Annotated[dict[str, SurveyResponse], BeforeValidator(_feedback)] = {}
    scratchpads: Annotated[dict[str, list[list[Segment]]], BeforeValidator(_scratchpads)] = {}


# --------------------------------------------------------------------------------------------------
# The lobby's metadata (debates-metadata.json, or .jsonl) and profiles.json
# --------------------------------------------------------------------------------------------------


class DebateMetadata(_Model):
    """What we read of a `debates-metadata.json` entry (the rest is derived from the debate)."""

    name: str
    includedInPaper: bool | None = None
    status: dict[str, Any] | None = None

    @property
    def status_name(self) -> str:
        return next(iter(self.status or {}), "")


class HumanProfile(_Model):
    name: str
    slackEmail: str | None = None


class AIProfile(_Model):
    name: str
    localPort: int | None = None


class Profile(_OneOf):
    Human: HumanProfile | None = None
    AI: AIProfile | None = None


class Profiles(_Model):
    profiles: dict[str, Profile]


def error_text(error: ValidationError, limit: int = 3) -> str:
    """A pydantic error as one line naming the field paths: `rounds[3].JudgeFeedback.distribution:
    Input should be a valid list`."""
    parts = []
    for item in error.errors()[:limit]:
        path = ""
        for part in item["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        message = item["msg"].removeprefix("Value error, ")
        parts.append(f"{path or 'the file'}: {message}")
    more = error.error_count() - limit
    return "; ".join(parts) + (f" (and {more} more problems)" if more > 0 else "")
