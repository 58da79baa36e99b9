"""Training on what an agency has: 2,000 and 5,000 labeled links with the six columns of a
labeled sheet (``training.synth.agency_sheet``), 3% and 10% spam, five seeds each.

For every run: the trees kept, and the model's ROC-AUC against a default LightGBM trained on
the same rows (the run's own baseline), both on the run's test rows and on an independent
20,000-link sheet from another generated world. The test rows of a 2,000-link sheet at 3%
spam hold 6-20 spam links, where ROC-AUC moves by several hundredths with the luck of the
split; the independent sheet (600-2,000 spam links) shows what training itself did.
Target: no collapse (at least ``min_trees`` trees) and, in every seed, ROC-AUC within 0.01
of the default LightGBM or above it.
"""

from __future__ import annotations

from benchmarks.common import AS_OF, Result
from features.artifact import Scorer
from features.extract import extract
from training.config import Thresholds, TrainConfig
from training.data import labeled_from_table
from training.metrics import evaluate
from training.synth import agency_sheet
from training.train import fit


def run(quick: bool = False) -> list[Result]:
    sizes, shares, seeds = (
        ((2000,), (0.10,), range(2)) if quick else ((2000, 5000), (0.03, 0.10), range(5))
    )
    results = []
    for share in shares:
        independent = labeled_from_table(agency_sheet(20_000, share, 999, AS_OF))
        X = extract(independent.links, as_of=AS_OF)
        for n in sizes:
            for seed in seeds:
                trained = fit(
                    labeled_from_table(agency_sheet(n, share, seed, AS_OF)),
                    TrainConfig(seed=seed),
                    as_of=AS_OF,
                )
                mine = evaluate(
                    independent.y, Scorer(trained.artifact).probability(X), Thresholds()
                )
                default = evaluate(
                    independent.y, trained.baselines.score("lightgbm", X), Thresholds()
                )
                own, base = trained.metrics, trained.card["baselines"]
                results.append(
                    Result(
                        "small data",
                        f"{n:,} links, {share:.0%} spam, seed {seed}: ROC-AUC on an independent "
                        f"20,000-link sheet ({trained.card['trees']} trees; its own "
                        f"{int(trained.y_test.sum())} test spam links: {own['roc_auc']:.3f} vs "
                        f"{base['baseline_lightgbm_roc_auc']:.3f}; recall at review "
                        f"{mine['recall_at_review']:.2f}, at spam {mine['recall_at_spam']:.2f})",
                        mine["roc_auc"],
                        "",
                        "default LightGBM, same rows",
                        default["roc_auc"],
                        ">= baseline - 0.01, >= 20 trees",
                    )
                )
    return results
