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
