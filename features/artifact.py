"""The model artifact: a folder with the booster, its feature spec, calibration and model card.

Files: ``model.txt`` (LightGBM's native text format), ``spec.json``, ``calibration.json``,
``card.json`` (metrics, data hash, feature version, thresholds), ``card.md`` and
``manifest.json`` (SHA-256 of every other file). Nothing is pickled.

It lives in ``features/`` because a registered MLflow model carries ``features/`` as code: the
model can then read its own folder with exactly the code it was trained with, while training
writes it and serving reads it through this one module. Loading refuses a folder whose
checksums do not match (a truncated or edited file) or whose feature spec differs from the code.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from features import spec

FILES = ("model.txt", "spec.json", "calibration.json", "card.json", "card.md")
MANIFEST = "manifest.json"


class ModelLoadError(ValueError):
    """A model folder that cannot be used, with the reason in words."""


@dataclass(frozen=True)
class Calibration:
    """Platt scaling: probability = sigmoid(a * raw_score + b), with a > 0 (keeps the order)."""

    a: float
    b: float

    def probability(self, raw: np.ndarray) -> np.ndarray:
        z = np.clip(self.a * np.asarray(raw, dtype=np.float64) + self.b, -50, 50)
        return 1.0 / (1.0 + np.exp(-z))

    def to_dict(self) -> dict[str, Any]:
        return {"method": "platt", "a": self.a, "b": self.b}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Calibration:
        if d.get("method") != "platt":
            raise ModelLoadError(
                f"calibration.json: expected method 'platt', got {d.get('method')!r}"
            )
        a, b = float(d["a"]), float(d["b"])
        if not (math.isfinite(a) and math.isfinite(b) and a > 0):
            raise ModelLoadError(f"calibration.json: expected finite a > 0 and b, got a={a}, b={b}")
        return cls(a, b)


@dataclass(frozen=True)
class Artifact:
    """The contents of a model folder, verified."""

    booster_text: str
    spec: dict[str, Any]
    calibration: Calibration
    card: dict[str, Any]
    card_md: str = ""

    @property
    def version(self) -> str:
        return str(self.card.get("version", "unknown"))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write(folder: str | Path, artifact: Artifact, card_md: str) -> Path:
    """Write a model folder (files first, manifest last, so a half-written folder never loads)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    blobs = {
        "model.txt": artifact.booster_text.encode(),
        "spec.json": json.dumps(artifact.spec, indent=1).encode(),
        "calibration.json": json.dumps(artifact.calibration.to_dict(), indent=1).encode(),
        "card.json": json.dumps(artifact.card, indent=1, default=str).encode(),
        "card.md": card_md.encode(),
    }
    (folder / MANIFEST).unlink(missing_ok=True)
    for name, blob in blobs.items():
        (folder / name).write_bytes(blob)
    manifest = {name: _sha256(blob) for name, blob in blobs.items()}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return folder


def read(folder: str | Path) -> Artifact:
    """Read and verify a model folder; refuse it with a clear reason when it is not sound."""
    folder = Path(folder)
    if not (folder / MANIFEST).is_file():
        raise ModelLoadError(f"{folder}: not a linksift model folder (no {MANIFEST})")
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{folder}/{MANIFEST}: unreadable ({exc})") from exc
    blobs: dict[str, bytes] = {}
    for name in FILES:
        path = folder / name
        if not path.is_file():
            raise ModelLoadError(f"{folder}: missing {name}")
        blob = path.read_bytes()
        if _sha256(blob) != manifest.get(name):
            raise ModelLoadError(
                f"{path}: checksum does not match the manifest (the file was changed or truncated)"
            )
        blobs[name] = blob
    try:
        saved_spec = json.loads(blobs["spec.json"])
        calibration = Calibration.from_dict(json.loads(blobs["calibration.json"]))
        card = json.loads(blobs["card.json"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelLoadError(f"{folder}: malformed JSON ({exc})") from exc
    try:
        spec.check_compatible(saved_spec)
    except spec.SpecMismatch as exc:
        raise ModelLoadError(f"{folder}: {exc}") from exc
    return Artifact(
        blobs["model.txt"].decode(), saved_spec, calibration, card, blobs["card.md"].decode()
    )


def find_folder(root: str | Path) -> Path:
    """The model folder inside ``root``: itself, or the one inside a downloaded MLflow model."""
    root = Path(root)
    if (root / MANIFEST).is_file():
        return root
    for candidate in sorted(root.rglob(MANIFEST)):
        return candidate.parent
    raise ModelLoadError(f"{root}: no linksift model folder found (no {MANIFEST})")


class Scorer:
    """A loaded artifact that turns feature matrices into raw scores and probabilities.

    The one place a booster is rebuilt from text: the MLflow pyfunc, the promotion gate and the
    serving adapter all score through it. The booster is built on first use: importing
    LightGBM takes seconds (it imports scikit-learn and SciPy), and batch scoring and the API
    score with the explainer's own walk of the same trees and never need it.
    """

    def __init__(self, artifact: Artifact) -> None:
        self.artifact = artifact
        found = re.search(r"^max_feature_idx=(\d+)$", artifact.booster_text, re.MULTILINE)
        if found is None or not artifact.booster_text.startswith("tree\n"):
            raise ModelLoadError("model.txt: not a LightGBM text model")
        if int(found.group(1)) + 1 != len(spec.NAMES):
            raise ModelLoadError(
                f"model.txt: the booster has {int(found.group(1)) + 1} features, "
                f"the spec {len(spec.NAMES)}"
            )

    @functools.cached_property
    def booster(self) -> Any:
        import lightgbm  # the model library itself; imported here so importers stay light

        try:
            return lightgbm.Booster(model_str=self.artifact.booster_text)
        except Exception as exc:  # LightGBM raises its own error type for a damaged model
            raise ModelLoadError(f"model.txt: LightGBM cannot read it ({exc})") from exc

    @classmethod
    def load(cls, folder: str | Path) -> Scorer:
        return cls(read(find_folder(folder)))

    def raw_score(self, X: np.ndarray, threads: int = 0) -> np.ndarray:
        """Log-odds before calibration (what SHAP contributions add up to); ``threads`` 0 is
        LightGBM's default (all cores)."""
        if len(X) == 0:
            return np.zeros(0)
        if threads:
            return self.booster.predict(X, raw_score=True, num_threads=threads)
        return self.booster.predict(X, raw_score=True)

    def probability(self, X: np.ndarray) -> np.ndarray:
        """Calibrated spam probability."""
        return self.artifact.calibration.probability(self.raw_score(X))
