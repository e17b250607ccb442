"""The analysis of open consultancy and open debate (issue 16): their own settings, how often the
expert chose the correct answer, and the judge's accuracy given that choice, in the table and in
`analyze` (text and --json)."""

from __future__ import annotations

import io
import json
from dataclasses import replace

import pytest
from django.core.management import call_command

from debate.protocol import Protocol, Role
from debate.records import SessionRecord
from judging.metrics import analysis_table, setting_label
from tests.factories import judge, seat, speak
from tests.judging.records import session


def opened(record: SessionRecord) -> SessionRecord:
    return replace(record, structure={**(record.structure or {}), "open_choice": True})


def test_open_sessions_have_their_own_settings_and_the_choice_measures():
    records = [
        opened(session(judgments=[0.5, 0.8], protocol="consultancy", ai=True, honest=True)),
        opened(session(judgments=[0.5, 0.3], protocol="consultancy", ai=True, honest=True)),
        opened(session(judgments=[0.5, 0.3], protocol="consultancy", ai=True, honest=False)),
        session(judgments=[0.5, 0.8], protocol="consultancy", ai=True, honest=True),
        opened(session(judgments=[0.5, 0.9], protocol="debate", correct_position=1)),
    ]
    assert [r.chose_correct for r in records] == [True, True, False, None, False]
    table = analysis_table(records)
    assert set(table) == {"ai_open_consultancy", "ai_consultancy", "human_open_debate"}
    open_c = table["ai_open_consultancy"]
    assert (open_c.n, open_c.n_chose, open_c.chose_correct) == (3, 3, 2)
    assert open_c.chose_correct_share == pytest.approx(2 / 3)
    assert open_c.accuracy_chose_correct == 0.5 and open_c.correct_chose_correct == 1
    assert open_c.accuracy_chose_incorrect == 0.0 and open_c.n_chose_incorrect == 1
    plain = table["ai_consultancy"]
    assert plain.n_chose == 0 and plain.chose_correct_share is None
    assert plain.accuracy_chose_correct is None
    debate = table["human_open_debate"]  # debater A argued answer 0, the wrong one
    assert (debate.n_chose, debate.chose_correct, debate.n_chose_incorrect) == (1, 0, 1)
    assert debate.accuracy_chose_incorrect == 0.0  # the judge believed debater A
    assert setting_label("ai_open_consultancy") == "AI open consultancy"
    assert setting_label("human_open_debate_offline") == (
        "Human open debate, judged offline round by round"
    )


@pytest.mark.django_db
def test_analyze_shows_the_choice_measures_in_text_and_json():
    from debate.services import choice_submit
    from tests.debate.test_open_rules import open_session

    for position, final in ((0, (0.9, 0.1)), (1, (0.2, 0.8))):
        played = open_session(Protocol.CONSULTANCY)
        choice_submit(session=played, seat=seat(played, Role.CONSULTANT), position=position)
        judge(played, (0.5, 0.5))
        speak(played, Role.CONSULTANT, "My answer is right.")
        judge(played, final, end=True)
    out = io.StringIO()
    call_command("analyze", "--json", stdout=out)
    row = json.loads(out.getvalue())["settings"]["human_open_consultancy"]
    assert (row["n"], row["n_chose"], row["chose_correct"]) == (2, 2, 1)
    assert row["chose_correct_share"] == 0.5
    assert row["accuracy_chose_correct"] == 1.0 and row["accuracy_chose_incorrect"] == 0.0
    text = io.StringIO()
    call_command("analyze", stdout=text)
    assert "Open rules: the expert's choice" in text.getvalue()
    assert "human_open_consultancy: chose correct 50% (1/2)" in text.getvalue()


@pytest.mark.django_db
def test_the_analysis_page_splits_judge_accuracy_by_whether_the_expert_chose_correctly(client):
    """Three open consultancies: two where the consultant chose the correct answer (the judge
    right in one), one where it chose an incorrect one (the judge fooled). The page, its CSV and
    `analyze --json` report the two accuracies apart, with their counts."""
    import csv

    from debate.services import choice_submit
    from tests.debate.test_open_rules import open_session
    from tests.factories import make_user

    # answer_order puts the correct answer first: position 0 is the correct choice
    for position, final in ((0, (0.9, 0.1)), (0, (0.3, 0.7)), (1, (0.2, 0.8))):
        played = open_session(Protocol.CONSULTANCY)
        choice_submit(session=played, seat=seat(played, Role.CONSULTANT), position=position)
        judge(played, (0.5, 0.5))
        speak(played, Role.CONSULTANT, "My answer is right.")
        judge(played, final, end=True)
    client.force_login(make_user("ops-open", is_staff=True))
    page = client.get("/analysis/").content.decode()
    table = page[
        page.index('id="open-choice-table"') : page.index(
            "</table>", page.index('id="open-choice-table"')
        )
    ]
    row = table[table.index('data-setting="human_open_consultancy"') :]
    cells = [c.split(">", 1)[1].split("</td>")[0] for c in row.split("<td")[1:4]]
    assert "67%" in cells[0] and "(2/3)" in cells[0]
    assert "50%" in cells[1] and "(1/2)" in cells[1]
    assert "0%" in cells[2] and "(0/1)" in cells[2]
    rows = {
        r["setting"]: r
        for r in csv.DictReader(io.StringIO(client.get("/analysis/table.csv").content.decode()))
    }
    got = rows["human_open_consultancy"]
    accuracies = (got["accuracy_chose_correct"], got["accuracy_chose_incorrect"])
    assert accuracies == ("0.500000", "0.000000")
    assert (got["chose_correct"], got["n_chose_incorrect"]) == ("2", "1")
    out = io.StringIO()
    call_command("analyze", "--json", stdout=out)
    measured = json.loads(out.getvalue())["settings"]["human_open_consultancy"]
    assert (measured["correct_chose_correct"], measured["correct_chose_incorrect"]) == (1, 0)
    # Rules that assign the answers have no such rows.
    assert 'data-setting="human_consultancy"' not in table
