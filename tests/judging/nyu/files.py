"""Small debate files in the NYU platform's published format (the `pub/` folder of
julianmichael/debate), written for the tests: our own story, tokens as CoreNLP writes them, and
builders for every round type the platform writes, judgeless debates, timed and legacy offline
judgments, the metadata in both its .json and .jsonl forms, and profiles.json."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

# "The keeper's count", tokenised the way the dataset is: quote marks as `` and '', brackets as
# -LRB- -RRB-, clitics split off, paragraph breaks as two "\n" tokens.
TOKENS = (  # noqa: SIM905 (the story reads better as one string)
    "The keeper counted seven ships -LRB- not the ferry -RRB- that spring . \n \n "
    "Marta 's count was always one higher : `` The ferry carries people , '' she said . \n \n "
    "The inspector did n't hesitate ; he chose Marta 's count ."
).split(" ")
TEXT = (
    "The keeper counted seven ships (not the ferry) that spring.\n\n"
    'Marta\'s count was always one higher: "The ferry carries people," she said.\n\n'
    "The inspector didn't hesitate; he chose Marta's count."
)
# Token spans used below: "Marta 's count was always one higher" and "he chose Marta 's count".
SPAN_HIGHER = [15, 22]
SPAN_CHOSE = [41, 46]

RULES = {
    "fixedOpening": [
        {"JudgeFeedbackRound": {"reportBeliefs": True, "charLimit": 750}},
        {
            "SimultaneousSpeechesRound": {
                "charLimit": 750,
                "quoteLimit": 250,
                "assignedDebatersOnly": False,
            }
        },
        {"JudgeFeedbackRound": {"reportBeliefs": True, "charLimit": 750}},
    ],
    "repeatingStructure": [
        {
            "SequentialSpeechesRound": {
                "charLimit": 750,
                "quoteLimit": 250,
                "assignedDebatersOnly": False,
            }
        },
        {"JudgeFeedbackRound": {"reportBeliefs": True, "charLimit": 750}},
    ],
    "fixedClosing": None,
    "globalQuoteRestriction": None,
    "scoringFunction": {
        "LogScoreWithLinearPenalty": {
            "baseCoefficient": 1.0,
            "constant": 0.0,
            "logBase": 2.0,
            "perTurnPenalty": 0.05,
        }
    },
}
CONSULTANCY_RULES = {
    **RULES,
    "fixedOpening": [{"JudgeFeedbackRound": {"reportBeliefs": True, "charLimit": 750}}],
}

T0 = 1_700_000_000_000


def judge(p_a: float, end: bool, speaker: str, at: int, text: str = "") -> dict[str, Any]:
    return {
        "JudgeFeedback": {
            "distribution": [p_a, round(1 - p_a, 10)],
            "feedback": {
                "speaker": speaker,
                "timestamp": at,
                "content": [{"Text": {"text": text}}] if text else [],
            },
            "endDebate": end,
        }
    }


def speech(speaker: str, at: int, *content: str | list[int]) -> dict[str, Any]:
    return {
        "speaker": speaker,
        "timestamp": at,
        "content": [
            {"Quote": {"span": list(part)}} if isinstance(part, list) else {"Text": {"text": part}}
            for part in content
        ],
    }


def human_debate(name: str = "keeper-0") -> dict[str, Any]:
    """A finished human debate: prior, opening speeches, one sequential round, the judge ends;
    an offline judge; surveys; a scratchpad."""
    a, b, j, off = "Ada Apricot", "Bo Blueberry", "Jo Juniper", "Ola Olive"
    return {
        "setup": {
            "rules": RULES,
            "sourceMaterial": {
                "QuALITYSourceMaterial": {
                    "articleId": "90001",
                    "title": "The Keeper's Count",
                    "contents": TOKENS,
                }
            },
            "question": "Whose count did the inspector choose?",
            "answers": ["Marta's", "The keeper's"],
            "correctAnswerIndex": 0,
            "roles": {"Debater A": a, "Debater B": b, "Judge": j},
            "offlineJudges": {off: "stepped"},
            "creationTime": T0,
        },
        "rounds": [
            judge(0.5, False, j, T0 + 1000),
            {
                "SimultaneousSpeeches": {
                    "speeches": {
                        "0": speech(a, T0 + 2000, "The story says it: ", SPAN_CHOSE, "."),
                        "1": speech(b, T0 + 2500, "He counted ", [2, 5], " and no more."),
                    }
                }
            },
            judge(0.6, False, j, T0 + 3000, "B, what about the inspector?"),
            {
                "SequentialSpeeches": {
                    "speeches": {
                        "1": speech(b, T0 + 4500, "Counts differ: ", SPAN_HIGHER),
                        "0": speech(a, T0 + 4000, "Only one count was chosen."),
                    }
                }
            },
            judge(0.9, True, j, T0 + 5000, "A quoted the decision."),
            {
                "OfflineJudgments": {
                    "judgments": {
                        off: {
                            "mode": "stepped",
                            "startTimeMillis": T0 + 9000,
                            "judgments": [
                                judge(0.5, False, off, T0 + 9100)["JudgeFeedback"],
                                judge(0.7, False, off, T0 + 9200)["JudgeFeedback"],
                                judge(0.8, True, off, T0 + 9300, "Clear enough.")["JudgeFeedback"],
                            ],
                        }
                    }
                }
            },
        ],
        "feedback": {
            j: {
                "Judge": {
                    "answers": {
                        "reason for outcome": "A quoted the decision itself.",
                        "clarity": {"first": 4, "second": 1},
                        "judge reasoning": 3,
                        "identity guesses": {"Debater A": "someone real"},
                    }
                }
            },
            a: {
                "Debater": {"answers": {"subjective correctness": 4, "reason for outcome": "Easy."}}
            },
            off: {"OfflineJudge": {"answers": {"reason for outcome": "Ada Apricot argued well."}}},
        },
        "scratchpads": {"Debater A": [[{"Text": {"text": "quote the decision"}}]]},
    }


def ai_consultancy(name: str = "keeper-1") -> dict[str, Any]:
    """An unfinished AI consultancy (GPT-4 argues answer 1, the wrong one) with an empty
    speech."""
    j = "Jo Juniper"
    debate = human_debate(name)
    debate["setup"]["rules"] = CONSULTANCY_RULES
    debate["setup"]["roles"] = {"Debater B": "GPT-4", "Judge": j}
    debate["setup"]["offlineJudges"] = {}
    debate["rounds"] = [
        judge(0.5, False, j, T0 + 1000),
        {
            "SequentialSpeeches": {
                "speeches": {"1": speech("GPT-4", T0 + 2000, "He counted ", [2, 5])}
            }
        },
        judge(0.4, False, j, T0 + 3000),
        {"SequentialSpeeches": {"speeches": {"1": speech("GPT-4", T0 + 4000)}}},
    ]
    debate["feedback"] = {}
    debate["scratchpads"] = {}
    return debate


# The same story as a pilot debate tokenised it: "did n't" kept as "didn't", the quotation
# marks as plain '"' tokens, one paragraph break lost. Its token indices differ from TOKENS.
PILOT_TOKENS = (  # noqa: SIM905
    "The keeper counted seven ships -LRB- not the ferry -RRB- that spring . \n \n "
    'Marta \'s count was always one higher : " The ferry carries people , " she said . '
    "The inspector didn't hesitate ; he chose Marta 's count ."
).split(" ")
PILOT_SPAN_CHOSE = [38, 43]  # "he chose Marta 's count" in PILOT_TOKENS

JUDGELESS_RULES = {
    "fixedOpening": [
        {
            "SimultaneousSpeechesRound": {
                "charLimit": 750,
                "quoteLimit": None,
                "assignedDebatersOnly": False,
            }
        },
        {"NegotiateEndRound": {"assignedDebatersOnly": False}},
    ],
    "repeatingStructure": [
        {
            "SequentialSpeechesRound": {
                "charLimit": 750,
                "quoteLimit": 250,
                "assignedDebatersOnly": False,
            }
        },
        {"NegotiateEndRound": {}},  # written by an older build: the flag defaults to false
    ],
    "fixedClosing": {
        "maxRepeatCycles": 3,
        "rounds": [
            {
                "SequentialSpeechesRound": {
                    "charLimit": 0,
                    "quoteLimit": None,
                    "assignedDebatersOnly": False,
                }
            }
        ],
    },
    "globalQuoteRestriction": 900,
    "scoringFunction": RULES["scoringFunction"],
}


def judgeless_debate(name: str = "keeper-2") -> dict[str, Any]:
    """A human debate with no live judge, ended by agreement after B first voted to go on;
    judged offline by a timed judge (start time unknown: -1), a stepped judge, and one judging
    in the legacy format (a single result)."""
    a, b = "Ada Apricot", "Bo Blueberry"
    debate = human_debate(name)
    setup = debate["setup"]
    setup["rules"] = JUDGELESS_RULES
    setup["roles"] = {"Debater A": a, "Debater B": b}
    setup["offlineJudges"] = {"Tim Thyme": "timed", "Ola Olive": "stepped", "Lee Lime": {}}
    debate["rounds"] = [
        {
            "SimultaneousSpeeches": {
                "speeches": {
                    "0": speech(a, T0 + 2000, "The story says it: ", SPAN_CHOSE, "."),
                    "1": speech(b, T0 + 2500, "He counted ", [2, 5], " and no more."),
                }
            }
        },
        {"NegotiateEnd": {"votes": {"0": True, "1": False}}},
        {
            "SequentialSpeeches": {
                "speeches": {
                    "0": speech(a, T0 + 4000, "Only one count was chosen."),
                    "1": speech(b, T0 + 4500, "Counts differ: ", SPAN_HIGHER),
                }
            }
        },
        {"NegotiateEnd": {"votes": {"1": True, "0": True}}},
        {
            "OfflineJudgments": {
                "judgments": {
                    "Tim Thyme": {
                        "mode": "timed",
                        "startTimeMillis": -1,
                        "judgments": [judge(0.8, True, "Tim Thyme", T0 + 8000)["JudgeFeedback"]],
                    },
                    "Ola Olive": {
                        "mode": "stepped",
                        "startTimeMillis": T0 + 9000,
                        "judgments": [
                            judge(0.5, False, "Ola Olive", T0 + 9100)["JudgeFeedback"],
                            judge(0.6, False, "Ola Olive", T0 + 9200, "A, more.")["JudgeFeedback"],
                            judge(0.9, True, "Ola Olive", T0 + 9300)["JudgeFeedback"],
                        ],
                    },
                    "Lee Lime": {
                        "mode": "stepped",
                        "startTimeMillis": T0 + 9500,
                        "numContinues": 1,
                        "result": {
                            "distribution": [0.3, 0.7],
                            "explanation": "B.",
                            "timestamp": T0 + 9900,
                        },
                    },
                }
            }
        },
    ]
    debate["feedback"] = {
        b: {
            "Debater": {
                "answers": {"clarity": {"first": 3, "second": 1}, "subjective correctness": 2}
            }
        },
        "Tim Thyme": {"OfflineJudge": {"answers": {"reason for outcome": "Quotes."}}},
        "Nobody Here": {"Judge": {"answers": {"reason for outcome": "?"}}},
        "Old Build": {},  # older files: feedback given, no answers recorded
    }
    debate["scratchpads"] = {}
    return debate


def pilot_debate(name: str = "keeper-pilot") -> dict[str, Any]:
    """A pilot of late 2022: the same story tokenised differently, a speaker written as an
    object, an offline judge listed with `{}` for its mode."""
    debate = human_debate(name)
    setup = debate["setup"]
    setup["sourceMaterial"]["QuALITYSourceMaterial"]["contents"] = PILOT_TOKENS
    setup["offlineJudges"] = {}
    setup["creationTime"] = T0 - 90 * 86_400_000
    debate["rounds"] = debate["rounds"][:5]
    opening = debate["rounds"][1]["SimultaneousSpeeches"]["speeches"]
    opening["0"] = speech("Ada Apricot", T0 + 2000, "The story says it: ", PILOT_SPAN_CHOSE, ".")
    opening["0"]["speaker"] = {"name": "Ada Apricot", "role": {"Debater": {"answerIndex": 0}}}
    sequential = debate["rounds"][3]["SequentialSpeeches"]["speeches"]
    sequential["1"] = speech("Bo Blueberry", T0 + 4500, "Counts differ.")
    debate["feedback"] = {}
    return debate


# The judgeless rules as the published files write them: no vote until the repeating rounds have
# run their cycles, then the closing alternates votes and speeches; if no vote ends it, the
# debate ends when the closing runs out ("time up").
PUBLISHED_JUDGELESS_RULES = {
    "fixedOpening": [
        {
            "SimultaneousSpeechesRound": {
                "charLimit": 750,
                "quoteLimit": 250,
                "assignedDebatersOnly": False,
            }
        }
    ],
    "repeatingStructure": [
        {
            "SequentialSpeechesRound": {
                "charLimit": 750,
                "quoteLimit": 250,
                "assignedDebatersOnly": False,
            }
        }
    ],
    "fixedClosing": {
        "maxRepeatCycles": 2,
        "rounds": [
            {"NegotiateEndRound": {"assignedDebatersOnly": False}},
            {
                "SequentialSpeechesRound": {
                    "charLimit": 750,
                    "quoteLimit": 250,
                    "assignedDebatersOnly": False,
                }
            },
            {"NegotiateEndRound": {"assignedDebatersOnly": False}},
            {
                "SequentialSpeechesRound": {
                    "charLimit": 750,
                    "quoteLimit": 250,
                    "assignedDebatersOnly": False,
                }
            },
        ],
    },
    "globalQuoteRestriction": None,
    "scoringFunction": RULES["scoringFunction"],
}


def time_up_debate(name: str = "keeper-3") -> dict[str, Any]:
    """A judgeless debate under the published rules that no vote ends: it ends when the closing
    runs out."""
    a, b = "Ada Apricot", "Bo Blueberry"
    debate = judgeless_debate(name)
    debate["setup"]["rules"] = PUBLISHED_JUDGELESS_RULES
    debate["setup"]["offlineJudges"] = {}
    seq = lambda at: {  # noqa: E731
        "SequentialSpeeches": {
            "speeches": {"0": speech(a, at, "Still A."), "1": speech(b, at + 10, "Still B.")}
        }
    }
    debate["rounds"] = [
        debate["rounds"][0],
        seq(T0 + 3000),
        seq(T0 + 4000),
        {"NegotiateEnd": {"votes": {"0": False, "1": True}}},
        seq(T0 + 5000),
        {"NegotiateEnd": {"votes": {"0": True, "1": False}}},
        seq(T0 + 6000),
    ]
    debate["feedback"] = {}
    return debate


# A pilot's tokens as the earliest build wrote them: chunks of sentences, their own spaces kept.
CHUNK_TOKENS = [
    "The Keeper's Count",
    "\n",
    "\n",
    " The keeper counted seven ships that spring.",
    " Marta's count was always one higher.",
    "\n",
    "\n",
    ' "The ferry carries people," she said.',
]


def chunk_pilot(name: str = "keeper-chunks") -> dict[str, Any]:
    debate = pilot_debate(name)
    debate["setup"]["sourceMaterial"]["QuALITYSourceMaterial"]["contents"] = CHUNK_TOKENS
    opening = debate["rounds"][1]["SimultaneousSpeeches"]["speeches"]
    opening["0"] = speech("Ada Apricot", T0 + 2000, "Look: ", [4, 5])
    opening["1"] = speech("Bo Blueberry", T0 + 2500, "And: ", [3, 4])
    debate["rounds"][3]["SequentialSpeeches"]["speeches"]["0"] = speech(
        "Ada Apricot", T0 + 4000, "Done."
    )
    return debate


PROFILES = {
    "Ada Apricot": {"Human": {"name": "Ada Apricot", "slackEmail": None}},
    "Pat Persimmon": {"Human": {"name": "Pat Persimmon", "slackEmail": "pat@example.org"}},
    "GPT-4": {"AI": {"name": "GPT-4", "localPort": None}},
}
OPEN_FEEDBACK = {
    "sections": [
        {
            "name": "Protocol",
            "questions": [
                {
                    "question": "What should change?",
                    "answers": [{"answer": "Longer speeches", "responses": {"Ada Apricot": True}}],
                }
            ],
        }
    ]
}


def published_folder(
    folder: Path, *debates: tuple[str, dict[str, Any]], jsonl: bool = True
) -> Path:
    """A folder laid out as the published pub/: debates/official/<name>.json,
    debates/profiles.json, open-feedback.json and the metadata (.jsonl, as released)."""
    for name, data in debates:
        write(folder / "debates" / "official", name, data)
    write(folder / "debates", "profiles", PROFILES)
    write(folder / "debates", "open-feedback", OPEN_FEEDBACK)

    def status(data: dict[str, Any]) -> dict[str, Any]:
        rounds = data["rounds"]
        ended = any(
            r.get("JudgeFeedback", {}).get("endDebate")
            or (r.get("NegotiateEnd") and all(r["NegotiateEnd"]["votes"].values()))
            for r in rounds
        )
        return (
            {"Complete": {}} if ended else {"InProgress": {}} if rounds else {"WaitingToBegin": {}}
        )

    entries = [
        {
            "name": name,
            "status": status(data),
            "includedInPaper": name == "keeper-0",
            "currentParticipants": [],
        }
        for name, data in debates
    ]
    if jsonl:
        (folder / "debates-metadata.jsonl").write_text(
            "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in entries)
        )
    else:
        write(folder, "debates-metadata", entries)
    return folder


def metadata(*entries: tuple[str, str, bool]) -> list[dict[str, Any]]:
    """(name, status, included in paper) -> debates-metadata.json entries."""
    return [
        {"name": name, "status": {status: {}}, "includedInPaper": included}
        for name, status, included in entries
    ]


def write(folder: Path, name: str, data: Any) -> Path:
    path = folder / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def variant(base: dict[str, Any], edit) -> dict[str, Any]:
    copied = copy.deepcopy(base)
    edit(copied)
    return copied
