"""The review page in a real headless Chromium, against the real service and label store;
and a service that follows the champion alias picks up a new champion without a restart."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import httpx
import polars as pl
import pytest

from features.urls import sites_of
from serving.batch import BatchOptions, score_file
from serving.model import LinkModel
from tests.conftest import AS_OF
from tests.serving.conftest import ROOT, start_server, stop
from training.labels import LabelStore

BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is required for the review page test in CI (.ci/run installs it)")
        pytest.skip("no Chromium on this machine (apt-get install chromium)")
    return path


@pytest.fixture(scope="module")
def review_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("review")
    scored = tmp / "scored.csv"
    score_file(
        ROOT / "data" / "sample" / "export.csv", scored, LinkModel.load(), BatchOptions(as_of=AS_OF)
    )
    url = f"sqlite:///{tmp / 'labels.db'}"
    server = start_server(
        tmp, LINKSIFT_LABELS_URL=url, LINKSIFT_API_KEY="review-key", LINKSIFT_REVIEW_DATA=str(tmp)
    )
    auth = {"Authorization": "Bearer review-key"}
    r = httpx.post(
        server.url + "/review/api/batches", json={"path": scored.name}, headers=auth, timeout=120
    )
    assert r.status_code == 200, r.text
    yield server, url, r.json()["id"]
    stop(server)


def test_review_page_filter_open_explain_and_label_in_a_real_browser(review_server):
    from playwright.sync_api import sync_playwright

    server, url, _batch = review_server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=BROWSER_ARGS)
        page = browser.new_page()
        page.goto(server.url + "/review")
        # the API key is set: the page asks for it first
        page.wait_for_selector("#login:not([hidden])")
        page.fill("input[name=key]", "review-key")
        page.click("#login button[type=submit]")
        page.wait_for_selector("#links tbody tr")
        page.fill("#reviewer", "pat")
        # filter: spam only, from a referring domain typed into the filter
        page.uncheck("input[name=verdict][value=good]")
        page.uncheck("input[name=verdict][value=review]")
        first_site = page.get_attribute("#links tbody tr:first-child", "data-site")
        page.keyboard.press("Escape")  # leave the reviewer field, then "/" jumps to the filter
        page.keyboard.press("/")
        page.keyboard.type(first_site)
        page.click("#filters button[type=submit]")
        page.wait_for_function(
            "() => [...document.querySelectorAll('#links tbody tr')].length > 0 && "
            "[...document.querySelectorAll('#links tbody tr')]"
            f".every(tr => tr.dataset.site.includes({first_site!r}))"
        )
        verdicts = page.eval_on_selector_all(
            "#links tbody tr td:nth-child(2)", "tds => tds.map(t => t.textContent)"
        )
        assert set(verdicts) == {"spam"}
        # open the first link with the keyboard and see its explanation picture
        page.focus("#links tbody tr:first-child")
        page.keyboard.press("Enter")
        page.wait_for_selector("#detail:not([hidden])")
        page.wait_for_function(
            "() => { const i = document.querySelector('#d-waterfall');"
            " return i.complete && i.naturalWidth > 100; }"
        )
        assert page.locator("#d-reasons li").count() >= 3
        link_url = page.inner_text("#d-title")
        # label it good with a note
        page.fill("#d-note", "editorial mention, checked")
        page.click("#d-good")
        page.wait_for_function(
            "() => document.querySelector('#status').textContent.includes('Saved 1 label')"
        )
        page.wait_for_selector("#d-history li")
        assert "good by pat" in page.inner_text("#d-history")
        # the person's verdict counts at once: the detail says so, and the link has left the
        # spam-only list
        assert page.inner_text("#d-title") == link_url
        assert "reviewed as good by pat on" in page.inner_text("#d-verdict")
        assert "the model said spam" in page.inner_text("#d-verdict")
        page.wait_for_function(
            "id => ![...document.querySelectorAll('#links tbody tr')]"
            ".some(tr => tr.dataset.link === id)",
            arg=page.get_attribute("#detail", "data-link"),
        )
        browser.close()
    store = LabelStore(url)
    current = store.export_rows()
    assert [(r["source_url"], r["label"], r["label_reviewer"]) for r in current] == [
        (link_url, "good", "pat")
    ]
    assert current[0]["label_note"] == "editorial mention, checked"


def _login(page, server) -> None:
    page.goto(server.url + "/review")
    page.wait_for_selector("#login:not([hidden])")
    page.fill("input[name=key]", "review-key")
    page.click("#login button[type=submit]")
    page.wait_for_selector("#links tbody tr")


def _selected(page) -> tuple[str, int]:
    """The page info and the highlighted row's index."""
    return page.inner_text("#pageinfo"), page.eval_on_selector(
        "#links tbody",
        "b => [...b.rows].findIndex(r => r.getAttribute('aria-selected') === 'true')",
    )


def test_review_page_keyboard_crosses_pages_multi_select_and_unlabelled_only(review_server):
    from playwright.sync_api import sync_playwright

    server, _url, _batch = review_server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=BROWSER_ARGS)
        page = browser.new_page()
        _login(page, server)
        page.fill("#reviewer", "kim")
        # the full source URL, clickable, opening in a new tab without a handle on this one
        link = page.locator("#links tbody tr:first-child td.url a")
        assert link.get_attribute("href") == link.inner_text()
        assert link.get_attribute("href").startswith("http")
        assert link.get_attribute("target") == "_blank"
        assert "noopener" in link.get_attribute("rel")
        # j past the last row goes on to the next page; k before the first comes back
        page.focus("#links tbody tr:first-child")
        for _ in range(50):
            page.keyboard.press("j")
        page.wait_for_function(
            "() => document.querySelector('#pageinfo').textContent.startsWith('page 2 ')"
        )
        assert _selected(page)[1] == 0
        page.keyboard.press("k")
        page.wait_for_function(
            "() => document.querySelector('#pageinfo').textContent.startsWith('page 1 ')"
        )
        assert _selected(page)[1] == 49
        # labelling with the keyboard moves on to the next link
        page.keyboard.press("k")
        before = page.get_attribute("#links tbody tr[aria-selected=true]", "data-link")
        page.keyboard.press("g")
        page.wait_for_function(
            "id => { const r = document.querySelector('#links tbody tr[aria-selected=true]');"
            " return r && r.dataset.link !== id; }",
            arg=before,
        )
        # select two links with x and label them at once
        first = page.get_attribute("#links tbody tr[aria-selected=true]", "data-link")
        page.keyboard.press("x")
        page.keyboard.press("k")
        page.keyboard.press("x")
        assert page.inner_text("#picked") == "2 selected"
        page.click("#bulk-spam")
        page.wait_for_function(
            "() => document.querySelector('#status').textContent.includes('Saved 2 labels')"
        )
        assert page.inner_text("#picked") == "0 selected"
        labelled = page.inner_text(f"#links tbody tr[data-link='{first}'] td:last-child")
        assert labelled.startswith("spam · kim")
        # unlabelled only: the labelled links leave the list, and it has fewer links
        total_before = int(page.inner_text("#pageinfo").split("·")[1].split()[0].replace(",", ""))
        page.check("input[name=unlabelled]")
        page.click("#filters button[type=submit]")
        page.wait_for_function(
            f"() => !document.querySelector('#pageinfo').textContent.includes('{total_before:,} links')"
        )
        labels = page.eval_on_selector_all(
            "#links tbody tr td:last-child", "tds => tds.map(t => t.textContent)"
        )
        assert labels and not any(labels)
        ids = page.eval_on_selector_all("#links tbody tr", "rs => rs.map(r => r.dataset.link)")
        assert first not in ids and before not in ids
        browser.close()


def test_labelling_a_whole_domain_in_the_page_changes_the_disavow_file(review_server):
    """A followed, live domain the model keeps: labelled spam in the domains view, it gets a
    ``domain:`` line in the page's disavow file; labelled good, the line goes again."""
    from playwright.sync_api import sync_playwright

    from serving.disavow import domain_allowed
    from serving.review import reviewed_links

    server, url, batch = review_server
    with LabelStore(url).engine.connect() as conn:
        table = reviewed_links(conn, batch)
    table = table.with_columns(site=sites_of(table["source_url"]))
    candidates = (
        table.group_by("site")
        .agg(
            followed=(~pl.col("nofollow").fill_null(False) & ~pl.col("lost")).all(),
            spam=(pl.col("verdict") == "spam").any(),
            links=pl.len(),
        )
        .filter(pl.col("followed") & ~pl.col("spam"))
        .sort("links", descending=True)
    )
    allowed = domain_allowed(candidates["site"].to_list())
    site = next(s for s in candidates["site"] if s in allowed)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=BROWSER_ARGS)
        page = browser.new_page()
        _login(page, server)

        def disavow_file() -> str:
            href = page.get_attribute("#disavow", "href")
            r = page.request.get(server.url + href)
            assert r.status == 200 and "linksift" in r.text()
            return r.text()

        assert f"domain:{site}\n" not in disavow_file()
        page.click("#view-domains")
        page.fill("#site-filter", site)
        page.click("#filters button[type=submit]")
        row = f"#domains tbody tr[data-site='{site}']"
        page.wait_for_selector(row)
        page.click(f"{row} button[data-label=spam]")
        page.wait_for_function(
            "sel => document.querySelector(sel)?.textContent === 'spam'",
            arg=f"{row} td:nth-child(8)",
        )
        assert f"domain:{site}\n" in disavow_file()
        page.click(f"{row} button[data-label=good]")
        page.wait_for_function(
            "sel => document.querySelector(sel)?.textContent === 'good'",
            arg=f"{row} td:nth-child(8)",
        )
        assert f"domain:{site}" not in disavow_file()
        # the domain's name opens its links
        page.click(f"{row} td:first-child a")
        page.wait_for_selector("#links-view:not([hidden]) #links tbody tr")
        sites = page.eval_on_selector_all("#links tbody tr", "rs => rs.map(r => r.dataset.site)")
        assert sites and all(site in s for s in sites)
        browser.close()


def test_review_api_needs_the_key_and_pages_large_batches(review_server):
    server, _, batch = review_server
    assert httpx.get(server.url + "/review/api/batches").status_code == 401
    assert httpx.get(server.url + "/review").status_code == 200  # the page shell is open
    auth = {"Authorization": "Bearer review-key"}
    r = httpx.get(
        server.url + "/review/api/links",
        params={"batch": batch, "page": 3, "per_page": 100, "sort": "safe"},
        headers=auth,
    ).json()
    assert r["total"] == 3000 and len(r["rows"]) == 100
    assert r["rows"][0]["spam_probability"] <= r["rows"][-1]["spam_probability"]
    bad = httpx.get(server.url + "/review/api/links", params={"batch": "x"}, headers=auth)
    assert bad.status_code == 400 and "batch: expected a whole number" in bad.json()["error"]
    bulk = httpx.post(
        server.url + "/review/api/labels",
        headers=auth,
        json={"batch": batch, "site": r["rows"][0]["site"], "label": "spam", "reviewer": "bulk"},
    )
    assert bulk.status_code == 200 and bulk.json()["saved"] >= 1


def test_a_reviewed_link_or_site_sets_the_verdict_in_the_api_and_the_list_at_once(review_server):
    server, _, batch = review_server
    auth = {"Authorization": "Bearer review-key"}

    def get(path: str, **params) -> dict:
        r = httpx.get(server.url + path, params=params, headers=auth, timeout=60)
        assert r.status_code == 200, r.text
        return r.json()

    def post(path: str, body: dict) -> dict:
        r = httpx.post(server.url + path, json=body, headers=auth, timeout=60)
        assert r.status_code == 200, r.text
        return r.json()

    rows = get("/review/api/links", batch=batch, verdict="good", per_page=20)["rows"]
    row = next(r for r in rows if r["reviewed"] is None)  # earlier tests labelled some
    link = {k: row[k] for k in ("source_url", "target_url", "anchor_text")}
    before = post("/score", {"links": [link]})["results"][0]
    assert before["reviewed"] is None
    post(
        "/review/api/labels",
        {"batch": batch, "link_id": row["link_id"], "label": "spam", "reviewer": "Pat"},
    )
    after = post("/score", {"links": [link]})["results"][0]
    assert after["verdict"] == "spam" and after["reviewed"]["scope"] == "link"
    assert after["reasons"][0]["text"].startswith("reviewed as spam by Pat on 20")
    assert after["reasons"][1:] == before["reasons"][:2]
    assert after["spam_probability"] == before["spam_probability"]  # the model's own
    listed = get("/review/api/links", batch=batch, verdict="spam", site=row["site"])["rows"]
    mine = next(r for r in listed if r["link_id"] == row["link_id"])
    assert mine["model_verdict"] == "good" and mine["reason_1"].startswith("reviewed as spam")
    assert post(
        "/review/api/labels", {"batch": batch, "link_id": row["link_id"], "label": "remove"}
    ) == {"removed": 1}
    assert post("/score", {"links": [link]})["results"][0] == before
    # a whole site: its links take the verdict too, and removing it gives the model's back
    post(
        "/review/api/labels",
        {"batch": batch, "site": row["site"], "label": "spam", "reviewer": "Sam"},
    )
    site_hit = post("/score", {"links": [link]})["results"][0]
    assert site_hit["verdict"] == "spam" and site_hit["reviewed"]["reviewer"] == "Sam"
    post("/review/api/labels", {"batch": batch, "site": row["site"], "label": "remove"})
    assert post("/score", {"links": [link]})["results"][0] == before


def test_service_follows_the_champion_alias_without_a_restart(tmp_path: Path):
    from training import tracking
    from training.config import Thresholds, TrainConfig
    from training.pipeline import train

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    sample = ROOT / "data" / "sample" / "labeled.parquet"
    train(
        sample,
        TrainConfig(n_estimators=40),
        Thresholds(),
        tracking_uri=uri,
        register=True,
        as_of=AS_OF,
    )
    cache = tmp_path / "model-cache"
    server = start_server(
        tmp_path,
        LINKSIFT_MODEL="models:/linksift@champion",
        MLFLOW_TRACKING_URI=uri,
        LINKSIFT_MODEL_CACHE=str(cache),
    )

    def cached() -> list[str]:
        return sorted(p.name.split("-")[1] for p in cache.iterdir() if p.is_dir())

    try:
        assert httpx.get(server.url + "/model").json()["registry_version"] == "1"
        # an alias that has not moved: asked, never downloaded again (the follower checks
        # every second meanwhile, too)
        for _ in range(20):
            r = httpx.post(server.url + "/model/reload", timeout=60).json()
            assert r == {"reloaded": False, "model_version": "linksift/1", "previous": "linksift/1"}
        assert cached() == ["1"]
        train(
            sample,
            TrainConfig(n_estimators=60, seed=3),
            Thresholds(),
            tracking_uri=uri,
            register=True,
            as_of=AS_OF,
        )
        tracking.promote(uri, "2")
        deadline = time.time() + 60
        while httpx.get(server.url + "/model").json()["registry_version"] != "2":
            assert time.time() < deadline, "the service did not pick up the new champion"
            time.sleep(0.5)
        # the version no longer served is removed (just after the switch)
        while cached() != ["2"]:
            assert time.time() < deadline, f"old versions stay cached: {cached()}"
            time.sleep(0.2)
        tracking.rollback(uri)
        r = httpx.post(server.url + "/model/reload").json()
        assert r["model_version"] == "linksift/1"
        deadline = time.time() + 30
        while cached() != ["1"]:
            assert time.time() < deadline, f"old versions stay cached: {cached()}"
            time.sleep(0.2)
    finally:
        stop(server)


def _scored_sample(tmp_path: Path) -> Path:
    scored = tmp_path / "scored.csv"
    score_file(
        ROOT / "data" / "sample" / "export.csv", scored, LinkModel.load(), BatchOptions(as_of=AS_OF)
    )
    return scored


def test_a_scored_file_loads_with_the_scores_it_holds(tmp_path: Path):
    """Given a scored file whose first link an analyst re-judged by hand, when it is loaded
    into the review database on another day, then every link shows the verdict, probability
    and reasons the file holds (the ones handed to the client), not a new scoring."""
    import sqlite3
    from datetime import date

    from serving.review import load_batch

    scored = _scored_sample(tmp_path)
    table = pl.read_csv(scored, infer_schema=False)
    table = table.with_columns(
        verdict=pl.when(pl.col("row") == "1").then(pl.lit("review")).otherwise("verdict"),
        spam_probability=pl.when(pl.col("row") == "1")
        .then(pl.lit("0.5"))
        .otherwise("spam_probability"),
        reason_1=pl.when(pl.col("row") == "1")
        .then(pl.lit("checked by hand"))
        .otherwise("reason_1"),
    )
    table.write_csv(scored)
    db = tmp_path / "labels.db"
    store = LabelStore(f"sqlite:///{db}")
    load_batch(store, scored, scored.name, LinkModel.load(), as_of=date(2030, 1, 1))
    with sqlite3.connect(db) as conn:
        loaded = conn.execute(
            "select row, verdict, spam_probability, reason_1 from batch_links order by position"
        ).fetchall()
    assert loaded[0] == (1, "review", 0.5, "checked by hand")
    expected = table.select(
        pl.col("row").cast(pl.Int64),
        "verdict",
        pl.col("spam_probability").cast(pl.Float64),
        "reason_1",
    ).rows()
    assert loaded == expected


def test_a_scored_file_with_a_broken_score_is_refused_naming_the_row(tmp_path: Path):
    from features.importers import InputError
    from serving.review import load_batch

    scored = _scored_sample(tmp_path)
    table = pl.read_csv(scored, infer_schema=False)
    table = table.with_columns(
        spam_probability=pl.when(pl.col("row") == "7")
        .then(pl.lit("high"))
        .otherwise("spam_probability")
    )
    table.write_csv(scored)
    store = LabelStore(f"sqlite:///{tmp_path / 'labels.db'}")
    with pytest.raises(
        InputError, match=r"row 7: spam_probability: expected a number in 0\.\.1, got 'high'"
    ):
        load_batch(store, scored, scored.name, LinkModel.load(), as_of=AS_OF)
