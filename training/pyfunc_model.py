"""The MLflow pyfunc: canonical link rows in, calibrated spam probability out.

Logged as code ("models from code"), so loading it never unpickles anything: MLflow runs this
file with the model's own copy of ``features/`` on the path, and the model's artifact folder
(booster text, spec, calibration, card) is read through ``features.artifact``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import mlflow
import numpy as np
import pandas as pd


class LinksiftModel(mlflow.pyfunc.PythonModel):
    def load_context(self, context: Any) -> None:
        from features.artifact import Scorer

        self.scorer = Scorer.load(context.artifacts["model"])

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None):
        from features.extract import extract
        from features.importers import ImportOptions, InputError, from_records

        if not isinstance(model_input, pd.DataFrame):
            model_input = pd.DataFrame(model_input)
        records = model_input.astype(object).where(model_input.notna(), None).to_dict("records")
        try:
            links, rejects = from_records(records, ImportOptions())
        except InputError as exc:
            raise mlflow.exceptions.MlflowException(str(exc)) from exc
        out = np.full(len(records), np.nan)
        if links.height:
            X = extract(links, as_of=date.today())
            rows = links["row"].to_numpy()
            out[rows] = self.scorer.probability(X)
        result = pd.DataFrame({"spam_probability": out})
        if rejects.height:
            reasons = dict(zip(rejects["row"].to_list(), rejects["reason"].to_list(), strict=True))
            result["rejected"] = [reasons.get(i) for i in range(len(records))]
        return result


mlflow.models.set_model(LinksiftModel())
