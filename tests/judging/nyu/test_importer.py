"""Importing NYU debate files and exporting sessions: what lands in the database, what a bad file
does (reported, nothing of it saved), idempotence, the three export formats and the round trip;
with the shared dataset present, all 413 of the paper's debates."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from debate.models import (
    EndVote,
    Judgment,
    Passage,
    Question,
    Quote,
    Scratchpad,
    Seat,
    Session,
    Speech,
)
from debate.visibility import view_for
from judging.analysis import AnalysisFilters, analysis_run
from judging.export import export_sessions
from judging.models import SurveyResponse
from judging.nyu.importer import nyu_import
from tests.judging.nyu import files as nyu_files
from tests.judging.nyu.files import T0, ai_consultancy, human_debate, metadata, variant, write
from tests.judging.nyu.roundtrip import differences
from tests.shared_data import SHARED, needs_shared

pytestmark = pytest.mark.django_db


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write(tmp_path / "debates", "keeper-0", human_debate())
    write(tmp_path / "debates" / "more", "keeper-1", ai_consultancy())
    write(
        tmp_path,
        "debates-metadata",
        metadata(("keeper-0", "Complete", True), ("keeper-1", "InProgress", False)),
    )
    return tmp_path


def imported(folder: Path) -> str:
    out = io.StringIO()
    call_command("import_nyu_debates", str(folder), stdout=out)
    return out.getvalue()


def test_a_finished_human_debate_arrives_whole(folder):
    output = imported(folder)
    assert "Imported 2 sessions from 2 files" in output
    assert "1 ai_consultancy, 1 human_debate" in output
    session = Session.objects.get(external_id="keeper-0")
    assert session.status == Session.Status.FINISHED and session.included_in_paper is True
    assert session.protocol == "debate" and session.answers == ["Marta's", "The keeper's"]
    assert session.correct_position == 0
    assert session.created_at.timestamp() * 1000 == T0
    passage = session.question.passage
    assert passage.text == nyu_files.TEXT and passage.tokens.tokens == nyu_files.TOKENS
    seats = {s.role: s for s in session.seats.select_related("user")}
    assert seats["debater_a"].user.username == "Ada Apricot"
    assert not seats["debater_a"].user.is_active  # dataset people cannot log in
    assert seats["debater_b"].answer_position == 1
    assert seats["offline_judge"].user.username == "Ola Olive"
    speeches = Speech.objects.filter(round__session=session).order_by("round__index", "created_at")
    assert [(s.round.index, s.seat.role) for s in speeches] == [
        (1, "debater_a"),
        (1, "debater_b"),
        (3, "debater_a"),
        (3, "debater_b"),
    ]
    first = speeches[0]
    assert first.text == "The story says it: <quote>he chose Marta's count</quote>."
    quote = Quote.objects.get(speech=first)
    assert passage.text[quote.start : quote.end] == "he chose Marta's count" and quote.verified
    live = Judgment.objects.filter(session=session, kind="live").order_by("round__index")
    assert [j.probabilities[0] for j in live] == [0.5, 0.6, 0.9]
    assert [j.end for j in live] == [False, False, True]
    assert live[1].text == "B, what about the inspector?"
    offline = Judgment.objects.filter(session=session, kind="offline").order_by("step")
    assert [(j.round.index, j.probabilities[0], j.end) for j in offline] == [
        (0, 0.5, False),
        (2, 0.7, False),
        (4, 0.8, True),
    ]
    survey = SurveyResponse.objects.get(seat=seats["judge"])
    assert survey.answers["clarity"] == {"debater_a": 5, "debater_b": 2}
    assert survey.answers["judge reasoning"] == 4
    assert "identity guesses" not in survey.answers
    assert Scratchpad.objects.get(seat=seats["debater_a"]).text == "quote the decision"


def test_an_unfinished_ai_consultancy_with_an_empty_speech_keeps_its_real_status(folder):
    imported(folder)
    session = Session.objects.get(external_id="keeper-1")
    assert session.status == Session.Status.IN_PROGRESS and session.included_in_paper is False
    assert session.protocol == "consultancy" and session.finished_at is None
    consultant = session.seats.get(role="consultant")
    assert consultant.agent_link.agent.name == "GPT-4" and consultant.answer_position == 1
    assert list(Speech.objects.filter(seat=consultant).values_list("text", flat=True)) == [
        "He counted <quote>counted seven ships</quote>",
        "",
    ]


def test_importing_twice_changes_nothing(folder):
    imported(folder)
    counts = [m.objects.count() for m in (Passage, Question, Session, Seat, Speech, Judgment)]
    output = imported(folder)
    assert "already imported, left as they were: 2" in output
    assert [
        m.objects.count() for m in (Passage, Question, Session, Seat, Speech, Judgment)
    ] == counts


def test_bad_files_are_reported_by_name_and_leave_nothing_half_imported(tmp_path):
    debates = tmp_path / "debates"
    write(debates, "good", human_debate())
    write(debates, "truncated", json.dumps(human_debate())[:500])
    write(debates, "not-a-debate", {"players": ["x"]})
    write(debates, "missing-field", variant(human_debate(), lambda d: d["setup"].pop("answers")))
    write(
        debates,
        "span-backwards",
        variant(
            human_debate(),
            lambda d: d["rounds"][1]["SimultaneousSpeeches"]["speeches"]["0"]["content"].append(
                {"Quote": {"span": [10, 5]}}
            ),
        ),
    )
    write(
        debates, "odd-round", variant(human_debate(), lambda d: d["rounds"].append({"Pause": {}}))
    )
    # Legal to read, but the judge ends before any speech: it breaks the rules, and its new
    # passage and question must not stay behind.
    write(
        debates,
        "ends-at-once",
        variant(
            human_debate(),
            lambda d: (
                d["setup"]["sourceMaterial"]["QuALITYSourceMaterial"].update(articleId="90002"),
                d.update(rounds=[nyu_files.judge(0.9, True, "Jo Juniper", T0)]),
            ),
        ),
    )
    summary = nyu_import(path=tmp_path)
    assert summary.sessions == 1 and summary.files == 7
    reasons = dict(summary.skipped)
    assert "debate truncated: not JSON" in reasons[str(debates / "truncated.json")]
    assert "not a debate file" in reasons[str(debates / "not-a-debate.json")]
    assert "setup.answers: Field required" in reasons[str(debates / "missing-field.json")]
    assert (
        "rounds[1].SimultaneousSpeeches.speeches.0.content[3].Quote: quote span [10, 5]"
        in reasons[str(debates / "span-backwards.json")]
    )
    assert "rounds[6]: unknown DebateRound 'Pause'" in reasons[str(debates / "odd-round.json")]
    assert "breaks its rules" in reasons[str(debates / "ends-at-once.json")]
    assert not Passage.objects.filter(story_key="quality:90002").exists()
    output = io.StringIO()
    call_command("import_nyu_debates", str(tmp_path), stdout=output)
    assert "Skipped 6:" in output.getvalue() and "not-a-debate.json" in output.getvalue()


def test_a_missing_path_is_a_clear_error(tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="does not exist"):
        imported(tmp_path / "nowhere")


# --------------------------------------------------------------------------------------------------
# Exports
# --------------------------------------------------------------------------------------------------


def test_jsonl_export_is_one_readable_record_per_session(folder, tmp_path):
    imported(folder)
    out = tmp_path / "sessions.jsonl"
    call_command("export_sessions", str(out), "--format", "jsonl", stdout=io.StringIO())
    records = {r["session"]: r for r in map(json.loads, out.read_text().splitlines())}
    debate = records["keeper-0"]
    assert debate["setting"] == "human_debate" and debate["correct_index"] == 0
    assert debate["final_judgment"]["probability_correct"] == 0.9
    assert debate["final_judgment"]["continues"] == 2
    assert debate["scores"]["judge"] == pytest.approx(-0.252, abs=1e-3)  # log2(.9) - .05 * 2
    speech = debate["rounds"][1]["speeches"][0]
    assert "<quote>he chose Marta's count</quote>" in speech["text"]
    assert speech["quotes"][0]["verified"] is True
    roles = {s["role"]: s for s in debate["seats"]}
    assert roles["debater_a"]["honest"] is True and roles["debater_b"]["honest"] is False
    assert roles["debater_a"]["participant"] == "Ada Apricot"
    assert {s["role"] for s in debate["surveys"]} == {"judge", "debater_a", "offline_judge"}
    assert records["keeper-1"]["final_judgment"] is None


def test_anonymized_exports_use_stable_pseudonyms_and_drop_text_naming_people(folder, tmp_path):
    imported(folder)
    first, second = io.StringIO(), io.StringIO()
    export_sessions(sessions=Session.objects.all(), fmt="jsonl", out=first, anonymize=True)
    export_sessions(sessions=Session.objects.all(), fmt="jsonl", out=second, anonymize=True)
    assert first.getvalue() == second.getvalue()
    text = first.getvalue()
    for name in ("Ada Apricot", "Bo Blueberry", "Jo Juniper", "Ola Olive"):
        assert name not in text
    assert "participant-" in text and "GPT-4" in text  # agents keep their names
    record = next(r for r in map(json.loads, text.splitlines()) if r["session"] == "keeper-0")
    offline_survey = next(s for s in record["surveys"] if s["role"] == "offline_judge")
    assert "reason for outcome" not in offline_survey["answers"]  # it named a debater


def test_csv_export_has_the_columns_an_analysis_needs(folder):
    imported(folder)
    out = io.StringIO()
    export_sessions(sessions=Session.objects.order_by("pk"), fmt="csv", out=out)
    rows = {r["session"]: r for r in csv.DictReader(io.StringIO(out.getvalue()))}
    row = rows["keeper-0"]
    assert row["setting"] == "human_debate" and row["judge"] == "Jo Juniper"
    assert row["final_probability_correct"] == "0.9" and row["judge_correct"] == "True"
    assert row["rounds"] == "2" and row["continues"] == "2"
    assert int(row["characters"]) > 0 and int(row["quoted_characters"]) > 0
    assert rows["keeper-1"]["judge_correct"] == ""


def test_filters_pick_the_sessions_exported(folder, tmp_path):
    imported(folder)
    out = tmp_path / "paper.csv"
    output = io.StringIO()
    call_command(
        "export_sessions",
        str(out),
        "--format",
        "csv",
        "--filter",
        "included_in_paper=true",
        stdout=output,
    )
    assert "Wrote 1 of 1 sessions" in output.getvalue()
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Bad --filter"):
        call_command("export_sessions", str(out), "--filter", "colour=blue", stdout=output)


def canonical(sessions) -> dict[str, dict]:
    """Everything a session holds, without database ids: what a round trip must keep."""
    out = io.StringIO()
    export_sessions(sessions=sessions, fmt="jsonl", out=out)
    records = {}
    for line in out.getvalue().splitlines():
        record = json.loads(line)
        record.pop("id")
        records[record["session"]] = record
    return records


def wipe() -> None:
    Session.objects.all().delete()
    Question.objects.all().delete()
    Passage.objects.all().delete()


def test_nyu_export_reads_back_into_the_same_sessions(folder, tmp_path):
    imported(folder)
    before = canonical(Session.objects.all())
    target = tmp_path / "export.zip"
    call_command("export_sessions", str(target), "--format", "nyu", stdout=io.StringIO())
    with zipfile.ZipFile(target) as archive:
        assert sorted(archive.namelist()) == [
            "debates-metadata.json",
            "debates/official/keeper-0.json",
            "debates/official/keeper-1.json",
            "debates/profiles.json",
        ]
        archive.extractall(tmp_path / "unzipped")
    wipe()
    summary = nyu_import(path=tmp_path / "unzipped")
    assert summary.skipped == [] and summary.sessions == 2
    assert canonical(Session.objects.all()) == before


def test_our_own_sessions_export_as_nyu_files_with_token_spans(tmp_path):
    from tests.factories import judge, make_debate, quote, speak

    session = make_debate()
    judge(session, [0.5, 0.5])
    speak(session, "debater_a", f"Look: {quote(session, 'seven ships passed the point')}")
    speak(session, "debater_b", "No quote from me.")
    export_sessions(sessions=Session.objects.filter(pk=session.pk), fmt="nyu", out=tmp_path)
    (file,) = (tmp_path / "debates" / "official").iterdir()
    data = json.loads(file.read_text())
    text_tokens = data["setup"]["sourceMaterial"]["CustomSourceMaterial"]["contents"]
    speech = data["rounds"][1]["SimultaneousSpeeches"]["speeches"]
    position = next(s for s in session.seats.all() if s.role == "debater_a").answer_position
    begin, end = speech[str(position)]["content"][1]["Quote"]["span"]
    assert text_tokens[begin:end] == ["seven", "ships", "passed", "the", "point"]


def test_staff_download_an_export_of_selected_sessions_from_the_admin(folder, client):
    from tests.factories import make_user

    imported(folder)
    client.force_login(make_user("ops", is_staff=True, is_superuser=True))
    chosen = Session.objects.get(external_id="keeper-0")
    for action, expected in (
        ("export_jsonl", "keeper-0"),
        ("export_csv", "session,setting"),
        ("export_jsonl_anonymized", "keeper-0"),
    ):
        response = client.post(
            "/admin/debate/session/",
            {"action": action, "_selected_action": [chosen.pk]},
        )
        assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
        assert expected in response.content.decode()
    response = client.post(
        "/admin/debate/session/", {"action": "export_nyu", "_selected_action": [chosen.pk]}
    )
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert "debates/official/keeper-0.json" in archive.namelist()


# --------------------------------------------------------------------------------------------------
# The paper's 413 debates
# --------------------------------------------------------------------------------------------------


@needs_shared
def test_all_413_shared_debates_import_with_the_papers_counts_and_round_trip(tmp_path):
    summary = nyu_import(path=SHARED)
    assert summary.skipped == []
    assert dict(summary.sessions_by_setting) == {
        "human_debate": 154,
        "human_consultancy": 96,
        "ai_debate": 87,
        "ai_consultancy": 76,
    }
    assert Session.objects.filter(included_in_paper=True).count() == 413
    assert Question.objects.count() == len(
        {
            (s.question.passage.story_key, s.question.text)
            for s in Session.objects.select_related("question__passage")
        }
    )  # one row per question, whatever order the debates showed its answers in
    before = canonical(Session.objects.all())
    export_sessions(sessions=Session.objects.all(), fmt="nyu", out=tmp_path / "out")

    # Each exported file against its original, field by field: equal but for what the README
    # names as dropped on purpose (roundtrip.comparable).
    exported = tmp_path / "out" / "debates" / "official"
    for original in sorted((SHARED / "debates").glob("*.json")):
        found = differences(
            json.loads(original.read_text()), json.loads((exported / original.name).read_text())
        )
        assert found == [], original.name
    metadata_before = {
        m["name"]: m for m in json.loads((SHARED / "debates-metadata.json").read_text())
    }
    metadata_after = {
        m["name"]: m for m in json.loads((tmp_path / "out" / "debates-metadata.json").read_text())
    }
    for name, entry in metadata_before.items():
        written = metadata_after[name]
        for key in (
            "setting",
            "name",
            "sourceMaterialId",
            "storyTitle",
            "question",
            "roleAssignments",
            "ultimateRoles",
            "creationTime",
            "latestUpdateTime",
            "includedInPaper",
        ):
            assert written[key] == entry[key], (name, key)
        result, result_after = entry["status"]["Complete"], written["status"]["Complete"]
        assert set(result_after["feedbackProviders"]) == set(result["feedbackProviders"])
        assert result_after["offlineJudgingResults"] == result["offlineJudgingResults"]
        judging, judging_after = (
            result["result"].pop("judgingInfo"),
            result_after["result"].pop("judgingInfo"),
        )
        assert result_after["result"] == result["result"]
        assert judging_after.pop("judgeReward") == pytest.approx(
            judging.pop("judgeReward"), abs=1e-12
        )
        assert judging_after == judging
    wipe()
    again = nyu_import(path=tmp_path / "out")
    assert again.skipped == [] and again.sessions == 413
    assert canonical(Session.objects.all()) == before


def test_imported_surveys_and_offline_judgments_reach_the_analysis_and_leaderboards(folder):
    from judging.analysis import AnalysisFilters, analysis_run
    from judging.leaderboards.selectors import leaderboards_get

    imported(folder)
    table = analysis_run(AnalysisFilters()).table
    assert table["human_debate_offline"].n == 1  # Ola Olive's offline judging of keeper-0
    boards = leaderboards_get(ratings=False)
    offline = next(s for s in boards.judges if s.name == "Ola Olive")
    assert (offline.n_offline, offline.wins) == (1, 1)
    assert {s.name for s in boards.honest} == {"Ada Apricot"}
    assert SurveyResponse.objects.filter(seat__session__external_id="keeper-0").count() == 3


# --------------------------------------------------------------------------------------------------
# The published folder as it is: judgeless debates, pilots in another tokenisation, profiles
# --------------------------------------------------------------------------------------------------


def published(tmp_path: Path, *names: str) -> Path:
    builders = {
        "keeper-0": human_debate,
        "keeper-1": ai_consultancy,
        "keeper-2": nyu_files.judgeless_debate,
        "keeper-pilot": nyu_files.pilot_debate,
    }
    return nyu_files.published_folder(tmp_path, *((n, builders[n](n)) for n in names))


ALL = ("keeper-0", "keeper-1", "keeper-2", "keeper-pilot")


def test_the_published_folder_imports_every_debate_and_names_the_files_that_are_not(tmp_path):
    output = imported(published(tmp_path, *ALL))

    assert "Imported 4 sessions from 4 files" in output and "Skipped" not in output
    assert "Not a debate (known NYU file, not imported)" in output
    assert "open-feedback.json: open-ended feedback" in output
    assert "profiles read: 3" in output and "votes on ending: 4" in output
    assert "1 surveys by someone who held no seat" in output
    pat = get_user_model().objects.get(username="Pat Persimmon")  # a profile with no debate
    assert pat.email == "pat@example.org" and not pat.is_active
    assert Session.objects.get(external_id="keeper-0").included_in_paper is True  # from .jsonl


def test_a_judgeless_debate_arrives_with_its_votes_and_timed_and_legacy_offline_judgings(tmp_path):
    imported(published(tmp_path, "keeper-2"))
    session = Session.objects.get(external_id="keeper-2")

    assert session.status == Session.Status.FINISHED and session.finished_at is not None
    assert not session.seats.filter(role="judge").exists()
    assert not session.rules.get_structure().has_judge
    view = view_for(None, session)
    assert view.ended_by == "agreement"
    votes = EndVote.objects.filter(round__session=session).order_by("round__index", "seat__role")
    assert [(v.round.index, v.seat.role, v.end) for v in votes] == [
        (1, "debater_a", True),
        (1, "debater_b", False),
        (3, "debater_a", True),
        (3, "debater_b", True),
    ]
    offline = {s.user.username: s for s in session.seats.filter(role="offline_judge")}
    assert offline["Tim Thyme"].judging_mode == "timed"
    assert offline["Tim Thyme"].judging_started_at is None  # the file's -1: unknown
    assert offline["Ola Olive"].judging_mode == "stepped"
    steps = Judgment.objects.filter(seat=offline["Ola Olive"]).order_by("step")
    assert [(j.step, j.round.index, j.end) for j in steps] == [
        (0, 0, False),  # before any speech
        (1, 0, False),  # after the openings
        (2, 2, True),  # after the sequential round
    ]
    legacy = Judgment.objects.get(seat=offline["Lee Lime"])
    assert legacy.end and legacy.probabilities == [0.3, 0.7] and legacy.text == "B."
    survey = SurveyResponse.objects.get(seat__session=session, seat__role="debater_b")
    assert survey.answers["clarity"] == {"debater_b": 4, "debater_a": 2}  # "first" is themselves
    table = analysis_run(AnalysisFilters()).table
    assert table["human_debate_judgeless_offline_timed"].n == 1
    assert table["human_debate_judgeless_offline"].n == 2  # Ola Olive and Lee Lime


def test_a_story_in_two_tokenisations_keeps_each_debates_quotes_on_the_text_it_showed(tmp_path):
    imported(published(tmp_path, "keeper-0", "keeper-pilot"))

    paper = Session.objects.get(external_id="keeper-0").question.passage
    pilot = Session.objects.get(external_id="keeper-pilot").question.passage
    assert paper != pilot and paper.story_key == pilot.story_key == "quality:90001"
    assert "didn't" in pilot.text and "didn't" in paper.text
    for name in ("keeper-0", "keeper-pilot"):
        quote = Quote.objects.get(
            speech__round__session__external_id=name,
            speech__round__index=1,
            speech__seat__role="debater_a",
        )
        passage = quote.speech.round.session.question.passage
        assert passage.text[quote.start : quote.end] == quote.text == "he chose Marta's count"
    # Whoever debated either rendering has read the story.
    from debate.selectors import judge_conflicts

    ada = get_user_model().objects.get(username="Ada Apricot")
    assert judge_conflicts(user=ada, passage=paper) and judge_conflicts(user=ada, passage=pilot)


def test_importing_in_any_order_or_subset_gives_the_same_sessions(tmp_path):
    folder = published(tmp_path / "all", *ALL)
    imported(published(tmp_path / "paper-first", "keeper-0"))
    imported(folder)
    in_two_steps = canonical(Session.objects.all())
    counts = (Passage.objects.count(), Question.objects.count())
    wipe()
    imported(folder)

    assert canonical(Session.objects.all()) == in_two_steps
    assert (Passage.objects.count(), Question.objects.count()) == counts == (2, 2)


def test_one_question_row_however_many_orders_its_answers_were_shown_in(tmp_path):
    swapped = variant(
        human_debate("keeper-swapped"),
        lambda d: d["setup"].update(answers=["The keeper's", "Marta's"], correctAnswerIndex=1),
    )
    write(tmp_path, "keeper-0", human_debate())
    write(tmp_path, "keeper-swapped", swapped)
    imported(tmp_path)

    (question,) = Question.objects.all()
    first = Session.objects.get(external_id="keeper-0")
    second = Session.objects.get(external_id="keeper-swapped")
    assert first.question == second.question == question
    assert first.answers == ["Marta's", "The keeper's"]
    assert second.answers == ["The keeper's", "Marta's"] and second.correct_position == 1


def test_a_speech_by_someone_other_than_the_seats_holder_is_credited_to_them(tmp_path):
    def new_holder(d):
        d["rounds"][3]["SequentialSpeeches"]["speeches"]["1"]["speaker"] = "Cy Cherry"
        d["rounds"][4]["JudgeFeedback"]["feedback"]["speaker"] = "Jan Jasmine"

    write(tmp_path, "keeper-0", variant(human_debate(), new_holder))
    imported(tmp_path)
    session = Session.objects.get()
    speech = Speech.objects.get(round__session=session, round__index=3, seat__role="debater_b")
    assert speech.author.username == "Cy Cherry" and speech.seat.user.username == "Bo Blueberry"
    final = Judgment.objects.get(session=session, end=True, kind="live")
    assert final.author.username == "Jan Jasmine"

    export_sessions(sessions=Session.objects.all(), fmt="nyu", out=tmp_path / "out")
    data = json.loads((tmp_path / "out" / "debates" / "official" / "keeper-0.json").read_text())
    assert data["rounds"][3]["SequentialSpeeches"]["speeches"]["1"]["speaker"] == "Cy Cherry"
    assert data["rounds"][4]["JudgeFeedback"]["feedback"]["speaker"] == "Jan Jasmine"
    assert data["setup"]["roles"]["Debater B"] == "Bo Blueberry"


def test_exports_are_files_the_platform_reads_and_keep_what_was_imported(tmp_path):
    imported(published(tmp_path / "in", *ALL))
    export_sessions(sessions=Session.objects.all(), fmt="nyu", out=tmp_path / "out")
    out = tmp_path / "out"

    written = json.loads((out / "debates" / "official" / "keeper-0.json").read_text())
    assert differences(human_debate(), written) == []
    judgeless = json.loads((out / "debates" / "official" / "keeper-2.json").read_text())
    assert differences(nyu_files.judgeless_debate(), judgeless) == [
        ".feedback.Nobody Here: only in the original",  # held no seat: not kept (README)
        # A legacy judging (one result, no speaker) is written as the platform writes one now.
        ".rounds[4].OfflineJudgments.judgments.Lee Lime.judgments[0].feedback.speaker: '' != "
        "'Lee Lime'",
    ]
    rules = judgeless["setup"]["rules"]
    assert rules["fixedOpening"][0]["SimultaneousSpeechesRound"]["quoteLimit"] is None
    assert rules["repeatingStructure"][1] == {"NegotiateEndRound": {"assignedDebatersOnly": False}}
    assert rules["fixedClosing"]["maxRepeatCycles"] == 3 and rules["globalQuoteRestriction"] == 900
    timed = judgeless["rounds"][4]["OfflineJudgments"]["judgments"]["Tim Thyme"]
    assert timed["mode"] == "timed" and timed["startTimeMillis"] == -1
    consultancy = json.loads((out / "debates" / "official" / "keeper-1.json").read_text())
    assert consultancy["setup"]["rules"] == nyu_files.CONSULTANCY_RULES
    metadata = {m["name"]: m for m in json.loads((out / "debates-metadata.json").read_text())}
    paper = metadata["keeper-0"]
    assert paper["ultimateRoles"] == {
        "Judge": "Jo Juniper",
        "Honest Debater": "Ada Apricot",
        "Dishonest Debater": "Bo Blueberry",
    }
    judging = paper["status"]["Complete"]["result"]["judgingInfo"]
    assert judging["finalJudgement"] == [0.9, 0.1] and judging["numContinues"] == 2
    assert judging["judgeReward"] == pytest.approx(-0.252, abs=1e-3)
    agreement = metadata["keeper-2"]["status"]["Complete"]["result"]
    assert agreement["endedBy"] == {"MutualAgreement": {}} and agreement["judgingInfo"] is None
    assert metadata["keeper-1"]["status"] == {"InProgress": {}}
    profiles = json.loads((out / "debates" / "profiles.json").read_text())
    assert profiles["GPT-4"] == {"AI": {"name": "GPT-4", "localPort": None}}
    # And our importer reads its own export back into the same sessions.
    before = canonical(Session.objects.all())
    wipe()
    assert nyu_import(path=out).skipped == []
    assert canonical(Session.objects.all()) == before


def test_a_judgeless_debate_under_the_published_rules_ends_when_its_closing_runs_out(tmp_path):
    write(tmp_path, "keeper-3", nyu_files.time_up_debate())
    imported(tmp_path)
    session = Session.objects.get()

    assert session.status == Session.Status.FINISHED
    structure = session.rules.get_structure()
    assert structure.length() == 7 and not structure.has_judge
    assert view_for(None, session).ended_by == "rules"
    export_sessions(sessions=Session.objects.all(), fmt="nyu", out=tmp_path / "out")
    metadata = json.loads((tmp_path / "out" / "debates-metadata.json").read_text())
    assert metadata[0]["status"]["Complete"]["result"]["endedBy"] == {"TimeUp": {}}
    written = json.loads((tmp_path / "out" / "debates" / "official" / "keeper-3.json").read_text())
    assert differences(nyu_files.time_up_debate(), written) == []


def test_a_pilot_tokenised_in_sentence_chunks_shows_the_platforms_rendering(tmp_path):
    write(tmp_path, "keeper-chunks", nyu_files.chunk_pilot())
    imported(tmp_path)
    session = Session.objects.get()

    quote = Quote.objects.get(speech__seat__role="debater_a", speech__round__index=1)
    assert quote.text == " Marta's count was always one higher."
    assert (quote.token_start, quote.token_end) == (4, 5)
    passage = session.question.passage
    assert "seven ships that spring.  Marta's count" in passage.text
    assert passage.text[quote.start : quote.end] == quote.text.strip()


# --------------------------------------------------------------------------------------------------
# Open rules: the expert's choice in every export, and back through the NYU files
# --------------------------------------------------------------------------------------------------


def played_open_sessions() -> list[Session]:
    """An open consultancy whose consultant chose the wrong answer and an open debate whose
    debater A chose the second shown answer (the correct one), each played to its end."""
    from debate.protocol import Protocol, Role
    from debate.services import choice_submit
    from tests.debate.test_open_rules import open_session
    from tests.factories import judge, seat, speak

    consultancy, debate = open_session(Protocol.CONSULTANCY), open_session(Protocol.DEBATE)
    # answer_order puts the correct answer first: position 1 is wrong in both
    choice_submit(session=consultancy, seat=seat(consultancy, Role.CONSULTANT), position=1)
    judge(consultancy, (0.5, 0.5))
    speak(consultancy, Role.CONSULTANT, "B, surely.")
    judge(consultancy, (0.3, 0.7), end=True)
    choice_submit(session=debate, seat=seat(debate, Role.DEBATER_A), position=1)
    judge(debate, (0.5, 0.5))
    speak(debate, Role.DEBATER_A, "B is right.")
    speak(debate, Role.DEBATER_B, "A is right.")
    judge(debate, (0.6, 0.4))
    speak(debate, Role.DEBATER_A, "Still B.")
    speak(debate, Role.DEBATER_B, "Still A.")
    judge(debate, (0.8, 0.2), end=True)
    return [consultancy, debate]


def test_every_export_says_who_chose_which_answer_when_and_the_nyu_files_keep_it(tmp_path):
    consultancy, debate = played_open_sessions()
    chosen_at = {
        s.session_id: s.answer_chosen_at
        for s in Seat.objects.filter(answer_chosen_at__isnull=False)
    }
    out = io.StringIO()
    export_sessions(sessions=Session.objects.order_by("pk"), fmt="jsonl", out=out)
    records = {r["id"]: r for r in map(json.loads, out.getvalue().splitlines())}
    assert records[consultancy.pk]["answer_choice"] == {
        "by": "consultant",
        "index": 1,
        "at": chosen_at[consultancy.pk].isoformat(),
        "correct": False,
    }
    assert records[debate.pk]["answer_choice"]["by"] == "debater_a"
    assert records[debate.pk]["answer_choice"]["correct"] is False
    seats = {s["role"]: s for s in records[debate.pk]["seats"]}
    assert seats["debater_a"]["answer_chosen_at"] == chosen_at[debate.pk].isoformat()
    assert seats["debater_b"]["answer_chosen_at"] is None
    assert "answer_chosen_at" not in seats["judge"]
    out = io.StringIO()
    export_sessions(sessions=Session.objects.order_by("pk"), fmt="csv", out=out)
    rows = {r["session"]: r for r in csv.DictReader(io.StringIO(out.getvalue()))}
    row = rows[f"session-{consultancy.pk}"]
    assert (row["answer_chosen_by"], row["answer_chosen_index"], row["chose_correct"]) == (
        "consultant",
        "1",
        "False",
    )
    assert row["answer_chosen_at"] == chosen_at[consultancy.pk].isoformat()

    # Through the NYU files and back: the sessions are open again, the choice kept (to the
    # millisecond, the files' resolution), and a second trip changes nothing.
    export_sessions(sessions=Session.objects.all(), fmt="nyu", out=tmp_path / "first")
    written = json.loads(
        (tmp_path / "first" / "debates" / "official" / f"session-{debate.pk}.json").read_text()
    )
    assert written["setup"]["answerChoice"]["answerIndex"] == 1
    wipe()
    summary = nyu_import(path=tmp_path / "first")
    assert summary.skipped == [] and summary.sessions == 2
    back = {s.external_id: s for s in Session.objects.all()}
    for original, expert in ((consultancy, "consultant"), (debate, "debater_a")):
        session = back[f"session-{original.pk}"]
        assert session.rules.get_structure().open_choice
        chooser = session.seats.get(answer_chosen_at__isnull=False)
        assert (chooser.role, chooser.answer_position) == (expert, 1)
        assert abs(chooser.answer_chosen_at - chosen_at[original.pk]).total_seconds() < 0.001
        assert session.status == Session.Status.FINISHED
    imported_debate = back[f"session-{debate.pk}"]
    assert imported_debate.seats.get(role="debater_b").answer_position == 0
    before = canonical(Session.objects.all())
    assert before[f"session-{consultancy.pk}"]["answer_choice"]["correct"] is False
    export_sessions(sessions=Session.objects.all(), fmt="nyu", out=tmp_path / "second")
    wipe()
    nyu_import(path=tmp_path / "second")
    assert canonical(Session.objects.all()) == before
