"""The analysis from the database: the command (table and JSON), the staff page with its charts
and downloads, a session's figures and error tags, a fixed number of queries whatever the
number of sessions, and, with the shared NYU data, the paper's Table 1 and Figure 4."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from debate.models import Session
from debate.protocol import Role
from judging.analysis import AnalysisFilters, analysis_run
from judging.models import ErrorCategory, ErrorTag
from judging.nyu_import import nyu_import
from judging.selectors import session_records
from tests.factories import judge, make_consultancy, make_debate, make_user, quote, speak

pytestmark = pytest.mark.django_db

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "nyu-debate-2023"


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
    assert set(data) == {"human_debate", "human_consultancy"}
    assert set(data["human_debate"]) == {
        "n", "accuracy", "accuracy_ci", "rounds_mean", "rounds_sd", "quotes_per_round",
        "chars_per_round", "bits_per_round", "judge_score_mean", "ece_final",
        "accuracy_honest", "accuracy_dishonest",
    }  # fmt: skip
    assert data["human_debate"]["n"] == 2 and data["human_debate"]["accuracy"] == 0.5
    assert data["human_debate"]["quotes_per_round"] == len("seven ships passed the point")
    assert json.loads(analyze("--json", "--setting", "human_consultancy")).keys() == {
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
    assert "human_consultancy" in html and "Why judges were wrong" in html
    svg = client.get("/analysis/charts/calibration.svg")
    assert svg["Content-Type"] == "image/svg+xml" and svg.content.startswith(b"<svg")
    table = client.get("/analysis/table.csv?setting=human_debate").content.decode()
    assert table.splitlines()[0].startswith("setting,n,accuracy")
    assert len(table.splitlines()) == 2
    assert client.get("/analysis/?since=yesterday").status_code == 400
    assert client.get("/analysis/charts/pie.svg").status_code == 404


def test_participants_cannot_open_the_analysis(client):
    client.force_login(make_user("alice"))
    response = client.get("/analysis/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


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

PAPER = {  # Table 1 of Michael et al. (2023): n, accuracy, rounds mean and sd, quotes/rd,
    # chars/rd, bits/rd, average judge score
    "ai_consultancy": (76, "80%", "4.2", "3.8", 169, 926, "0.01", "-1.16"),
    "ai_debate": (87, "78%", "3.8", "2.6", 127, 1188, "0.00", "-1.20"),
    "human_consultancy": (96, "74%", "4.0", "2.4", 402, 1004, "0.01", "-1.24"),
    "human_debate": (154, "84%", "2.7", "1.1", 362, 1319, "0.09", "-0.89"),
}
PAPER_ECE = {
    "ai_consultancy": 0.17,
    "ai_debate": 0.16,
    "human_consultancy": 0.17,
    "human_debate": 0.11,
}


@pytest.mark.skipif(
    not (SHARED / "debates").is_dir(),
    reason=f"the NYU debate dataset is not at {SHARED} (see ../shared/data/nyu-debate-2023)",
)
def test_the_imported_nyu_debates_reproduce_the_papers_table_1_and_figure_4():
    assert nyu_import(path=SHARED).skipped == []
    data = json.loads(analyze("--json", "--included-in-paper", "--no-offline"))
    assert set(data) == set(PAPER)
    for setting, (n, acc, mean, sd, quotes, chars, bits, score) in PAPER.items():
        row = data[setting]
        assert row["n"] == n
        assert f"{row['accuracy']:.0%}" == acc
        assert (f"{row['rounds_mean']:.1f}", f"{row['rounds_sd']:.1f}") == (mean, sd)
        assert row["quotes_per_round"] == pytest.approx(quotes, rel=0.01)
        assert row["chars_per_round"] == pytest.approx(chars, rel=0.01)
        assert f"{row['bits_per_round'] + 0:.2f}".replace("-0.00", "0.00") == bits
        assert f"{row['judge_score_mean']:.2f}" == score
        # The paper does not say how it binned its ECE. The definition we were given (10% bins
        # of the larger probability) gives 0.14 / 0.16 / 0.15 / 0.12 against the printed
        # 0.17 / 0.16 / 0.17 / 0.11, and no common variant matches all four (see the issue
        # note), so this checks only that we are in the paper's neighbourhood.
        assert row["ece_final"] == pytest.approx(PAPER_ECE[setting], abs=0.035)
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
    analysis = analysis_run(AnalysisFilters(included_in_paper=True, offline=False))
    test = next(
        t for t in analysis.comparisons if {t.a, t.b} == {"human_debate", "human_consultancy"}
    )
    assert f"{test.p_value:.2f}" == "0.04"
