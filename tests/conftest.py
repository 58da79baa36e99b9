"""Shared test helpers: fixture paths and small canonical tables built from dicts."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from features.importers import ImportOptions, from_records

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parents[1]
AS_OF = date(2026, 11, 25)

os.environ.setdefault("BENTOML_DO_NOT_TRACK", "True")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def links(*rows: dict, as_of: date = AS_OF) -> pl.DataFrame:
    """Canonical table from hand-written link dicts; fails the test if any row is rejected."""
    table, rejects = from_records(list(rows), ImportOptions(as_of=as_of))
    assert rejects.height == 0, rejects.to_dicts()
    return table


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


def run_cli(
    *args: str,
    cwd: Path = ROOT,
    env: dict[str, str] | None = None,
    timeout: float = 300,
    ok: bool = False,
) -> subprocess.CompletedProcess:
    """``linksift ARGS`` in a fresh process, as a user runs it (``ok``: it must succeed)."""
    out = subprocess.run(
        [sys.executable, "-m", "linksift.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    if ok:
        assert out.returncode == 0, out.stdout + out.stderr
    return out
