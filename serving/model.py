"""The model adapter: load a model, score links, explain them, and say why in words.

Batch scoring, the HTTP API, the review page and Spark all go through ``LinkModel.score``, so
a link gets the same probability, verdict and reasons wherever it is scored.

Models load from a folder, a registry URI (``models:/linksift@champion``,
``models:/linksift/3``) or, when nothing is configured, the shipped ``models/default``. A
folder whose checksums or feature spec do not match is refused with the reason.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from features import schema, spec
from features.artifact import ModelLoadError, Scorer, find_folder, on_all_cores
from features.artifact import thresholds as artifact_thresholds
from features.extract import Profile, feature_table, matrix, measured_against, topic_words
from serving.reasons import REASON_FIELDS, Reasons, describe, format_value, top_reasons
from training.reviewed import Reviewed, reviewed_reason

Explain = Literal["all", "flagged", "none"]
VERDICTS = ("good", "review", "spam")
DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "models" / "default"


@dataclass(frozen=True)
class ModelInfo:
    """Where a model came from, for ``/model`` and the ``model_version`` column."""

    source: str
    name: str = "linksift"
    registry_version: str | None = None
    alias: str | None = None
    card: dict[str, Any] = field(default_factory=dict)

    @property
    def model_version(self) -> str:
        if self.registry_version:
            return f"{self.name}/{self.registry_version}"
        return str(self.card.get("version", "unknown"))


@dataclass(frozen=True)
class ReviewedVerdict:
    """A person's standing verdict on a link (its own label or its whole site's)."""

    label: str
    reviewer: str
    created_at: str
    scope: str  # link | site
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {
            "label": self.label,
            "reviewer": self.reviewer,
            "created_at": self.created_at,
            "scope": self.scope,
        }


def reviewed_verdicts(links: pl.DataFrame, reviewed: Reviewed) -> list[ReviewedVerdict | None]:
    """Each link's reviewed verdict, if a person labelled it or its referring site."""
    from features.urls import sites_of

    sites = sites_of(links["source_url"]).to_list()
    out: list[ReviewedVerdict | None] = []
    for hit, site in zip(reviewed.match(links["link_id"].to_list(), sites), sites, strict=True):
        if hit is None:
            out.append(None)
            continue
        label, scope = hit
        reason = reviewed_reason(label, scope, site)
        out.append(ReviewedVerdict(label.label, label.reviewer, label.created_at, scope, reason))
    return out


@dataclass
class Scores:
    """Everything ``LinkModel.score`` computes for a table of links."""

    probability: np.ndarray
    raw_score: np.ndarray
    verdict_code: np.ndarray  # index into VERDICTS
    quality_score: np.ndarray
    X: np.ndarray
    contributions: np.ndarray | None = None
    reasons: Reasons | None = None
    explained: np.ndarray | None = None  # which rows have reasons
    reviewed: list[ReviewedVerdict | None] | None = None  # a person's verdict, per row
    evidence: pl.Series | None = None  # schema.EVIDENCE, per row

    @property
    def review_notes(self) -> list[str | None] | None:
        """The reason text of each reviewed row (None elsewhere)."""
        if self.reviewed is None:
            return None
        return [r.reason if r else None for r in self.reviewed]

    @property
    def verdict(self) -> np.ndarray:
        """good | review | spam per row (object array)."""
        return _VERDICT_NAMES[self.verdict_code]

    def __len__(self) -> int:
        return len(self.probability)


_VERDICT_NAMES = np.asarray(VERDICTS, dtype=object)


def _registry_parts(uri: str) -> tuple[str, str | None, str | None]:
    """(name, version, alias) of ``models:/name/3`` or ``models:/name@alias``."""
    rest = uri.removeprefix("models:/")
    if "@" in rest:
        name, alias = rest.split("@", 1)
        return name, None, alias
    name, _, version = rest.partition("/")
    return name, version or None, None


GC_THRESHOLDS = (50_000, 20, 100)
"""Python's young-generation threshold while scoring (API and batch). Scoring allocates many
short-lived objects next to many long-lived ones (host cache, model tables, profile
counters); with the default (700) the collector walked the long-lived ones ~2,000 times per
million links in batch: 4.4 s of a 35 s run, all of it holding the GIL the scoring threads
share. Raised: 0.4 s, and 12-13% more links/s (1M links, with and without reasons)."""


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """``GC_THRESHOLDS`` for the duration, then the previous thresholds again."""
    before = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)


ENGINES = ("auto", "fast", "lightgbm")
FAST_FROM = 10_000
"""Rows in one call from which ``auto`` explains with the compiled explainer: its first use in
a process loads numba and the cached kernels (about 0.9 s and 110 MB), which LightGBM's own
``pred_contrib`` (30-55 µs a row against about 1 µs) repays only after about this many."""


class Explainer:
    """Raw scores and exact TreeSHAP contributions by whichever engine suits the call: LightGBM's
    ``pred_contrib`` for a small file or an API request, the compiled explainer
    (``serving.treeshap``, built on first need) for batch chunks. Both give LightGBM's values
    (tested); ``engine`` pins one (``LINKSIFT_EXPLAINER``) to compare them in a benchmark."""

    def __init__(self, scorer: Scorer, engine: str = "auto") -> None:
        if engine not in ENGINES:
            raise ValueError(f"explainer: expected one of {ENGINES}, got {engine!r}")
        self.scorer = scorer
        self.engine = engine
        self._fast: Any = None
        self._lock = threading.Lock()

    def _compiled(self, rows: int) -> Any:
        """The compiled explainer when it serves ``rows`` rows, else None: once loaded, it
        serves every call (a batch's last, smaller chunk does not load LightGBM too)."""
        if self.engine == "lightgbm":
            return None
        if self.engine == "auto" and rows < FAST_FROM and self._fast is None:
            return None
        with self._lock:
            if self._fast is None:
                from serving.treeshap import FastTreeShap  # loads numba: only when used

                self._fast = FastTreeShap(self.scorer.artifact.booster_text)
        return self._fast

    def raw_score(self, X: np.ndarray, *, parallel: bool = True) -> np.ndarray:
        if fast := self._compiled(len(X)):
            return fast.raw_score(X, parallel=parallel)
        return self.scorer.raw_score(X, threads=0 if on_all_cores(len(X), parallel) else 1)

    def contributions(self, X: np.ndarray, *, parallel: bool = True) -> np.ndarray:
        if fast := self._compiled(len(X)):
            return fast.contributions(X, parallel=parallel)
        if not len(X):
            return np.zeros((0, X.shape[1] + 1))
        threads = {} if on_all_cores(len(X), parallel) else {"num_threads": 1}
        return self.scorer.booster.predict(X, pred_contrib=True, **threads)

    def explain(self, X: np.ndarray, *, parallel: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """(raw scores, contributions); the compiled explainer computes both in one pass."""
        if fast := self._compiled(len(X)):
            return fast.explain(X, parallel=parallel)
        return self.raw_score(X, parallel=parallel), self.contributions(X, parallel=parallel)


class LinkModel:
    """A loaded model: scores, contributions, reasons and verdicts."""

    def __init__(
        self,
        scorer: Scorer,
        info: ModelInfo,
        thresholds: dict[str, float] | None = None,
        explainer: str = "auto",
    ) -> None:
        self.scorer = scorer
        self.info = info
        self.thresholds = artifact_thresholds(
            scorer.artifact.card.get("thresholds") or {}, thresholds or {}
        )
        self.explainer = Explainer(scorer, explainer)
        self.folder: Path | None = None  # where it was loaded from (workers reload from it)

    @classmethod
    def load(
        cls,
        source: str | Path | None = None,
        *,
        tracking_uri: str | None = None,
        thresholds: dict[str, float] | None = None,
        explainer: str = "auto",
    ) -> LinkModel:
        """Load from a folder, a ``models:/`` URI, or the shipped default (``None``)."""
        text = "" if source is None else str(source)
        if text.startswith(("models:/", "runs:/")):
            from training import tracking  # the registry lives with training

            name, version, alias = (
                _registry_parts(text) if text.startswith("models:/") else ("linksift", None, None)
            )
            uri = tracking_uri or tracking.default_tracking_uri()
            with tracking.tracking(uri) as client:
                if alias:
                    try:
                        version = str(client.get_model_version_by_alias(name, alias).version)
                    except Exception as exc:
                        raise ModelLoadError(f"{text}: no such registered model alias") from exc
            folder = tracking.model_folder(f"models:/{name}/{version}" if version else text, uri)
            scorer = Scorer.load(folder)
            info = ModelInfo(text, name, version, alias, scorer.artifact.card)
        else:
            folder = find_folder(text) if text not in ("", "default") else DEFAULT_MODEL
            scorer = Scorer.load(folder)
            info = ModelInfo(str(folder), card=scorer.artifact.card)
        model = cls(scorer, info, thresholds, explainer)
        model.folder = Path(folder)
        return model

    @property
    def model_version(self) -> str:
        return self.info.model_version

    def verdict_codes(self, probability: np.ndarray) -> np.ndarray:
        """Each probability's verdict as its index into ``VERDICTS`` (good, review, spam)."""
        t = self.thresholds
        return np.where(
            probability >= t["spam"], 2, np.where(probability >= t["review"], 1, 0)
        ).astype(np.int8)

    def score(
        self,
        links: pl.DataFrame,
        profile: Profile | None = None,
        *,
        as_of: date | None = None,
        explain: Explain = "all",
        top: int = 3,
        target_description: str | None = None,
        keep_contributions: bool = False,
        parallel: bool = True,
        facts: pl.DataFrame | None = None,
        reviewed: Reviewed | None = None,
    ) -> Scores:
        """Probability, verdict, quality score and (per ``explain``) the top reasons.

        ``reviewed``: people's standing labels; a reviewed link (or a link from a reviewed
        site) takes the person's verdict, and its first reason says who decided and when. The
        probability stays the model's own.

        ``profile`` is the profile the links are measured against: the whole input for batch
        scoring, ``Profile()`` (none) for the API, ``None`` for "these links themselves".
        ``facts``, when given, are the links' ``link_facts`` computed earlier (batch pass 1).
        ``parallel=False`` keeps prediction and explanation on the calling thread (batch
        scoring runs one chunk per thread).
        """
        if facts is not None:
            if profile is None:
                raise ValueError("facts are measured against a profile: pass one")
        else:
            facts, profile = measured_against(links, profile, as_of=as_of)
        X = matrix(feature_table(facts, profile, target_description=target_description))
        # raw scores from the explainer: LightGBM's predict to the last bit (tested); the
        # compiled explainer takes the trees' decisions once for scores and contributions
        contributions = None
        if explain == "all":
            raw, contributions = self.explainer.explain(X, parallel=parallel)
        else:
            raw = self.explainer.raw_score(X, parallel=parallel)
        p = self.scorer.artifact.calibration.probability(raw)
        verdict = self.verdict_codes(p)
        # with only the URLs to go on, the model reads URL shape and the profile's counts:
        # never enough to call a link spam, so such links go to review at most
        evidence = schema.evidence(links)
        url_only = (evidence == schema.EVIDENCE[0]).to_numpy()
        verdict = np.where(url_only, np.minimum(verdict, 1), verdict).astype(np.int8)
        quality = np.rint(100 * (1 - p)).astype(np.int64)
        scores = Scores(p, raw, verdict, quality, X, evidence=evidence)
        model_verdict = verdict.copy()  # the reasons explain the model's verdict
        if reviewed:
            scores.reviewed = reviewed_verdicts(links, reviewed)
            for i, r in enumerate(scores.reviewed):
                if r is not None:
                    verdict[i] = VERDICTS.index(r.label)
        if explain == "none" or len(X) == 0:
            return scores
        rows = np.ones(len(X), bool) if explain == "all" else verdict > 0
        scores.explained = rows
        if contributions is None:
            contributions = np.zeros((len(X), len(spec.NAMES) + 1))
            if rows.any():
                contributions[rows] = self.explainer.contributions(X[rows], parallel=parallel)
        fields = links.select(
            pl.col(c) if c in links.columns else pl.lit(None, pl.String).alias(c)
            for c in REASON_FIELDS
        )
        measured = facts.select("target_site", "target_path", "words")

        def topics(rows: np.ndarray) -> pl.Series:
            return topic_words(measured[rows], profile, target_description=target_description)

        scores.reasons = top_reasons(contributions, X, fields, model_verdict, top, topics)
        if keep_contributions:
            scores.contributions = contributions
        return scores

    def explain_one(
        self,
        links: pl.DataFrame,
        profile: Profile | None = None,
        *,
        as_of: date | None = None,
        target_description: str | None = None,
        reviewed: Reviewed | None = None,
    ) -> dict[str, Any]:
        """Every feature's contribution for the first link, with base value and raw score
        (they add up), in words and numbers: what ``/explain`` and the review page show."""
        scores = self.score(
            links.slice(0, 1),
            profile if profile is not None else Profile(),
            as_of=as_of,
            explain="all",
            keep_contributions=True,
            target_description=target_description,
            reviewed=reviewed,
        )
        person = scores.reviewed[0] if scores.reviewed else None
        c = scores.contributions[0]
        x = scores.X[0]
        order = np.argsort(-np.abs(c[:-1]), kind="stable")
        anchor = links["anchor_text"][0]
        # the top reasons' texts quote the words they counted: the same texts here
        quoted = dict(zip(scores.reasons.feature[0], scores.reasons.text[0], strict=True))
        return {
            "link_id": links["link_id"][0],
            "spam_probability": round(float(scores.probability[0]), 6),
            "quality_score": int(scores.quality_score[0]),
            "verdict": str(scores.verdict[0]),
            "raw_score": float(scores.raw_score[0]),
            "base_value": float(c[-1]),
            "contributions": [
                {
                    "feature": spec.NAMES[j],
                    "label": spec.FEATURES[j].label,
                    "value": None if np.isnan(x[j]) else float(x[j]),
                    "shown": format_value(spec.FEATURES[j], x[j]),
                    "text": quoted.get(j)
                    or describe(spec.FEATURES[j], x[j], {"anchor_text": anchor}),
                    "contribution": float(c[j]),
                }
                for j in order
            ],
            "reviewed": {**person.as_dict(), "text": person.reason} if person else None,
            "model_version": self.model_version,
        }

    def warm_up(self) -> None:
        """Score one made-up link so the first real request does not pay for JIT compiling."""
        from features.importers import from_records

        links, _ = from_records(
            [
                {
                    "source_url": "https://warm.example.com/a-b-c",
                    "target_url": "https://up.example.org/",
                    "anchor_text": "x",
                }
            ]
        )
        self.score(links, Profile())

    def describe(self) -> dict[str, Any]:
        """What ``GET /model`` returns."""
        card = self.scorer.artifact.card
        return {
            "name": self.info.name,
            "model_version": self.model_version,
            "registry_version": self.info.registry_version,
            "alias": self.info.alias,
            "source": self.info.source,
            "trained_at": card.get("trained_at"),
            "feature_spec_version": card.get("feature_spec_version"),
            "feature_fingerprint": card.get("feature_fingerprint"),
            "metrics": card.get("metrics", {}),
            "thresholds": self.thresholds,
            "synthetic_training_data": bool(card.get("synthetic")),
            "note": card.get("note", ""),
            "code": str(Path(__file__).resolve().parent.parent),
        }
