"""MLflow tracking and the model registry: one run per training, registered versions, and the
``champion`` alias that serving follows.

Promotion is guarded by a gate that compares champion and challenger on the same rows: the
registry's evaluation set (the first registered run's test rows, kept as an artifact of that
run and never trained on again) plus the challenger's own test rows, both models scoring every
row. The challenger is promoted only when its PR-AUC is higher beyond the noise of those rows
(a paired bootstrap interval of the difference lies above zero); a difference inside the noise
keeps the champion. A first champion is refused when it ranks clearly worse than one of its
own baselines. The decision and its numbers are tags on the version. Every promotion records
the version it replaced, so ``rollback`` can walk back.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version as pkg_version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from features import artifact
from training.config import Thresholds, TrainConfig

if TYPE_CHECKING:  # training pulls in LightGBM and scikit-learn: not for loading a model
    from training.train import Trained

MODEL_NAME = "linksift"
EXPERIMENT = "linksift"
CHAMPION = "champion"
PREVIOUS_TAG = "previous_champion"
EVALUATION_TAG = "evaluation_run"  # registered-model tag: the run holding the evaluation set
EVALUATION_DIR = "evaluation"
EVALUATION_FILE = "holdout.parquet"
TRAINING_DIR = "training"
SEEN_FILE = "link_ids.parquet"  # the links a run's model learned from
PYFUNC_CODE = Path(__file__).with_name("pyfunc_model.py")
FEATURES_DIR = Path(__file__).resolve().parent.parent / "features"
REQUIREMENTS = (
    "mlflow",
    "lightgbm",
    "numpy",
    "pandas",
    "pyarrow",
    "polars",
    "polars-hash",  # features: link ids
    "tldextract",
    "wordllama",  # features: relevance by meaning (its weights ship in the wheel)
    "scipy",  # features: relevance by meaning (sparse sums)
)

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def _mlflow() -> Any:
    """Import MLflow lazily (it is slow to import) and quiet its narration.

    MLflow logs database migrations and signature inference at INFO/WARNING; the command's own
    summary says what happened. Levels are set after import because MLflow sets them on import.
    """
    import mlflow

    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.ERROR)
    return mlflow


class RegistryError(ValueError):
    """A registry operation that cannot be done, said plainly."""


def default_tracking_uri(home: Path | None = None) -> str:
    """``MLFLOW_TRACKING_URI`` if set, else a sqlite database in the project folder."""
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    return f"sqlite:///{(home or Path.cwd()).resolve() / 'mlflow.db'}"


@contextmanager
def tracking(uri: str) -> Iterator[Any]:
    """Point MLflow at ``uri`` for the duration; yields a client."""
    mlflow = _mlflow()
    previous = mlflow.get_tracking_uri() if mlflow.is_tracking_uri_set() else None
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        yield mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    finally:
        if previous:
            mlflow.set_tracking_uri(previous)
            mlflow.set_registry_uri(previous)


def _experiment(client: Any, name: str, uri: str) -> str:
    found = client.get_experiment_by_name(name)
    if found:
        return found.experiment_id
    location = None
    if uri.startswith("sqlite:///"):
        location = (Path(uri.removeprefix("sqlite:///")).parent / "mlartifacts").resolve().as_uri()
    return client.create_experiment(name, artifact_location=location)


def _flat(prefix: str, d: dict[str, Any]) -> dict[str, Any]:
    return {f"{prefix}{k}": v for k, v in d.items()}


@dataclass
class Logged:
    run_id: str
    model_uri: str
    version: str | None = None
    promoted: bool = False
    gate: str = ""
    result: GateResult | None = None


def log_training(
    trained: Trained,
    model_folder: Path,
    plots: list[Path],
    uri: str,
    config: TrainConfig,
    thresholds: Thresholds,
    experiment: str = EXPERIMENT,
    extra_params: dict[str, Any] | None = None,
    extra_metrics: dict[str, float] | None = None,
    kind: str = "train",
) -> Logged:
    """Log one training run (``kind``: train or retrain, which names it): params, metrics,
    plots, model card and the pyfunc model."""
    mlflow = _mlflow()

    with tracking(uri) as client:
        exp_id = _experiment(client, experiment, uri)
        card = trained.card
        with mlflow.start_run(experiment_id=exp_id, run_name=f"{kind}-{card['version']}") as run:
            mlflow.log_params(
                {
                    **config.model_dump(),
                    **_flat("threshold_", thresholds.model_dump()),
                    "data_hash": card["data_hash"],
                    "data_source": card.get("source", ""),
                    "feature_spec_version": card["feature_spec_version"],
                    "feature_fingerprint": card["feature_fingerprint"],
                    "trees": card["trees"],
                    "best_iteration": card.get("best_iteration"),
                    **_flat("rows_", card["rows"]),
                    **(extra_params or {}),
                }
            )
            mlflow.log_metrics({k: v for k, v in trained.metrics.items() if np.isfinite(v)})
            mlflow.log_metrics(
                _flat("valid_", {k: v for k, v in trained.valid_metrics.items() if np.isfinite(v)})
            )
            mlflow.log_metrics(_flat("seconds_", trained.seconds))
            mlflow.log_metrics(card.get("baselines", {}))
            if extra_metrics:
                mlflow.log_metrics({k: v for k, v in extra_metrics.items() if np.isfinite(v)})
            _log_curve(client, run.info.run_id, trained.curve)
            _log_dataset(mlflow, card)
            mlflow.set_tags(
                {
                    **_git_tags(),
                    "model_version": card["version"],
                    "synthetic": str(card["synthetic"]),
                    "warnings": "\n".join(card.get("warnings", []))[:5000] or "none",
                    "best_single_feature": card.get("best_single_feature", ""),
                }
            )
            if card.get("search"):
                mlflow.log_dict({"candidates": card["search"]}, "search.json")
            for p in plots:
                mlflow.log_artifact(str(p), "plots")
            with tempfile.TemporaryDirectory(prefix="linksift-seen-") as scratch:
                seen = Path(scratch) / SEEN_FILE
                pl.DataFrame(
                    {"link_id": trained.seen_ids}, schema={"link_id": pl.String}
                ).write_parquet(seen)
                mlflow.log_artifact(str(seen), TRAINING_DIR)
            mlflow.log_artifact(str(model_folder / "card.md"))
            mlflow.log_artifact(str(model_folder / "card.json"))
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=str(PYFUNC_CODE),
                artifacts={"model": str(model_folder)},
                code_paths=[str(FEATURES_DIR)],
                pip_requirements=[f"{p}=={pkg_version(p)}" for p in REQUIREMENTS],
                signature=pyfunc_signature(),
                input_example=(input_example(), {"profile": "row", "as_of": ""}),
            )
        return Logged(run.info.run_id, info.model_uri)


def input_example() -> Any:
    """What the pyfunc's signature is shown with (canonical names; vendor names work too)."""
    import pandas as pd

    return pd.DataFrame(
        {
            "source_url": [
                "https://bakers.example.org/guide/rye-starter",
                "https://links4u.example.xyz/",
            ],
            "target_url": ["https://bakewise.example.com/rye/", "https://bakewise.example.com/"],
            "anchor_text": ["rye starter guide", "cheap bread buy now"],
            "source_authority": [45.0, 3.0],
            "nofollow": [False, True],
            "first_seen": ["2025-01-02", "2026-10-15"],
        }
    )


def pyfunc_signature() -> Any:
    """The pyfunc's contract as an MLflow signature: every canonical column by name, in the
    canonical order (so ``spark_udf(...)(col1, col2, ...)`` maps plain columns), text as
    ``string``; numbers, flags and dates accept what a DataFrame holds (``Any``: MLflow would
    refuse an integer column for a ``double``); then every vendor header, optional. Params:
    ``profile`` ("row" or "batch") and ``as_of`` (ISO date, "" for today). See
    ``training/pyfunc_model.py``."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import AnyType, ColSpec, ParamSchema, ParamSpec, Schema

    from features import schema

    def spec(name: str, kind: str) -> Any:
        typed = "string" if kind in ("url", "text", "category", "label") else AnyType()
        return ColSpec(typed, name, required=False)

    # all optional: a row may give its URLs under canonical or vendor names (the pyfunc
    # itself rejects a row without them, naming the column)
    canonical = [spec(c.name, c.kind) for c in schema.COLUMNS]
    vendor = sorted(
        {h for c in schema.COLUMNS for src in c.sources.values() for h in src.headers}
        - set(schema.CANONICAL)
    )
    return ModelSignature(
        inputs=Schema([*canonical, *(ColSpec(AnyType(), h, required=False) for h in vendor)]),
        outputs=Schema(
            [ColSpec("double", "spam_probability"), ColSpec("string", "rejected", required=False)]
        ),
        params=ParamSchema(
            [ParamSpec("profile", "string", "row"), ParamSpec("as_of", "string", "")]
        ),
    )


def _log_curve(client: Any, run_id: str, curve: dict[str, list[float]]) -> None:
    """The early-stopping curve as metric histories (one step per tree)."""
    import time

    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    metrics = [
        Metric(f"curve_{name}", float(v), now, step)
        for name, values in curve.items()
        for step, v in enumerate(values, start=1)
        if np.isfinite(v)
    ]
    for start in range(0, len(metrics), 1000):  # MLflow's limit per batch
        client.log_batch(run_id, metrics=metrics[start : start + 1000])


def _log_dataset(mlflow: Any, card: dict[str, Any]) -> None:
    """The training data as the run's input dataset: where it came from, its hash and size
    (its rows stay where they are)."""
    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.data.meta_dataset import MetaDataset

    source = str(card.get("source") or "")
    path = source.split(" + ")[0]  # a retrain's source is "base.parquet + label store"
    if not path:
        return
    with warnings.catch_warnings():  # MLflow registers two local sources and says so
        warnings.simplefilter("ignore", UserWarning)
        where = resolve_dataset_source(str(Path(path).resolve()))
    dataset = MetaDataset(
        where,
        name=Path(path).name,
        digest=str(card["data_hash"])[:36],
    )
    tags = {"rows": str(sum(card["rows"].values())), "source": source}
    mlflow.log_input(dataset, context="training", tags=tags)


def _git_tags() -> dict[str, str]:
    """The commit of the code that trained (MLflow's own tag names), when it runs from a git
    checkout; nothing otherwise."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return {}
    if commit.returncode != 0:
        return {}
    return {
        "mlflow.source.git.commit": commit.stdout.strip(),
        "git_dirty": str(bool(dirty.stdout.strip())).lower(),
    }


def champion_version(client: Any, name: str = MODEL_NAME) -> Any | None:
    try:
        return client.get_model_version_by_alias(name, CHAMPION)
    except Exception:  # MLflow raises a generic error when the model or alias does not exist
        return None


def cache_root() -> Path:
    """Where registry models are kept, one folder per version (``LINKSIFT_MODEL_CACHE``)."""
    folder = os.environ.get("LINKSIFT_MODEL_CACHE")
    return Path(folder) if folder else Path(tempfile.gettempdir()) / "linksift-models"


def _cache_key(uri: str, model_uri: str) -> str:
    """The cache folder's name for a resolved ``models:/name/3`` or ``runs:/...`` URI in the
    registry at ``uri``: readable, and unique per registry."""
    return f"{_readable(model_uri.split(':/', 1)[1])}-{_registry_id(uri)}"


def _readable(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")


def _registry_id(uri: str) -> str:
    return hashlib.sha256(uri.encode()).hexdigest()[:10]


def download(uri: str, registry: str | None = None) -> Path:
    """A registry or run model as a local linksift model folder, downloaded once per version
    into ``cache_root()`` (a version never changes; a new one gets its own folder)."""
    mlflow = _mlflow()

    folder = cache_root() / _cache_key(registry or mlflow.get_tracking_uri(), uri)
    if (folder / "done").is_file():
        return artifact.find_folder(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".partial-"))
    try:
        mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(partial))
        (partial / "done").touch()
        with contextlib.suppress(OSError):  # another process got there first: keep theirs
            os.replace(partial, folder)  # whole, or not at all
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return artifact.find_folder(folder)


def prune_cache(uri: str, name: str, keep: str) -> int:
    """Remove the cached versions of registered model ``name`` (from the registry at ``uri``)
    other than version ``keep``; returns how many went."""
    mine = _cache_key(uri, f"models:/{name}/{keep}")
    versions = re.compile(rf"{re.escape(_readable(name))}-[0-9]+-{_registry_id(uri)}")
    gone = 0
    for folder in cache_root().iterdir() if cache_root().is_dir() else ():
        if folder.name != mine and versions.fullmatch(folder.name) and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
            gone += 1
    return gone


def alias_version(uri: str, name: str, alias: str) -> str | None:
    """The version registered model ``name``'s ``alias`` points to now (None: no such)."""
    with tracking(uri) as client:
        try:
            return str(client.get_model_version_by_alias(name, alias).version)
        except Exception:  # MLflow raises a generic error for an unknown model or alias
            return None


@dataclass
class GateResult:
    """What the gate decided (``promoted``, ``kept`` or ``refused``), why, and on which rows:
    both models' metrics on the same rows and the challenger-minus-champion PR-AUC interval."""

    decision: str
    reason: str
    champion: dict[str, float] | None = None
    challenger: dict[str, float] | None = None
    difference: tuple[float, float, float] | None = None  # PR-AUC (diff, low, high)

    @property
    def promote(self) -> bool:
        return self.decision == "promoted"

    def tags(self) -> dict[str, str]:
        out = {"gate": self.reason, "gate_decision": self.decision}
        for who, m in (("challenger", self.challenger), ("champion", self.champion)):
            for k in ("pr_auc", "roc_auc", "ece", "rows"):
                if m and k in m:
                    out[f"gate_{who}_{k}"] = f"{m[k]:.6g}"
        if self.difference:
            for k, v in zip(("diff", "low", "high"), self.difference, strict=True):
                out[f"gate_pr_auc_{k}"] = f"{v:+.6f}"
        return out


def _interval_text(diff: tuple[float, float, float], level: float) -> str:
    return f"difference {diff[0]:+.4f}, {level:.0%} interval {diff[1]:+.4f} to {diff[2]:+.4f}"


def _first_champion(trained: Trained, config: TrainConfig, thresholds: Thresholds) -> GateResult:
    """No champion yet: refuse a model that ranks clearly worse than one of its baselines."""
    from training.metrics import evaluate, paired_difference

    mine = evaluate(trained.y_test, trained.p_test, thresholds)
    if trained.baselines is None or not trained.baselines.metrics:
        return GateResult("promoted", "no champion yet", None, mine)
    from features.urls import sites_of

    sites = sites_of(trained.test_links["source_url"]).to_numpy()
    for name, score in trained.baselines.scores.items():
        diff = paired_difference(
            trained.y_test,
            trained.p_test,
            score,
            "pr_auc",
            config.bootstrap,
            config.gate_confidence,
            config.seed,
            sites,
        )
        if diff[2] < 0:
            return GateResult(
                "refused",
                f"no champion yet, and this model ranks worse than its own "
                f"{name.replace('_', ' ')} baseline beyond the noise on its "
                f"{len(trained.y_test):,} test rows ({_interval_text(diff, config.gate_confidence)})",
                None,
                mine,
                diff,
            )
    return GateResult(
        "promoted",
        f"no champion yet; not worse than its baselines on its {len(trained.y_test):,} test rows",
        None,
        mine,
    )


def gate_rows(
    trained: Trained, holdout: pl.DataFrame | None, champion_saw: set[str] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Feature rows and labels both models are judged on: the registry's evaluation set
    (featurised on its own, as of the challenger's day) followed by the challenger's test
    rows, leaving out links the champion trained on (it would be graded on what it
    memorised). Returns (X, y, referring site, rows from the evaluation set)."""
    from datetime import date

    from features.extract import extract
    from features.importers import link_ids
    from features.urls import sites_of

    seen = list(champion_saw or ())

    def unseen(links: pl.DataFrame) -> np.ndarray:
        return ~link_ids(links).is_in(seen).to_numpy()

    X, y = [np.empty((0, trained.X_test.shape[1]))], [np.empty(0, np.int8)]
    sites = [np.empty(0, object)]
    held = 0
    if holdout is not None and holdout.height:
        holdout = holdout.filter(pl.Series(unseen(holdout)))
        X.append(extract(holdout, as_of=date.fromisoformat(trained.card["as_of"])))
        y.append((holdout["label"] == "spam").to_numpy().astype(np.int8))
        sites.append(sites_of(holdout["source_url"]).to_numpy())
        held = holdout.height
    test = trained.test_links
    keep = unseen(test)
    if held:  # a test link that is also in the evaluation set counts once
        keep &= ~link_ids(test).is_in(link_ids(holdout).implode()).to_numpy()
    X.append(trained.X_test[keep])
    y.append(trained.y_test[keep])
    sites.append(sites_of(test["source_url"]).to_numpy()[keep])
    return np.vstack(X), np.concatenate(y), np.concatenate(sites), held


def gate(
    trained: Trained,
    champion_folder: Path | None,
    config: TrainConfig,
    thresholds: Thresholds,
    holdout: pl.DataFrame | None = None,
    champion_saw: set[str] | None = None,
) -> GateResult:
    """Promote, keep or refuse the challenger; see the module docstring."""
    from training.metrics import evaluate, paired_difference

    if champion_folder is None:
        return _first_champion(trained, config, thresholds)
    try:
        champion = artifact.Scorer.load(champion_folder)
    except artifact.ModelLoadError as exc:
        return GateResult(
            "refused",
            f"the champion cannot be compared in this process ({exc}); "
            "compare with `linksift evaluate` and promote by hand",
            None,
            evaluate(trained.y_test, trained.p_test, thresholds),
        )
    X, y, sites, held = gate_rows(trained, holdout, champion_saw)
    if len(np.unique(y)) < 2:
        return GateResult(
            "kept",
            f"no fair comparison: the {len(y):,} evaluation and test rows the champion did not "
            "train on hold one class only; the champion stays",
            None,
            evaluate(trained.y_test, trained.p_test, thresholds),
        )
    p_new = artifact.Scorer(trained.artifact).probability(X)
    p_old = champion.probability(X)
    new, old = evaluate(y, p_new, thresholds), evaluate(y, p_old, thresholds)
    diff = paired_difference(
        y, p_new, p_old, "pr_auc", config.bootstrap, config.gate_confidence, config.seed, sites
    )
    rows = (
        f"{len(y):,} rows ({held:,} from the registry's evaluation set, "
        f"{len(y) - held:,} from the challenger's test set; {int(y.sum()):,} spam)"
    )
    numbers = (
        f"PR-AUC {new['pr_auc']:.4f} vs champion {old['pr_auc']:.4f} on the same {rows}: "
        + _interval_text(diff, config.gate_confidence)
    )
    if diff[1] > 0:
        return GateResult(
            "promoted", "better than the champion beyond the noise: " + numbers, old, new, diff
        )
    if diff[2] < 0:
        return GateResult(
            "refused", "worse than the champion beyond the noise: " + numbers, old, new, diff
        )
    return GateResult("kept", "inside the noise, the champion stays: " + numbers, old, new, diff)


def evaluation_set(client: Any, name: str = MODEL_NAME) -> pl.DataFrame | None:
    """The registry's evaluation rows (canonical links with labels), or None before the first
    registration."""
    try:
        run_id = client.get_registered_model(name).tags.get(EVALUATION_TAG)
    except Exception:  # MLflow raises a generic error when the model does not exist
        return None
    if not run_id:
        return None
    with tempfile.TemporaryDirectory(prefix="linksift-eval-") as scratch:
        local = client.download_artifacts(run_id, f"{EVALUATION_DIR}/{EVALUATION_FILE}", scratch)
        return pl.read_parquet(local)


def trained_links(client: Any, run_id: str) -> set[str] | None:
    """Link ids a run's model learned from (every row but its test rows), or None for a run
    that did not record them."""
    with tempfile.TemporaryDirectory(prefix="linksift-seen-") as scratch:
        try:
            local = client.download_artifacts(run_id, f"{TRAINING_DIR}/{SEEN_FILE}", scratch)
        except Exception:  # MLflow raises a generic error for a missing artifact
            return None
        return set(pl.read_parquet(local)["link_id"].to_list())


def evaluation_ids(uri: str, name: str = MODEL_NAME) -> set[str]:
    """Link ids of the registry's evaluation set: rows a new model must not train on."""
    from features.importers import link_ids

    with tracking(uri) as client:
        held = evaluation_set(client, name)
    return set() if held is None else set(link_ids(held).to_list())


def _keep_evaluation_set(client: Any, name: str, run_id: str, trained: Trained) -> None:
    """Store the run's test rows as the registry's evaluation set."""
    with tempfile.TemporaryDirectory(prefix="linksift-eval-") as scratch:
        trained.test_links.write_parquet(Path(scratch) / EVALUATION_FILE)
        client.log_artifact(run_id, str(Path(scratch) / EVALUATION_FILE), EVALUATION_DIR)
    client.set_registered_model_tag(name, EVALUATION_TAG, run_id)


def register(
    logged: Logged,
    trained: Trained,
    uri: str,
    config: TrainConfig,
    thresholds: Thresholds,
    name: str = MODEL_NAME,
) -> Logged:
    """Register the run's model and let the gate decide whether it becomes champion."""
    mlflow = _mlflow()

    with tracking(uri) as client:
        current = champion_version(client, name)
        folder = download(f"models:/{name}/{current.version}") if current else None
        holdout = evaluation_set(client, name)
        saw = trained_links(client, current.run_id) if current else None
        result = gate(trained, folder, config, thresholds, holdout, saw)
        mv = mlflow.register_model(logged.model_uri, name)
        if holdout is None and trained.test_links is not None:
            _keep_evaluation_set(client, name, logged.run_id, trained)
        tags = {
            **result.tags(),
            "model_version": trained.card["version"],
            "run_id": logged.run_id,
        }
        for key, value in tags.items():
            client.set_model_version_tag(name, mv.version, key, value)
        client.update_model_version(name, mv.version, description=_describe(trained, result))
        client.update_registered_model(name, description=MODEL_DESCRIPTION)
        client.set_registered_model_tag(name, "task", "backlink spam classification")
        client.set_registered_model_tag(
            name, "feature_spec_version", trained.card["feature_spec_version"]
        )
        if result.promote:
            _set_champion(client, name, mv.version, current.version if current else None)
        else:
            client.set_registered_model_alias(name, "challenger", mv.version)
    logged.version, logged.promoted, logged.gate = str(mv.version), result.promote, result.reason
    logged.result = result
    return logged


MODEL_DESCRIPTION = (
    "linksift: tells good backlinks from spam. LightGBM on linksift's feature spec, Platt "
    "calibrated; predicts the spam probability of each link (pyfunc: canonical or vendor "
    "columns; params profile=row|batch, as_of). Aliases: champion (served), challenger."
)


def _describe(trained: Trained, result: GateResult) -> str:
    """A version's description: what it learned from, how it did, what the gate decided."""
    card, m = trained.card, trained.metrics
    rows = card["rows"]
    return (
        f"{card['version']}: trained on {card.get('source') or 'unknown data'} "
        f"({sum(rows.values()):,} labeled links, data hash {str(card['data_hash'])[:12]}), "
        f"{card['trees']} trees{' (synthetic data)' if card.get('synthetic') else ''}. "
        f"Test PR-AUC {m.get('pr_auc', float('nan')):.3f}, ROC-AUC "
        f"{m.get('roc_auc', float('nan')):.3f}, ECE {m.get('ece', float('nan')):.3f}. "
        f"Gate: {result.decision}, {result.reason}"
    )


def _set_champion(client: Any, name: str, version: str, previous: str | None) -> None:
    if previous and str(previous) != str(version):
        client.set_model_version_tag(name, version, PREVIOUS_TAG, str(previous))
    client.set_registered_model_alias(name, CHAMPION, version)


def promote(uri: str, version: str, name: str = MODEL_NAME) -> str:
    """Make ``version`` the champion by hand (no gate); returns a sentence saying what changed."""
    with tracking(uri) as client:
        try:
            client.get_model_version(name, version)
        except Exception as exc:
            raise RegistryError(f"model {name!r} has no version {version}") from exc
        current = champion_version(client, name)
        if current is not None and str(current.version) == str(version):
            return f"{name} version {version} is already champion"
        _set_champion(client, name, version, current.version if current else None)
        was = f" (was {current.version})" if current else ""
        return f"{name} version {version} is now champion{was}"


def rollback(uri: str, name: str = MODEL_NAME) -> str:
    """Give the champion alias back to the version the current champion replaced."""
    with tracking(uri) as client:
        current = champion_version(client, name)
        if current is None:
            raise RegistryError(f"model {name!r} has no champion to roll back")
        previous = current.tags.get(PREVIOUS_TAG)
        if not previous:
            raise RegistryError(
                f"{name} version {current.version} is champion but replaced no earlier champion"
            )
        client.set_registered_model_alias(name, CHAMPION, previous)
        client.set_registered_model_alias(name, "rolled_back", current.version)
        return (
            f"{name} version {previous} is champion again (version {current.version} rolled back)"
        )


def versions(uri: str, name: str = MODEL_NAME) -> list[dict[str, Any]]:
    """Registered versions, newest first, with aliases and headline metrics."""
    try:
        return _versions(uri, name)
    except Exception as exc:  # MLflow raises its own errors for an unreachable registry
        raise RegistryError(f"cannot read the registry at {uri}: {exc}") from exc


def _versions(uri: str, name: str) -> list[dict[str, Any]]:
    with tracking(uri) as client:
        found = client.search_model_versions(f"name='{name}'")
        if not found:
            return []
        aliases: dict[str, list[str]] = {}
        for alias, v in client.get_registered_model(name).aliases.items():
            aliases.setdefault(str(v), []).append(alias)
        rows = []
        for mv in sorted(found, key=lambda v: int(v.version), reverse=True):
            metrics = client.get_run(mv.run_id).data.metrics if mv.run_id else {}
            rows.append(
                {
                    "version": str(mv.version),
                    "aliases": ",".join(sorted(aliases.get(str(mv.version), []))),
                    "model_version": mv.tags.get("model_version", ""),
                    "pr_auc": metrics.get("pr_auc"),
                    "roc_auc": metrics.get("roc_auc"),
                    "ece": metrics.get("ece"),
                    "gate": mv.tags.get("gate", ""),
                }
            )
        return rows


DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "models" / "default"


def model_folder(spec: str | Path | None, uri: str | None = None) -> Path:
    """Local folder of a model given as a folder path, ``models:/...``/``runs:/...`` URI, or
    nothing (the shipped default model)."""
    if spec is None or str(spec) in ("", "default"):
        return DEFAULT_MODEL
    text = str(spec)
    if text.startswith(("models:/", "runs:/")):
        registry = uri or default_tracking_uri()
        with tracking(registry):
            try:
                return download(text, registry)
            except artifact.ModelLoadError:
                raise
            except Exception as exc:
                raise RegistryError(f"cannot fetch {text}: {exc}") from exc
    return artifact.find_folder(text)
