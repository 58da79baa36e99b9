"""SHAP contributions → the top reasons in plain words, with the link's real values.

Rendering is vectorised: a reason's text depends only on (feature, value[, anchor]), so each
distinct combination is rendered once from the spec's template and spread back to the rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from features import spec, text


def format_value(feature: spec.Feature, value: float) -> str:
    """A feature value in words for reasons ("14 years", "35%", "1,200")."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "unknown"
    if feature.dtype == "category":
        return feature.categories[int(value)]
    if feature.dtype == "bool":
        return "true" if value >= 0.5 else "false"
    if feature.fmt == "pct":
        return f"{value * 100:.0f}%"
    if feature.fmt == "age":
        days = float(value)
        if days < 60:
            return f"{days:.0f} day" + ("" if round(days) == 1 else "s")
        if days < 730:
            return f"{days / 30.44:.0f} months"
        return f"{days / 365.25:.0f} years"
    if feature.fmt == "float1":
        return f"{value:.1f}"
    return f"{value:,.0f}"


def _short(value: Any, limit: int = 60) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe(feature: spec.Feature, value: float, fields: dict[str, Any] | None = None) -> str:
    """One reason in plain words, from the feature's template and the link's real values
    (``{s}`` is the plural ending the value takes; ``{detail}`` what it counted or
    compared: the words themselves, or the pages a site's links go to)."""
    text = format_value(feature, value)
    if text == "unknown":
        return f"{feature.label} unknown"
    template = feature.template
    if isinstance(template, dict):
        template = template[text]
    # quoted words are few by construction (a long word is cut at its end)
    values = {k: _short(v, 160 if k == "detail" else 60) for k, v in (fields or {}).items()}
    values["value"] = text
    values["s"] = "" if text == "1" else "s"
    values.setdefault("detail", "")
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        return f"{feature.label}: {text}"


def _template_text(f: spec.Feature) -> str:
    return f.template if isinstance(f.template, str) else " ".join(f.template.values())


_USES_ANCHOR = np.asarray(["{anchor_text}" in _template_text(f) for f in spec.FEATURES])
WORDS: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    "anchor_money_terms": (("anchor_text",), text.MONEY_TERMS),
    "anchor_spam_terms": (("anchor_text",), text.SPAM_TERMS),
    "source_spam_terms": (
        ("source_title", "source_url", "left_context", "right_context"),
        text.SPAM_TERMS,
    ),
}
"""The features whose reasons quote the words they counted: where the words are read, and
the vocabulary (the same tokens and words the feature counts)."""
REASON_FIELDS = ("anchor_text", "source_title", "source_url", "left_context", "right_context")


def _silent_mask(X: np.ndarray) -> np.ndarray:
    """Where a value is the absence of evidence (``Feature.silent``) or missing: never a
    reason."""
    mask = np.isnan(X)
    for i, f in enumerate(spec.FEATURES):
        x = X[:, i]
        if f.silent_below is not None:
            with np.errstate(invalid="ignore"):
                mask[:, i] |= x < f.silent_below
        if not f.silent:
            continue
        if f.dtype == "category":
            codes = [f.categories.index(v) for v in f.silent]
            mask[:, i] |= np.isin(x, codes)
        elif f.dtype == "bool":
            mask[:, i] |= (x >= 0.5) if "true" in f.silent else (x < 0.5)
        else:  # "0": the value shows as zero
            with np.errstate(invalid="ignore"):
                mask[:, i] |= np.round(x) == 0
    return mask


_SIGNED = pl.Series([f"{v / 10:+.1f}" for v in range(-999, 1000)], dtype=pl.String)
_EXACT, _BOOL, _AGE, _ROUNDED = range(4)


def _kind(f: spec.Feature) -> int:
    """How a feature's shown value follows from its raw value (see ``format_value``)."""
    if f.dtype == "bool":
        return _BOOL
    if f.dtype == "category" or f.fmt == "float1":
        return _EXACT
    return _AGE if f.fmt == "age" else _ROUNDED


_KIND = np.asarray([_kind(f) for f in spec.FEATURES])
_SCALE = np.asarray([100.0 if f.fmt == "pct" else 1.0 for f in spec.FEATURES])
_AGE_UNIT = np.asarray([1.0, 30.44, 365.25])  # days, months, years


@dataclass
class Reasons:
    """Top-k reasons per row: feature index (-1: no reason in that slot), signed contribution
    (log-odds), and the text, as a phrase number per row (``phrases`` holds each distinct
    text once; 0 is the empty slot's "")."""

    feature: np.ndarray  # (n, k) int
    contribution: np.ndarray  # (n, k) float
    value: np.ndarray  # (n, k) float
    phrase: np.ndarray  # (n, k) int, index into ``phrases``
    phrases: np.ndarray  # object: the distinct texts

    @property
    def text(self) -> np.ndarray:
        """The texts, (n, k) object."""
        return self.phrases[self.phrase]

    def labelled(self, slot: int) -> pl.Series:
        """``text (+1.2)`` of reason ``slot`` of every row, built by Polars (no Python string
        per row)."""
        tenths = np.clip(np.round(self.contribution[:, slot] * 10), -999, 999).astype(int) + 999
        parts = pl.DataFrame(
            {
                "text": pl.Series(self.phrases, dtype=pl.String).gather(self.phrase[:, slot]),
                "signed": _SIGNED.gather(tenths),
                "shown": self.feature[:, slot] >= 0,
            }
        )
        return parts.select(
            pl.when("shown").then(
                pl.concat_str([pl.col("text"), pl.lit(" ("), pl.col("signed"), pl.lit(")")])
            )
        ).to_series()


def _display_key(feature: np.ndarray, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(branch, key) with equal pairs exactly where ``format_value`` gives equal text
    for the same feature: the value as its format rounds it (``.0f`` and NumPy both round
    the same double half to even), so rows are rendered once per shown value, not per raw
    value. The sign bit is kept: ``-0`` formats differently from ``0``."""
    kind = _KIND[feature]
    age = kind == _AGE
    with np.errstate(invalid="ignore", over="ignore"):
        age_branch = np.where(value < 60, 0, np.where(value < 730, 1, 2))  # days, months, years
        scaled = np.where(age, value / _AGE_UNIT[age_branch], value * _SCALE[feature])
        key = np.where(
            kind == _EXACT, value, np.where(kind == _BOOL, value >= 0.5, np.round(scaled))
        )
    branch = np.where(age, age_branch, 0) * 2 + np.signbit(key)
    missing = np.isnan(value)
    return np.where(missing, -1, branch), np.where(missing, 0.0, key)


_PHRASES: dict[tuple[int, int, float, str | None, str | None], str] = {}
_MAX_PHRASES = 200_000


def _phrase(
    feature: int, branch: int, key: float, anchor: str | None, detail: str | None, value: float
) -> str:
    """A reason's text, kept across calls by (feature, shown value, anchor, detail): batch
    scoring meets the same few thousand phrases in every chunk, and rendering a template
    costs more than looking it up. ``value`` is any raw value with that display key."""
    found = _PHRASES.get((feature, branch, key, anchor, detail))
    if found is None:
        if len(_PHRASES) >= _MAX_PHRASES:  # bounded: memory must not grow with the export
            _PHRASES.clear()
        found = _PHRASES[feature, branch, key, anchor, detail] = describe(
            spec.FEATURES[feature], value, {"anchor_text": anchor, "detail": detail}
        )
    return found


def _distinct(values: pl.Series) -> tuple[list[str], np.ndarray]:
    """The distinct non-null values (sorted) and each row's position among them (-1: null)."""
    index = values.rank("dense").cast(pl.Int64).fill_null(0).to_numpy() - 1
    return values.drop_nulls().unique().sort().to_list(), index


def _quoted_words(fields: pl.DataFrame, rows: np.ndarray, name: str) -> pl.Series:
    """The words feature ``name`` counted on each of ``rows``, quoted and joined."""
    columns, vocabulary = WORDS[name]
    picked = fields[rows] if len(rows) else fields.clear()
    found = picked.select(
        pl.concat_list([text.tokens(pl.col(c).fill_null("")) for c in columns])
        .list.eval(pl.element().filter(pl.element().is_in(sorted(vocabulary))))
        .list.unique(maintain_order=True)
        .list.head(4)
        .list.eval(pl.lit("'") + pl.element() + pl.lit("'"))
        .list.join(", ")
        .alias("words")
    )
    return found["words"]


def _site_pages(X: np.ndarray, rows: np.ndarray) -> pl.Series:
    """Where a referring site's links go, for the reason that counts them: ", to 2,290
    different target pages" (syndicated stories, news coverage) or ", all to one target page"
    (a sitewide template) say what the count alone does not."""
    links = X[rows, spec.INDEX["links_from_source_site"]]
    pages = np.rint(links * X[rows, spec.INDEX["site_target_spread"]])
    return pl.Series(map(_pages_said, links.tolist(), pages.tolist()), dtype=pl.String)


def _pages_said(links: float, pages: float) -> str | None:
    if not (links > 1 and pages >= 1):  # one link, or pages not counted (NaN)
        return None
    return ", all to one target page" if pages == 1 else f", to {pages:,.0f} different target pages"


_LINKS, _SPREAD = spec.INDEX["links_from_source_site"], spec.INDEX["site_target_spread"]


def _site_folded(c: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Contributions with a site's spread over target pages added to its link count's: the
    two are one fact in words ("147 links from this referring site, all to one target
    page"), which two reasons would say twice, and a share alone ("1% of the site's links go
    to different pages") reads backwards. Where the count is unknown the spread stays apart."""
    folded = c.copy()
    counted = ~np.isnan(X[:, _LINKS])
    folded[counted, _LINKS] += c[counted, _SPREAD]
    folded[counted, _SPREAD] = 0.0
    return folded


def top_reasons(
    contributions: np.ndarray,
    X: np.ndarray,
    fields: pl.DataFrame,
    verdict: np.ndarray | None = None,
    k: int = 3,
    topics: Callable[[np.ndarray], pl.Series] | None = None,
) -> Reasons:
    """Up to ``k`` reasons per row, strongest first, rendered.

    A reason is a feature whose contribution points the way the verdict went: toward spam
    for a review or spam ``verdict`` (codes 1, 2), toward good for good (0); with no
    ``verdict``, the largest either way. Missing values and ``silent`` ones are never
    reasons, so a row can have fewer than ``k`` (``feature`` is -1 in the empty slots).
    ``contributions`` may include the base value as a last column (it is ignored);
    ``fields`` holds the links' ``REASON_FIELDS`` (reasons quote the anchor and the words
    they counted); ``topics`` gives, for row numbers, what relevance by meaning compared in
    words (``features.extract.topic_words``). Such details are asked only for the rows whose
    reasons show the feature. A site's spread over target pages is said as part of its link
    count (``_site_folded``)."""
    n_features = len(spec.NAMES)
    c = _site_folded(contributions[:, :n_features], X)
    k = min(k, n_features)
    n = len(c)
    if n == 0:
        empty = np.zeros((0, k))
        return Reasons(empty.astype(int), empty, empty, empty.astype(int), np.zeros(0, object))
    strength = np.abs(c)
    if verdict is not None:
        toward_spam = (np.asarray(verdict) > 0)[:, None]
        strength = np.where(np.where(toward_spam, c > 0, c < 0), strength, 0.0)
    strength = np.where(_silent_mask(X), 0.0, strength)
    part = np.argpartition(-strength, k - 1, axis=1)[:, :k]
    rows = np.arange(n)[:, None]
    order = np.argsort(-strength[rows, part], axis=1, kind="stable")
    feature = part[rows, order]
    shown = strength[rows, feature] > 0
    contribution = np.where(shown, c[rows, feature], 0.0)
    value = np.where(shown, X[rows, feature], np.nan)
    feature = np.where(shown, feature, -1)
    # one rendering per distinct (feature, shown value, anchor, detail), for the shown slots
    f = feature.ravel()
    live = np.flatnonzero(f >= 0)
    fl = f[live]
    branch, key = _display_key(fl, value.ravel()[live])
    link = live // k
    uses = np.flatnonzero(_USES_ANCHOR[fl])  # the slots whose text quotes the anchor
    anchor_values, anchor_codes = _distinct(fields["anchor_text"].gather(link[uses]))
    a = np.full(len(live), -2, dtype=np.int64)
    a[uses] = anchor_codes
    w = np.full(len(live), -2, dtype=np.int64)
    details: list[str] = []
    detailing = {
        name: (lambda rows, name=name: _quoted_words(fields, rows, name)) for name in WORDS
    }
    detailing["links_from_source_site"] = lambda rows: _site_pages(X, rows)
    if topics is not None:
        detailing["topic_similarity"] = topics
    for name, detail in detailing.items():
        at = np.flatnonzero(fl == spec.INDEX[name])
        if len(at):
            values, codes = _distinct(detail(link[at]))
            w[at] = np.where(codes >= 0, codes + len(details), -2)
            details += values
    order = np.lexsort((w, a, key, branch, fl))
    fs, bs, ks, as_, ws = fl[order], branch[order], key[order], a[order], w[order]
    new_group = np.r_[
        True,
        (fs[1:] != fs[:-1])
        | (bs[1:] != bs[:-1])
        | (ks[1:] != ks[:-1])
        | (as_[1:] != as_[:-1])
        | (ws[1:] != ws[:-1]),
    ]
    group = np.cumsum(new_group) - 1
    firsts = order[new_group]
    anchors = [None if i < 0 else anchor_values[i] for i in a[firsts].tolist()]
    said = [None if i < 0 else details[i] for i in w[firsts].tolist()]
    slots = zip(
        fl[firsts].tolist(),
        branch[firsts].tolist(),
        key[firsts].tolist(),
        anchors,
        said,
        value.ravel()[live][firsts].tolist(),
        strict=True,
    )
    phrases = np.asarray(["", *(_phrase(*slot) for slot in slots)], dtype=object)  # "": empty
    phrase = np.zeros(n * k, dtype=np.int64)
    phrase[live[order]] = group + 1
    return Reasons(feature, contribution, value, phrase.reshape(n, k), phrases)
