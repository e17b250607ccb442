"""What the NYU platform's terms are in ours, both ways: rules and round structures, scoring
functions, roles, survey answers and times. Pure: plain values in and out (no Django); the
importer and the exporter use these, so a value read and written back is the value read.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from judging.nyu import schema
from judging.nyu.tokens import render_text

ROLE_JUDGE = "Judge"
ROLE_DEBATER = ("Debater A", "Debater B")  # debater index 0 and 1 (the answer each argues)
AI_PARTICIPANT = "GPT-4"

# Survey answers dropped wherever they are met: in the published data they hold real names.
DROPPED_SURVEY_ANSWERS = frozenset({"identity guesses"})

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# --------------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------------


def structure_from_rules(rules: schema.Rules) -> dict[str, Any]:
    """NYU rules as debate/protocol.py's structure dict. A charLimit of 0 or less is no limit
    (the platform checks `charLimit > 0 && length > charLimit`); a null quoteLimit is none."""
    closing = rules.fixedClosing
    data: dict[str, Any] = {
        "opening": [_round_spec(r) for r in rules.fixedOpening],
        "repeating": [_round_spec(r) for r in rules.repeatingStructure],
        "closing": None
        if closing is None
        else {
            "max_repeat_cycles": closing.maxRepeatCycles,
            "rounds": [_round_spec(r) for r in closing.rounds],
        },
    }
    if rules.globalQuoteRestriction is not None:
        data["global_quote_limit"] = rules.globalQuoteRestriction
    return data


def rules_from_structure(
    structure: Mapping[str, Any], scoring: Mapping[str, Any]
) -> dict[str, Any]:
    """debate/protocol.py's structure dict (and scoring dict) as NYU `setup.rules`."""
    closing = structure.get("closing")
    return {
        "fixedOpening": [_round_type(s) for s in structure.get("opening") or []],
        "repeatingStructure": [_round_type(s) for s in structure.get("repeating") or []],
        "fixedClosing": None
        if not closing
        else {
            "maxRepeatCycles": closing["max_repeat_cycles"],
            "rounds": [_round_type(s) for s in closing["rounds"]],
        },
        "globalQuoteRestriction": structure.get("global_quote_limit"),
        "scoringFunction": scoring_function(scoring),
    }


def scoring_from_rules(scoring: schema.ScoringFunction) -> dict[str, Any]:
    """NYU's scoring function as debate/scoring.py's ScoringRule parameters."""
    kind, params = scoring.variant
    if kind == "LogScoreWithLinearPenalty":
        return {
            "kind": "log",
            "log_base": params.logBase,
            "coefficient": params.baseCoefficient,
            "constant": params.constant,
            "per_turn_penalty": params.perTurnPenalty,
        }
    return {
        "kind": "spherical" if kind.startswith("Spherical") else "quadratic",
        "coefficient": params.baseCoefficient,
        "per_turn_penalty": params.perTurnPenalty,
    }


def scoring_function(scoring: Mapping[str, Any]) -> dict[str, Any]:
    """debate/scoring.py's parameters as NYU's scoring function (the paper's when empty)."""
    from debate.scoring import ScoringRule

    rule = ScoringRule.from_dict(scoring or {})
    if rule.kind.value == "log":
        return {
            "LogScoreWithLinearPenalty": {
                "baseCoefficient": rule.coefficient,
                "constant": rule.constant,
                "logBase": rule.log_base,
                "perTurnPenalty": rule.per_turn_penalty,
            }
        }
    name = (
        "SphericalScoreWithLinearPenalty"
        if rule.kind.value == "spherical"
        else "QuadraticScoreWithLinearPenalty"
    )
    return {name: {"baseCoefficient": rule.coefficient, "perTurnPenalty": rule.per_turn_penalty}}


def _round_spec(round_type: schema.RoundType) -> dict[str, Any]:
    kind, params = round_type.variant
    if kind == "JudgeFeedbackRound":
        return {"kind": "judge", "char_limit": _limit(params.charLimit)}
    if kind == "NegotiateEndRound":
        data: dict[str, Any] = {"kind": "negotiate_end"}
    elif kind in ("SimultaneousSpeechesRound", "SequentialSpeechesRound"):
        data = {
            "kind": "simultaneous" if kind.startswith("Simultaneous") else "sequential",
            "char_limit": _limit(params.charLimit),
            "quote_limit": params.quoteLimit,
        }
    else:
        raise ValueError(f"a {kind} cannot be played as a round of the rules")
    if params.assignedDebatersOnly:
        data["assigned_only"] = True
    return data


def _round_type(spec: Mapping[str, Any]) -> dict[str, Any]:
    kind = spec["kind"]
    assigned = bool(spec.get("assigned_only", False))
    if kind == "judge":
        return {"JudgeFeedbackRound": {"reportBeliefs": True, "charLimit": spec["char_limit"] or 0}}
    if kind == "negotiate_end":
        return {"NegotiateEndRound": {"assignedDebatersOnly": assigned}}
    name = "SimultaneousSpeechesRound" if kind == "simultaneous" else "SequentialSpeechesRound"
    return {
        name: {
            "charLimit": spec.get("char_limit") or 0,
            "quoteLimit": spec.get("quote_limit", 0),
            "assignedDebatersOnly": assigned,
        }
    }


def _limit(char_limit: int) -> int | None:
    return char_limit if char_limit > 0 else None


# --------------------------------------------------------------------------------------------------
# Survey answers
# --------------------------------------------------------------------------------------------------


def survey_answers(answers: Mapping[str, Any], *, own_role: str | None) -> dict[str, Any]:
    """Stored survey answers as we keep them: Likert 0-4 as 1-5; comparative `{first, second}`
    as ratings per seat (for a judge first/second are debaters A/B; for a debater, themselves and
    their opponent); text as text; the dropped answers left out. ``own_role`` is our role of a
    debater answering (debater_a or debater_b), None for judges."""
    first, second = _comparative_roles(own_role)
    kept: dict[str, Any] = {}
    for key, value in answers.items():
        if key in DROPPED_SURVEY_ANSWERS:
            continue
        if isinstance(value, bool) or value is None:
            kept[key] = value
        elif isinstance(value, int | float):
            kept[key] = int(value) + 1
        elif isinstance(value, Mapping) and set(value) <= {"first", "second"}:
            kept[key] = {
                first: int(value["first"]) + 1 if "first" in value else None,
                second: int(value["second"]) + 1 if "second" in value else None,
            }
        else:
            kept[key] = value
    return kept


def nyu_survey_answers(answers: Mapping[str, Any], *, own_role: str | None) -> dict[str, Any]:
    """Our survey answers back in the NYU encoding (the inverse of `survey_answers`)."""
    first, second = _comparative_roles(own_role)
    out: dict[str, Any] = {}
    for key, value in answers.items():
        if isinstance(value, bool) or value is None:
            out[key] = value
        elif isinstance(value, int):
            out[key] = value - 1
        elif isinstance(value, Mapping) and set(value) <= {"debater_a", "debater_b"}:
            out[key] = {
                name: value[role] - 1
                for name, role in (("first", first), ("second", second))
                if value.get(role) is not None
            }
        else:
            out[key] = value
    return out


def _comparative_roles(own_role: str | None) -> tuple[str, str]:
    if own_role == "debater_b":
        return ("debater_b", "debater_a")
    return ("debater_a", "debater_b")


# --------------------------------------------------------------------------------------------------
# Scratchpads
# --------------------------------------------------------------------------------------------------


def scratchpad_text(notes: list[list[schema.Segment]], tokens: list[str]) -> str:
    """NYU scratchpad notes as one text: notes a blank line apart, a quote as the story's words
    in quotation marks."""
    texts = []
    for note in notes:
        parts = []
        for segment in note:
            if segment.Text is not None:
                parts.append(segment.Text.text)
            elif segment.Quote is not None:
                begin, end = segment.Quote.span
                parts.append(f"“{render_text(tokens[begin:end])}”")
        texts.append("".join(parts))
    return "\n\n".join(t for t in texts if t)


# --------------------------------------------------------------------------------------------------
# Times
# --------------------------------------------------------------------------------------------------


def time_of(ms: int | None) -> datetime | None:
    """Epoch milliseconds as an aware datetime, exactly (no float rounding); -1 and other
    negative values, which the platform writes for "unknown", are None."""
    if ms is None or ms < 0:
        return None
    return _EPOCH + timedelta(milliseconds=ms)


def ms_of(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    return (moment - _EPOCH) // timedelta(milliseconds=1)
