"""Typed, validated training configuration (hyperparameters, thresholds, promotion gate).

Frozen pydantic models with ``extra="forbid"``: a typo in a config file is an error that names
the key, not a silently ignored setting.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Thresholds(Strict):
    """Verdicts from calibrated spam probability: good < review <= ... < spam."""

    review: float = Field(0.35, ge=0, le=1, description="at or above: needs a human look")
    spam: float = Field(0.7, ge=0, le=1, description="at or above: spam")

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.review > self.spam:
            raise ValueError(f"review threshold ({self.review}) must not exceed spam ({self.spam})")
        return self


class TrainConfig(Strict):
    """LightGBM and split settings. Depth is capped so exact explanations stay fast."""

    num_leaves: int = Field(12, ge=2, le=255)
    max_depth: int = Field(4, ge=1, le=8)
    learning_rate: float = Field(0.2, gt=0, le=1)
    n_estimators: int = Field(400, ge=1, le=5000)
    early_stopping_rounds: int = Field(40, ge=1)
    min_child_samples: int = Field(40, ge=1)
    feature_fraction: float = Field(0.9, gt=0, le=1)
    bagging_fraction: float = Field(0.8, gt=0, le=1)
    lambda_l2: float = Field(1.0, ge=0)
    balance_classes: bool = True
    monotone: bool = True
    seed: int = 0
    threads: int = Field(0, ge=0, description="0 = all cores")
    test_fraction: float = Field(0.15, gt=0, lt=0.5)
    valid_fraction: float = Field(0.1, gt=0, lt=0.5)
    calibration_fraction: float = Field(0.1, gt=0, lt=0.5)
    min_trees: int = Field(20, ge=1, description="trees kept even when validation stops early")
    small_data_rows: int = Field(
        50_000,
        ge=0,
        description="below this many labeled links, hyperparameters are chosen by grouped "
        "cross-validation among candidates sized for the data",
    )
    cv_folds: int = Field(4, ge=2, le=10)
    bootstrap: int = Field(200, ge=0, description="resamples for metric intervals (0: none)")
    gate_confidence: float = Field(
        0.9, gt=0, lt=1, description="a challenger must be better than the champion at this level"
    )
    min_test_spam: int = Field(
        30, ge=1, description="fewer spam links in the test set: metrics are too noisy to judge"
    )
    solo_fraction: float = Field(
        0.15, ge=0, lt=1, description="rows featurised without profile context, as the API does"
    )
