"""The ``linksift`` command: parse arguments, call one function, print the result.

Heavy libraries (MLflow, BentoML, LightGBM) are imported inside the commands that need them,
so ``linksift --help`` and ``linksift import`` start fast.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(
    help="linksift tells good backlinks from spam, and says why.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
out = Console()

FormatOpt = Annotated[
    str, typer.Option("--format", "-f", help="auto|canonical|ahrefs|semrush|majestic|moz|gsc")
]
TargetOpt = Annotated[
    str | None, typer.Option("--target", help="Target URL for exports without one (GSC).")
]
AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", help="Measure ages from this day (YYYY-MM-DD); default today."),
]


def fail(message: str, code: int = 2) -> None:
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def parse_day(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"--as-of: expected a date like 2026-09-15, got {value!r}")
        raise


@app.command("import")
def import_(
    input: Annotated[Path, typer.Argument(help="Export file: CSV/TSV (any vendor) or Parquet.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Canonical Parquet to write.")],
    format: FormatOpt = "auto",
    target: TargetOpt = None,
    as_of: AsOfOpt = None,
    rejects: Annotated[
        Path | None, typer.Option(help="Where rejected rows go (default OUT.rejects.csv).")
    ] = None,
) -> None:
    """Read an export, map it to the canonical link table, validate it, write Parquet."""
    from features.importers import ImportOptions, InputError, import_file

    try:
        summary = import_file(
            input,
            output,
            ImportOptions(format=format, target=target, as_of=parse_day(as_of)),
            rejects,
        )
    except InputError as exc:
        fail(str(exc))
        return
    out.print(summary.text(), highlight=False)


@app.command()
def columns() -> None:
    """Print the canonical link table: every column, its type and which vendor column feeds it."""
    from features.schema import describe

    out.print(describe(), highlight=False, markup=False)


def main() -> None:  # pragma: no cover - console entry point wrapper
    sys.exit(app())
