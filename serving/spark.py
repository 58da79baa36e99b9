"""Batch scoring on Apache Spark with the same model adapter, for profiles too big for one
machine.

    linksift score links.parquet -o scored/ --engine spark
    spark-submit serving/spark.py links.parquet scored/ [--model DIR] [--master local[2]]

Input: canonical Parquet (``linksift import`` writes it) or a canonical CSV. Pass 1 builds a
partial profile per partition (``mapInArrow``) and merges them on the driver; counts merge
exactly, so the profile equals the local scorer's. Pass 2 scores each partition with
``LinkModel.score`` and writes Parquet partitioned by verdict. Probabilities, verdicts and
reasons are identical to ``linksift score`` on the same rows.

The model folder must be readable from the executors (a shared path, or the local disk in
local mode); it is loaded once per Python worker through ``features.artifact`` (no pickle).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from features import schema
from features.extract import Profile, link_facts
from features.importers import ImportOptions, InputError, canonicalize

_MODELS: dict[str, Any] = {}


def _canonical(batch: pa.RecordBatch, as_of: date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Validate a batch of canonical rows the way the local importer does."""
    table = pl.from_arrow(batch)
    assert isinstance(table, pl.DataFrame)
    extras = [name for name in schema.EXTRA if name in table.columns]
    rows = (
        table["row"].to_numpy()
        if "row" in extras
        else np.arange(1, table.height + 1, dtype=np.int64)
    )
    links, rejects = canonicalize(
        table.drop(extras), rows.astype(np.int64), "canonical", ImportOptions(as_of=as_of)
    )
    if "duplicate" in extras and links.height:
        flags = table.select("row", "duplicate").rename({"duplicate": "flag"})
        links = (
            links.join(flags, on="row", how="left", maintain_order="left")
            .with_columns(pl.col("flag").fill_null(False).alias("duplicate"))
            .drop("flag")
        )
    return links, rejects


def _model(folder: str) -> Any:
    from serving.model import LinkModel

    if folder not in _MODELS:
        _MODELS[folder] = LinkModel.load(folder)
    return _MODELS[folder]


def _session(master: str) -> Any:
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    return (
        SparkSession.builder.master(master)
        .appName("linksift")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )


def _read(spark: Any, path: Path) -> Any:
    if path.suffix.lower() in (".parquet", ".pq") or path.is_dir():
        return spark.read.parquet(str(path))
    header = spark.read.option("header", True).csv(str(path)).columns
    if "source_url" not in header:
        raise InputError(
            f"{path}: the Spark engine reads canonical files; run "
            "`linksift import` first to convert a vendor export"
        )
    return (
        spark.read.option("header", True)
        .option("multiLine", True)
        .option("escape", '"')
        .csv(str(path))
    )


def score_spark(
    input: str | Path,
    output: str | Path,
    model: Any,
    *,
    explain: str = "all",
    as_of: date | None = None,
    master: str = "local[2]",
) -> str:
    """Score a canonical dataset on Spark; returns a one-paragraph summary."""
    from pyspark.sql.pandas.types import from_arrow_schema

    from serving.batch import scored_table

    as_of = as_of or date.today()
    folder = model.info.source if Path(model.info.source).exists() else None
    if folder is None:
        from features.artifact import find_folder

        folder = str(find_folder(model.info.source))
    spark = _session(master)
    df = _read(spark, Path(input))

    def partial_profile(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        parts = []
        for b in batches:
            links, _ = _canonical(b, as_of)
            if links.height:
                parts.append(Profile.of(link_facts(links, as_of=as_of)))
        yield pa.RecordBatch.from_pydict({"state": [Profile.merge(parts).to_json()]})

    states = df.mapInArrow(partial_profile, "state string").collect()
    profile = Profile.merge(Profile.from_json(row["state"]) for row in states).finish()
    profile_json = profile.to_json()

    # the output schema: score a few rows locally the same way
    first = df.limit(1).toArrow().to_batches()
    if not first:
        raise InputError(f"{input}: no rows")
    probe_links, _ = _canonical(first[0], as_of)
    probe = scored_table(
        probe_links,
        model.score(probe_links, profile, as_of=as_of, explain=explain),
        model.model_version,
    )
    out_schema = probe.to_arrow().schema

    def score_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        m = _model(folder)
        profile = Profile.from_json(profile_json)
        for b in batches:
            links, _rejects = _canonical(b, as_of)
            if not links.height:
                continue
            scores = m.score(links, profile, as_of=as_of, explain=explain)
            table = scored_table(links, scores, m.model_version).to_arrow().cast(out_schema)
            yield from table.to_batches()

    scored = df.mapInArrow(score_partition, from_arrow_schema(out_schema))
    scored.write.mode("overwrite").partitionBy("verdict").parquet(str(output))
    counts = {
        r["verdict"]: r["count"]
        for r in spark.read.parquet(str(output)).groupBy("verdict").count().collect()
    }
    total = df.count()
    scored_n = sum(counts.values())
    return (
        f"{input}: {total:,} rows read = {scored_n:,} scored + {total - scored_n:,} rejected "
        f"on Spark ({master}); verdicts {counts}; partitioned Parquet → {output}"
    )


def main(argv: list[str] | None = None) -> None:
    """``spark-submit serving/spark.py INPUT OUTPUT``."""
    parser = argparse.ArgumentParser(description="linksift batch scoring on Spark")
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--model", default=None)
    parser.add_argument("--explain", default="all", choices=["all", "flagged", "none"])
    parser.add_argument("--master", default=os.environ.get("SPARK_MASTER", "local[2]"))
    args = parser.parse_args(argv)
    from serving.model import LinkModel

    print(
        score_spark(
            args.input,
            args.output,
            LinkModel.load(args.model),
            explain=args.explain,
            master=args.master,
        )
    )


if __name__ == "__main__":
    main()
