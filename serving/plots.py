"""Pictures of explanations: the SHAP waterfall for one link, the beeswarm for many."""

from __future__ import annotations

import io
import threading
from typing import Any

import numpy as np

_LOCK = threading.Lock()  # pyplot keeps global state; one figure at a time


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend, imported on first use (it is heavy, and most
    scoring never draws)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def waterfall(explained: dict[str, Any], max_display: int = 12) -> bytes:
    """PNG of SHAP's waterfall plot for one explanation (from ``LinkModel.explain_one``)."""
    import shap

    items = explained["contributions"]
    values = np.asarray([c["contribution"] for c in items])
    shown = np.asarray([c["shown"] for c in items], dtype=object)
    names = [c["label"] for c in items]
    exp = shap.Explanation(
        values=values, base_values=explained["base_value"], data=shown, feature_names=names
    )
    with _LOCK:
        plt = pyplot()
        plt.figure()
        shap.plots.waterfall(exp, max_display=max_display, show=False)
        fig = plt.gcf()
        fig.set_size_inches(8, 0.45 * min(max_display, len(items)) + 1.5)
        fig.suptitle(
            f"spam probability {explained['spam_probability']:.2f} ({explained['verdict']}); "
            "log-odds contributions",
            fontsize=10,
        )
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
        plt.close("all")
    return buf.getvalue()
