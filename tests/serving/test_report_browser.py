"""The audit report as a client meets it: opened in a real Chromium (sortable domain table,
nothing fetched) and printed to PDF through the same browser."""

from __future__ import annotations

from pathlib import Path

import pytest

from serving.batch import BatchOptions, score_file
from serving.model import LinkModel
from tests.conftest import AS_OF
from tests.serving.conftest import ROOT
from tests.serving.test_review import BROWSER_ARGS, chromium


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    score_file(
        ROOT / "data" / "sample" / "export.csv",
        folder / "scored.csv",
        LinkModel.load(),
        BatchOptions(as_of=AS_OF, report=folder / "report.html"),
    )
    return folder / "report.html"


def test_report_opens_offline_and_its_domain_table_sorts(report: Path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=BROWSER_ARGS)
        page = browser.new_page()
        fetched: list[str] = []
        page.on("request", lambda r: fetched.append(r.url))
        page.goto(report.as_uri())
        assert fetched == [report.as_uri()]  # one self-contained file
        assert page.title().startswith("Backlink audit: ")
        table = "table.sortable"
        column = f"{table} tbody tr td:nth-child(2)"  # links per domain
        page.click(f"{table} th:nth-child(2)")
        first = [int(v) for v in page.eval_on_selector_all(column, "t => t.map(c => c.dataset.v)")]
        assert first == sorted(first, reverse=True) and first[0] > first[-1]
        page.click(f"{table} th:nth-child(2)")
        again = [int(v) for v in page.eval_on_selector_all(column, "t => t.map(c => c.dataset.v)")]
        assert again == sorted(first)
        assert page.locator("figure svg").count() >= 5
        browser.close()


def test_report_prints_to_pdf(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("LINKSIFT_CHROMIUM", chromium())
    summary = score_file(
        ROOT / "data" / "sample" / "export.csv",
        tmp_path / "scored.csv",
        LinkModel.load(),
        BatchOptions(as_of=AS_OF, report=tmp_path / "report.pdf"),
    )
    pdf = (tmp_path / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and len(pdf) > 20_000
    assert pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") >= 3  # several pages
    assert summary.report == str(tmp_path / "report.pdf")
