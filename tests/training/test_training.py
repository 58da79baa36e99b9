"""Training: labeled data validation, grouped split, monotone model, artifact round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from features import artifact
from features import spec as features_spec
from features.extract import build_profile, extract
from features.urls import sites_of
from linksift.settings import SettingsError
from linksift.settings import load as load_settings
from tests.conftest import AS_OF, links
from training.config import TrainConfig
from training.data import DataError, labeled_from_table, load_labeled
from training.split import grouped_split
from training.synth import ARCHETYPES, generate
from training.train import card_markdown, fit

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample" / "labeled.parquet"
SMALL = TrainConfig(n_estimators=80, early_stopping_rounds=15)


@pytest.fixture(scope="module")
def trained():
    data = load_labeled(SAMPLE, AS_OF)
    return fit(data, SMALL, as_of=AS_OF, source=str(SAMPLE))


def test_generator_writes_canonical_rows_with_every_archetype():
    table = generate(3000, seed=2, as_of=AS_OF)
    assert set(table["archetype"].unique()) == set(ARCHETYPES)
    assert set(table["label"].unique()) == {"good", "spam"}
    # vendors leave fields empty the way real exports do
    rows = table.to_dicts()
    semrush = [r for r in rows if r["vendor"] == "semrush"]
    gsc = generate(100, seed=2, as_of=AS_OF, vendor="gsc").to_dicts()
    assert semrush and all(r["source_traffic"] is None for r in semrush)
    assert all(r["source_page_authority"] is not None for r in semrush)
    assert all(r["source_domain_created"] is None for r in rows if r["vendor"] != "crawler")
    assert gsc and all(r["anchor_text"] is None and r["source_title"] is None for r in gsc)
    assert generate(200, seed=9, as_of=AS_OF).equals(generate(200, seed=9, as_of=AS_OF))


def test_grouped_split_keeps_each_site_in_one_part_and_puts_the_newest_in_test():
    table = generate(4000, seed=5, as_of=AS_OF)
    sites = sites_of(table["source_url"]).to_numpy()
    days = table["first_seen"].cast(pl.Int32).cast(pl.Float64).to_numpy()
    parts = grouped_split(sites, days, {"valid": 0.1, "calibration": 0.1, "test": 0.15})
    seen: dict[str, str] = {}
    for name, idx in parts.items():
        for site in set(sites[idx]):
            assert seen.setdefault(site, name) == name, f"{site} is in {seen[site]} and {name}"
    assert sum(len(i) for i in parts.values()) == 4000
    assert np.nanmedian(days[parts["test"]]) > np.nanmedian(days[parts["train"]])
    assert 0.1 < len(parts["test"]) / 4000 < 0.2


def test_bad_labeled_data_fails_clearly(tmp_path: Path):
    no_label = tmp_path / "no_label.csv"
    no_label.write_text("source_url,target_url\nhttps://a.example.com/,https://t.example.com/\n")
    with pytest.raises(DataError, match="no label column"):
        load_labeled(no_label, AS_OF)
    one_class = tmp_path / "one_class.csv"
    one_class.write_text(
        "source_url,target_url,label\n"
        "https://a.example.com/,https://t.example.com/,good\n"
        "https://b.example.com/,https://t.example.com/,0\n"
    )
    with pytest.raises(DataError, match="every labeled row is 'good'"):
        load_labeled(one_class, AS_OF)
    unknown = tmp_path / "unknown.csv"
    unknown.write_text(
        "source_url,target_url,label\n"
        "https://a.example.com/,https://t.example.com/,good\n"
        "https://b.example.com/,https://t.example.com/,maybe\n"
    )
    with pytest.raises(DataError, match=r"unknown label values \['maybe'\]"):
        load_labeled(unknown, AS_OF)
    nothing = tmp_path / "nothing.csv"
    nothing.write_text("source_url,target_url,label\nnot a url,x,good\n")
    with pytest.raises(DataError, match="no usable rows"):
        load_labeled(nothing, AS_OF)


def test_vendor_file_with_label_column_trains_as_is(tmp_path: Path):
    path = tmp_path / "semrush-labeled.csv"
    path.write_text(
        "Source url,Target url,Anchor,Nofollow,label\n"
        "https://a.example.com/x,https://t.example.com/,t,false,1\n"
        "https://b.example.com/y,https://t.example.com/,t,true,0\n"
    )
    data = load_labeled(path, AS_OF)
    assert data.y.tolist() == [1, 0]


def test_metrics_are_honest_and_the_card_records_the_data(trained):
    m = trained.metrics
    assert 0.8 < m["roc_auc"] < 1.0  # good, not perfect: the generator has noise and overlap
    assert m["ece"] < 0.1
    assert {
        "pr_auc",
        "log_loss",
        "brier",
        "precision_at_spam",
        "recall_at_review",
        "recall_pbn",
    } <= set(m)
    card = trained.card
    assert card["data_hash"] and card["feature_spec_version"] and card["synthetic"]
    assert sum(card["rows"].values()) == 5000
    assert "synthetic" in card_markdown(card)


def test_monotone_directions_hold(trained):
    scorer = artifact.Scorer(trained.artifact)
    base = links(
        *[
            {
                "source_url": f"https://site{i}.example.com/blog/some-post",
                "target_url": "https://bakewise.example.com/",
                "source_authority": a,
                "source_traffic": t,
                "source_domain_created": d,
                "anchor_text": "best bread",
            }
            for i, (a, t, d) in enumerate(
                [
                    (5, 0, "2026-10-01"),
                    (40, 100, "2015-01-01"),
                    (70, 5000, None),
                    (20, None, "2024-06-01"),
                ]
            )
        ]
    )
    profile = build_profile([base])
    X = extract(base, profile, as_of=AS_OF)
    for feature in (
        "source_authority",
        "domain_age_days",
        "source_traffic",
        "topic_relevance",
        "source_referring_domains",
        "source_page_authority",
    ):
        j = trained.artifact.spec["features"].index(
            next(f for f in trained.artifact.spec["features"] if f["name"] == feature)
        )
        previous = None
        for value in np.linspace(0, 5000 if "traffic" in feature else 100, 25):
            Xv = X.copy()
            Xv[:, j] = value if feature != "topic_relevance" else value / 100
            p = scorer.probability(Xv)
            if previous is not None:
                assert np.all(p <= previous + 1e-12), feature
            previous = p


def test_save_load_predict_is_identical(trained, tmp_path: Path):
    folder = artifact.write(tmp_path / "model", trained.artifact, card_markdown(trained.card))
    loaded = artifact.Scorer.load(folder)
    X = trained.X_test[:500]
    assert np.array_equal(loaded.probability(X), artifact.Scorer(trained.artifact).probability(X))
    assert np.array_equal(loaded.raw_score(X), trained.booster.predict(X, raw_score=True))


def test_tampered_or_mismatched_model_folders_are_refused(trained, tmp_path: Path):
    folder = artifact.write(tmp_path / "model", trained.artifact, card_markdown(trained.card))
    text = (folder / "model.txt").read_text()
    (folder / "model.txt").write_text(text[: len(text) // 2])
    with pytest.raises(artifact.ModelLoadError, match="checksum"):
        artifact.read(folder)
    other = trained.artifact
    spec = {**other.spec, "features": other.spec["features"][:-1]}
    spec["fingerprint"] = features_spec.fingerprint(spec)  # honest, but not this code's
    bad = artifact.write(
        tmp_path / "model2",
        artifact.Artifact(other.booster_text, spec, other.calibration, other.card),
        "card",
    )
    with pytest.raises(artifact.ModelLoadError, match="feature spec"):
        artifact.read(bad)


def test_shipped_default_model_loads_and_scores():
    scorer = artifact.Scorer.load(ROOT / "models" / "default")
    table = generate(300, seed=8, as_of=AS_OF)
    p = scorer.probability(extract(table, as_of=AS_OF))
    assert p.shape == (300,) and np.all((p >= 0) & (p <= 1))
    spam = np.asarray(table["label"].to_list()) == "spam"
    assert p[spam].mean() > p[~spam].mean() + 0.3


def test_settings_file_errors_name_the_key(tmp_path: Path):
    path = tmp_path / "linksift.toml"
    path.write_text("[train]\nnum_leaves = 7\nlearnin_rate = 0.1\n")
    with pytest.raises(SettingsError, match=r"train\.learnin_rate: unknown key"):
        load_settings(path)
    path.write_text("[thresholds]\nreview = 0.9\nspam = 0.5\n")
    with pytest.raises(SettingsError, match="must not exceed"):
        load_settings(path)
    path.write_text("[train]\nnum_leaves = 7\n[thresholds]\nspam = 0.8\n")
    s = load_settings(path)
    assert s.train.num_leaves == 7 and s.thresholds.spam == 0.8


def test_labels_as_zero_one_and_unlabeled_rows_skipped():
    table = generate(400, seed=3, as_of=AS_OF)
    labels = table["label"].to_list()
    labels[0] = None
    table = table.with_columns(pl.Series("label", labels, dtype=pl.String))
    data = labeled_from_table(table)
    assert len(data) == 399 and data.skipped == 1
