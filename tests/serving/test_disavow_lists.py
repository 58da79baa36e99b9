"""Decisions that persist: a client's existing disavow file goes on the deny list, an allow
list keeps domains out, and both apply on every run (`score --disavow`, `disavow export`)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import polars as pl

from serving import disavow
from tests.conftest import run_cli
from tests.serving.conftest import ROOT

SPAM = "https://farm{}.example.xyz/p"


def linksift(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return run_cli(*args, cwd=cwd, ok=True)


def test_import_score_export_round_trip(tmp_path: Path):
    existing = tmp_path / "client-disavow.txt"
    existing.write_text(
        "# the client's file\n"
        "domain:old-network.example.net\n"
        "https://forum.example.org/thread/42\n"
        "not a line Google knows\n",
        encoding="utf-8",
    )
    store = f"sqlite:///{tmp_path / 'labels.db'}"
    imported = linksift(tmp_path, "disavow", "import", str(existing), "--labels", store)
    assert "2 entries on the deny list (1 domains, 1 URLs); 1 lines skipped" in imported.stdout
    # score the sample export once to find a domain the model proposes, then allow it
    scored = tmp_path / "scored.csv"
    first = tmp_path / "first.txt"
    linksift(tmp_path, "score", str(ROOT / "data/sample/export.csv"), "-o", str(scored),
             "--disavow", str(first), "--labels", store, "--as-of", "2026-11-25")  # fmt: skip
    proposed = [ln[7:] for ln in first.read_text().splitlines() if ln.startswith("domain:")]
    kept = next(d for d in proposed if d != "old-network.example.net")
    linksift(tmp_path, "disavow", "allow", kept, "--labels", store, "--note", "client's partner")
    for path in (tmp_path / "second.txt", tmp_path / "exported.txt"):
        if path.name == "second.txt":
            linksift(tmp_path, "score", str(ROOT / "data/sample/export.csv"), "-o",
                     str(tmp_path / "again.csv"), "--disavow", str(path), "--labels", store,
                     "--domains", str(tmp_path / "domains.csv"), "--as-of", "2026-11-25")  # fmt: skip
        else:
            linksift(tmp_path, "disavow", "export", str(scored), "-o", str(path), "--labels", store)
        text = path.read_text()
        lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
        assert "domain:old-network.example.net" in lines  # the client's decisions stay
        assert "https://forum.example.org/thread/42" in lines
        assert f"domain:{kept}" not in lines and not any(kept in ln for ln in lines)
        assert "on the deny list (in client-disavow.txt)" in text
        assert disavow.validate(text) == []
    domains = pl.read_csv(tmp_path / "domains.csv")
    assert domains.filter(pl.col("referring_domain") == kept)["action"].to_list() == [
        "keep (allow list)"
    ]
    linksift(tmp_path, "disavow", "remove", kept, "--labels", store)
    third = tmp_path / "third.txt"
    linksift(tmp_path, "disavow", "export", str(scored), "-o", str(third), "--labels", store)
    assert f"domain:{kept}" in third.read_text().splitlines()  # off the allow list again


def test_a_re_audit_shows_what_changed(tmp_path: Path):
    def scored(rows: list[tuple[str, str, str]]) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "link_id": [r[0] for r in rows],
                "source_url": [r[1] for r in rows],
                "verdict": [r[2] for r in rows],
                "spam_probability": [0.9 if r[2] == "spam" else 0.1 for r in rows],
                "reason_1": ["footer link (+1.0)"] * len(rows),
                "sitewide": [False] * len(rows),
                "nofollow": [False] * len(rows),
                "ugc": [False] * len(rows),
                "sponsored": [False] * len(rows),
            }
        )

    before = scored(
        [
            ("a1", "https://blog.example.org/a", "good"),
            ("b1", "https://shop.example.com/b", "good"),
            ("g1", "https://gone.example.net/x", "good"),
        ]
    )
    after = scored(
        [
            ("a1", "https://blog.example.org/a", "good"),
            ("a2", "https://blog.example.org/b", "good"),
            ("b1", "https://shop.example.com/b", "spam"),
            ("n1", "https://new.example.xyz/p", "spam"),
        ]
    )
    changes = {r["referring_domain"]: r for r in disavow.compare(before, after).rows(named=True)}
    assert changes["example.xyz"]["change"] == "new domain"
    assert changes["example.net"]["change"] == "gone" and changes["example.net"]["gone_links"] == 1
    assert changes["example.com"]["change"] == "now disavow"
    assert changes["example.org"]["change"] == "more links"
    assert changes["example.org"]["new_links"] == 1
    before.write_parquet(tmp_path / "before.parquet")
    after.write_parquet(tmp_path / "after.parquet")
    out = linksift(tmp_path, "disavow", "compare", "before.parquet", "after.parquet",
                   "-o", "changes.csv")  # fmt: skip
    assert "2 new links, 1 gone" in out.stdout and "now disavow" in out.stdout
    assert pl.read_csv(tmp_path / "changes.csv").height == 4
