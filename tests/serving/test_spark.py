"""Spark in local mode gives exactly the local scorer's results on the same rows."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from features.importers import ImportOptions
from serving.batch import BatchOptions, import_file, score_file
from serving.model import LinkModel
from tests.conftest import AS_OF

ROOT = Path(__file__).resolve().parents[2]


def need_java() -> None:
    if shutil.which("java") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Java is required for the Spark test in CI (.ci/run installs it)")
        pytest.skip("no Java on this machine: Spark cannot start")
    pytest.importorskip("pyspark") if os.environ.get("CI") != "true" else __import__("pyspark")


def test_spark_results_match_the_local_scorer(tmp_path: Path):
    need_java()
    from serving.spark import score_spark

    links = tmp_path / "links.parquet"
    import_file(ROOT / "data" / "sample" / "export.csv", links, ImportOptions(as_of=AS_OF))
    model = LinkModel.load()
    score_file(links, tmp_path / "local.parquet", model, BatchOptions(as_of=AS_OF))
    summary = score_spark(links, tmp_path / "spark", model, as_of=AS_OF)
    assert "3,000 rows read = 3,000 scored" in summary
    local = pq.read_table(tmp_path / "local.parquet").sort_by("row")
    spark = ds.dataset(tmp_path / "spark", format="parquet", partitioning="hive").to_table()
    spark = spark.sort_by("row")
    assert spark.num_rows == local.num_rows
    for column in (
        "row",
        "link_id",
        "spam_probability",
        "quality_score",
        "reason_1",
        "reason_2",
        "reason_3",
        "model_version",
        "duplicate",
        "source_url",
    ):
        assert local[column].equals(spark[column].cast(local[column].type)), column
    assert [str(v) for v in spark["verdict"].to_pylist()] == local["verdict"].to_pylist()
    assert {p.name for p in (tmp_path / "spark").iterdir() if p.is_dir()} <= {
        "verdict=good",
        "verdict=review",
        "verdict=spam",
    }


def test_the_dataframe_api_equals_the_local_scorer_with_rejects_and_registry_models(
    tmp_path: Path,
):
    """``score_dataframe`` on 20k generated links (10 of them unusable), a registry URI as
    the model, the caller's own session: row for row what ``linksift score`` gives, the
    rejected rows returned too; and the registered pyfunc as a Spark UDF on plain columns."""
    need_java()
    import mlflow
    import polars as pl
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    from serving.spark import score_dataframe
    from training import tracking
    from training.config import Thresholds, TrainConfig
    from training.pipeline import train
    from training.synth import generate, write

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    sample = ROOT / "data" / "sample" / "labeled.parquet"
    train(sample, TrainConfig(n_estimators=20), Thresholds(), tracking_uri=uri, register=True,
          as_of=AS_OF)  # fmt: skip
    os.environ["LINKSIFT_MODEL_CACHE"] = str(tmp_path / "cache")
    model = LinkModel.load("models:/linksift@champion", tracking_uri=uri)

    raw = tmp_path / "raw.parquet"
    write(generate(20_000, seed=5, as_of=AS_OF).drop("label"), raw)
    links = tmp_path / "links.parquet"
    import_file(raw, links, ImportOptions(as_of=AS_OF))
    damaged = pl.read_parquet(links).with_columns(
        source_authority=pl.when(pl.col("row") % 2000 == 7)
        .then(500.0)
        .otherwise(pl.col("source_authority"))
    )
    damaged.write_parquet(links)
    score_file(links, tmp_path / "local.parquet", model, BatchOptions(as_of=AS_OF))
    local = pq.read_table(tmp_path / "local.parquet").sort_by("row")
    local_rejects = pl.read_csv(tmp_path / "local.rejects.csv").sort("row")
    assert local_rejects.height == 10

    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    try:
        df = spark.read.parquet(str(links)).repartition(3)
        scored, rejects = score_dataframe(df, "models:/linksift@champion", as_of=AS_OF,
                                          tracking_uri=uri)  # fmt: skip
        got = scored.toArrow().sort_by("row")
        got_rejects = pl.from_arrow(rejects.toArrow()).sort("row")
        with tracking.tracking(uri):
            udf = mlflow.pyfunc.spark_udf(
                spark, "models:/linksift@champion", result_type="double", env_manager="local"
            )
            plain = df.limit(200).withColumn(
                "p", udf(F.col("source_url"), F.col("target_url"), F.col("anchor_text"))
            )
            probabilities = [r["p"] for r in plain.select("p").collect()]
    finally:
        spark.stop()
    assert got.num_rows == local.num_rows == 20_000 - 10
    for column in ("row", "link_id", "spam_probability", "verdict", "reason_1", "reason_3",
                   "model_version", "duplicate"):  # fmt: skip
        assert local[column].to_pylist() == got[column].to_pylist(), column
    assert got_rejects.select("row", "field").rows() == local_rejects.select("row", "field").rows()
    assert len(probabilities) == 200 and all(0 <= p <= 1 for p in probabilities)
