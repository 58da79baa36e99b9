"""The MLflow pyfunc: link rows in, calibrated spam probability out.

Logged as code ("models from code"), so loading it never unpickles anything: MLflow runs this
file with the model's own copy of ``features/`` on the path, and the model's artifact folder
(booster text, spec, calibration, card) is read through ``features.artifact``.

The contract (the logged signature says it too):

- rows use canonical column names (``source_url``, ``target_url``, ``anchor_text``, ...) or a
  vendor's (``Source url``, ``Referring page URL``, ...); a row that cannot be read gets a
  null probability and its reason in ``rejected``;
- by default each row is scored on its own, as the HTTP API scores a link: its answer never
  depends on which other rows share the call (``params={"profile": "row"}``);
- ``params={"profile": "batch"}`` measures the rows against the profile of the rows given
  together (links per referring site, anchor repetition): pass a whole export at once, as
  ``linksift score`` does;
- ``params={"as_of": "2026-11-25"}`` fixes the day ages are measured from (default today).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import mlflow
import numpy as np
import pandas as pd

PROFILES = ("row", "batch")


class LinksiftModel(mlflow.pyfunc.PythonModel):
    def load_context(self, context: Any) -> None:
        from features.artifact import Scorer

        self.scorer = Scorer.load(context.artifacts["model"])

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None):
        from features.extract import Profile, extract
        from features.importers import ImportOptions, InputError, from_records

        params = params or {}
        profile = params.get("profile") or "row"
        if profile not in PROFILES:
            raise mlflow.exceptions.MlflowException(
                f"params.profile: expected one of {', '.join(PROFILES)}, got {profile!r}"
            )
        try:
            as_of = date.fromisoformat(params["as_of"]) if params.get("as_of") else date.today()
        except ValueError as exc:
            raise mlflow.exceptions.MlflowException(
                f"params.as_of: expected a date like 2026-11-25, got {params['as_of']!r}"
            ) from exc
        if not isinstance(model_input, pd.DataFrame):
            model_input = pd.DataFrame(model_input)
        records = model_input.astype(object).where(model_input.notna(), None).to_dict("records")
        try:
            links, rejects = from_records(records, ImportOptions(as_of=as_of))
        except InputError as exc:
            raise mlflow.exceptions.MlflowException(str(exc)) from exc
        out = np.full(len(records), np.nan)
        if links.height:
            X = extract(links, Profile() if profile == "row" else None, as_of=as_of)
            out[links["row"].to_numpy()] = self.scorer.probability(X)
        reasons = dict(zip(rejects["row"].to_list(), rejects["reason"].to_list(), strict=True))
        return pd.DataFrame(
            {
                "spam_probability": out,
                "rejected": pd.Series([reasons.get(i) for i in range(len(records))], dtype=object),
            }
        )


mlflow.models.set_model(LinksiftModel())
