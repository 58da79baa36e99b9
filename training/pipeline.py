"""``linksift train`` and ``linksift evaluate`` as functions: load, fit, write, log, register."""

from __future__ import annotations

import contextlib
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from features import artifact
from features.extract import extract
from features.importers import link_ids
from training import plots, tracking
from training.config import Thresholds, TrainConfig
from training.data import Labeled, load_labeled
from training.metrics import evaluate
from training.train import card_markdown, fit


@dataclass
class TrainSummary:
    metrics: dict[str, float]
    card: dict
    model_folder: Path | None  # only when written with ``out``
    rows: int
    skipped: int
    logged: tracking.Logged | None = None
    evaluation_rows_dropped: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def outside_evaluation_set(data: Labeled, uri: str, name: str = tracking.MODEL_NAME) -> np.ndarray:
    """Rows whose links are not in the registry's evaluation set: a model about to be gated
    must not train on the rows it is judged on."""
    held = tracking.evaluation_ids(uri, name)
    if not held:
        return np.ones(len(data), dtype=bool)
    return ~link_ids(data.links).is_in(list(held)).to_numpy()


def train(
    data_path: str | Path,
    config: TrainConfig,
    thresholds: Thresholds,
    *,
    tracking_uri: str,
    out: Path | None = None,
    register: bool = False,
    as_of: date | None = None,
    log: bool = True,
    experiment: str = tracking.EXPERIMENT,
    name: str = tracking.MODEL_NAME,
) -> TrainSummary:
    """Train on a labeled file; write the model folder; log the run to ``experiment``;
    optionally register it as model ``name``."""
    as_of = as_of or date.today()
    data = load_labeled(data_path, as_of)
    dropped = 0
    if register:
        keep = outside_evaluation_set(data, tracking_uri, name)
        data, dropped = data.subset(keep), int((~keep).sum())
    trained = fit(data, config, thresholds, as_of, source=str(data_path))
    with contextlib.ExitStack() as scratch:  # temporary folders go when the run is logged
        folder = out or _scratch(scratch, "linksift-train-") / "model"
        artifact.write(folder, trained.artifact, card_markdown(trained.card))
        logged = None
        if log or register:
            files = plots.write_all(trained, _scratch(scratch, "linksift-plots-"))
            logged = tracking.log_training(
                trained, folder, files, tracking_uri, config, thresholds, experiment
            )
            if register:
                logged = tracking.register(logged, trained, tracking_uri, config, thresholds, name)
    return TrainSummary(
        trained.metrics,
        trained.card,
        out,
        len(data),
        data.skipped,
        logged,
        dropped,
        trained.seconds,
    )


def _scratch(stack: contextlib.ExitStack, prefix: str) -> Path:
    """A temporary folder removed when ``stack`` closes."""
    return Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=prefix)))


def evaluate_file(
    data_path: str | Path, model: str | None, *, tracking_uri: str, as_of: date | None = None
) -> tuple[dict[str, float], dict]:
    """Metrics of any model on any labeled file (profile measured over that file)."""
    as_of = as_of or date.today()
    data = load_labeled(data_path, as_of)
    scorer = artifact.Scorer.load(tracking.model_folder(model, tracking_uri))
    thresholds = Thresholds(**scorer.artifact.card.get("thresholds", {}))
    X = extract(data.links, as_of=as_of)
    return evaluate(data.y, scorer.probability(X), thresholds, data.archetype), scorer.artifact.card
