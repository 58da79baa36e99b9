"""MLflow tracking and registry on a real sqlite store in tmp_path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import AS_OF, run_cli
from training import tracking
from training.config import Thresholds, TrainConfig
from training.data import load_labeled
from training.pipeline import evaluate_file, train
from training.train import fit

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample" / "labeled.parquet"
SMALL = TrainConfig()
# one stump: a clearly worse model (the small-data search is switched off so it stays one)
WEAK = TrainConfig(small_data_rows=0, n_estimators=1, num_leaves=2, max_depth=1, min_trees=1)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    """A registry with version 1 (champion, good) and version 2 (refused, weak)."""
    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    first = train(SAMPLE, SMALL, Thresholds(), tracking_uri=uri, register=True, as_of=AS_OF)
    assert first.logged and first.logged.promoted and first.logged.version == "1"
    second = train(SAMPLE, WEAK, Thresholds(), tracking_uri=uri, register=True, as_of=AS_OF)
    assert second.logged and second.logged.version == "2"
    # the registry's evaluation set (version 1's test rows) was kept out of its training
    assert second.evaluation_rows_dropped == first.card["rows"]["test"]
    return uri


def test_a_run_records_params_metrics_artifacts_and_the_model(store: str):

    with tracking.tracking(store) as client:
        exp = client.get_experiment_by_name("linksift")
        runs = client.search_runs([exp.experiment_id], order_by=["attributes.start_time ASC"])
        run = runs[0]
        assert run.data.params["data_hash"] and run.data.params["feature_spec_version"]
        for key in (
            "roc_auc",
            "pr_auc",
            "log_loss",
            "brier",
            "ece",
            "precision_at_spam",
            "recall_at_review",
            "recall_pbn",
        ):
            assert key in run.data.metrics, key
        names = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
        assert {
            "plots/shap_beeswarm.png",
            "plots/pr_curve.png",
            "plots/calibration_curve.png",
            "plots/confusion_matrix.png",
            "plots/feature_importance.png",
        } <= names
        folder = tracking.download("models:/linksift/1")
        assert json.loads((folder / "card.json").read_text())["metrics"]["roc_auc"] > 0.8
        ml_model = folder.parents[1] / "MLmodel"
        assert "python_function" in ml_model.read_text()
        # nothing pickled anywhere in the logged model
        model_root = folder.parents[1]
        assert not [p for p in model_root.rglob("*") if p.suffix in (".pkl", ".pickle")]
        # what an MLOps engineer looks for: a meaningful name, the commit, the data, the curve
        card = json.loads((folder / "card.json").read_text())
        assert run.info.run_name == f"train-{card['version']}"
        assert len(run.data.tags["mlflow.source.git.commit"]) == 40
        (used,) = run.inputs.dataset_inputs
        assert used.dataset.name == "labeled.parquet" and used.dataset.digest
        curve = client.get_metric_history(run.info.run_id, "curve_cv_average_precision")
        assert len(curve) > 10 and [m.step for m in curve[:3]] == [1, 2, 3]
        registered = client.get_registered_model("linksift")
        assert "backlink" in registered.description and registered.tags["task"]
        described = client.get_model_version("linksift", "1").description
        assert "labeled links" in described and "Gate: promoted" in described


def version_tags(uri: str, version: str) -> dict[str, str]:
    with tracking.tracking(uri) as client:
        return dict(client.get_model_version("linksift", version).tags)


def test_the_gate_refuses_a_clearly_worse_model_on_the_same_rows(store: str):
    rows = {r["version"]: r for r in tracking.versions(store)}
    assert "champion" in rows["1"]["aliases"]
    assert "challenger" in rows["2"]["aliases"]
    assert rows["2"]["gate"].startswith("worse than the champion beyond the noise: PR-AUC")
    tags = version_tags(store, "2")
    assert tags["gate_decision"] == "refused"
    assert float(tags["gate_pr_auc_high"]) < 0
    # both scored the same rows: the evaluation set plus the challenger's own test rows
    assert tags["gate_champion_rows"] == tags["gate_challenger_rows"]
    card = json.loads((tracking.download("models:/linksift/2") / "card.json").read_text())
    assert float(tags["gate_challenger_rows"]) > card["rows"]["test"]
    assert "from the registry's evaluation set" in tags["gate"]
    with tracking.tracking(store) as client:
        described = client.get_model_version("linksift", "2").description
    assert "Gate: refused, worse" in described and "labeled links" in described


def test_a_difference_inside_the_noise_keeps_the_champion(store: str):
    import lightgbm as lgb

    # the challenger: the champion refitted (same data and seed) without its last two
    # trees, a slightly different model of the same quality
    trained = fit(load_labeled(SAMPLE, AS_OF), SMALL, Thresholds(), AS_OF)
    trees = trained.booster.num_trees()
    trained.booster = lgb.Booster(
        model_str=trained.booster.model_to_string(num_iteration=trees - 2)
    )
    with tracking.tracking(store) as client:
        champion = client.get_model_version("linksift", "1")
        holdout = tracking.evaluation_set(client)
        saw = tracking.trained_links(client, champion.run_id)
    result = tracking.gate(
        trained, tracking.download("models:/linksift/1"), SMALL, Thresholds(), holdout, saw
    )
    assert result.decision == "kept", result.reason
    assert result.reason.startswith("inside the noise, the champion stays")
    diff, low, high = result.difference
    assert low <= 0 <= high and diff != 0
    assert result.champion["rows"] == result.challenger["rows"] == holdout.height


def test_a_first_champion_must_beat_its_baselines_and_a_clearly_better_model_is_promoted(
    tmp_path: Path,
):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    weak = train(SAMPLE, WEAK, Thresholds(), tracking_uri=uri, register=True, as_of=AS_OF)
    assert weak.logged.result.decision == "refused"
    assert "no champion yet, and this model ranks worse than its own" in weak.logged.gate
    assert tracking.promote(uri, "1") == "linksift version 1 is now champion"
    good = train(SAMPLE, SMALL, Thresholds(), tracking_uri=uri, register=True, as_of=AS_OF)
    assert good.logged.promoted, good.logged.gate
    assert good.logged.gate.startswith("better than the champion beyond the noise")
    assert good.logged.result.difference[1] > 0
    assert version_tags(uri, "2")["gate_decision"] == "promoted"


def test_promote_and_rollback(store: str):
    assert tracking.promote(store, "2") == "linksift version 2 is now champion (was 1)"
    assert "2" in [r["version"] for r in tracking.versions(store) if "champion" in r["aliases"]]
    assert (
        tracking.rollback(store) == "linksift version 1 is champion again (version 2 rolled back)"
    )
    with pytest.raises(tracking.RegistryError, match="replaced no earlier champion"):
        tracking.rollback(store)
    with pytest.raises(tracking.RegistryError, match="no version 99"):
        tracking.promote(store, "99")


def test_pyfunc_loads_in_a_fresh_process_from_the_champion_alias(store: str):
    code = (
        "import mlflow, pandas as pd, json\n"
        f"mlflow.set_tracking_uri({store!r})\n"
        "m = mlflow.pyfunc.load_model('models:/linksift@champion')\n"
        "df = pd.read_parquet(" + repr(str(SAMPLE)) + ").head(20).drop(columns=['label'])\n"
        "bad = pd.DataFrame([{'source_url': 'javascript:x', 'target_url': 'https://t.example/'}])\n"
        "out = m.predict(pd.concat([df, bad], ignore_index=True))\n"
        "vendor = pd.DataFrame([{'Referring page URL': 'https://blog.example.org/rye',"
        " 'Target URL': 'https://bakewise.example.com/', 'Anchor': 'rye flour', 'DR': 41}])\n"
        "v = m.predict(vendor)['spam_probability'].iloc[0]\n"
        "print(json.dumps({'p': out['spam_probability'].fillna(-1).tolist(),"
        " 'rejected': out['rejected'].iloc[-1], 'vendor': v}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert all(0 <= p <= 1 for p in payload["p"][:20])
    assert payload["p"][20] == -1 and payload["rejected"].startswith("source_url")
    assert 0 <= payload["vendor"] <= 1  # an Ahrefs row, by Ahrefs' own column names


def test_the_pyfunc_contract_rows_alone_equal_rows_in_a_batch_and_a_signature(store: str):
    """By default each row is scored on its own: the same rows give the same answer alone,
    in a small batch and inside a large one; ``profile="batch"`` measures them against the
    batch instead; the signature names and types the columns; vendor rows are read."""
    import mlflow
    import pandas as pd
    from mlflow.types import DataType

    with tracking.tracking(store):
        uri = "models:/linksift@champion"
        info = mlflow.models.get_model_info(uri)
        model = mlflow.pyfunc.load_model(uri)
    names = info.signature.inputs.input_names()
    assert names[:3] == ["source_url", "target_url", "anchor_text"]
    assert info.signature.inputs.inputs[0].type == DataType.string
    assert {p.name for p in info.signature.params.params} == {"profile", "as_of"}
    assert "Source url" in names and "Referring page URL" in names
    frame = pd.read_parquet(SAMPLE).drop(columns=["label"])
    params = {"as_of": "2026-11-25"}
    big = model.predict(frame.head(2000), params=params)["spam_probability"].to_numpy()
    small = model.predict(frame.head(50), params=params)["spam_probability"].to_numpy()
    alone = [
        model.predict(frame.iloc[[i]], params=params)["spam_probability"].iloc[0] for i in range(50)
    ]
    assert (big[:50] == small).all() and (small == alone).all()
    batch = model.predict(frame.head(2000), params={**params, "profile": "batch"})
    assert (batch["spam_probability"].to_numpy() != big).any()  # the profile counts now
    later = model.predict(frame.head(50), params={"as_of": "2030-01-01"})["spam_probability"]
    assert (later.to_numpy() != small).any()  # ages are measured from as_of
    vendor = pd.DataFrame(
        {
            "Source url": ["https://blog.example.org/rye-guide"],
            "Target url": ["https://bakewise.example.com/rye/"],
            "Anchor": ["rye flour"],
            "Page ascore": [41],
        }
    )
    out = model.predict(vendor, params=params)
    assert 0 <= out["spam_probability"].iloc[0] <= 1 and out["rejected"].iloc[0] is None
    with pytest.raises(mlflow.exceptions.MlflowException, match=r"params\.profile"):
        model.predict(frame.head(2), params={"profile": "whole-file"})


def test_evaluate_any_model_on_any_labeled_file(store: str):
    metrics, card = evaluate_file(
        SAMPLE, "models:/linksift@champion", tracking_uri=store, as_of=AS_OF
    )
    assert metrics["rows"] == 5000 and metrics["roc_auc"] > 0.8
    metrics, card = evaluate_file(SAMPLE, None, tracking_uri=store, as_of=AS_OF)
    assert card["synthetic"] is True  # the shipped default model


def test_cli_train_prints_metrics_and_registers(tmp_path: Path):
    env_uri = f"sqlite:///{tmp_path / 'cli.db'}"
    config = tmp_path / "linksift.toml"
    config.write_text(
        f'tracking_uri = "{env_uri}"\nexperiment = "audits"\nmodel_name = "client-links"\n'
        "[train]\nn_estimators = 30\n"
    )
    result = run_cli(
        *("train", "--data", str(SAMPLE), "--config", str(config), "--register"),
        *("--as-of", "2026-11-25"),
        cwd=tmp_path,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "roc_auc" in result.stdout
    assert "registered client-links version 1: champion" in result.stdout
    assert "in experiment 'audits'" in result.stdout
    # the settings' experiment and model name are where the run and the version went
    with tracking.tracking(env_uri) as client:
        run = client.search_runs([client.get_experiment_by_name("audits").experiment_id])[0]
        assert client.get_model_version("client-links", "1").run_id == run.info.run_id
        assert client.get_experiment_by_name("linksift") is None
    listed = run_cli("models", "list", "--config", str(config), cwd=tmp_path)
    assert listed.returncode == 0 and "champion" in listed.stdout
    broken = tmp_path / "broken.toml"
    broken.write_text('tracking_uri = "http://127.0.0.1:9/"\n')
    refused = run_cli(
        *("models", "list", "--config", str(broken)),
        cwd=tmp_path,
        env={"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"},
    )
    assert refused.returncode == 2 and "cannot read the registry" in refused.stdout + refused.stderr
    assert "Traceback" not in refused.stdout + refused.stderr
