"""MLflow tracking and the model registry: one run per training, registered versions, and the
``champion`` alias that serving follows.

Promotion is guarded: a new version becomes champion only when it is not worse than the
current champion on the same held-out rows (PR-AUC and calibration). Every promotion records
the version it replaced, so ``rollback`` can walk back.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version as pkg_version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from features import artifact
from training.config import Thresholds, TrainConfig

if TYPE_CHECKING:  # training pulls in LightGBM and scikit-learn: not for loading a model
    from training.train import Trained

MODEL_NAME = "linksift"
EXPERIMENT = "linksift"
CHAMPION = "champion"
PREVIOUS_TAG = "previous_champion"
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
) -> Logged:
    """Log one training run: params, metrics, plots, model card and the pyfunc model."""
    mlflow = _mlflow()

    with tracking(uri) as client:
        exp_id = _experiment(client, experiment, uri)
        with mlflow.start_run(experiment_id=exp_id) as run:
            card = trained.card
            mlflow.log_params(
                {
                    **config.model_dump(),
                    **_flat("threshold_", thresholds.model_dump()),
                    "data_hash": card["data_hash"],
                    "data_source": card.get("source", ""),
                    "feature_spec_version": card["feature_spec_version"],
                    "feature_fingerprint": card["feature_fingerprint"],
                    "trees": card["trees"],
                    **_flat("rows_", card["rows"]),
                    **(extra_params or {}),
                }
            )
            mlflow.log_metrics({k: v for k, v in trained.metrics.items() if np.isfinite(v)})
            mlflow.log_metrics(
                _flat("valid_", {k: v for k, v in trained.valid_metrics.items() if np.isfinite(v)})
            )
            mlflow.log_metrics(_flat("seconds_", trained.seconds))
            if extra_metrics:
                mlflow.log_metrics({k: v for k, v in extra_metrics.items() if np.isfinite(v)})
            mlflow.set_tags({"model_version": card["version"], "synthetic": str(card["synthetic"])})
            for p in plots:
                mlflow.log_artifact(str(p), "plots")
            mlflow.log_artifact(str(model_folder / "card.md"))
            mlflow.log_artifact(str(model_folder / "card.json"))
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=str(PYFUNC_CODE),
                artifacts={"model": str(model_folder)},
                code_paths=[str(FEATURES_DIR)],
                pip_requirements=[f"{p}=={pkg_version(p)}" for p in REQUIREMENTS],
            )
        return Logged(run.info.run_id, info.model_uri)


def champion_version(client: Any, name: str = MODEL_NAME) -> Any | None:
    try:
        return client.get_model_version_by_alias(name, CHAMPION)
    except Exception:  # MLflow raises a generic error when the model or alias does not exist
        return None


def download(uri: str, dst: Path | None = None) -> Path:
    """A registry or run model as a local linksift model folder."""
    mlflow = _mlflow()

    dst = dst or Path(tempfile.mkdtemp(prefix="linksift-model-"))
    local = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(dst))
    return artifact.find_folder(local)


@dataclass
class GateResult:
    promote: bool
    reason: str
    champion: dict[str, float] | None = None
    challenger: dict[str, float] | None = None


def gate(
    trained: Trained, champion_folder: Path | None, config: TrainConfig, thresholds: Thresholds
) -> GateResult:
    """Is the challenger not worse than the champion on the challenger's held-out rows?"""
    from training.metrics import evaluate

    challenger = evaluate(trained.y_test, trained.p_test, thresholds)
    if champion_folder is None:
        return GateResult(True, "no champion yet", None, challenger)
    try:
        scorer = artifact.Scorer.load(champion_folder)
    except artifact.ModelLoadError as exc:
        return GateResult(
            False,
            f"the champion cannot be compared in this process ({exc}); "
            "compare with `linksift evaluate` and promote by hand",
            None,
            challenger,
        )
    champ = evaluate(trained.y_test, scorer.probability(trained.X_test), thresholds)
    problems = []
    if challenger["pr_auc"] < champ["pr_auc"] - config.gate_pr_auc_tolerance:
        problems.append(f"PR-AUC {challenger['pr_auc']:.4f} < champion {champ['pr_auc']:.4f}")
    if challenger["ece"] > champ["ece"] + config.gate_ece_tolerance:
        problems.append(f"calibration error {challenger['ece']:.4f} > champion {champ['ece']:.4f}")
    verdict = (
        f"PR-AUC {challenger['pr_auc']:.4f} vs champion {champ['pr_auc']:.4f}, "
        f"ECE {challenger['ece']:.4f} vs {champ['ece']:.4f} on the same held-out rows"
    )
    if problems:
        return GateResult(
            False, "worse than the champion: " + "; ".join(problems), champ, challenger
        )
    return GateResult(True, "not worse than the champion: " + verdict, champ, challenger)


def register(
    logged: Logged,
    trained: Trained,
    uri: str,
    config: TrainConfig,
    thresholds: Thresholds,
    name: str = MODEL_NAME,
) -> Logged:
    """Register the run's model; make it champion if it passes the gate."""
    mlflow = _mlflow()

    with tracking(uri) as client:
        current = champion_version(client, name)
        folder = download(f"models:/{name}/{current.version}") if current else None
        result = gate(trained, folder, config, thresholds)
        mv = mlflow.register_model(logged.model_uri, name)
        client.set_model_version_tag(name, mv.version, "gate", result.reason)
        client.set_model_version_tag(name, mv.version, "model_version", trained.card["version"])
        client.set_model_version_tag(name, mv.version, "run_id", logged.run_id)
        if result.promote:
            _set_champion(client, name, mv.version, current.version if current else None)
        else:
            client.set_registered_model_alias(name, "challenger", mv.version)
    logged.version, logged.promoted, logged.gate = str(mv.version), result.promote, result.reason
    return logged


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
    with tracking(uri) as client:
        try:
            found = client.search_model_versions(f"name='{name}'")
        except Exception:
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
        with tracking(uri or default_tracking_uri()):
            try:
                return download(text)
            except artifact.ModelLoadError:
                raise
            except Exception as exc:
                raise RegistryError(f"cannot fetch {text}: {exc}") from exc
    return artifact.find_folder(text)
