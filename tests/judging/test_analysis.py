"""The analysis from the database: the command (table and JSON), the staff page with its charts
and downloads, a session's figures and error tags, a fixed number of queries whatever the
number of sessions, and, with the shared NYU data, the paper's Table 1 and Figure 4."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.core.management import call_command

from debate.models import Session
from debate.protocol import Role
from judging.analysis import AnalysisFilters, analysis_run
from judging.models import ErrorCategory, ErrorTag
from judging.nyu.importer import nyu_import
from judging.selectors import session_records
from tests.factories import judge, make_consultancy, make_debate, make_user, quote, speak
from tests.shared_data import SHARED, needs_shared

pytestmark = pytest.mark.django_db


def finished_debate(final: float) -> Session:
    """A human debate: prior, opening speeches (A quotes the story), the judge ends at
    ``final`` on the shown correct answer (position 0)."""
    session = make_debate()
    judge(session, (0.5, 0.5))
    speak(session, Role.DEBATER_A, f"See {quote(session, 'seven ships passed the point')}.")
    speak(session, Role.DEBATER_B, "Not so.")
    judge(session, (final, 1 - final), end=True)
    return session


def finished_consultancy(final: float, honest: bool) -> Session:
    session = make_consultancy(consultant_position=0 if honest else 1)
    judge(session, (0.5, 0.5))
    speak(session, Role.CONSULTANT, "Trust me.")
    judge(session, (final, 1 - final), end=True)
    return session


def analyze(*args: str) -> str:
    out = io.StringIO()
    call_command("analyze", *args, stdout=out)
    return out.getvalue()


def test_the_command_prints_the_table_and_json_keyed_by_setting():
    finished_debate(0.9)
    finished_debate(0.2)
    finished_consultancy(0.8, honest=True)
    make_debate()  # not finished: left out
    text = analyze()
    assert "3 finished sessions" in text and "human_debate" in text and "50%" in text
    assert "human_consultancy: honest 100% (n=1)" in text
    data = json.loads(analyze("--json"))
    settings = data["settings"]
    assert data["sessions"] == 3 and set(settings) == {"human_debate", "human_consultancy"}
    assert set(settings["human_debate"]) == {
        "n", "correct", "accuracy", "accuracy_ci", "rounds_mean", "rounds_sd",
        "quotes_per_round", "chars_per_round", "bits_per_round", "judge_score_mean", "ece_final",
        "accuracy_honest", "n_honest", "correct_honest", "accuracy_dishonest", "n_dishonest",
        "correct_dishonest", "n_chose", "chose_correct", "chose_correct_share",
        "accuracy_chose_correct", "correct_chose_correct", "accuracy_chose_incorrect",
        "n_chose_incorrect", "correct_chose_incorrect",
    }  # fmt: skip
    assert settings["human_debate"]["n"] == 2 and settings["human_debate"]["accuracy"] == 0.5
    assert settings["human_debate"]["correct"] == 1
    assert settings["human_debate"]["quotes_per_round"] == len("seven ships passed the point")
    consultancy = settings["human_consultancy"]
    assert (consultancy["n_honest"], consultancy["correct_honest"]) == (1, 1)
    (test,) = data["comparisons"]
    assert {test["a"], test["b"]} == {"human_debate", "human_consultancy"}
    assert (test["n_a"], test["n_b"]) in ((2, 1), (1, 2)) and 0 <= test["p"] <= 1
    assert json.loads(analyze("--json", "--setting", "human_consultancy"))["settings"].keys() == {
        "human_consultancy"
    }


def test_a_bad_split_is_a_clear_error():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        analyze("--split-by", "colour")


def test_reading_sessions_takes_the_same_queries_for_two_or_twenty(django_assert_max_num_queries):
    for _ in range(2):
        finished_debate(0.9)
    with django_assert_max_num_queries(10) as few:
        assert len(session_records(Session.objects.all(), with_text=False)) == 2
    for i in range(18):
        finished_debate(0.9 if i % 2 else 0.3)
    with django_assert_max_num_queries(len(few.captured_queries)):
        records = session_records(Session.objects.all(), with_text=False)
    assert len(records) == 20


def test_the_whole_analysis_takes_a_fixed_number_of_queries(django_assert_max_num_queries):
    for i in range(6):
        finished_debate(0.9 if i % 2 else 0.3)
    with django_assert_max_num_queries(12):
        analysis = analysis_run(AnalysisFilters())
    assert analysis.table["human_debate"].n == 6


def test_staff_see_the_analysis_page_with_charts_and_downloads(client):
    finished_debate(0.9)
    finished_consultancy(0.2, honest=False)
    client.force_login(make_user("ops", is_staff=True))
    page = client.get("/analysis/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="analysis-table"' in html and html.count("<svg") == 3
    assert "Human consultancy" in html and "Why judges were wrong" in html
    # Settings in words, the keys kept as titles; a cell with nothing to show is "-".
    assert '<th scope="row" title="human_debate">Human debate</th>' in html
    table = html[html.index('id="analysis-table"') : html.index("</table>")]
    debate_row = table[table.index('title="human_debate"') :].split("</tr>")[0]
    assert "<td>-</td>" in debate_row  # a debate has no honest or dishonest consultant
    assert "<td></td>" not in table
    # The calibration chart says how many judgments each bin holds.
    assert re.search(r">n=\d+</text>", html)
    assert "Human debate, judged offline round by round" in html  # a filter choice in words
    svg = client.get("/analysis/charts/calibration.svg")
    assert svg["Content-Type"] == "image/svg+xml" and svg.content.startswith(b"<svg")
    table = client.get("/analysis/table.csv?setting=human_debate").content.decode()
    assert table.splitlines()[0].startswith("setting,n,accuracy")
    assert len(table.splitlines()) == 2
    assert client.get("/analysis/?since=yesterday").status_code == 400
    assert client.get("/analysis/charts/pie.svg").status_code == 404


@pytest.mark.parametrize("name", ["accuracy", "calibration", "honesty"])
def test_staff_download_each_figure_for_a_paper_as_svg_and_pdf(client, name):
    finished_debate(0.9)
    finished_consultancy(0.2, honest=False)
    finished_consultancy(0.8, honest=True)
    client.force_login(make_user("ops", is_staff=True))
    page = client.get("/analysis/").content.decode()
    assert f"/analysis/figures/{name}.pdf" in page and f"/analysis/figures/{name}.svg" in page
    pdf = client.get(f"/analysis/figures/{name}.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and len(pdf.content) > 1000
    assert f'filename="{name}.pdf"' in pdf["Content-Disposition"]
    svg = client.get(f"/analysis/figures/{name}.svg?setting=human_debate")
    assert svg["Content-Type"] == "image/svg+xml" and b"<svg" in svg.content[:500]
    assert client.get(f"/analysis/figures/{name}.png").status_code == 404
    assert client.get(f"/analysis/figures/{name}.pdf?since=yesterday").status_code == 400


def test_participants_cannot_open_the_analysis(client):
    client.force_login(make_user("alice"))
    response = client.get("/analysis/")
    # The site's own 403 page, saying why, not the admin's login form.
    assert response.status_code == 403 and b"not on the study staff" in response.content


def test_staff_tag_a_wrongly_judged_session_and_the_analysis_counts_it(client):
    wrong = finished_debate(0.2)
    right = finished_debate(0.9)
    staff = make_user("ops", is_staff=True)
    client.force_login(staff)
    page = client.get(f"/sessions/{wrong.pk}/").content.decode()
    assert "Session figures" in page and "The judge was <b>wrong</b>" in page
    assert "Save error categories" in page
    assert "Save error categories" not in client.get(f"/sessions/{right.pk}/").content.decode()
    clash, bad = (
        ErrorCategory.objects.get(name="lack of clash"),
        ErrorCategory.objects.get(name="bad question"),
    )
    response = client.post(f"/sessions/{wrong.pk}/error-tags", {"categories": [clash.pk, bad.pk]})
    assert response.status_code == 302
    client.post(f"/sessions/{wrong.pk}/error-tags", {"categories": [clash.pk]})
    assert list(
        ErrorTag.objects.filter(session=wrong).values_list("category__name", flat=True)
    ) == ["lack of clash"]
    client.post(f"/sessions/{right.pk}/error-tags", {"categories": [clash.pk]})
    assert not ErrorTag.objects.filter(session=right).exists()  # a right session is not tagged
    analysis = analysis_run(AnalysisFilters())
    assert analysis.error_shares["human_debate"]["lack of clash"] == (1, 1)
    assert "lack of clash" in client.get("/analysis/").content.decode()


def test_participants_see_no_staff_figures(client):
    session = finished_debate(0.2)
    client.force_login(session.seats.get(role="judge").user)
    assert "Session figures" not in client.get(f"/sessions/{session.pk}/").content.decode()


# --------------------------------------------------------------------------------------------------
# The paper
# --------------------------------------------------------------------------------------------------

# Table 1 of Michael et al. (2023) as printed: n, accuracy, rounds mean and sd, quotes/rd,
# chars/rd, bits/rd, average judge score, ECE.
PAPER = {
    "ai_consultancy": (76, "80%", "4.2", "3.8", "169", "926", "0.01", "-1.16", "0.17"),
    "ai_debate": (87, "78%", "3.8", "2.6", "127", "1188", "0.00", "-1.20", "0.16"),
    "human_consultancy": (96, "74%", "4.0", "2.4", "402", "1004", "0.01", "-1.24", "0.17"),
    "human_debate": (154, "84%", "2.7", "1.1", "362", "1319", "0.09", "-0.89", "0.11"),
}
# The same columns computed on the released files with the authors' own definitions
# (AnalyzeResults.scala: quotes as jjm renders their token slices, new quoted characters found
# on token spans; ECE with floor(10 x max(p, 1 - p)) bins and ties half correct), at 4
# significant figures. They agree with every printed figure but one: the released AI
# consultancies give 929.5 characters per round where the paper prints 926 (the authors' own
# definition on the released data gives 929.5, so the printed figure came from other data).
AUTHORS = {
    "ai_consultancy": ("169.1", "929.5", "0.1674"),
    "ai_debate": ("127.1", "1188", "0.1610"),
    "human_consultancy": ("401.7", "1004", "0.1733"),
    "human_debate": ("361.9", "1319", "0.1081"),
}


def four_figures(value: float) -> str:
    return f"{value:.4g}"


@needs_shared
def test_the_imported_nyu_debates_reproduce_the_papers_table_1_and_figure_4():
    assert nyu_import(path=SHARED).skipped == []
    output = json.loads(analyze("--json", "--included-in-paper", "--no-offline"))
    data = output["settings"]
    assert set(data) == set(PAPER)
    for setting, (n, acc, mean, sd, quotes, chars, bits, score, ece) in PAPER.items():
        row = data[setting]
        assert row["n"] == n
        assert f"{row['accuracy']:.0%}" == acc
        assert (f"{row['rounds_mean']:.1f}", f"{row['rounds_sd']:.1f}") == (mean, sd)
        assert f"{row['quotes_per_round']:.0f}" == quotes
        if setting != "ai_consultancy":
            assert f"{row['chars_per_round']:.0f}" == chars
        assert f"{row['bits_per_round'] + 0:.2f}".replace("-0.00", "0.00") == bits
        assert f"{row['judge_score_mean']:.2f}" == score
        assert f"{row['ece_final']:.2f}" == ece
        authors_quotes, authors_chars, authors_ece = AUTHORS[setting]
        assert four_figures(row["quotes_per_round"]) == authors_quotes
        assert four_figures(row["chars_per_round"]) == authors_chars
        assert f"{row['ece_final']:.4f}" == authors_ece
    figure_4 = {
        "ai_consultancy": ("74%", "87%"),
        "human_consultancy": ("88%", "60%"),
    }
    for setting, (honest, dishonest) in figure_4.items():
        row = data[setting]
        assert (f"{row['accuracy_honest']:.0%}", f"{row['accuracy_dishonest']:.0%}") == (
            honest,
            dishonest,
        )
        assert row["n_honest"] == row["n_dishonest"] == row["n"] // 2  # the paper balanced them
        assert row["correct_honest"] / row["n_honest"] == row["accuracy_honest"]
    # The headline claim, from the JSON alone: human debate beats human consultancy, p = 0.04.
    test = next(
        t
        for t in output["comparisons"]
        if {t["a"], t["b"]} == {"human_debate", "human_consultancy"}
    )
    assert f"{test['p']:.2f}" == "0.04"
    assert {(test["n_a"], test["correct_a"]), (test["n_b"], test["correct_b"])} == {
        (154, 130),
        (96, 71),
    }


def test_settings_are_named_in_words():
    from judging.metrics import ALL_SETTINGS, setting_label

    assert setting_label("ai_consultancy") == "AI consultancy"
    assert setting_label("human_debate_offline_timed") == (
        "Human debate, judged offline at once (timed)"
    )
    assert setting_label("human_debate_judgeless_offline") == (
        "Human debate, judgeless, judged offline round by round"
    )
    assert setting_label("human_debate · judge=alice") == "Human debate · judge=alice"
    assert setting_label("something_new") == "something_new"
    assert len({setting_label(s) for s in ALL_SETTINGS}) == len(ALL_SETTINGS)
