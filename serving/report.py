"""The audit report: one self-contained HTML file an SEO can send to a client (inline CSS and
SVG charts, nothing fetched), optionally printed to PDF by headless Chromium.

It is built from small per-chunk aggregates saved with each finished chunk (so a resumed run
reports on every row), facts about the whole profile read from the scored chunks
(``profile_facts``), the referring-domain table the domains file holds, and the model card,
said in words.
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from features import schema, spec
from features.urls import host_frame, sites_of
from serving import charts
from serving.disavow import lost_flags, unfollowed_flags
from serving.model import VERDICTS, Scores

BINS = 20
EXACT_MATCH_WARNING = spec.BY_NAME["target_exact_share"].silent_below or 0.10
"""Exact-match share of followed anchors above which the report warns of over-optimisation
(and under which the model's reasons never cite it): natural profiles are mostly brand, URL
and generic anchors, and Google's link spam policy names "links with optimized anchor text"
among the links it acts against."""
MONTHS = 24  # the new/lost charts show the last two years
DOMAIN_ROWS = 100  # the report's domain table; the domains file has them all


def _cross(codes: np.ndarray, names: list[str], verdict: np.ndarray) -> dict[str, dict[str, int]]:
    """Links per (value, verdict), from each row's value code and verdict code."""
    counts = np.bincount(codes * len(VERDICTS) + verdict, minlength=len(names) * len(VERDICTS))
    table = counts.reshape(len(names), len(VERDICTS))
    return {
        name: dict(zip(VERDICTS, row.tolist(), strict=True))
        for name, row in sorted(zip(names, table, strict=True), key=lambda nr: nr[0])
        if row.any()
    }


def chunk_aggregate(links: pl.DataFrame, scores: Scores) -> dict:
    """Small, mergeable facts about one chunk that need the model's output: the score
    histogram, verdicts by anchor type and placement, |SHAP| weight per signal, and the signal
    behind each spam link's strongest reason."""
    verdict = scores.verdict_code.astype(np.int64)
    hist = np.histogram(scores.probability, bins=BINS, range=(0, 1))[0].tolist()
    anchor_col = scores.X[:, spec.INDEX["anchor_type"]]
    anchor = np.where(np.isnan(anchor_col), len(spec.ANCHOR_TYPES), np.nan_to_num(anchor_col))
    anchor = anchor.astype(np.int64)
    anchor_names = [*spec.ANCHOR_TYPES, "not given"]
    placements = links["placement"].drop_nulls().unique().sort().to_list()
    placement = links["placement"].rank("dense").cast(pl.Int64).fill_null(0).to_numpy() - 1
    cross = {
        "anchor": _cross(anchor, anchor_names, verdict),
        "placement": _cross(
            np.where(placement < 0, len(placements), placement), [*placements, "not given"], verdict
        ),
    }
    weights: dict[str, float] = {}
    reasons: dict[str, int] = {}
    if scores.contributions is not None:
        flagged = verdict > 0
        c = scores.contributions[:, : len(spec.NAMES)]
        weights = dict(zip(spec.NAMES, np.abs(c[flagged]).sum(axis=0).tolist(), strict=True))
        if scores.reasons is not None:
            # by signal, not by text: "1,046 links come from..." and "1,045 links ..." are one
            first = scores.reasons.feature[verdict == 2, 0]
            top = np.bincount(first[first >= 0], minlength=len(spec.NAMES))
            reasons = {spec.NAMES[i]: int(n) for i, n in enumerate(top) if n}
    return {"hist": hist, "cross": cross, "weights": weights, "reasons": reasons}


def merge(aggs: list[dict]) -> dict:
    hist = np.zeros(BINS, dtype=int)
    cross: dict[str, dict[str, Counter]] = {}
    weights: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for a in aggs:
        hist += np.asarray(a["hist"])
        for name, values in a["cross"].items():
            for value, counts in values.items():
                cross.setdefault(name, {}).setdefault(value, Counter()).update(counts)
        weights.update(a["weights"])
        reasons.update(a["reasons"])
    return {"hist": hist.tolist(), "cross": cross, "weights": weights, "reasons": reasons}


# ------------------------------------------------------------------------------------------------
# facts about the whole profile, from the scored chunks
# ------------------------------------------------------------------------------------------------


def _counts(frames: list[pl.DataFrame], key: str) -> pl.DataFrame:
    """Per-chunk ``(key, n)`` counts summed, largest first."""
    if not frames:
        return pl.DataFrame(schema={key: pl.String, "n": pl.Int64})
    return (
        pl.concat(frames)
        .group_by(key)
        .agg(pl.col("n").sum())
        .sort(["n", key], descending=[True, False])
    )


def _month(table: pl.DataFrame, name: str) -> pl.Expr:
    if name not in table.columns:
        return pl.lit(None, pl.String)
    return pl.col(name).cast(pl.String).str.slice(0, 7)


def profile_facts(tables: Iterable[pl.DataFrame]) -> dict[str, Any]:
    """Counts over every scored link (streamed chunk by chunk): the target sites, actions,
    followed and live links, anchors as written, source languages, new links by first-seen
    month and lost links by last-seen month, and each referring domain's highest authority."""
    parts: dict[str, list[pl.DataFrame]] = {
        k: [] for k in ("target", "action", "anchor", "language", "new", "lost", "authority")
    }
    links = followed = live = 0
    for t in tables:
        unfollowed, gone = unfollowed_flags(t), lost_flags(t)
        links += t.height
        followed += int((~unfollowed).sum())
        live += int((~gone).sum())
        frame = t.with_columns(
            target=sites_of(t["target_url"]).fill_null("(not a URL)"),
            referring=sites_of(t["source_url"]).fill_null(""),
            gone=gone,
        )

        def count(key: str, expr: pl.Expr, frame: pl.DataFrame = frame) -> None:
            parts[key].append(
                frame.select(expr.alias(key))
                .drop_nulls()
                .group_by(key)
                .len("n")
                .cast({"n": pl.Int64})
            )

        count("target", pl.col("target"))
        count("action", pl.col("action").cast(pl.String).str.replace(r"^ignore: .*", "ignore"))
        count(
            "anchor",
            pl.col("anchor_text")
            .cast(pl.String)
            .str.strip_chars()
            .str.to_lowercase()
            .fill_null(""),
        )
        language = pl.col("source_language").cast(pl.String).str.strip_chars()
        count("language", pl.when(language != "").then(language).otherwise(pl.lit("not given")))
        count("new", _month(t, "first_seen"))
        count("lost", pl.when(pl.col("gone")).then(_month(t, "last_seen")))
        if "source_authority" in t.columns:
            parts["authority"].append(
                frame.group_by("referring").agg(pl.col("source_authority").cast(pl.Float64).max())
            )
    authority = (
        pl.concat(parts["authority"]).group_by("referring").agg(pl.col("source_authority").max())
        if parts["authority"]
        else pl.DataFrame(schema={"referring": pl.String, "source_authority": pl.Float64})
    )
    return {
        "links": links,
        "followed": followed,
        "live": live,
        **{k: _counts(parts[k], k) for k in ("target", "action", "anchor", "language")},
        "new": _counts(parts["new"], "new").sort("new"),
        "lost": _counts(parts["lost"], "lost").sort("lost"),
        "authority": authority["source_authority"],
    }


# ------------------------------------------------------------------------------------------------
# the page
# ------------------------------------------------------------------------------------------------


def _histogram(hist: list[int], thresholds: dict[str, float]) -> str:
    """The scores as a histogram, bars coloured by the verdict their range gets."""
    edges = np.linspace(0, 1, BINS + 1)[:-1]
    colors = [
        "#2e7d32"
        if e < thresholds["review"]
        else "#f9a825"
        if e < thresholds["spam"]
        else "#c62828"
        for e in edges
    ]
    return charts.columns(
        hist,
        colors,
        title="Links by spam probability",
        x_labels=[f"{x:.1f}" for x in np.linspace(0, 1, 6)],
    )


def _figure(title: str, svg: str) -> str:
    """A chart with its title shown above it (an SVG's own title is only a tooltip)."""
    return f"<figure><figcaption>{html.escape(title)}</figcaption>{svg}</figure>"


def _shares(counts: pl.DataFrame, key: str, total: int, top: int, title: str) -> str:
    """Horizontal bars of the ``top`` largest counts with their share of ``total``."""
    rows = counts.head(top).rows()
    if not rows or [k for k, _ in rows] == ["not given"]:
        return f"<p class=note>{html.escape(title)}: the export does not say.</p>"
    return _figure(
        title,
        charts.bars(
            [str(k) or "(empty)" for k, _ in rows],
            [n for _, n in rows],
            shown=[f"{n:,} ({n / max(total, 1):.0%})" for _, n in rows],
            title=title,
        ),
    )


def _by_month(counts: pl.DataFrame, key: str, color: str, title: str) -> str:
    """Links per month over the last ``MONTHS`` months that have any (a column chart)."""
    dated = counts.filter(pl.col(key).str.contains(r"^\d{4}-\d{2}$")).select(
        month=(pl.col(key) + "-01").str.to_date("%Y-%m-%d"), n=pl.col("n")
    )
    if dated.is_empty():
        return "<p class=note>The export gives no dates.</p>"
    every = pl.DataFrame(  # months without links are shown as empty, not left out
        {"month": pl.date_range(dated["month"].min(), dated["month"].max(), "1mo", eager=True)}
    )
    rows = (
        every.join(dated, on="month", how="left")
        .select(pl.col("month").dt.strftime("%Y-%m"), pl.col("n").fill_null(0))
        .tail(MONTHS)
        .rows()
    )
    labels = [m for m, _ in rows]
    step = max(1, len(labels) // 6)
    return _figure(
        title,
        charts.columns(
            [n for _, n in rows], [color] * len(rows), title=title, x_labels=labels[::step]
        ),
    )


def _authority_chart(authority: pl.Series) -> str:
    values = authority.drop_nulls().drop_nans().clip(0, 100).to_numpy()
    if not values.size:
        return "<p class=note>The export gives no authority score.</p>"
    counts = np.histogram(values, bins=10, range=(0, 100))[0].tolist()
    title = "Referring domains by authority (the highest of their linking pages)"
    return _figure(
        title,
        charts.columns(
            counts, ["#4a6fa5"] * 10, title=title, x_labels=["0", "20", "40", "60", "80", "100"]
        ),
    )


def _table(headers: list[str], rows: list[list[Any]], sortable: bool = False) -> str:
    def cell(c: Any) -> str:
        if isinstance(c, int | float) and not isinstance(c, bool):
            return f"<td class=n data-v='{c}'>{c:,}</td>"
        if isinstance(c, str) and len(c) == 10 and c[4:5] == "-" and c[7:8] == "-":
            return f"<td class=d>{c}</td>"  # a date, kept on one line
        return f"<td>{html.escape('' if c is None else str(c))}</td>"

    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(cell(c) for c in row) + "</tr>" for row in rows)
    attr = " class=sortable" if sortable else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def model_in_words(model_info: dict[str, Any], card: dict[str, Any]) -> str:
    """What scored the links, for a reader who is not the model's owner: no paths, no JSON."""
    t = model_info["thresholds"]
    rows = card.get("rows", {})
    trained = str(model_info.get("trained_at") or "")[:10] or "an unknown date"
    data = (
        "synthetic links that linksift generates (a stand-in, not real reviewed links)"
        if model_info.get("synthetic_training_data")
        else "reviewed, labelled links"
    )
    n = sum(v for v in rows.values() if isinstance(v, int))
    text = (
        f"Each link was scored by linksift model {html.escape(model_info['model_version'])}, "
        f"a gradient-boosted tree model trained on {date_words(trained)} on "
        f"{f'{n:,} ' if n else ''}{data}. A link is called spam from a spam probability of "
        f"{t['spam']:.2f}, and is sent to review from {t['review']:.2f}; every score comes with "
        "the signals that moved it most (SHAP values), which the link list and the review page "
        "show."
    )
    m = card.get("metrics") or {}  # held-out test metrics
    if m.get("precision_at_spam") is not None and m.get("recall_at_spam") is not None:
        where = "synthetic " if model_info.get("synthetic_training_data") else ""
        text += (
            f" On held-out {where}links it found {m['recall_at_spam']:.0%} of the spam at the spam "
            f"threshold, and {m['precision_at_spam']:.0%} of the links it called spam were spam."
        )
    return f"<p>{text}</p>"


def date_words(iso: str) -> str:
    """``2026-12-02`` → ``2 December 2026`` (unchanged when it is not an ISO date)."""
    try:
        from datetime import date

        d = date.fromisoformat(iso[:10])
    except ValueError:
        return iso
    return f"{d.day} {d:%B %Y}"


CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1000px;
color:#1d2327;padding:0 1rem}h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;
margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.3rem;break-after:avoid}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #e2e4e7;
padding:.3rem .5rem;text-align:left;vertical-align:top}th{background:#f6f7f7}td.n{text-align:right}
table.sortable th{cursor:pointer}table.sortable th:after{content:" ↕";color:#999}
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{border:1px solid #e2e4e7;border-radius:6px;
padding:.8rem 1rem;min-width:8rem}.card b{display:block;font-size:1.5rem}.good{color:#2e7d32}
.review{color:#b26a00}.spam{color:#c62828}svg{max-width:100%;height:auto}.note{color:#555}
.warn{border:2px solid #c62828;background:#fdecea;padding:.7rem 1rem;border-radius:6px}
.sub{color:#555;margin-top:0}tr{break-inside:avoid}td.d{white-space:nowrap}
figure{margin:1rem 0;break-inside:avoid}figcaption{font-weight:600;margin-bottom:.3rem}
"""
SORT_JS = """
document.querySelectorAll("table.sortable th").forEach((th, col) => th.addEventListener("click",
() => { const body = th.closest("table").tBodies[0], rows = [...body.rows];
const key = (r) => { const c = r.cells[col]; return c.dataset.v !== undefined ? +c.dataset.v :
c.textContent.toLowerCase(); };
const dir = th.dataset.dir === "desc" ? 1 : -1; th.dataset.dir = dir === 1 ? "asc" : "desc";
rows.sort((a, b) => (key(a) > key(b) ? dir : key(a) < key(b) ? -dir : 0));
body.append(...rows); }));
"""


def render(
    summary: Any,
    merged: dict,
    facts: dict[str, Any],
    domains: pl.DataFrame,
    model_info: dict[str, Any],
    card: dict[str, Any],
    as_of: str,
    anchor_mix: pl.DataFrame,
) -> str:
    """The report as one HTML document; ``anchor_mix`` is the profile's (each target's
    followed links with an anchor and its keyword anchors: the exact-match share the model's
    ``target_exact_share`` reads)."""
    target = facts["target"]
    site = str(target["target"][0]) if target.height else "unknown site"
    others = target.height - 1
    when = date_words(as_of)
    actions = dict(facts["action"].rows())
    n_domains = domains.height
    links = max(facts["links"], 1)

    def card_(cls: str, label: str, n: int, of: int | None = None) -> str:
        share = f"<small> {n / max(of, 1):.0%}</small>" if of else ""
        return f'<div class="card {cls}"><b>{n:,}{share}</b>{label}</div>'

    headline = "".join(
        [
            card_("", "links", facts["links"]),
            card_("", "referring domains", n_domains),
            card_("", "followed links", facts["followed"], links),
            card_("", "live links", facts["live"], links),
        ]
    )
    action_cards = "".join(
        card_(cls, label, actions.get(key, 0), links)
        for cls, label, key in (
            ("spam", "disavow proposed", "disavow"),
            ("review", "to review", "review"),
            ("", "ignore (no action needed)", "ignore"),
            ("good", "keep", "keep"),
        )
    )
    v = summary.verdicts
    verdict_cards = "".join(card_(x, x, v[x], summary.scored) for x in VERDICTS)
    e = summary.evidence
    thin = e[schema.EVIDENCE[0]] + e[schema.EVIDENCE[1]]
    thin_note = (
        f'<p class="warn"><b>Thin evidence for {thin:,} links ({thin / max(summary.scored, 1):.0%}).'
        f"</b> {e[schema.EVIDENCE[0]]:,} came with their URLs only and "
        f"{e[schema.EVIDENCE[1]]:,} with an anchor but no page fields or metrics: their "
        "verdicts are guesses from the URL (URL-only links are never called spam, at most "
        "sent to review). An export with page metrics (Ahrefs, Semrush) judges them better.</p>"
        if thin
        else ""
    )
    synthetic = (
        '<p class="warn"><b>Read the verdicts as a first pass.</b> The model that scored this '
        "profile was trained on synthetic links, not on reviewed real links: check every "
        "proposed disavow line before acting on it.</p>"
        if model_info.get("synthetic_training_data")
        else ""
    )
    mix = anchor_mix.filter(pl.col("target_site") == site)
    anchor_total = int(mix["links"].sum()) if mix.height else 0
    exact_share = int(mix["exact"].sum()) / anchor_total if anchor_total else 0.0
    over = (
        f'<p class="warn"><b>Over-optimised anchors:</b> {exact_share:.0%} of followed links '
        "use exact-match anchor text, nothing but the linked page's keywords (above "
        f"{EXACT_MATCH_WARNING:.0%}). Natural profiles are "
        "mostly brand, URL and generic anchors; Google's spam policies name links with "
        "optimised anchor text among the links they act against.</p>"
        if exact_share > EXACT_MATCH_WARNING
        else f"<p>Exact-match anchors (nothing but the linked page's keywords): {exact_share:.0%} "
        f"of followed links with anchor text (a warning shows above {EXACT_MATCH_WARNING:.0%}).</p>"
        if anchor_total
        else "<p class=note>The export gives no anchor text for followed links.</p>"
    )

    def cross(name: str) -> str:
        rows = []
        for value, counts in sorted(
            merged["cross"].get(name, {}).items(), key=lambda kv: -sum(kv[1].values())
        ):
            total = sum(counts.values())
            rows.append(
                [
                    value,
                    total,
                    *(counts.get(x, 0) for x in VERDICTS),
                    f"{counts.get('spam', 0) / max(total, 1):.0%}",
                ]
            )
        return _table([name, "links", *VERDICTS, "spam share"], rows)

    reasons = merged["reasons"]
    reasons_rows = [
        [spec.BY_NAME[name].label, n, f"{n / max(v['spam'], 1):.0%}"]
        for name, n in reasons.most_common(10)
    ]
    weights = merged["weights"]
    total_w = sum(weights.values()) or 1.0
    strongest = sorted(weights.items(), key=lambda kv: -kv[1])[:12]
    drivers = _figure(
        "Each signal's share of what moved the flagged links' scores (|SHAP|)",
        charts.bars(
            [spec.BY_NAME[name].label for name, _ in strongest],
            [w / total_w for _, w in strongest],
            shown=[f"{w / total_w:.0%}" for _, w in strongest],
            title="What drives the scores of flagged links",
        ),
    )
    tlds = (
        host_frame(domains["referring_domain"])
        .select(
            tld=pl.when(pl.col("suffix") != "").then(pl.col("suffix")).otherwise(pl.lit("(none)"))
        )
        .group_by("tld")
        .len("n")
        .sort(["n", "tld"], descending=[True, False])
    )
    domain_rows = [
        [
            r["referring_domain"],
            r["links"],
            r["followed_links"],
            r["live_links"],
            r["spam"],
            r["action"],
            r["main_reason"] or "",
            r["first_seen"] or "",
            r["last_seen"] or "",
        ]
        for r in domains.head(DOMAIN_ROWS).iter_rows(named=True)
    ]
    more = (
        f"<p class=note>The {DOMAIN_ROWS} domains that most need a decision, of {n_domains:,}; "
        "the domains file lists every one.</p>"
        if n_domains > DOMAIN_ROWS
        else ""
    )
    other_targets = (
        f" (and {others:,} other target site{'s' if others != 1 else ''}: "
        + ", ".join(html.escape(str(t)) for t in target["target"][1:4].to_list())
        + (" …" if others > 3 else "")
        + ")"
        if others > 0
        else ""
    )
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        "<meta name=viewport content='width=device-width,initial-scale=1'>",
        f"<title>Backlink audit: {html.escape(site)}, {when}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>Backlink audit: {html.escape(site)}</h1>",
        f"<p class=sub>{when} · {facts['links']:,} links to {html.escape(site)}{other_targets}"
        f" from {n_domains:,} referring domains</p>",
        synthetic,
        f"<h2>At a glance</h2><div class=cards>{headline}</div>",
        thin_note,
        "<h3>What to do</h3>",
        f"<div class=cards>{action_cards}</div>",
        "<p>Disavow is proposed only for followed, live links the model judges spam: Google "
        "ignores most spammy links on its own, so nofollow, lost and not editorial links "
        "(search results, proxies) need no action. The disavow file lists the proposals; "
        "review it before uploading.</p>",
        f"<h3>Verdicts</h3><div class=cards>{verdict_cards}</div>",
        _figure("Links by spam probability", _histogram(merged["hist"], model_info["thresholds"])),
        "<h2>Referring domains</h2>",
        "<p>Click a column to sort.</p>",
        _table(
            [
                "referring domain",
                "links",
                "followed",
                "live",
                "spam",
                "action",
                "main reason",
                "first seen",
                "last seen",
            ],
            domain_rows,
            sortable=True,
        ),
        more,
        "<h2>Anchor text</h2>",
        over,
        cross("anchor"),
        _shares(facts["anchor"], "anchor", facts["links"], 15, "Most common anchor texts"),
        "<h2>Authority</h2>",
        _authority_chart(facts["authority"]),
        "<h2>Top-level domains and languages</h2>",
        _shares(tlds, "tld", n_domains, 12, "Referring domains by top-level domain"),
        _shares(facts["language"], "language", facts["links"], 10, "Links by page language"),
        "<h2>New and lost links over time</h2>",
        _by_month(facts["new"], "new", "#2e7d32", "New links by month first seen"),
        _by_month(facts["lost"], "lost", "#c62828", "Lost links by month last seen"),
        "<h2>Placement</h2>",
        cross("placement"),
        "<h2>Why links were called spam</h2>",
        "<p>The signal behind each spam link's strongest reason:</p>",
        _table(["signal", "spam links", "share of spam"], reasons_rows)
        if reasons_rows
        else "<p class=note>No link was called spam.</p>",
    ]
    if weights:
        parts += ["<h3>What drives the scores</h3>", drivers]
    parts += [
        "<h2>How the links were judged</h2>",
        model_in_words(model_info, card),
        f"<script>{SORT_JS}</script></body></html>",
    ]
    return "\n".join(parts)


def to_pdf(page: str, timeout: float = 120.0) -> bytes:
    """The report printed to PDF by headless Chromium (``chromium`` on the PATH, or the
    browser ``LINKSIFT_CHROMIUM`` names)."""
    browser = os.environ.get("LINKSIFT_CHROMIUM") or next(
        (
            found
            for name in ("chromium", "chromium-browser", "google-chrome")
            if (found := shutil.which(name))
        ),
        None,
    )
    if not browser:
        raise RuntimeError(
            "a PDF report needs Chromium (apt-get install chromium, or set LINKSIFT_CHROMIUM); "
            "write the report as .html instead"
        )
    with tempfile.TemporaryDirectory(prefix="linksift-pdf-") as folder:
        source = Path(folder) / "report.html"
        source.write_text(page, encoding="utf-8")
        target = Path(folder) / "report.pdf"
        args = [
            browser,
            "--headless",
            "--disable-gpu",
            "--no-pdf-header-footer",
            f"--user-data-dir={folder}/profile",
            f"--print-to-pdf={target}",
            source.as_uri(),
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        done = subprocess.run(args, capture_output=True, timeout=timeout, check=False)
        if not target.exists() or target.stat().st_size == 0:
            raise RuntimeError(
                f"Chromium did not write the PDF (exit {done.returncode}): "
                + done.stderr.decode("utf-8", "replace")[-500:]
            )
        return target.read_bytes()
