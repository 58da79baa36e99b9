"""Held-out quality against exact-explanation speed for a few model sizes (the knee table).

    python benchmarks/model_size.py      # writes benchmarks/MODEL_SIZE.md

Every size is trained by ``training.train.fit`` on the same 200k generated links the default
model uses; speed is measured on 20k held-out-style links with the fast explainer and with
LightGBM's ``pred_contrib`` in the same run.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import AS_OF, best_of, machine  # noqa: E402
from features.extract import extract  # noqa: E402
from serving.treeshap import FastTreeShap  # noqa: E402
from training.config import TrainConfig  # noqa: E402
from training.data import labeled_from_table  # noqa: E402
from training.synth import generate  # noqa: E402
from training.train import fit  # noqa: E402

SIZES = [
    ("31 leaves, depth 6, lr 0.08", dict(num_leaves=31, max_depth=6, learning_rate=0.08)),
    ("15 leaves, depth 5, lr 0.08", dict(num_leaves=15, max_depth=5, learning_rate=0.08)),
    ("15 leaves, depth 5, lr 0.15", dict(num_leaves=15, max_depth=5, learning_rate=0.15)),
    ("15 leaves, depth 4, lr 0.15", dict(num_leaves=15, max_depth=4, learning_rate=0.15)),
    ("12 leaves, depth 4, lr 0.2", dict(num_leaves=12, max_depth=4, learning_rate=0.2)),
    ("7 leaves, depth 3, lr 0.2", dict(num_leaves=7, max_depth=3, learning_rate=0.2)),
]


def main() -> None:
    data = labeled_from_table(generate(200_000, seed=0, as_of=AS_OF))
    probe = extract(generate(20_000, seed=99, as_of=AS_OF), as_of=AS_OF)
    rows = []
    for name, params in SIZES:
        t = time.perf_counter()
        trained = fit(data, TrainConfig(**params), as_of=AS_OF)
        fit_s = time.perf_counter() - t
        fast = FastTreeShap(trained.booster.model_to_string())
        fast.contributions(probe[:100])
        fast_s = best_of(lambda f=fast: f.contributions(probe), 2)
        ref_s = best_of(lambda b=trained.booster: b.predict(probe, pred_contrib=True), 1)
        pred_s = best_of(lambda b=trained.booster: b.predict(probe, raw_score=True), 2)
        m = trained.metrics
        rows.append(
            f"| {name} | {trained.booster.num_trees()} | {m['roc_auc']:.4f} | {m['pr_auc']:.4f} "
            f"| {m['ece']:.4f} | {fast.table_bytes / 1e6:.1f} | {len(probe) / fast_s:,.0f} "
            f"| {len(probe) / ref_s:,.0f} | {ref_s / fast_s:.1f}x | {len(probe) / pred_s:,.0f} "
            f"| {fit_s:.0f} |"
        )
        print(rows[-1], flush=True)
    out = Path(__file__).with_name("MODEL_SIZE.md")
    out.write_text(
        "\n".join(
            [
                "# Model size: held-out quality vs exact-explanation speed",
                "",
                f"Measured {time.strftime('%Y-%m-%d')} on {machine()}; 200k generated links, "
                "grouped time-aware test split; speed on 20k links, 2 threads.",
                "",
                "| size | trees | ROC-AUC | PR-AUC | ECE | table MB | fast explain links/s "
                "| pred_contrib links/s | speed-up | predict links/s | fit s |",
                "|---|---|---|---|---|---|---|---|---|---|---|",
                *rows,
                "",
            ]
        )
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
