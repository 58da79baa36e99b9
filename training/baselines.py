"""What a model must beat to be worth running: simple models trained on the same rows.

Every training run fits, on its own training rows and scores on its own test rows: LightGBM
with its defaults (no constraints, no weights, no tuning), a logistic regression on the same
matrix, and the single best feature (chosen on the training rows, in the direction that
separates them). A model that does not beat these adds nothing to what a user could compute
from one column of the export.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from features import spec
from training.metrics import Ranked

MAX_ROWS = 200_000  # baselines learn from at most this many training rows (time on 1M-row runs)


@dataclass
class Baselines:
    """Test-set scores of each baseline (higher = more spam-like), their metrics, and the
    fitted baselines themselves (``score`` rates any other rows)."""

    scores: dict[str, np.ndarray]
    metrics: dict[str, float]
    best_feature: str
    scorers: dict[str, Callable[[np.ndarray], np.ndarray]]

    def score(self, name: str, X: np.ndarray) -> np.ndarray:
        return self.scorers[name](X)


def _finite(X: np.ndarray) -> np.ndarray:
    """Infinite values (ratios over zero) as large finite ones; missing values stay missing
    for the imputer, which also adds a was-missing indicator."""
    return np.nan_to_num(X, nan=np.nan, posinf=1e12, neginf=-1e12)


def _best_feature(X_train: np.ndarray, y_train: np.ndarray) -> tuple[int, float, float]:
    """(column, direction, fill value) of the column whose values alone rank the training
    rows best; missing values take the column's median."""
    best = (0, 1.0, 0.0, 0.5)
    for j in range(X_train.shape[1]):
        column = X_train[:, j]
        known = ~np.isnan(column)
        if known.sum() < 2 or len(np.unique(column[known])) < 2:
            continue
        fill = float(np.median(column[known]))
        auc = Ranked(y_train, np.where(known, column, fill)).scores()["roc_auc"]
        direction = 1.0 if auc >= 0.5 else -1.0
        if max(auc, 1 - auc) > best[3]:
            best = (j, direction, fill, max(auc, 1 - auc))
    return best[:3]


def fit_baselines(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    seed: int,
    threads: int = 0,
) -> Baselines:
    """The three baselines, trained on the training rows (a random ``MAX_ROWS`` of them when
    there are more), scored on the test rows."""
    import lightgbm
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if len(y_train) > MAX_ROWS:
        keep = np.random.default_rng(seed).choice(len(y_train), MAX_ROWS, replace=False)
        X_train, y_train = X_train[keep], y_train[keep]
    # LightGBM's defaults (what ``LGBMClassifier()`` trains), through its native API: a
    # scoring process may have LightGBM without its scikit-learn estimators (features.artifact)
    params = {"objective": "binary", "seed": seed, "verbose": -1, "num_threads": threads}
    default = lightgbm.train(params, lightgbm.Dataset(X_train, y_train), num_boost_round=100)
    logreg = make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
        StandardScaler(),
        LogisticRegression(max_iter=2000),
    )
    logreg.fit(_finite(X_train), y_train)
    column, direction, fill = _best_feature(X_train, y_train)
    scorers: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "lightgbm": lambda X: default.predict(X),
        "logreg": lambda X: logreg.predict_proba(_finite(X))[:, 1],
        "best_feature": lambda X: direction * np.where(np.isnan(X[:, column]), fill, X[:, column]),
    }
    scores = {name: fn(X_test) for name, fn in scorers.items()}
    metrics: dict[str, float] = {}
    if len(np.unique(y_test)) == 2:
        for name, p in scores.items():
            ranked = Ranked(y_test, p).scores()
            metrics[f"baseline_{name}_roc_auc"] = ranked["roc_auc"]
            metrics[f"baseline_{name}_pr_auc"] = ranked["pr_auc"]
    return Baselines(scores, metrics, spec.NAMES[column], scorers)
