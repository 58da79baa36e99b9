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
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from features import spec

FILES = ("model.txt", "spec.json", "calibration.json", "card.json", "card.md")
MANIFEST = "manifest.json"


class ModelLoadError(ValueError):
    """A model folder that cannot be used, with the reason in words."""


MAX_SLOPE = 100.0
"""Platt parameters beyond this turn every raw score into 0 or 1: not a calibration."""


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
        if not (0 < a <= MAX_SLOPE and abs(b) <= MAX_SLOPE):
            raise ModelLoadError(
                f"calibration.json: expected 0 < a <= {MAX_SLOPE:g} and |b| <= {MAX_SLOPE:g}, "
                f"got a={a}, b={b}"
            )
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
    except ModelLoadError as exc:
        raise ModelLoadError(f"{folder}/{exc}") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelLoadError(f"{folder}: malformed JSON ({exc})") from exc
    try:
        spec.check_compatible(saved_spec)
    except spec.SpecMismatch as exc:
        raise ModelLoadError(f"{folder}: {exc}") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelLoadError(f"{folder}/spec.json: malformed ({exc!r})") from exc
    try:
        booster_text = blobs["model.txt"].decode()
    except UnicodeDecodeError as exc:
        raise ModelLoadError(f"{folder}/model.txt: not text ({exc})") from exc
    n_features, _ = parse_model(booster_text)
    if n_features != len(spec.NAMES):
        raise ModelLoadError(
            f"model.txt: the booster has {n_features} features, the spec {len(spec.NAMES)}"
        )
    try:
        thresholds(card.get("thresholds") or {})
    except ModelLoadError as exc:
        raise ModelLoadError(f"{folder}/card.json: {exc}") from exc
    return Artifact(booster_text, saved_spec, calibration, card, blobs["card.md"].decode())


DEFAULT_THRESHOLDS = {"review": 0.35, "spam": 0.7}


def thresholds(*layers: dict[str, Any]) -> dict[str, float]:
    """The verdict thresholds: the defaults overridden by each of ``layers`` in turn (the
    model card's, then settings), checked: both in [0, 1], review not above spam."""
    merged: dict[str, Any] = dict(DEFAULT_THRESHOLDS)
    for layer in layers:
        merged.update({k: v for k, v in layer.items() if k in DEFAULT_THRESHOLDS})
    try:
        review, spam = float(merged["review"]), float(merged["spam"])
    except (TypeError, ValueError) as exc:
        raise ModelLoadError(f"thresholds: expected numbers, got {merged}") from exc
    if not (0.0 <= review <= spam <= 1.0):
        raise ModelLoadError(
            f"thresholds: expected 0 <= review <= spam <= 1, got review={review}, spam={spam}"
        )
    return {"review": review, "spam": spam}


def find_folder(root: str | Path) -> Path:
    """The model folder inside ``root``: itself, or the one inside a downloaded MLflow model."""
    root = Path(root)
    if (root / MANIFEST).is_file():
        return root
    for candidate in sorted(root.rglob(MANIFEST)):
        return candidate.parent
    raise ModelLoadError(f"{root}: no linksift model folder found (no {MANIFEST})")


PARALLEL_FROM = 256
"""Rows from which prediction and explanation start a thread team: below it, starting the
threads costs more than the work."""


def on_all_cores(rows: int, parallel: bool = True) -> bool:
    """Whether work on ``rows`` rows should start a thread team (explainer kernels, LightGBM
    predict): only for enough rows, and not when the caller is itself one of several threads."""
    return parallel and rows >= PARALLEL_FROM


def lightgbm() -> Any:
    """The LightGBM module, imported without scikit-learn and pandas when the process has not
    imported them already. LightGBM imports both whenever they are installed, for its
    scikit-learn estimators and DataFrame input (about 1 s and 115 MB of a scoring process's
    start-up); linksift builds boosters from text, predicts on numpy arrays and trains with
    ``lightgbm.train``, so it needs neither. Hidden only while LightGBM's own import runs
    (Python reads a ``None`` in ``sys.modules`` as "not installed"): they import normally
    afterwards."""
    if "lightgbm" not in sys.modules:
        hidden = [name for name in ("sklearn", "pandas", "dask") if name not in sys.modules]
        sys.modules.update(dict.fromkeys(hidden))
        try:
            import lightgbm  # noqa: F401
        finally:
            for name in hidden:
                sys.modules.pop(name, None)
    return sys.modules["lightgbm"]


class Scorer:
    """A loaded artifact that turns feature matrices into raw scores and probabilities.

    The one place a booster is rebuilt from text: the MLflow pyfunc, the promotion gate and the
    serving adapter all score through it. The booster is built on first use.
    """

    def __init__(self, artifact: Artifact) -> None:
        self.artifact = artifact

    @functools.cached_property
    def booster(self) -> Any:
        try:
            return lightgbm().Booster(model_str=self.artifact.booster_text)
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


# --------------------------------------------------------------------------------------------
# the booster's text, read and checked for meaning
# --------------------------------------------------------------------------------------------


@dataclass
class Tree:
    """One tree of a LightGBM text model, as arrays (LightGBM's own field names)."""

    split_feature: np.ndarray
    threshold: np.ndarray
    decision_type: np.ndarray
    left: np.ndarray
    right: np.ndarray
    leaf_value: np.ndarray
    leaf_count: np.ndarray
    internal_count: np.ndarray
    cat_boundaries: np.ndarray
    cat_threshold: np.ndarray


def _arr(fields: dict[str, str], key: str, dtype: type, default: list | None = None) -> np.ndarray:
    if key not in fields:
        return np.asarray(default if default is not None else [], dtype=dtype)
    text = fields[key].strip()
    return np.asarray(text.split(" ") if text else [], dtype=np.float64).astype(dtype)


def parse_model(text: str) -> tuple[int, list[Tree]]:
    """(number of features, trees) from LightGBM's native text model; ``ModelLoadError`` when
    the text is not one, or its trees could not be walked (see ``_check_tree``)."""
    head, _, body = text.partition("\nTree=")
    found = re.search(r"^max_feature_idx=(\d+)$", head, re.MULTILINE)
    if found is None or not text.startswith("tree\n"):
        raise ModelLoadError("model.txt: not a LightGBM text model")
    n_features = int(found.group(1)) + 1
    trees = []
    for number, block in enumerate(("Tree=" + body).split("\nTree=")):
        block = block.split("end of trees", 1)[0]
        fields = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if "num_leaves" not in fields:
            continue
        try:
            tree = _tree(fields)
        except (ValueError, OverflowError) as exc:
            raise ModelLoadError(f"model.txt: tree {number} is malformed ({exc})") from exc
        problem = _check_tree(tree, n_features)
        if problem:
            raise ModelLoadError(f"model.txt: tree {number} {problem}")
        trees.append(tree)
    if not trees:
        raise ModelLoadError("model.txt: the model has no trees (it would score every link alike)")
    return n_features, trees


def _tree(fields: dict[str, str]) -> Tree:
    num_leaves = int(fields["num_leaves"])
    leaf_value = _arr(fields, "leaf_value", np.float64)
    if num_leaves == 1:
        empty = (np.zeros(0, t) for t in (np.int32, np.float64, np.int8, np.int32, np.int32))
        return Tree(
            *empty,
            leaf_value,
            np.ones(1),
            np.ones(1),
            np.zeros(1, np.int64),
            np.zeros(0, np.uint32),
        )
    return Tree(
        _arr(fields, "split_feature", np.int32),
        _arr(fields, "threshold", np.float64),
        _arr(fields, "decision_type", np.int8),
        _arr(fields, "left_child", np.int32),
        _arr(fields, "right_child", np.int32),
        leaf_value,
        _arr(fields, "leaf_count", np.float64),
        _arr(fields, "internal_count", np.float64),
        _arr(fields, "cat_boundaries", np.int64, [0]),
        _arr(fields, "cat_threshold", np.uint32),
    )


def _check_tree(t: Tree, n_features: int) -> str:
    """What makes a tree unusable, in words ("" when it is sound): its arrays must agree in
    length, every split name a feature the model has, every child a node or leaf of the
    tree, every leaf value be finite and every threshold a number."""
    leaves, nodes = len(t.leaf_value), len(t.split_feature)
    if leaves == 0 or nodes != leaves - 1:
        return f"has {leaves} leaves and {nodes} splits (expected one split fewer than leaves)"
    if any(len(a) != nodes for a in (t.threshold, t.decision_type, t.left, t.right)):
        return "has split arrays of different lengths"
    if not np.isfinite(t.leaf_value).all():
        return "has a leaf value that is not a finite number"
    if nodes and (t.split_feature.min() < 0 or t.split_feature.max() >= n_features):
        return f"splits on a feature outside 0..{n_features - 1}"
    children = np.concatenate([t.left, t.right])
    if nodes and (children.min() < -leaves or children.max() >= nodes):
        return "points to a node or leaf it does not have"
    numeric = (t.decision_type & 1) == 0
    if np.isnan(t.threshold[numeric]).any():  # +-inf is LightGBM's own (missing-value splits)
        return "has a split threshold that is not a number"
    categorical = t.threshold[~numeric].astype(np.int64)
    if len(categorical) and (
        categorical.min() < 0 or categorical.max() + 1 >= len(t.cat_boundaries)
    ):
        return "has a categorical split without its categories"
    return ""
