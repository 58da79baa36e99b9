"""The fast explainer gives exactly what LightGBM's pred_contrib gives."""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest

from features.artifact import Scorer
from features.extract import extract
from serving.treeshap import FastTreeShap, parse_model
from tests.conftest import AS_OF
from training.synth import generate

ROOT = Path(__file__).resolve().parents[2]


def test_exact_on_the_shipped_model():
    scorer = Scorer.load(ROOT / "models" / "default")
    X = extract(generate(3000, seed=21, as_of=AS_OF), as_of=AS_OF)
    X[::7, 3] = np.nan  # and with missing relevance
    fast = FastTreeShap(scorer.artifact.booster_text)
    ref = scorer.booster.predict(X, pred_contrib=True)
    got = fast.contributions(X)
    assert np.abs(ref - got).max() < 1e-9
    # contributions add up to the raw score
    assert np.abs(got.sum(axis=1) - scorer.raw_score(X)).max() < 1e-9
    # and the explainer's own prediction is LightGBM's to the last bit
    assert np.array_equal(fast.raw_score(X), scorer.raw_score(X))
    assert np.array_equal(fast.raw_score(X[:5], parallel=False), scorer.raw_score(X[:5]))


def _data(rng: np.random.Generator, n: int, zeros: float, nans: float) -> np.ndarray:
    X = rng.normal(size=(n, 6))
    X[rng.random(X.shape) < zeros] = 0.0
    X[rng.random(X.shape) < nans] = np.nan
    X[:, 0] = rng.integers(-1, 14, n).astype(float)  # categorical, with a negative code
    X[rng.random(n) < 0.1, 0] = np.nan
    X[:, 5] = np.round(X[:, 5])  # values exactly on thresholds
    return X


@pytest.mark.parametrize(
    "params",
    [
        {"num_leaves": 15, "max_depth": 4},
        {"num_leaves": 31, "max_depth": 6, "zero_as_missing": True},
        {"num_leaves": 8, "use_missing": False},
        {"num_leaves": 15, "max_cat_to_onehot": 32, "min_data_per_group": 5, "cat_smooth": 1},
        {"num_leaves": 15, "max_cat_to_onehot": 2, "min_data_per_group": 5, "cat_l2": 1},
        {"num_leaves": 2, "max_depth": 1},
    ],
)
def test_exact_on_random_models_with_nans_zeros_and_categoricals(params):
    rng = np.random.default_rng(hash(str(params)) % 2**32)
    X = _data(rng, 4000, zeros=0.2, nans=0.15)
    signal = np.nan_to_num(X[:, 1]) + (np.nan_to_num(X[:, 0]) % 3 == 0) - np.isnan(X[:, 2])
    y = (signal + rng.normal(size=len(X)) > 0.3).astype(int)
    booster = lgb.train(
        {"objective": "binary", "verbosity": -1, "min_data_in_leaf": 10, **params},
        lgb.Dataset(X, y, categorical_feature=[0]),
        num_boost_round=40,
    )
    probe = _data(rng, 2000, zeros=0.25, nans=0.2)
    ref = booster.predict(probe, pred_contrib=True)
    fast = FastTreeShap(booster.model_to_string())
    # per-decision-vector tables and the per-leaf pattern walk, on all cores and on one
    for decisions, parallel in ((True, True), (True, False), (False, True), (False, False)):
        got = fast.contributions(probe, use_decisions=decisions, parallel=parallel)
        assert got.shape == ref.shape
        assert np.abs(ref - got).max() < 1e-9
    raw = booster.predict(probe, raw_score=True)
    for decisions, parallel in ((True, True), (True, False), (False, True), (False, False)):
        assert np.array_equal(
            fast.raw_score(probe, use_decisions=decisions, parallel=parallel), raw
        )
        # raw scores and contributions from one pass: the same as each on its own
        both_raw, both = fast.explain(probe, use_decisions=decisions, parallel=parallel)
        assert np.array_equal(both_raw, raw)
        assert np.abs(ref - both).max() < 1e-9


def test_exact_on_wide_categoricals_and_awkward_values():
    """Bitsets of several 32-bit words (a category code past 31), and values the block
    kernels must decide as LightGBM does: fractions (truncated toward zero), negatives,
    codes past the bitset, infinities, tiny values next to zero-as-missing."""
    rng = np.random.default_rng(7)
    n = 6000
    X = np.column_stack(
        [rng.integers(0, 90, n).astype(float), rng.normal(size=n), rng.normal(size=n)]
    )
    y = ((X[:, 0] % 7 < 3) ^ (X[:, 1] > 0.2)).astype(int)
    booster = lgb.train(
        {
            "objective": "binary",
            "verbosity": -1,
            "num_leaves": 15,
            "max_depth": 4,
            "max_cat_to_onehot": 2,
            "max_cat_threshold": 64,
            "min_data_per_group": 5,
            "cat_smooth": 1,
            "zero_as_missing": True,
        },
        lgb.Dataset(X, y, categorical_feature=[0]),
        num_boost_round=30,
    )
    awkward = [np.nan, np.inf, -np.inf, -0.5, -1.0, -0.0, 0.0, 1e-40, -1e-40, 31.5, 32.0, 63.9]
    probe = X[:3000].copy()
    cells = rng.random(probe.shape) < 0.3
    probe[cells] = rng.choice([*awkward, 89.0, 95.0, 1e12], size=cells.sum())
    fast = FastTreeShap(booster.model_to_string())
    assert fast.tables.cat_len.max() > 1  # a split's bitset spans several words
    ref = booster.predict(probe, pred_contrib=True)
    for parallel in (True, False):
        raw, contributions = fast.explain(probe, parallel=parallel)
        assert np.array_equal(raw, booster.predict(probe, raw_score=True))
        assert np.abs(ref - contributions).max() < 1e-9


def test_trees_with_a_single_leaf_only_move_the_base_value():
    X = np.zeros((50, 3))
    y = np.r_[np.zeros(25), np.ones(25)]
    booster = lgb.train({"objective": "binary", "verbosity": -1}, lgb.Dataset(X, y), 3)
    _, trees = parse_model(booster.model_to_string())
    assert all(len(t.split_feature) == 0 for t in trees)
    fast = FastTreeShap(booster.model_to_string())
    assert np.allclose(fast.contributions(X[:5]), booster.predict(X[:5], pred_contrib=True))
    assert np.array_equal(fast.raw_score(X[:5]), booster.predict(X[:5], raw_score=True))


def test_refuses_a_matrix_of_the_wrong_width():
    scorer = Scorer.load(ROOT / "models" / "default")
    with pytest.raises(ValueError, match="columns"):
        FastTreeShap(scorer.artifact.booster_text).contributions(np.zeros((2, 3)))


def test_the_model_explains_small_calls_with_lightgbm_and_large_ones_compiled(monkeypatch):
    """Given the shipped model, when one matrix is explained by each engine, then scores are
    LightGBM's to the last bit and contributions agree; ``auto`` picks by the call's size."""
    from serving import model as adapter

    scorer = Scorer.load(ROOT / "models" / "default")
    X = extract(generate(600, seed=5, as_of=AS_OF), as_of=AS_OF)
    results = {}
    for engine in adapter.ENGINES:
        explainer = adapter.Explainer(scorer, engine)
        for parallel in (True, False):
            results[engine, parallel] = explainer.explain(X, parallel=parallel)
    raw = scorer.raw_score(X)
    for got_raw, got in results.values():
        assert np.array_equal(got_raw, raw)
        assert np.abs(got - results["lightgbm", True][1]).max() < 1e-9
    auto = adapter.Explainer(scorer)
    auto.explain(X)
    assert auto._fast is None  # a small call never loads the compiled explainer
    monkeypatch.setattr(adapter, "FAST_FROM", 100)
    auto.explain(X)
    assert auto._fast is not None
    assert auto._compiled(1) is auto._fast  # once loaded, it serves small calls too
    with pytest.raises(ValueError, match="expected one of"):
        adapter.Explainer(scorer, "shap")


def test_scoring_a_small_file_imports_only_what_scoring_needs(tmp_path: Path):
    """A whole ``linksift score`` process on a few links loads no compiler, no scikit-learn,
    pandas, MLflow, BentoML or plotting library: they cost start-up seconds and memory."""
    import subprocess
    import sys

    out = tmp_path / "scored.csv"
    code = (
        "import sys\n"
        "from linksift.cli import main\n"
        f"sys.argv = ['linksift', 'score', {str(ROOT / 'tests' / 'fixtures' / 'semrush.csv')!r},"
        f" '-o', {str(out)!r}]\n"
        "try:\n    main()\nexcept SystemExit as exit:\n    assert not exit.code, exit.code\n"
        "heavy = {'numba', 'sklearn', 'pandas', 'mlflow', 'bentoml', 'matplotlib'}\n"
        "print(sorted(heavy & {name.split('.')[0] for name in sys.modules}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert out.is_file()
    assert done.stdout.strip().splitlines()[-1] == "[]"
