"""Retraining on reviewed labels against a real MLflow store and label database."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from features.extract import build_profile
from features.importers import ImportOptions, read_links
from serving.model import LinkModel
from tests.conftest import AS_OF
from training.config import Thresholds, TrainConfig
from training.labels import LabelStore
from training.pipeline import train
from training.retrain import RetrainError, retrain

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample" / "labeled.parquet"
SMALL = TrainConfig()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("retrain")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    first = train(SAMPLE, SMALL, Thresholds(), tracking_uri=uri, register=True, as_of=AS_OF)
    assert first.logged.promoted
    links, _ = read_links(SAMPLE, ImportOptions(as_of=AS_OF))
    return {"uri": uri, "root": root, "links": links, "profile": build_profile([links])}


def probabilities(uri: str, ref: str, world) -> np.ndarray:
    model = LinkModel.load(ref, tracking_uri=uri)
    return model.score(world["links"], world["profile"], as_of=AS_OF, explain="none").probability


def test_no_reviewed_labels_is_a_clear_error(world):
    store = LabelStore(f"sqlite:///{world['root'] / 'empty.db'}")
    with pytest.raises(RetrainError, match="no reviewed labels"):
        retrain(SAMPLE, store, SMALL, Thresholds(), tracking_uri=world["uri"], as_of=AS_OF)


def test_contradicting_labels_move_scores_the_labelled_way_and_rollback_restores(world):
    uri, links = world["uri"], world["links"]
    before = probabilities(uri, "models:/linksift@champion", world)
    spammy = np.flatnonzero(before > 0.9)[:40]
    store = LabelStore(f"sqlite:///{world['root'] / 'labels.db'}")
    for row in links[spammy].to_dicts():
        store.add(row, "good", reviewer="tester", model_version="v1")
    summary = retrain(SAMPLE, store, SMALL, Thresholds(), tracking_uri=uri, as_of=AS_OF)
    assert summary.reviewed == 40 and summary.reviewed_held_out > 0
    version = summary.logged.version
    after = probabilities(uri, f"models:/linksift/{version}", world)
    ids = np.asarray(links["link_id"].to_list())
    trained = np.isin(ids[spammy], summary.trained_link_ids)
    assert trained.sum() >= 10
    moved = after[spammy][trained] - before[spammy][trained]
    # the relabelled links, as a group, score less spammy (boosting gives no per-row promise)
    assert moved.mean() < -0.05, moved
    assert (moved < 0).mean() >= 0.8, moved
    from training import tracking

    with tracking.tracking(uri) as client:
        run = client.get_run(client.get_model_version("linksift", version).run_id)
    assert run.data.params["reviewed_labels"] == "40"
    assert "reviewed_holdout_log_loss" in run.data.metrics
    if not summary.logged.promoted:  # make it champion by hand, to roll it back
        tracking.promote(uri, version)
    assert np.array_equal(probabilities(uri, "models:/linksift@champion", world), after)
    assert "rolled back" in tracking.rollback(uri)
    restored = probabilities(uri, "models:/linksift@champion", world)
    assert np.array_equal(restored, before)  # exactly the previous version's predictions


def test_a_worse_challenger_is_not_promoted_and_says_why(world):
    store = LabelStore(f"sqlite:///{world['root'] / 'labels2.db'}")
    store.add(world["links"].to_dicts()[0], "spam")
    # a whole-site label teaches retraining too: the base rows from that site take it
    from features.urls import sites_of

    site = sites_of(world["links"]["source_url"]).value_counts(sort=True)[0, 0]
    store.label_site(site, "spam", reviewer="tester")
    weak = TrainConfig(small_data_rows=0, n_estimators=1, num_leaves=2, max_depth=1, min_trees=1)
    summary = retrain(None, store, weak, Thresholds(), tracking_uri=world["uri"], as_of=AS_OF)
    assert not summary.logged.promoted
    assert "worse than the champion beyond the noise" in summary.logged.gate
    text = summary.text()
    assert "NOT promoted (refused)" in text
    # champion and challenger on the same rows, side by side
    assert "  champion   PR-AUC" in text and "  challenger PR-AUC" in text
    assert summary.evaluation_rows_dropped > 0
    assert summary.site_labels == 1 and summary.site_rows > 1
    assert "and 1 whole-site labels" in text


def test_retrain_finds_its_base_data_from_any_folder(world, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from linksift.cli import app

    store_url = f"sqlite:///{world['root'] / 'labels3.db'}"
    LabelStore(store_url).add(world["links"].to_dicts()[1], "spam", reviewer="tester")
    monkeypatch.chdir(tmp_path)  # nowhere near the project's data folder
    monkeypatch.setenv("MLFLOW_TRACKING_URI", world["uri"])
    result = CliRunner().invoke(
        app, ["retrain", "--labels", store_url, "--as-of", "2026-11-25"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "challenger trained with 1 reviewed labels" in result.output
    assert "on the same" in result.output
