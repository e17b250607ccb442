"""The NYU platform's files read through their pydantic models: every round type the platform
writes, the shapes older builds wrote, and a bad file refused with the field at fault."""

from __future__ import annotations

import pytest

from judging.nyu.schema import Debate, DebateMetadata, Profiles, ValidationError, error_text
from tests.judging.nyu.files import (
    PROFILES,
    human_debate,
    judgeless_debate,
    pilot_debate,
    variant,
)


def test_a_whole_debate_parses_with_offline_judgments_surveys_and_notes():
    debate = Debate.model_validate(human_debate())

    assert [r.variant[0] for r in debate.rounds] == [
        "JudgeFeedback",
        "SimultaneousSpeeches",
        "JudgeFeedback",
        "SequentialSpeeches",
        "JudgeFeedback",
        "OfflineJudgments",
    ]
    assert sorted(debate.rounds[3].SequentialSpeeches.speeches) == [0, 1]
    offline = debate.rounds[5].OfflineJudgments.judgments["Ola Olive"]
    assert offline.mode == "stepped" and len(offline.judgments) == 3
    assert debate.feedback["Jo Juniper"].variant[0] == "Judge"
    assert debate.scratchpads["Debater A"][0][0].Text.text == "quote the decision"
    assert debate.setup.article_id == "90001"


def test_judgeless_rounds_timed_and_legacy_offline_judgments_and_old_shapes_parse():
    debate = Debate.model_validate(judgeless_debate())

    assert debate.rounds[1].NegotiateEnd.votes == {0: True, 1: False}
    rules = debate.setup.rules
    assert rules.repeatingStructure[1].NegotiateEndRound.assignedDebatersOnly is False
    assert rules.fixedClosing.maxRepeatCycles == 3 and rules.globalQuoteRestriction == 900
    assert rules.fixedOpening[0].SimultaneousSpeechesRound.quoteLimit is None
    judgings = debate.rounds[4].OfflineJudgments.judgments
    assert judgings["Tim Thyme"].mode == "timed" and judgings["Tim Thyme"].startTimeMillis == -1
    legacy = judgings["Lee Lime"].judgments  # {mode, startTimeMillis, numContinues, result}
    assert len(legacy) == 1 and legacy[0].endDebate and legacy[0].distribution == [0.3, 0.7]
    assert legacy[0].feedback.text == "B."
    assert debate.setup.offlineJudges["Lee Lime"] is None  # `{}`: no mode chosen yet
    assert "Old Build" not in debate.feedback
    pilot = Debate.model_validate(pilot_debate())
    assert pilot.rounds[1].SimultaneousSpeeches.speeches[0].speaker == "Ada Apricot"


def test_a_scratchpad_the_platform_cannot_read_is_read_as_none_as_it_does():
    data = variant(human_debate(), lambda d: d["scratchpads"].update({"Offline Judge": "oops"}))

    assert Debate.model_validate(data).scratchpads == {}


def test_metadata_and_profiles_parse_in_their_published_shapes():
    entry = DebateMetadata.model_validate(
        {"name": "x", "status": {"Complete": {"result": {}}}, "includedInPaper": True, "extra": 1}
    )
    assert entry.status_name == "Complete" and entry.includedInPaper
    profiles = Profiles(profiles=PROFILES).profiles
    assert profiles["GPT-4"].variant[0] == "AI"
    assert profiles["Pat Persimmon"].Human.slackEmail == "pat@example.org"


def broken(edit):
    return variant(human_debate(), edit)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            broken(lambda d: d["rounds"].append({"Interlude": {}})),
            "rounds[6]: unknown DebateRound 'Interlude'",
        ),
        (
            broken(lambda d: d["setup"]["rules"]["repeatingStructure"].append({"Break": {}})),
            "setup.rules.repeatingStructure[2]: unknown RoundType 'Break'",
        ),
        (
            broken(
                lambda d: d["rounds"][1]["SimultaneousSpeeches"]["speeches"]["0"]["content"].append(
                    {"Quote": {"span": [910, 900]}}
                )
            ),
            "rounds[1].SimultaneousSpeeches.speeches.0.content[3].Quote: quote span [910, 900]",
        ),
        (broken(lambda d: d["setup"].pop("question")), "setup.question: Field required"),
        (broken(lambda d: d["setup"].update(answers=["x"])), "setup: a debate has two answers"),
        (
            broken(lambda d: d["rounds"][0]["JudgeFeedback"].update(distribution="half")),
            "rounds[0].JudgeFeedback.distribution: Input should be a valid list",
        ),
        ({"hello": "world"}, "setup: Field required"),
    ],
)
def test_a_bad_file_is_refused_with_the_field_path_at_fault(data, message):
    with pytest.raises(ValidationError) as raised:
        Debate.model_validate(data)

    assert message in error_text(raised.value)
