"""Fit the LightGBM spam model: grouped time-aware split, early stopping on a ranking metric,
hyperparameters sized for the data, monotone constraints, class balance, Platt calibration on
held-out rows, and honest test metrics with intervals beside simple baselines.

Why the ranking metric: with classes balanced by weight, the unweighted validation log loss
rises from the first tree (the weighting shifts every score up), so early stopping on it kept
one tree on small imbalanced data. Average precision does not care about that shift.
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
from features.importers import link_ids
from features.urls import sites_of
from training.baselines import Baselines, fit_baselines
from training.config import Thresholds, TrainConfig
from training.data import Labeled
from training.metrics import evaluate, intervals, paired_difference
from training.split import grouped_split

SYNTHETIC_NOTE = (
    "Trained on synthetic links from `linksift synth`: a stand-in so linksift works out of the "
    "box. Retrain on your own reviewed labels before trusting its verdicts."
)
# Small data: candidate shapes (leaves, depth, min rows per leaf), compared by grouped
# cross-validation at a slow learning rate. Few leaves and shallow trees suit a few thousand
# rows; the largest matches what a default LightGBM can express at depth 4.
CANDIDATES = ((4, 2, 10), (8, 3, 20), (15, 4, 20))
SMALL_LEARNING_RATE = 0.05
SMALL_MAX_ROUNDS = 1000
STOP_METRIC = "average_precision"


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
    test_links: pl.DataFrame | None = None  # those rows as canonical links, with labels
    baselines: Baselines | None = None
    warnings: list[str] = field(default_factory=list)
    seen_ids: list[str] = field(default_factory=list)  # link ids of every non-test row
    curve: dict[str, list[float]] = field(default_factory=dict)
    """The early-stopping curve: validation (or cross-validated) metrics per tree."""

    @property
    def artifact(self) -> artifact.Artifact:
        return artifact.Artifact(
            self.booster.model_to_string(), spec.as_dict(), self.calibration, self.card
        )


def lgb_params(config: TrainConfig, y: np.ndarray) -> dict[str, Any]:
    params: dict[str, Any] = {
        "objective": "binary",
        "metric": [STOP_METRIC, "auc"],
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
        "feature_pre_filter": False,  # one Dataset serves candidates with other leaf sizes
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


def _dataset(
    X: np.ndarray, y: np.ndarray, weight: np.ndarray | None, reference: lgb.Dataset | None = None
) -> lgb.Dataset:
    return lgb.Dataset(
        X,
        y,
        weight=weight,
        reference=reference,
        feature_name=list(spec.NAMES),
        categorical_feature=list(spec.CATEGORICAL),
        free_raw_data=False,
    )


def _stop(config: TrainConfig) -> Any:
    return lgb.early_stopping(config.early_stopping_rounds, first_metric_only=True, verbose=False)


@dataclass
class Search:
    """The small-data search: the chosen parameters and tree count, every candidate's
    cross-validated result, and the chosen candidate's out-of-fold raw scores (each row
    scored by the fold model that did not see it), which calibrate the final model."""

    params: dict[str, Any]
    trees: int
    tried: list[dict[str, float]]
    out_of_fold: np.ndarray
    curve: dict[str, list[float]] = field(default_factory=dict)  # the chosen one's, per tree


def search(
    X: np.ndarray,
    y: np.ndarray,
    weight: np.ndarray | None,
    sites: np.ndarray,
    base: dict[str, Any],
    config: TrainConfig,
) -> Search:
    """Pick the candidate shape and tree count with the best mean average precision over
    grouped, stratified folds (no referring site in two folds)."""
    from sklearn.model_selection import StratifiedGroupKFold

    folds = min(config.cv_folds, len(np.unique(sites)))
    splits = list(
        StratifiedGroupKFold(folds, shuffle=True, random_state=config.seed).split(X, y, sites)
    )
    data = _dataset(X, y, weight)
    best: Search | None = None
    tried = []
    for leaves, depth, min_child in CANDIDATES:
        params = {
            **base,
            "num_leaves": leaves,
            "max_depth": depth,
            "min_child_samples": min_child,
            "learning_rate": SMALL_LEARNING_RATE,
        }
        result = lgb.cv(
            params,
            data,
            SMALL_MAX_ROUNDS,
            folds=splits,
            callbacks=[_stop(config)],
            seed=config.seed,
            return_cvbooster=True,
        )
        curve = np.asarray(result[f"valid {STOP_METRIC}-mean"])
        trees = int(np.argmax(curve)) + 1
        tried.append(
            {
                "num_leaves": leaves,
                "max_depth": depth,
                "min_child_samples": min_child,
                "trees": trees,
                "cv_pr_auc": float(curve[trees - 1]),
                "cv_pr_auc_sd": float(result[f"valid {STOP_METRIC}-stdv"][trees - 1]),
                "cv_roc_auc": float(result["valid auc-mean"][trees - 1]),
                "folds": folds,
            }
        )
        if best is None or tried[-1]["cv_pr_auc"] > best.tried[-1]["cv_pr_auc"]:
            out_of_fold = np.empty(len(y))
            for booster, (_, held) in zip(result["cvbooster"].boosters, splits, strict=True):
                out_of_fold[held] = booster.predict(
                    X[held], raw_score=True, num_iteration=max(trees, config.min_trees)
                )
            curves = {f"cv_{m}": list(result[f"valid {m}-mean"]) for m in (STOP_METRIC, "auc")}
            best = Search(params, trees, [tried[-1]], out_of_fold, curves)
    assert best is not None
    best.tried = tried
    return best


def _kept_trees(best: int, trained: int, config: TrainConfig) -> int:
    """Trees to keep: the best iteration, but never fewer than ``min_trees`` (a validation
    set of a few dozen spam links can peak on the first tree by luck)."""
    return min(max(best, config.min_trees), trained)


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


def judge(
    y: np.ndarray,
    p: np.ndarray,
    sites: np.ndarray,
    metrics: dict[str, float],
    baselines: Baselines,
    best_iteration: int,
    config: TrainConfig,
) -> list[str]:
    """Plain warnings about a trained model: too few spam links to judge it, too few useful
    trees, flags nothing, or does not beat a baseline (with the paired interval)."""
    warnings = []
    spam = int(np.sum(y))
    if spam < config.min_test_spam:
        warnings.append(
            f"the test set holds only {spam} spam links (of {len(y):,}); fewer than "
            f"{config.min_test_spam} makes its metrics too noisy to judge the model. "
            "Label more spam, from more referring sites."
        )
    if best_iteration < config.min_trees:
        warnings.append(
            f"validation peaked at {best_iteration} trees; {config.min_trees} were kept. "
            "The data may hold little the model can learn beyond its first splits."
        )
    if metrics.get("recall_at_spam", 1.0) == 0.0:
        warnings.append(
            "the model flags no test spam link at the spam threshold "
            f"(its highest test probability is {p.max():.2f}); if it ranks well, the evidence "
            "in these columns is not strong enough for a confident verdict: such links go to "
            "review"
        )
    for name, score in baselines.scores.items():
        for metric, label in (("pr_auc", "PR-AUC"), ("roc_auc", "ROC-AUC")):
            theirs = baselines.metrics.get(f"baseline_{name}_{metric}")
            if theirs is None or metrics.get(metric, np.inf) >= theirs:
                continue
            diff, low, high = paired_difference(
                y, p, score, metric, config.bootstrap, config.gate_confidence, config.seed, sites
            )
            noise = "beyond the noise" if high < 0 else "inside the noise"
            warnings.append(
                f"the model does not beat the {name.replace('_', ' ')} baseline on {label}: "
                f"{metrics[metric]:.4f} vs {theirs:.4f} (difference {diff:+.4f}, "
                f"{config.gate_confidence:.0%} interval {low:+.4f} to {high:+.4f}: {noise})"
            )
    return warnings


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
    y, weight = data.y, data.weight
    w = (lambda rows: weight[rows]) if weight is not None else (lambda rows: None)
    t = time.perf_counter()
    small = len(data) < config.small_data_rows
    tried: list[dict[str, float]] = []
    if small:
        # Too few rows for one validation split to choose well, or for a calibration part to
        # hold enough spam: cross-validate the shape and tree count on all but the test rows,
        # fit on all of them, and calibrate on the folds' out-of-fold scores.
        fit_rows = np.sort(np.r_[tr, va, ca])
        found = search(
            X[fit_rows],
            y[fit_rows],
            w(fit_rows),
            sites[fit_rows],
            lgb_params(config, y[fit_rows]),
            config,
        )
        params, best, tried, curve = found.params, found.trees, found.tried, found.curve
        booster = lgb.train(
            params,
            _dataset(X[fit_rows], y[fit_rows], w(fit_rows)),
            _kept_trees(best, SMALL_MAX_ROUNDS, config),
        )
        calibration = fit_calibration(found.out_of_fold, y[fit_rows])
    else:
        fit_rows = tr
        params = lgb_params(config, y[tr])
        train_set = _dataset(X[tr], y[tr], w(tr))
        recorded: dict[str, Any] = {}
        booster = lgb.train(
            params,
            train_set,
            num_boost_round=config.n_estimators,
            valid_sets=[_dataset(X[va], y[va], w(va), reference=train_set)],
            callbacks=[_stop(config), lgb.record_evaluation(recorded)],
        )
        curve = {f"valid_{m}": list(v) for m, v in recorded.get("valid_0", {}).items()}
        best = booster.best_iteration or booster.current_iteration()
        # keep only the trees up to the best iteration so every consumer sees the same model
        keep = _kept_trees(best, booster.current_iteration(), config)
        booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=keep))
        calibration = fit_calibration(booster.predict(X[ca], raw_score=True), y[ca])
    seconds["fit"] = time.perf_counter() - t
    p_test = calibration.probability(booster.predict(X[te], raw_score=True))
    arch = data.archetype
    metrics = evaluate(y[te], p_test, thresholds, arch[te] if arch is not None else None)
    metrics.update(intervals(y[te], p_test, config.bootstrap, seed=config.seed, groups=sites[te]))
    if small:
        chosen = max(tried, key=lambda c: c["cv_pr_auc"])
        valid_metrics = {k: v for k, v in chosen.items() if k.startswith("cv_")}
    else:
        valid_metrics = evaluate(
            y[va], calibration.probability(booster.predict(X[va], raw_score=True)), thresholds
        )
    t = time.perf_counter()
    baselines = fit_baselines(X[fit_rows], y[fit_rows], X[te], y[te], config.seed, config.threads)
    warnings = judge(y[te], p_test, sites[te], metrics, baselines, best, config)
    seconds["baselines"] = time.perf_counter() - t
    trained_at = datetime.now(UTC)
    data_hash = data.data_hash
    card = {
        "name": "linksift",
        "version": f"{trained_at:%Y%m%d-%H%M%S}-{data_hash[:6]}",
        "trained_at": trained_at.isoformat(timespec="seconds"),
        "as_of": as_of.isoformat(),
        "source": source,
        "data_hash": data_hash,
        "rows": {p: len(i) for p, i in parts.items()},
        "fit_rows": len(fit_rows),  # small data: train + valid + calibration, cross-validated
        "spam_share": float(y.mean()),
        "feature_spec_version": spec.VERSION,
        "feature_fingerprint": spec.as_dict()["fingerprint"],
        "trees": booster.num_trees(),
        "best_iteration": best,
        "params": {k: v for k, v in params.items() if k != "monotone_constraints"},
        "config": config.model_dump(),
        "thresholds": thresholds.model_dump(),
        "metrics": metrics,
        "valid_metrics": valid_metrics,
        "baselines": baselines.metrics,
        "best_single_feature": baselines.best_feature,
        "search": tried,
        "warnings": warnings,
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
        y[te],
        p_test,
        arch[te] if arch is not None else None,
        seconds,
        te,
        data.links[te],
        baselines,
        warnings,
        np.delete(np.asarray(link_ids(data.links).to_list(), dtype=object), te).tolist(),
        curve,
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
        "| metric | value | 95% interval | default LightGBM | logistic regression | "
        f"best single feature ({card.get('best_single_feature', '-')}) |",
        "|---|---|---|---|---|---|",
    ]
    base = card.get("baselines", {})
    for k, v in m.items():
        if k.endswith(("_low", "_high")):
            continue
        low, high = m.get(f"{k}_low"), m.get(f"{k}_high")
        cells = [f"{low:.4f} – {high:.4f}" if low is not None else ""]
        cells += [
            f"{base[f'baseline_{who}_{k}']:.4f}" if f"baseline_{who}_{k}" in base else ""
            for who in ("lightgbm", "logreg", "best_feature")
        ]
        lines.append(f"| {k} | {v:.4f} | " + " | ".join(cells) + " |")
    if card.get("warnings"):
        lines += ["", "## Warnings", "", *(f"- {w}" for w in card["warnings"])]
    return "\n".join(lines) + "\n"
