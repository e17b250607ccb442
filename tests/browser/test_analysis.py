"""The staff analysis page in a real browser: table, charts drawn (inline SVG, no internet),
downloads linked, filters applied; and a session's staff figures."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from debate.demo import demo_data_create
from judging.nyu.importer import nyu_import
from tests.browser.conftest import off_loop
from tests.browser.test_home import log_in
from tests.judging.nyu.files import ai_consultancy, human_debate, metadata, variant, write

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def imported(tmp_path) -> None:
    def finish(d):
        d["rounds"][-1] = {
            "SequentialSpeeches": {
                "speeches": {"1": d["rounds"][1]["SequentialSpeeches"]["speeches"]["1"]}
            }
        }
        d["rounds"].append(
            {
                "JudgeFeedback": {
                    "distribution": [0.3, 0.7],
                    "feedback": {"speaker": "Jo Juniper", "timestamp": 1, "content": []},
                    "endDebate": True,
                }
            }
        )

    write(tmp_path / "debates", "keeper-0", human_debate())
    write(tmp_path / "debates", "keeper-1", variant(ai_consultancy(), finish))
    write(tmp_path, "debates-metadata", metadata(("keeper-0", "Complete", True)))
    summary = nyu_import(path=tmp_path)
    assert summary.skipped == [], summary.skipped


def test_staff_read_the_analysis_with_its_charts(new_page, screenshot, tmp_path):
    off_loop(demo_data_create)
    off_loop(lambda: imported(tmp_path))
    page = new_page()
    log_in(page, "admin")
    page.get_by_role("link", name="Analysis").click()
    expect(page.get_by_role("heading", name="Analysis", exact=True)).to_be_visible()
    table = page.locator("#analysis-table")
    expect(table).to_contain_text("Human debate")
    expect(table).to_contain_text("AI consultancy")
    for name in ("accuracy", "calibration", "honesty"):
        chart = page.locator(f"#chart-{name} svg")
        expect(chart).to_be_visible()
        box = chart.bounding_box()
        assert box["width"] > 300 and box["height"] > 100
    expect(page.locator("#chart-accuracy circle").first).to_be_attached()
    expect(page.get_by_role("link", name="Download CSV")).to_have_attribute(
        "href", "/analysis/table.csv?"
    )
    screenshot(page, "analysis")
    expect(page.locator("#chart-calibration text", has_text="n=").first).to_be_visible()
    page.get_by_label("AI consultancy", exact=True).check()
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#analysis-table tbody tr")).to_have_count(1)
    expect(page.locator("#analysis-table")).to_contain_text("AI consultancy")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download accuracy chart (SVG)").click()
    assert download.value.suggested_filename == "accuracy.svg"
    # Every figure for a paper, in both formats, for the filters applied.
    for name in ("accuracy", "calibration", "honesty"):
        figure = page.locator(f"figure#chart-{name}")
        for fmt in ("svg", "pdf"):
            with page.expect_download() as download:
                figure.get_by_role("link", name=fmt.upper(), exact=True).click()
            assert download.value.suggested_filename == f"{name}.{fmt}"
            assert "setting=ai_consultancy" in download.value.url


def test_staff_see_a_sessions_figures_on_its_page(new_page, screenshot, tmp_path):
    off_loop(demo_data_create)
    off_loop(lambda: imported(tmp_path))
    from debate.models import Session

    session_id = off_loop(lambda: Session.objects.get(external_id="keeper-0").pk)
    page = new_page()
    log_in(page, "admin")
    page.goto(f"/sessions/{session_id}/")
    panel = page.locator("#staff-figures")
    expect(panel).to_contain_text("The judge was right")
    expect(panel.locator("svg polyline").first).to_be_visible()
    screenshot(page, "session-figures")
