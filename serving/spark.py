"""Batch scoring on Apache Spark with the same model adapter, for profiles too big for one
machine.

    from serving.spark import score_dataframe
    scored, rejects = score_dataframe(spark.read.parquet("links/"), model="models:/linksift@champion")

    linksift score links.parquet -o scored/ --engine spark      # the CLI wraps the same function
    spark-submit --master yarn serving/spark.py links.parquet scored/ [--model URI]

``score_dataframe`` takes a DataFrame of canonical rows (``linksift import`` writes them; a
``row`` column is kept when present) and returns two DataFrames, lazily: the scored rows (the
columns ``linksift score`` writes) and the rejected ones (``row``, ``field``, ``reason``,
``value``). Every input row is in exactly one of them.

- The profile (links per referring site, anchor repetition, each target's terms) is counted
  with Spark aggregations over per-row keys, so it equals the local scorer's profile of the
  same rows; it reaches the executors as a broadcast variable. ``profile="row"`` scores each
  row on its own, as the API does.
- The model (a folder, ``models:/...`` or ``runs:/...``; default the shipped one) is resolved
  on the driver and shipped to the executors with ``SparkContext.addFile``: no shared path is
  needed. It is loaded once per Python worker through ``features.artifact`` (no pickle).
- The session is the caller's (``SparkSession.getActiveSession()``, else the one
  ``spark-submit`` configured): linksift never sets the master.

PySpark 4 warns on import that it is tested with pandas 2 while linksift installs pandas 3:
the Arrow path used here (``mapInArrow``) does not go through pandas, so the warning does not
apply to these functions.
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
from features.extract import Profile, link_facts, pair_keys
from features.importers import REJECT_SCHEMA, ImportOptions, InputError, canonicalize

_MODELS: dict[str, Any] = {}
_KEYS = pa.schema(
    [
        ("source_site", pa.string()),
        ("target_site", pa.string()),
        ("target_path", pa.string()),
        ("anchor_key", pa.string()),
        ("keyword_anchor", pa.float64()),
        ("nofollow", pa.float64()),
        ("target_brand", pa.string()),
        ("topical", pa.list_(pa.string())),
        ("site", pa.int64()),
        ("target", pa.int64()),
    ]
)


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


def _worker_model(name: str) -> Any:
    """The model shipped with ``addFile``, loaded once per Python worker."""
    from pyspark import SparkFiles

    from serving.model import LinkModel

    if name not in _MODELS:
        _MODELS[name] = LinkModel.load(SparkFiles.get(name))
    return _MODELS[name]


def _resolve(model: Any, tracking_uri: str | None) -> Any:
    from serving.model import LinkModel

    if isinstance(model, LinkModel):
        return model
    return LinkModel.load(
        None if model in (None, "", "default") else model, tracking_uri=tracking_uri
    )


def spark_profile(df: Any, as_of: date) -> Profile:
    """The finished profile of a DataFrame of canonical rows, counted by Spark: each row's
    keys come from ``link_facts`` (``mapInArrow``), the counts from ``groupBy``."""
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema

    def keys(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for b in batches:
            links, _ = _canonical(b, as_of)
            if links.height:
                facts = link_facts(links, as_of=as_of).with_columns(pair_keys())
                facts = facts.select(_KEYS.names)
                yield from facts.to_arrow().cast(_KEYS).to_batches()

    k = df.mapInArrow(keys, from_arrow_schema(_KEYS)).cache()

    def count(frame: Any, *columns: str) -> pl.DataFrame:
        """Links per value of ``columns`` (rows whose first column is null left out)."""
        found = frame.where(F.col(columns[0]).isNotNull()).groupBy(*columns).count()
        table = pl.from_arrow(found.toArrow())
        assert isinstance(table, pl.DataFrame)
        return table.rename({"count": "links"}).cast({"links": pl.Int64})

    terms = k.select("target_site", F.explode("topical").alias("term"))
    # a target's brand is a function of its site (the label left of the public suffix)
    brands = pl.from_arrow(
        k.where(F.col("target_site").isNotNull())
        .groupBy("target_site")
        .agg(F.first("target_brand", ignorenulls=True).alias("target_brand"))
        .toArrow()
    )
    assert isinstance(brands, pl.DataFrame)
    pairs = k.select("site", "target").dropna()  # as Profile.of: both known
    followed = k.where(
        F.col("target_site").isNotNull()
        & F.col("keyword_anchor").isNotNull()
        & (F.coalesce(F.col("nofollow"), F.lit(0.0)) < 0.5)
    )
    mix = pl.from_arrow(
        followed.groupBy("target_site")
        .agg(F.count("*").alias("links"), F.sum("keyword_anchor").cast("long").alias("exact"))
        .toArrow()
    )
    assert isinstance(mix, pl.DataFrame)
    profile = Profile(
        anchor_mix=mix.cast({"links": pl.Int64, "exact": pl.Int64}),
        sites=count(k, "source_site"),
        targets=count(k, "target_site"),
        anchors=count(k, "anchor_key"),
        terms=count(terms, "target_site", "term"),
        brands=brands,
        pairs=pl.from_arrow(pairs.distinct().toArrow()),
        finished=False,
    ).finish()
    k.unpersist()
    return profile


def score_dataframe(
    df: Any,
    model: Any = None,
    *,
    explain: str = "all",
    as_of: date | None = None,
    profile: str = "batch",
    tracking_uri: str | None = None,
) -> tuple[Any, Any]:
    """(scored, rejects) DataFrames for a DataFrame of canonical rows; see the module."""
    from pyspark.sql.pandas.types import from_arrow_schema

    from serving.batch import conform, scored_table

    if profile not in ("batch", "row"):
        raise ValueError(f"profile: expected batch or row, got {profile!r}")
    as_of = as_of or date.today()
    spark = df.sparkSession
    link_model = _resolve(model, tracking_uri)
    folder = Path(link_model.folder)
    spark.sparkContext.addFile(str(folder), recursive=True)
    name = folder.name
    measured = spark_profile(df, as_of) if profile == "batch" else Profile()
    shared = spark.sparkContext.broadcast(measured.to_json())

    first = df.limit(1).toArrow().to_batches()
    if not first:
        raise InputError("the DataFrame has no rows")
    probe_links, _ = _canonical(first[0], as_of)
    if not probe_links.height:  # the first row is rejected: any valid canonical row will do
        probe_links, _ = _canonical(
            pa.RecordBatch.from_pylist(
                [{"source_url": "https://a.example.com/", "target_url": "https://t.example.com/"}]
            ),
            as_of,
        )
    probe = scored_table(
        probe_links,
        link_model.score(probe_links, measured, as_of=as_of, explain=explain),
        link_model.model_version,
    )
    out_schema = probe.to_arrow().schema
    version = link_model.model_version  # as the driver names it ("linksift/3" for a registry)

    def score_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        m = _worker_model(name)
        against = Profile.from_json(shared.value)
        for b in batches:
            links, _ = _canonical(b, as_of)
            if not links.height:
                continue
            scores = m.score(links, against, as_of=as_of, explain=explain)
            table = scored_table(links, scores, version)
            yield from conform(table, probe.schema).to_arrow().cast(out_schema).to_batches()

    def reject_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for b in batches:
            _, rejects = _canonical(b, as_of)
            if rejects.height:
                yield from rejects.cast(REJECT_SCHEMA).to_arrow().to_batches()

    reject_schema = pl.DataFrame(schema=REJECT_SCHEMA).to_arrow().schema
    return (
        df.mapInArrow(score_partition, from_arrow_schema(out_schema)),
        df.mapInArrow(reject_partition, from_arrow_schema(reject_schema)),
    )


def _session(master: str | None) -> Any:
    """The active session, or a new one (``master`` only when asked for: spark-submit's
    ``--master`` and the session's own configuration otherwise decide)."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName("linksift").config(
        "spark.sql.execution.arrow.pyspark.enabled", "true"
    )
    if master:
        builder = builder.master(master)
    return builder.getOrCreate()


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


def rejects_path(output: str | Path) -> str:
    """Where ``score_spark`` writes the rejected rows: beside the output."""
    return f"{str(output).rstrip('/')}.rejects"


def score_spark(
    input: str | Path,
    output: str | Path,
    model: Any = None,
    *,
    explain: str = "all",
    as_of: date | None = None,
    master: str | None = None,
    tracking_uri: str | None = None,
) -> str:
    """Score a canonical file on Spark (``score_dataframe``), write the scored rows as Parquet
    partitioned by verdict and the rejected rows beside it; returns a one-paragraph summary."""
    spark = _session(master)
    df = _read(spark, Path(input))
    scored, rejects = score_dataframe(
        df, model, explain=explain, as_of=as_of, tracking_uri=tracking_uri
    )
    scored.write.mode("overwrite").partitionBy("verdict").parquet(str(output))
    rejects.write.mode("overwrite").parquet(rejects_path(output))
    counts = {
        r["verdict"]: r["count"]
        for r in spark.read.parquet(str(output)).groupBy("verdict").count().collect()
    }
    total = df.count()
    scored_n = sum(counts.values())
    rejected_n = spark.read.parquet(rejects_path(output)).count()
    where = spark.sparkContext.master
    return (
        f"{input}: {total:,} rows read = {scored_n:,} scored + {rejected_n:,} rejected "
        f"on Spark ({where}); verdicts {counts}; partitioned Parquet → {output}, "
        f"rejected rows → {rejects_path(output)}"
    )


def main(argv: list[str] | None = None) -> None:
    """``spark-submit serving/spark.py INPUT OUTPUT``."""
    parser = argparse.ArgumentParser(description="linksift batch scoring on Spark")
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--model", default=None, help="folder or models:/ URI")
    parser.add_argument("--explain", default="all", choices=["all", "flagged", "none"])
    parser.add_argument("--master", default=None, help="only without spark-submit")
    args = parser.parse_args(argv)
    print(
        score_spark(
            args.input,
            args.output,
            args.model,
            explain=args.explain,
            master=args.master,
            tracking_uri=os.environ.get("MLFLOW_TRACKING_URI"),
        )
    )


if __name__ == "__main__":
    main()
