"""Relevance by meaning against word overlap, on (source page, target) pairs from the real
exports judged by hand as on-topic or not (``relevance_labels.csv``: link ids only; French
pairs from the Ahrefs export, English and other languages from the Semrush one).

    python -m benchmarks.eval_relevance [EXPORTS_FOLDER]

ROC-AUC of ``topic_similarity`` (embedding cosine) and ``topic_relevance`` (word overlap)
for telling on-topic pairs from off-topic ones, each link measured against its file's
profile as ``linksift score`` measures it; a missing value ranks lowest.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import polars as pl
from sklearn.metrics import roc_auc_score

from features.extract import feature_frame
from features.importers import ImportOptions, read_links

HERE = Path(__file__).resolve().parent
FILES = {
    "ahrefs": "ahrefs-backlinks-lamicrobyflo.fr.csv",
    "semrush": "semrush-backlinks-coinlineup.com.csv",
}


def evaluate(folder: Path) -> pl.DataFrame:
    labels = pl.read_csv(HERE / "relevance_labels.csv")
    rows, pooled = [], []
    for export, name in FILES.items():
        links, _ = read_links(folder / name, ImportOptions(as_of=date(2026, 12, 1)))
        features = feature_frame(links, as_of=date(2026, 12, 1)).select(
            "topic_similarity", "topic_relevance"
        )
        table = pl.concat([links.select("link_id"), features], how="horizontal").unique("link_id")
        judged = labels.filter(pl.col("export") == export).join(table, on="link_id")
        rows.append(_row(export, judged))
        pooled.append(judged)
    rows.append(_row("both", pl.concat(pooled)))
    return pl.DataFrame(rows)


def _row(name: str, judged: pl.DataFrame) -> dict:
    y = (judged["topic"] == "on").to_numpy()
    row = {"export": name, "pairs": judged.height, "on-topic": int(y.sum())}
    for column in ("topic_similarity", "topic_relevance"):
        x = judged[column].fill_null(-1.0).fill_nan(-1.0).to_numpy()
        row[f"{column} ROC-AUC"] = round(roc_auc_score(y, x), 3)
    return row


if __name__ == "__main__":
    default = HERE.parent.parent / "shared" / "data" / "exports"
    with pl.Config(tbl_width_chars=160):
        print(evaluate(Path(sys.argv[1]) if len(sys.argv) > 1 else default))
