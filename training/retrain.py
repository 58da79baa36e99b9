"""Retraining on reviewed labels: ``linksift retrain`` and the review page's button.

A challenger trains on the base training data plus every reviewed label. Reviewed labels win
over base rows for the same link and carry more weight (there are few of them and a person
checked each one). A quarter of the reviewed referring sites is held out, so the challenger
and the champion are compared on held-out rows that include people's labels, not only
generated ones. The run records how many reviewed labels it used; the version is promoted only
if the gate passes, and the command says why when it is not.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from features import artifact
from features.importers import ImportOptions, concat, from_records, link_ids
from features.urls import sites_of
from training import plots, tracking
from training.config import Thresholds, TrainConfig
from training.data import Labeled, load_labeled
from training.labels import LabelStore
from training.metrics import evaluate
from training.pipeline import outside_evaluation_set
from training.train import card_markdown, fit

HOLDOUT_SHARE = 0.25
DEFAULT_BASE = Path(__file__).resolve().parent.parent / "data" / "sample" / "labeled.parquet"


class RetrainError(ValueError):
    """Retraining that cannot start, said plainly."""


@dataclass
class RetrainSummary:
    reviewed: int
    reviewed_held_out: int
    replaced_base_rows: int
    metrics: dict[str, float]
    reviewed_metrics: dict[str, float]
    logged: tracking.Logged
    trained_link_ids: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    evaluation_rows_dropped: int = 0
    site_labels: int = 0
    site_rows: int = 0  # base rows labelled through their site's label

    def text(self) -> str:
        lines = [
            f"challenger trained with {self.reviewed:,} reviewed labels "
            + (
                f"and {self.site_labels:,} whole-site labels ({self.site_rows:,} base rows) "
                if self.site_labels
                else ""
            )
            + f"({self.reviewed_held_out:,} held out for the comparison, "
            f"{self.replaced_base_rows:,} base rows overridden, "
            f"{self.evaluation_rows_dropped:,} rows of the registry's evaluation set left out)",
            f"its own test rows: PR-AUC {self.metrics.get('pr_auc', float('nan')):.4f}, "
            f"ROC-AUC {self.metrics.get('roc_auc', float('nan')):.4f}, "
            f"ECE {self.metrics.get('ece', float('nan')):.4f}",
        ]
        if self.reviewed_metrics:
            lines.append(
                f"on held-out reviewed labels: {int(self.reviewed_metrics['rows'])} rows, "
                f"log loss {self.reviewed_metrics['log_loss']:.4f}"
            )
        result = self.logged.result
        if result and result.champion and result.challenger:
            lines.append(f"on the same {int(result.challenger['rows']):,} rows:")
            for who, m in (("champion", result.champion), ("challenger", result.challenger)):
                lines.append(
                    f"  {who:<10} PR-AUC {m['pr_auc']:.4f}  ROC-AUC {m['roc_auc']:.4f}  "
                    f"ECE {m['ece']:.4f}"
                )
        lines += [f"warning: {w}" for w in self.warnings]
        state = {
            "promoted": "promoted to champion",
            "kept": "NOT promoted (challenger; the champion stays)",
            "refused": "NOT promoted (refused)",
        }[result.decision if result else ("promoted" if self.logged.promoted else "refused")]
        lines.append(f"version {self.logged.version}: {state} — {self.logged.gate}")
        return "\n".join(lines)


def _held_out(sites: np.ndarray, share: float) -> np.ndarray:
    """A stable ``share`` of sites (by hash), so reruns hold out the same reviewed sites."""
    cut = int(share * 2**32)
    return np.asarray(
        [
            int.from_bytes(hashlib.blake2b((s or "").encode(), digest_size=4).digest(), "little")
            < cut
            for s in sites
        ]
    )


def reviewed_data(store: LabelStore, as_of: date) -> Labeled | None:
    """People's standing link labels as labeled canonical links (None when there are none)."""
    rows = store.export_rows()
    if not rows:
        return None
    for r in rows:
        for extra in ("label_note", "label_reviewer", "label_time"):
            r.pop(extra, None)
    links, rejects = from_records(rows, ImportOptions(as_of=as_of))
    if rejects.height:
        raise RetrainError(
            f"{rejects.height} stored labels no longer validate, e.g. "
            f"{rejects.to_dicts()[0]['reason']}"
        )
    # reviewed labels may all be one class: the merged data has both, so no class check here
    y = (np.asarray(links["label"].to_list(), dtype=object) == "spam").astype(np.int8)
    return Labeled(links, y, None)


def merge(
    base: Labeled,
    reviewed: Labeled | None,
    reviewed_weight: float,
    site_labels: dict[str, str] | None = None,
) -> tuple[Labeled, int, np.ndarray]:
    """Base rows minus those a person relabelled, plus the reviewed rows (weighted); base
    rows from a referring site a person labelled as a whole take that label (and weight).

    Returns the merged data, how many base rows were replaced, and which rows are reviewed.
    """
    reviewed = reviewed or base.subset(np.zeros(len(base), bool))
    replaced = link_ids(base.links).is_in(link_ids(reviewed.links).implode()).to_numpy()
    links = concat([base.links.filter(pl.Series(~replaced)), reviewed.links])
    y = np.r_[base.y[~replaced], reviewed.y]
    is_reviewed = np.r_[np.zeros(int((~replaced).sum()), bool), np.ones(len(reviewed), bool)]
    sites = sites_of(links["source_url"]).to_numpy()
    if site_labels:
        by_site = np.asarray([site_labels.get(s) for s in sites], dtype=object)
        from_site = ~is_reviewed & (by_site != None)  # noqa: E711 (element-wise)
        y[from_site] = by_site[from_site] == "spam"
        is_reviewed |= from_site
    arch = None
    if base.archetype is not None:
        arch = np.r_[base.archetype[~replaced], np.full(len(reviewed), "reviewed", object)]
        arch[is_reviewed] = "reviewed"
    weight = np.where(is_reviewed, reviewed_weight, 1.0)
    forced = is_reviewed & _held_out(sites, HOLDOUT_SHARE)
    data = Labeled(links, y.astype(np.int8), arch, 0, weight, forced)
    return data, int(replaced.sum()), is_reviewed


def retrain(
    base_path: str | Path | None,
    store: LabelStore,
    config: TrainConfig,
    thresholds: Thresholds,
    *,
    tracking_uri: str,
    as_of: date | None = None,
    reviewed_weight: float = 5.0,
    name: str = tracking.MODEL_NAME,
    experiment: str = tracking.EXPERIMENT,
) -> RetrainSummary:
    """Train a challenger on base data + reviewed labels, log it, and gate its promotion."""
    as_of = as_of or date.today()
    base_path = base_path or DEFAULT_BASE
    base = load_labeled(base_path, as_of)
    reviewed = reviewed_data(store, as_of)
    site_labels = {site: lab.label for site, lab in store.reviewed().sites.items()}
    if reviewed is None and not site_labels:
        raise RetrainError("no reviewed labels yet: label links on the review page first")
    data, replaced, is_reviewed = merge(base, reviewed, reviewed_weight, site_labels)
    link_labels = len(reviewed) if reviewed is not None else 0
    site_rows = int(is_reviewed.sum()) - link_labels
    keep = outside_evaluation_set(data, tracking_uri, name)
    data, is_reviewed = data.subset(keep), is_reviewed[keep]
    trained = fit(data, config, thresholds, as_of, source=f"{base_path} + label store")
    test = trained.test_index if trained.test_index is not None else np.zeros(0, int)
    rev_test = is_reviewed[test]
    reviewed_metrics = {}
    if rev_test.any():
        reviewed_metrics = evaluate(trained.y_test[rev_test], trained.p_test[rev_test], thresholds)
    with tempfile.TemporaryDirectory(prefix="linksift-retrain-") as scratch:
        folder, plot_dir = Path(scratch) / "model", Path(scratch) / "plots"
        plot_dir.mkdir()
        artifact.write(folder, trained.artifact, card_markdown(trained.card))
        logged = tracking.log_training(
            trained,
            folder,
            plots.write_all(trained, plot_dir),
            tracking_uri,
            config,
            thresholds,
            experiment,
            extra_params={
                "reviewed_labels": link_labels,
                "site_labels": len(site_labels),
                "site_labelled_rows": site_rows,
                "reviewed_held_out": int(rev_test.sum()),
                "reviewed_weight": reviewed_weight,
                "base_data": str(base_path),
                "base_rows_replaced": replaced,
            },
            extra_metrics={f"reviewed_holdout_{k}": v for k, v in reviewed_metrics.items()},
            kind="retrain",
        )
    logged = tracking.register(logged, trained, tracking_uri, config, thresholds, name)
    trained_rows = np.setdiff1d(np.flatnonzero(is_reviewed), test)
    id_list = link_ids(data.links).to_list()
    return RetrainSummary(
        link_labels,
        int(rev_test.sum()),
        replaced,
        trained.metrics,
        reviewed_metrics,
        logged,
        [id_list[i] for i in trained_rows],
        trained.warnings,
        int((~keep).sum()),
        len(site_labels),
        site_rows,
    )
