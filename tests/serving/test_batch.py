"""Batch scoring: every row accounted for, chunking invariance, resume after a kill, atomic
output, disavow rules, the report."""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from features.urls import sites_of
from serving import disavow
from serving.batch import BatchError, BatchOptions, score_file
from serving.model import LinkModel
from tests.conftest import AS_OF
from training.synth import generate, to_ahrefs

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def model() -> LinkModel:
    return LinkModel.load()


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    """An Ahrefs-style export of 2,500 generated links with a few bad rows mixed in."""
    path = tmp_path_factory.mktemp("export") / "ahrefs.csv"
    table = to_ahrefs(generate(2500, seed=44, as_of=AS_OF, targets=2, vendor="ahrefs"))
    table.write_csv(path, quote_style="always")
    lines = path.read_text().splitlines()
    lines.insert(10, lines[5].replace("https://", "javascript:", 1))  # bad URL
    lines.insert(700, '"x","y"')  # wrong number of fields
    lines.append(lines[-1].replace('"200"', '"999"', 1))  # HTTP status out of range
    lines.append("")
    path.write_text("\n".join(lines) + "\n")
    return path


def opts(**kw) -> BatchOptions:
    return BatchOptions(as_of=AS_OF, **kw)


def test_every_row_is_scored_or_rejected(export: Path, tmp_path: Path, model):
    out = tmp_path / "scored.csv"
    summary = score_file(export, out, model, opts(chunk_rows=400))
    scored = pacsv.read_csv(out)
    rejects = pacsv.read_csv(tmp_path / "scored.rejects.csv")
    assert summary.read == 2503 == summary.scored + summary.rejected
    assert scored.num_rows == summary.scored == 2500
    assert rejects.num_rows == summary.rejected == 3
    reasons = " ".join(rejects["reason"].to_pylist())
    assert "expected an http(s) URL" in reasons and "expected 35 fields, got 2" in reasons
    assert "source_http_status" in reasons
    rows = scored["row"].to_pylist() + rejects["row"].to_pylist()
    assert sorted(rows) == list(range(1, 2504))
    assert {
        "verdict",
        "spam_probability",
        "quality_score",
        "reason_1",
        "reason_2",
        "reason_3",
        "model_version",
        "link_id",
        "Page traffic",
    } <= set(scored.column_names)
    assert sum(summary.verdicts.values()) == 2500
    assert "2,503 rows read = 2,500 scored + 3 rejected" in summary.text()


def test_chunk_size_and_threads_do_not_change_results(export: Path, tmp_path: Path, model):
    small = score_file(export, tmp_path / "a.parquet", model, opts(chunk_rows=97, threads=2))
    big = score_file(export, tmp_path / "b.parquet", model, opts(chunk_rows=100_000, threads=1))
    assert small.read == big.read
    a = pq.read_table(tmp_path / "a.parquet")
    b = pq.read_table(tmp_path / "b.parquet")
    assert a.equals(b)


def test_explain_flagged_and_none(export: Path, tmp_path: Path, model):
    score_file(export, tmp_path / "f.parquet", model, opts(explain="flagged"))
    flagged = pq.read_table(tmp_path / "f.parquet").to_pylist()
    assert all((r["reason_1"] is None) == (r["verdict"] == "good") for r in flagged)
    score_file(export, tmp_path / "n.parquet", model, opts(explain="none"))
    assert all(r["reason_1"] is None for r in pq.read_table(tmp_path / "n.parquet").to_pylist())
    everything = pq.read_table(tmp_path / "n.parquet")["spam_probability"]
    assert everything.equals(pq.read_table(tmp_path / "f.parquet")["spam_probability"])


def test_resume_refuses_a_changed_input(tmp_path: Path, model):
    src = tmp_path / "links.csv"
    generate(300, seed=46, as_of=AS_OF).write_csv(src)
    out = tmp_path / "scored.csv"
    work = out.with_name(f".{out.name}.linksift-work")
    work.mkdir()
    (work / "state.json").write_text('{"input": "elsewhere"}')
    with pytest.raises(BatchError, match="cannot resume: input"):
        score_file(src, out, model, opts(resume=True))


def test_unwritable_output_is_a_clear_error_and_leaves_nothing(tmp_path: Path, model):
    src = tmp_path / "links.csv"
    generate(200, seed=47, as_of=AS_OF).write_csv(src)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the output folder should be")
    with pytest.raises(BatchError, match="cannot write"):
        score_file(src, blocker / "scored.csv", model, opts())
    assert blocker.read_text().startswith("a file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["links.csv", "not-a-folder"]


def test_missing_input_is_a_clear_error(tmp_path: Path, model):
    """A mistyped input path says so (it had been reported as an output that could not be
    written)."""
    missing = tmp_path / "no-such-export.csv"
    with pytest.raises(BatchError, match=f"cannot read {missing}: no such file"):
        score_file(missing, tmp_path / "out.parquet", model)
    assert list(tmp_path.iterdir()) == []


def test_csv_output_neutralises_formula_injection(tmp_path: Path, model):
    src = tmp_path / "links.csv"
    src.write_text(
        "source_url,target_url,anchor_text,source_title\n"
        "https://a.example.com/x,https://t.example.com/,\"=cmd|' /C calc'!A0\",@SUM(1+1)\n"
    )
    score_file(src, tmp_path / "out.csv", model, opts())
    (row,) = csv.DictReader((tmp_path / "out.csv").open(newline=""))
    assert row["anchor_text"] == "'=cmd|' /C calc'!A0" and row["source_title"] == "'@SUM(1+1)"
    score_file(src, tmp_path / "out.parquet", model, opts())
    row = pq.read_table(tmp_path / "out.parquet").to_pylist()[0]
    assert row["anchor_text"].startswith("=cmd")  # Parquet keeps the value as it is


def test_disavow_file_validates_and_follows_the_rules():
    rows = []

    def add(url, verdict, p=0.9, sitewide=False, nofollow=False, lost="false", reason="footer"):
        rows.append(
            {
                "source_url": url,
                "verdict": verdict,
                "spam_probability": p,
                "reason_1": f"{reason} link (+1.1)",
                "sitewide": sitewide,
                "nofollow": nofollow,
                "ugc": None,
                "sponsored": False,
                "Lost link": lost,
            }
        )

    for i in range(5):
        add(f"https://farm.example.xyz/p{i}", "spam", reason="footer" if i else "money")
    add("https://news.example.com/a", "spam")  # one spam link among good ones → URL
    for i in range(4):
        add(f"https://news.example.com/b{i}", "good", 0.1)
    for i in range(3):
        add(f"https://alice.blogspot.com/p{i}", "spam")  # the user's blog, not blogspot.com
    add("https://bob.wordpress.com/x", "spam", sitewide=True)
    add("http://203.0.113.7/x", "spam", sitewide=True)  # IPs are listed as URLs
    add("https://ok.example.org/x", "review", 0.5)  # review is not disavowed by default
    add("https://lists.example.net/domain-list-171", "spam")  # one page: the whole site
    for i in range(3):
        add(f"https://nofollow.example.info/p{i}", "spam", nofollow=True)  # passes nothing
    add("https://gone.example.biz/p", "spam", lost="true")  # already lost
    sites = disavow.collect([pl.DataFrame(rows)])
    made = disavow.build(sites, policy="cleanup", synthetic=True)
    lines = [ln for ln in made.text.splitlines() if ln and not ln.startswith("#")]
    assert "domain:example.xyz" in lines and "domain:alice.blogspot.com" in lines
    assert "domain:bob.wordpress.com" in lines and "domain:example.net" in lines
    assert "https://news.example.com/a" in lines and "domain:example.com" not in lines
    assert "http://203.0.113.7/x" in lines
    assert not any(x in lines for x in ("domain:blogspot.com", "domain:wordpress.com"))
    assert not any(s in ln for ln in lines for s in ("ok.example.org", "example.info", "gone."))
    head = made.text.splitlines()[:6]
    assert "policy 'cleanup'" in head[0] and any("Review every line" in h for h in head)
    assert any("generated data" in h for h in head)  # the synthetic model is named
    assert "# left out: 4 links" in made.text and made.left_out == 4
    assert "most common reason: footer link (4 of 5)" in made.text  # the majority, counted
    assert disavow.validate(made.text) == []
    assert disavow.validate("domain:blogspot.com\ndomain:co.uk\nftp://x\n") != []
    small = disavow.build(sites, max_lines=10)
    assert small.cut > 0 and "# truncated" in small.text
    assert len(small.text.splitlines()) <= 10 and disavow.validate(small.text) == []
    widened = disavow.build(disavow.collect([pl.DataFrame(rows)], policy="manual-action"),
                            policy="manual-action")  # fmt: skip
    assert "domain:example.org" in widened.text  # review verdicts count under a manual action


def test_each_link_gets_an_action_with_its_reason():
    table = pl.DataFrame(
        {
            "source_url": [
                "https://search.yahoo.com/search?p=rye+flour",
                "https://www.google.com/search?q=bakewise",
                "https://webcache.googleusercontent.com/search?q=cache:x",
                "https://spam.example.xyz/a",
                "https://spam.example.xyz/b",
                "https://spam.example.xyz/c",
                "https://blog.example.org/rye",
                "https://maybe.example.net/x",
            ],
            "nofollow": [False, False, False, True, False, False, False, False],
            "ugc": [None] * 8,
            "sponsored": [False] * 8,
            "Lost link": ["false", "false", "false", "false", "true", "false", "false", "false"],
        }
    )
    verdict = pl.Series(["good", "spam", "spam", "spam", "spam", "spam", "good", "review"])
    assert disavow.link_actions(table, verdict).to_list() == [
        "ignore: search-result page",
        "ignore: search-result page",
        "ignore: web proxy or cache",
        "ignore: nofollow",
        "ignore: lost link",
        "disavow",
        "keep",
        "review",
    ]
    widened = disavow.link_actions(table, verdict, policy="manual-action").to_list()
    assert widened[-1] == "disavow"


def test_the_domains_file_has_one_row_per_referring_domain(export: Path, tmp_path: Path, model):
    summary = score_file(
        export,
        tmp_path / "s.parquet",
        model,
        opts(domains=tmp_path / "domains.csv", disavow=tmp_path / "d.txt"),
    )
    domains = pl.read_csv(tmp_path / "domains.csv")
    scored = pl.read_parquet(tmp_path / "s.parquet")
    assert domains["links"].sum() == summary.scored == scored.height
    assert domains["referring_domain"].n_unique() == domains.height
    assert (domains["good"] + domains["review"] + domains["spam"] == domains["links"]).all()
    assert set(domains["action"]) <= {"disavow", "disavow URLs", "ignore", "review", "keep"}
    listed = {ln.removeprefix("domain:") for ln in (tmp_path / "d.txt").read_text().splitlines()
              if ln.startswith("domain:")}  # fmt: skip
    assert listed == set(domains.filter(pl.col("action") == "disavow")["referring_domain"])
    assert summary.domains == str(tmp_path / "domains.csv")


def test_report_is_one_self_contained_file_a_client_can_read(export: Path, tmp_path: Path, model):
    summary = score_file(
        export,
        tmp_path / "s.parquet",
        model,
        opts(report=tmp_path / "r.html", disavow=tmp_path / "d.txt", domains=tmp_path / "d.csv"),
    )
    page = (tmp_path / "r.html").read_text()
    scored = pl.read_parquet(tmp_path / "s.parquet")
    target = sites_of(scored["target_url"]).value_counts(sort=True).row(0)[0]
    assert f"<title>Backlink audit: {target}, 25 November 2026</title>" in page
    for section in (
        "At a glance",
        "What to do",
        "Referring domains",
        "Anchor text",
        "xact-match anchor",  # the share, or the over-optimisation warning
        "Authority",
        "Top-level domains and languages",
        "New and lost links over time",
        "Placement",
        "Why links were called spam",
        "How the links were judged",
    ):
        assert section in page, section
    # headline figures are the run's own
    assert f"<b>{summary.scored:,}</b>links" in page
    domains = pl.read_csv(tmp_path / "d.csv")
    assert f"<b>{domains.height:,}</b>referring domains" in page
    assert page.count("<svg") >= 6  # charts inline, no plotting library
    assert "src='http" not in page and 'src="http' not in page and "<link" not in page
    # the model in words: flagged as synthetic, no local paths, no raw JSON or card markdown
    assert "trained on synthetic links" in page and 'class="warn"' in page
    for leak in (str(ROOT), str(tmp_path), "/home/", '"feature_fingerprint"', "| metric |"):
        assert leak not in page, leak
    # count-bearing reasons are grouped by signal, not listed once per count
    assert "links come from this referring site" not in page.split("Why links were called")[1]
    assert disavow.validate((tmp_path / "d.txt").read_text()) == []
    assert summary.report and summary.disavow


def test_report_over_optimised_anchors_are_flagged(tmp_path: Path, model):
    """A profile whose followed links mostly use the target's keyword as anchor is warned of."""
    rows = [
        {
            "source_url": f"https://blog{i}.example-{i}.com/post-{i}",
            "target_url": "https://runshop.com/running-shoes",
            "anchor_text": "running shoes" if i % 3 else "runshop",
        }
        for i in range(60)
    ]
    path = tmp_path / "links.csv"
    pl.DataFrame(rows).write_csv(path)
    score_file(path, tmp_path / "s.csv", model, opts(report=tmp_path / "r.html"))
    page = (tmp_path / "r.html").read_text()
    assert "Over-optimised anchors" in page
    assert "Backlink audit: runshop.com" in page


def test_reviewed_labels_set_verdicts_in_the_next_score(export: Path, tmp_path: Path, model):
    from features.urls import sites_of
    from training.labels import LabelStore
    from training.reviewed import standing_labels

    out = tmp_path / "scored.csv"
    score_file(export, out, model, opts())
    scored = pl.read_csv(out, infer_schema_length=0)
    good = scored.filter(pl.col("verdict") == "good").row(0, named=True)
    spam = scored.filter(pl.col("verdict") == "spam").row(0, named=True)
    url = f"sqlite:///{tmp_path / 'labels.db'}"
    store = LabelStore(url)
    store.add({"link_id": good["link_id"], **good}, "spam", reviewer="Pat")
    site = sites_of(pl.Series([spam["source_url"]]))[0]
    store.label_site(site, "good", reviewer="Sam")
    summary = score_file(export, out, model, opts(reviewed=standing_labels(url)))
    again = pl.read_csv(out, infer_schema_length=0)
    row = again.filter(pl.col("link_id") == good["link_id"]).row(0, named=True)
    assert row["verdict"] == "spam" and row["spam_probability"] == good["spam_probability"]
    assert row["reason_1"].startswith("reviewed as spam by Pat on 20")
    assert row["reason_2"] == good["reason_1"]  # the model's reasons follow
    from_site = again.filter(sites_of(again["source_url"]) == site)
    assert set(from_site["verdict"]) == {"good"}
    assert from_site["reason_1"].str.ends_with(f"(the whole site {site})").all()
    assert summary.reviewed == 1 + from_site.height
    assert "verdicts set by people's labels" in summary.text()
    store.remove(link_ids=[good["link_id"]], site=site)
    score_file(export, out, model, opts(reviewed=standing_labels(url)))
    assert pl.read_csv(out, infer_schema_length=0).equals(scored)
