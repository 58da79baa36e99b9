"""Training artifacts as pictures: SHAP beeswarm, PR and calibration curves, confusion matrix,
feature importance. Written with matplotlib's Agg backend (no display needed).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve

from features import spec
from training.metrics import confusion
from training.train import Trained

SHAP_SAMPLE = 2000


def beeswarm(contributions: np.ndarray, X: np.ndarray, title: str) -> plt.Figure:
    """SHAP summary (beeswarm) from exact contributions; a base-value column is ignored."""
    import shap

    plt.figure()
    with warnings.catch_warnings():
        # a feature the export never carries (Semrush has no traffic) is all NaN: shap then
        # colours its dots grey, and numpy warns while finding the colour range
        warnings.filterwarnings("ignore", "All-NaN slice encountered", RuntimeWarning)
        shap.summary_plot(
            contributions[:, : len(spec.NAMES)],
            X,
            feature_names=[f.label for f in spec.FEATURES],
            show=False,
            max_display=15,
        )
    fig = plt.gcf()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def write_all(trained: Trained, folder: Path) -> list[Path]:
    """Every training plot into ``folder``; returns the files."""
    folder.mkdir(parents=True, exist_ok=True)
    y, p = trained.y_test, trained.p_test
    cut = trained.card["thresholds"]["spam"]
    out = []

    rng = np.random.default_rng(0)
    idx = rng.choice(len(y), size=min(SHAP_SAMPLE, len(y)), replace=False)
    contrib = trained.booster.predict(trained.X_test[idx], pred_contrib=True)
    fig = beeswarm(contrib, trained.X_test[idx], "What drives spam scores (test links, log-odds)")
    fig.savefig(folder / "shap_beeswarm.png", dpi=110)
    plt.close(fig)
    out.append(folder / "shap_beeswarm.png")

    fig, ax = plt.subplots(figsize=(5, 4))
    precision, recall, _ = precision_recall_curve(y, p)
    ax.plot(recall, precision)
    ax.set(xlabel="recall (spam found)", ylabel="precision", title="Precision-recall (test)")
    fig.tight_layout()
    fig.savefig(folder / "pr_curve.png", dpi=110)
    out.append(folder / "pr_curve.png")

    fig, ax = plt.subplots(figsize=(5, 4))
    frac, mean = calibration_curve(y, p, n_bins=10, strategy="quantile")
    ax.plot([0, 1], [0, 1], "--", color="grey")
    ax.plot(mean, frac, marker="o")
    ax.set(
        xlabel="predicted spam probability",
        ylabel="observed spam share",
        title="Calibration (test)",
    )
    fig.tight_layout()
    fig.savefig(folder / "calibration_curve.png", dpi=110)
    out.append(folder / "calibration_curve.png")

    fig, ax = plt.subplots(figsize=(4, 4))
    cm = confusion(y, p, cut)
    ax.imshow(cm, cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, f"{v:,}", ha="center", va="center")
    ax.set(
        xticks=[0, 1],
        yticks=[0, 1],
        xticklabels=["kept", "flagged"],
        yticklabels=["good", "spam"],
        title=f"Confusion at spam ≥ {cut}",
    )
    fig.tight_layout()
    fig.savefig(folder / "confusion_matrix.png", dpi=110)
    out.append(folder / "confusion_matrix.png")

    fig, ax = plt.subplots(figsize=(6, 7))
    gain = trained.booster.feature_importance("gain")
    order = np.argsort(gain)
    ax.barh([spec.FEATURES[i].label for i in order], gain[order])
    ax.set(xlabel="total gain", title="Feature importance")
    fig.tight_layout()
    fig.savefig(folder / "feature_importance.png", dpi=110)
    out.append(folder / "feature_importance.png")
    plt.close("all")
    return out
