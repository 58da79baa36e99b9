"""The audit report: one self-contained HTML file (inline CSS, pictures as data URIs).

It is built from small per-chunk aggregates saved with each finished chunk (so a resumed run
reports on every row), the per-site evidence the disavow file uses, and the model card.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from features import spec
from serving import charts
from serving.model import VERDICTS, Scores

BINS = 20


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
    """Small, mergeable facts about one chunk."""
    verdict = scores.verdict_code.astype(np.int64)
    hist = np.histogram(scores.probability, bins=BINS, range=(0, 1))[0].tolist()
    anchor_col = scores.X[:, spec.INDEX["anchor_type"]]
    anchor = np.where(np.isnan(anchor_col), len(spec.ANCHOR_TYPES), np.nan_to_num(anchor_col))
    placements = links["placement"].drop_nulls().unique().sort().to_list()
    placement = links["placement"].rank("dense").cast(pl.Int64).fill_null(0).to_numpy() - 1
    cross = {
        "anchor": _cross(anchor.astype(np.int64), [*spec.ANCHOR_TYPES, "not given"], verdict),
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
            # the strongest reason of each spam link, counted by text (in order of first
            # appearance, so ties rank as a Counter over the rows would rank them)
            r = scores.reasons
            ids, first, n = np.unique(
                r.phrase[verdict == 2, 0], return_index=True, return_counts=True
            )
            counted: Counter[str] = Counter()
            for k in np.argsort(first, kind="stable"):
                counted[r.phrases[ids[k]]] += int(n[k])
            reasons = dict(counted.most_common(200))
    return {"hist": hist, "cross": cross, "weights": weights, "reasons": reasons}


def merge(aggs: list[dict]) -> dict:
    hist = np.zeros(BINS, dtype=int)
    cross: dict[str, dict[str, Counter]] = {"anchor": {}, "placement": {}}
    weights: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for a in aggs:
        hist += np.asarray(a["hist"])
        for name in cross:
            for value, counts in a["cross"][name].items():
                cross[name].setdefault(value, Counter()).update(counts)
        weights.update(a["weights"])
        reasons.update(a["reasons"])
    return {"hist": hist.tolist(), "cross": cross, "weights": weights, "reasons": reasons}


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


def _drivers(weights: dict[str, float]) -> str:
    """What drives the flagged links' scores: each signal's share of their |SHAP| total."""
    total = sum(weights.values()) or 1.0
    top = sorted(weights.items(), key=lambda kv: -kv[1])[:12]
    return charts.bars(
        [spec.BY_NAME[name].label for name, _ in top],
        [w / total for _, w in top],
        shown=[f"{w / total:.0%}" for _, w in top],
        title="What drives the scores of flagged links",
    )


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1000px;
color:#1d2327;padding:0 1rem}h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;
border-bottom:1px solid #ddd;padding-bottom:.3rem}table{border-collapse:collapse;width:100%;
margin:.5rem 0}th,td{border:1px solid #e2e4e7;padding:.3rem .5rem;text-align:left;
vertical-align:top}th{background:#f6f7f7}td.n{text-align:right}.cards{display:flex;gap:1rem;
flex-wrap:wrap}.card{border:1px solid #e2e4e7;border-radius:6px;padding:.8rem 1rem;min-width:9rem}
.card b{display:block;font-size:1.5rem}.good{color:#2e7d32}.review{color:#b26a00}
.spam{color:#c62828}img{max-width:100%}pre{background:#f6f7f7;padding:1rem;overflow:auto;
white-space:pre-wrap}.note{color:#555}
"""


def render(
    summary: Any,
    merged: dict,
    sites: list[dict[str, Any]],
    model_info: dict[str, Any],
    card_md: str,
) -> str:
    """The report as one HTML document."""
    v = summary.verdicts
    cards = "".join(
        f'<div class="card {cls}"><b>{n:,}</b>{label}</div>'
        for cls, label, n in (
            ("", "links read", summary.read),
            ("", "scored", summary.scored),
            ("", "rejected", summary.rejected),
            ("good", "good", v["good"]),
            ("review", "review", v["review"]),
            ("spam", "spam", v["spam"]),
        )
    )
    weights = merged["weights"]
    total_w = sum(weights.values()) or 1.0
    strongest = sorted(weights.items(), key=lambda kv: -kv[1])[:10]
    strongest_rows = [[spec.BY_NAME[name].label, f"{w / total_w:.0%}"] for name, w in strongest]
    reasons_rows = [[text, n] for text, n in merged["reasons"].most_common(12)]

    def cross(name: str) -> str:
        rows = []
        for value, counts in sorted(
            merged["cross"][name].items(), key=lambda kv: -sum(kv[1].values())
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

    site_rows = [
        [s["site"], s["links"], s["spam"], f"{s['max_p']:.2f}", s["reason"]] for s in sites
    ]
    hist = _histogram(merged["hist"], model_info["thresholds"])
    synthetic = (
        '<p class="note"><b>Note:</b> the model that scored this profile was trained on '
        "synthetic links; retrain on your own reviewed labels before relying on it.</p>"
        if model_info.get("synthetic_training_data")
        else ""
    )
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        "<meta name=viewport content='width=device-width,initial-scale=1'>",
        f"<title>linksift audit: {html.escape(Path(summary.input).name)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>Backlink audit: {html.escape(Path(summary.input).name)}</h1>",
        f"<p>Scored by linksift model {html.escape(summary.model_version)} in "
        f"{summary.seconds:,.1f} s. Thresholds: review ≥ {model_info['thresholds']['review']}, "
        f"spam ≥ {model_info['thresholds']['spam']}.</p>",
        synthetic,
        f"<h2>Verdicts</h2><div class=cards>{cards}</div>",
        f"<h2>Score histogram</h2>{hist}",
        "<h2>Strongest reasons across the profile</h2>",
        "<p>Share of the total contribution (|SHAP|, flagged links) by signal:</p>",
        _table(["signal", "share"], strongest_rows),
        "<p>Most common top reason among spam links:</p>",
        _table(["reason", "spam links"], reasons_rows),
        "<h2>Anchor types</h2>",
        cross("anchor"),
        "<h2>Placement</h2>",
        cross("placement"),
        "<h2>Riskiest referring domains</h2>",
        _table(
            [
                "site",
                "links",
                "proposed for disavow (followed, live)",
                "max probability",
                "most common reason",
            ],
            site_rows,
        ),
    ]
    if merged["weights"]:
        parts += ["<h2>What drives the scores</h2>", _drivers(merged["weights"])]
    parts += [
        "<h2>Model card</h2>",
        f"<pre>{html.escape(card_md)}</pre>",
        "<h2>Model</h2>",
        f"<pre>{html.escape(json.dumps(model_info, indent=1, default=str))}</pre>",
        "</body></html>",
    ]
    return "\n".join(parts)
