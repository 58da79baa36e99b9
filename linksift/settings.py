"""One typed settings object for the front door, loaded once from an optional file.

    linksift train --config linksift.toml

TOML or JSON. Unknown keys are errors that name the key (``extra="forbid"``). Environment
variables fill the few things that differ per machine: ``MLFLOW_TRACKING_URI``,
``LINKSIFT_MODEL``, ``LINKSIFT_LABELS_URL``.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

from pydantic import Field, ValidationError

from training.config import Strict, Thresholds, TrainConfig


class SettingsError(ValueError):
    """A settings file that cannot be used."""


class Settings(Strict):
    train: TrainConfig = Field(default_factory=TrainConfig)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    tracking_uri: str | None = None
    model: str | None = Field(None, description="folder or models:/ URI; default: shipped model")
    labels_url: str | None = Field(None, description="label store database URL")
    experiment: str = "linksift"
    model_name: str = "linksift"

    def resolved_tracking_uri(self) -> str:
        from training.tracking import default_tracking_uri

        return self.tracking_uri or default_tracking_uri()

    def resolved_model(self) -> str | None:
        return os.environ.get("LINKSIFT_MODEL") or self.model

    def resolved_labels_url(self) -> str:
        url = os.environ.get("LINKSIFT_LABELS_URL") or self.labels_url
        return url or f"sqlite:///{(Path.cwd() / 'labels.db').resolve()}"


def load(path: str | Path | None) -> Settings:
    """Settings from a TOML/JSON file (or defaults), with errors that say which key is wrong."""
    if path is None:
        return Settings()
    path = Path(path)
    try:
        raw = path.read_text()
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        data = json.loads(raw) if path.suffix == ".json" else tomllib.loads(raw)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(
            f"{path}: not valid {'JSON' if path.suffix == '.json' else 'TOML'}: {exc}"
        ) from exc
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"])
            msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append(f"{where}: {msg}")
        raise SettingsError(f"{path}: " + "; ".join(problems)) from exc
