"""Labeled links for training: any importable file with a ``label`` column, validated.

Training on bad data fails with one clear message: no label column, labels that are not
good/spam/0/1, a single class, or no usable rows.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from features.importers import Importer, ImportOptions, column_sources, link_ids, read_links


class DataError(ValueError):
    """Labeled data that cannot be trained on, worded for the person who supplied it."""


@dataclass
class Labeled:
    """Canonical links with 0/1 labels (1 = spam) and, for generated data, archetypes."""

    links: pl.DataFrame
    y: np.ndarray
    archetype: np.ndarray | None
    skipped: int = 0
    weight: np.ndarray | None = None  # per-row training weight (reviewed labels count more)
    forced_test: np.ndarray | None = None  # rows that must be held out (reviewed slice)

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, keep: np.ndarray) -> Labeled:
        """The rows where ``keep`` is true."""

        def pick(a: np.ndarray | None) -> np.ndarray | None:
            return a[keep] if a is not None else None

        return Labeled(
            self.links.filter(pl.Series(keep)),
            self.y[keep],
            pick(self.archetype),
            self.skipped,
            pick(self.weight),
            pick(self.forced_test),
        )

    @property
    def data_hash(self) -> str:
        """Hash of the links and labels (independent of row order), for the model card."""
        pairs = pl.DataFrame({"id": link_ids(self.links), "y": self.y.astype(np.int64)}).sort(
            "id", "y"
        )
        text = pairs.select(pl.format("{}:{};", "id", "y").str.join("")).item()
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def labeled_from_table(links: pl.DataFrame, what: str = "data") -> Labeled:
    """Validate the labels of a canonical table (rows without a label are skipped)."""
    if "label" not in links.columns or links.height == 0:
        raise DataError(f"{what}: no usable rows")
    skipped = links["label"].null_count()
    links = links.filter(pl.col("label").is_not_null())
    if links.height == 0:
        raise DataError(
            f"{what}: no labeled rows ({skipped:,} rows have an empty label); "
            "expected 'good' or 'spam' (or 0/1) in the label column"
        )
    values = np.asarray(links["label"].to_list(), dtype=object)
    counts = Counter(values.tolist())
    if len(counts) < 2:
        ((only, n),) = counts.items()
        raise DataError(
            f"{what}: every labeled row is {only!r} ({n:,} rows); training needs both good and spam"
        )
    archetype = None
    if "archetype" in links.columns:
        archetype = np.asarray(links["archetype"].to_list(), dtype=object)
    return Labeled(links, (values == "spam").astype(np.int8), archetype, skipped)


def load_labeled(path: str | Path, as_of: date | None = None) -> Labeled:
    """Read a labeled file (canonical or any vendor export with an added ``label`` column)."""
    options = ImportOptions(as_of=as_of or date.today())
    header = Importer(path, options)
    if "label" not in column_sources(header.layout.header, header.format):
        raise DataError(
            f"{path}: no label column; add a column named 'label' holding good or spam (or 0/1)"
        )
    links, rejects = read_links(path, options)
    label_errors = [r for r in rejects.to_dicts() if r["field"] == "label"]
    if label_errors:
        values = sorted({r["value"] for r in label_errors})[:5]
        rows = [r["row"] for r in label_errors][:5]
        raise DataError(
            f"{path}: {len(label_errors):,} rows have unknown label values {values} "
            f"(rows {rows}...); expected good or spam (or 0/1)"
        )
    if links.height == 0:
        first = [r["reason"] for r in rejects.to_dicts()[:3]]
        raise DataError(f"{path}: no usable rows ({rejects.height:,} rejected, e.g. {first})")
    data = labeled_from_table(links, str(path))
    data.skipped += rejects.height
    return data
