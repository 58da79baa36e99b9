"""Fit the LightGBM spam model: grouped time-aware split, early stopping, monotone
constraints, class balance, Platt calibration on held-out rows, and honest test metrics.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import lightgbm as lgb
import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression

from features import artifact, spec
from features.extract import Profile, extract
from features.urls import sites_of
from training.config import Thresholds, TrainConfig
from training.data import Labeled
from training.metrics import evaluate
from training.split import grouped_split

SYNTHETIC_NOTE = (
    "Trained on synthetic links from `linksift synth`: a stand-in so linksift works out of the "
    "box. Retrain on your own reviewed labels before trusting its verdicts."
)


@dataclass
class Trained:
    """A fitted model with what is needed to log, gate and explain it."""

    booster: lgb.Booster
    calibration: artifact.Calibration
    metrics: dict[str, float]
    valid_metrics: dict[str, float]
    card: dict[str, Any]
    X_test: np.ndarray
    y_test: np.ndarray
    p_test: np.ndarray
    archetype_test: np.ndarray | None
    seconds: dict[str, float] = field(default_factory=dict)
    test_index: np.ndarray | None = None  # rows of the training data that formed the test set

    @property
    def artifact(self) -> artifact.Artifact:
        return artifact.Artifact(
            self.booster.model_to_string(), spec.as_dict(), self.calibration, self.card
        )


def lgb_params(config: TrainConfig, y: np.ndarray) -> dict[str, Any]:
    params: dict[str, Any] = {
        "objective": "binary",
        "num_leaves": config.num_leaves,
        "max_depth": config.max_depth,
        "learning_rate": config.learning_rate,
        "min_child_samples": config.min_child_samples,
        "feature_fraction": config.feature_fraction,
        "bagging_fraction": config.bagging_fraction,
        "bagging_freq": 1,
        "lambda_l2": config.lambda_l2,
        "seed": config.seed,
        "deterministic": True,
        "force_row_wise": True,
        "verbosity": -1,
        "num_threads": config.threads,
        "max_cat_to_onehot": 16,
    }
    if config.balance_classes:
        params["scale_pos_weight"] = float((y == 0).sum()) / max(float((y == 1).sum()), 1.0)
    if config.monotone:
        params["monotone_constraints"] = list(spec.MONOTONE)
        params["monotone_constraints_method"] = "intermediate"
    return params


def fit_calibration(raw: np.ndarray, y: np.ndarray) -> artifact.Calibration:
    """Platt scaling on held-out raw scores; refuses a fit that would invert the ranking."""
    lr = LogisticRegression(C=1e4, max_iter=1000)
    lr.fit(raw.reshape(-1, 1), y)
    a, b = float(lr.coef_[0, 0]), float(lr.intercept_[0])
    if a <= 0:
        raise ValueError(
            "calibration failed: on held-out data higher scores were not more spammy "
            f"(slope {a:.3f}); the model learned nothing useful from this data"
        )
    return artifact.Calibration(a, b)


def fit(
    data: Labeled,
    config: TrainConfig | None = None,
    thresholds: Thresholds | None = None,
    as_of: date | None = None,
    source: str = "",
) -> Trained:
    """Train, calibrate and evaluate a model on labeled canonical links."""
    config = config or TrainConfig()
    thresholds = thresholds or Thresholds()
    as_of = as_of or date.today()
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    X = extract(data.links, as_of=as_of)
    # Some rows are featurised without profile context, the way the API scores one link on
    # its own, so the model knows what "no profile" means instead of meeting it in production.
    solo = np.random.default_rng(config.seed).random(len(data)) < config.solo_fraction
    if solo.any():
        X[solo] = extract(data.links.filter(pl.Series(solo)), Profile(), as_of=as_of)
    seconds["features"] = time.perf_counter() - t
    sites = sites_of(data.links["source_url"]).to_numpy()
    days = data.links["first_seen"].cast(pl.Int32).cast(pl.Float64).to_numpy()
    parts = grouped_split(
        sites,
        days,
        {
            "valid": config.valid_fraction,
            "calibration": config.calibration_fraction,
            "test": config.test_fraction,
        },
        config.seed,
        data.forced_test,
    )
    for name, idx in parts.items():
        if len(idx) == 0 or len(np.unique(data.y[idx])) < 2:
            raise ValueError(
                f"the {name} split has {len(idx)} rows and not both classes; "
                "more labeled rows (from more referring sites) are needed"
            )
    tr, va, ca, te = (parts[p] for p in ("train", "valid", "calibration", "test"))
    params = lgb_params(config, data.y[tr])
    t = time.perf_counter()
    weight = data.weight
    train_set = lgb.Dataset(
        X[tr],
        data.y[tr],
        weight=weight[tr] if weight is not None else None,
        feature_name=list(spec.NAMES),
        categorical_feature=list(spec.CATEGORICAL),
        free_raw_data=False,
    )
    valid_set = lgb.Dataset(
        X[va], data.y[va], reference=train_set, weight=weight[va] if weight is not None else None
    )
    booster = lgb.train(
        params,
        train_set,
        num_boost_round=config.n_estimators,
        valid_sets=[valid_set],
        callbacks=[lgb.early_stopping(config.early_stopping_rounds, verbose=False)],
    )
    booster.free_dataset()
    # keep only the trees up to the best iteration so every consumer sees the same model
    booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=booster.best_iteration))
    seconds["fit"] = time.perf_counter() - t
    calibration = fit_calibration(booster.predict(X[ca], raw_score=True), data.y[ca])
    p_test = calibration.probability(booster.predict(X[te], raw_score=True))
    p_valid = calibration.probability(booster.predict(X[va], raw_score=True))
    arch = data.archetype
    metrics = evaluate(data.y[te], p_test, thresholds, arch[te] if arch is not None else None)
    valid_metrics = evaluate(data.y[va], p_valid, thresholds)
    trained_at = datetime.now(UTC)
    card = {
        "name": "linksift",
        "version": f"{trained_at:%Y%m%d-%H%M%S}-{data.data_hash[:6]}",
        "trained_at": trained_at.isoformat(timespec="seconds"),
        "as_of": as_of.isoformat(),
        "source": source,
        "data_hash": data.data_hash,
        "rows": {p: len(i) for p, i in parts.items()},
        "spam_share": float(data.y.mean()),
        "feature_spec_version": spec.VERSION,
        "feature_fingerprint": spec.as_dict()["fingerprint"],
        "trees": booster.num_trees(),
        "params": {k: v for k, v in params.items() if k != "monotone_constraints"},
        "config": config.model_dump(),
        "thresholds": thresholds.model_dump(),
        "metrics": metrics,
        "valid_metrics": valid_metrics,
        "synthetic": arch is not None,
        "note": SYNTHETIC_NOTE if arch is not None else "",
    }
    return Trained(
        booster,
        calibration,
        metrics,
        valid_metrics,
        card,
        X[te],
        data.y[te],
        p_test,
        arch[te] if arch is not None else None,
        seconds,
        te,
    )


def card_markdown(card: dict[str, Any]) -> str:
    """The model card in words, for people."""
    m = card["metrics"]
    lines = [
        f"# linksift model {card['version']}",
        "",
        card.get("note") or "",
        "",
        f"- trained: {card['trained_at']} (ages measured as of {card['as_of']})",
        f"- data: {card.get('source') or 'in-memory table'} (hash {card['data_hash']}), "
        f"rows {card['rows']}, spam share {card['spam_share']:.1%}",
        f"- feature spec v{card['feature_spec_version']} ({card['feature_fingerprint']}), "
        f"{card['trees']} trees, max depth {card['params']['max_depth']}",
        f"- thresholds: review ≥ {card['thresholds']['review']}, spam ≥ {card['thresholds']['spam']}",
        "",
        "## Held-out test metrics (newest referring sites, never seen in training)",
        "",
        "| metric | value |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v:.4f} |" for k, v in m.items()]
    return "\n".join(lines) + "\n"
