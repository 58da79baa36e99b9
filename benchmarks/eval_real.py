"""The shipped model on real exports, against links judged by hand (``real_labels.csv``:
link ids and a judgement, no third-party rows), beside the vendor's own metrics used alone.

    python -m benchmarks.eval_real [EXPORTS_FOLDER]

For each labelled export: ROC-AUC of the spam probability, how many good links the model
calls spam, and the ROC-AUC each vendor metric gets alone (higher metric = better link, so it
ranks spam by its negative). The exports live outside the project (``../shared/data/exports``
by default); the labels are ours.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import date
from pathlib import Path

import polars as pl
from sklearn.metrics import roc_auc_score

from serving.batch import BatchOptions, score_file
from serving.model import LinkModel

HERE = Path(__file__).resolve().parent
EXPORTS = {
    "ahrefs": (
        "ahrefs-backlinks-lamicrobyflo.fr.csv",
        {
            "Ahrefs DR": "source_authority",
            "Ahrefs UR": "source_page_authority",
            "Ahrefs domain traffic": "source_traffic",
        },
    ),
    "semrush": (
        "semrush-backlinks-coinlineup.com.csv",
        {"Semrush Page ascore": "source_page_authority"},
    ),
}
AS_OF = date(2026, 12, 1)


def evaluate(folder: Path) -> pl.DataFrame:
    labels = pl.read_csv(HERE / "real_labels.csv")
    model = LinkModel.load()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for export, (name, vendor) in EXPORTS.items():
            out = Path(tmp) / f"{export}.csv"
            score_file(folder / name, out, model, BatchOptions(as_of=AS_OF))
            scored = pl.read_csv(out, infer_schema=False).unique("link_id", keep="first")
            judged = labels.filter(pl.col("export") == export).join(scored, on="link_id")
            y = (judged["label"] == "spam").to_numpy()
            p = judged["spam_probability"].cast(pl.Float64).to_numpy()
            good_as_spam = int(((judged["label"] == "good") & (judged["verdict"] == "spam")).sum())
            spam_found = int(((judged["label"] == "spam") & (judged["verdict"] != "good")).sum())
            row = {
                "export": export,
                "judged": judged.height,
                "spam": int(y.sum()),
                "model ROC-AUC": round(roc_auc_score(y, p), 3),
                "good called spam": good_as_spam,
                "spam flagged (review or spam)": spam_found,
            }
            for label, column in vendor.items():
                metric = judged[column].cast(pl.Float64, strict=False)  # canonical column
                row[f"{label} alone"] = round(roc_auc_score(y, -metric.fill_null(0).to_numpy()), 3)
            rows.append(row)
    return pl.DataFrame(rows, strict=False)


if __name__ == "__main__":
    default = HERE.parent.parent / "shared" / "data" / "exports"
    table = evaluate(Path(sys.argv[1]) if len(sys.argv) > 1 else default)
    with pl.Config(tbl_width_chars=200, tbl_cols=20):
        print(table)
