"""The ``linksift`` command: parse arguments, call one function, print the result.

Heavy libraries (MLflow, BentoML, LightGBM) are imported inside the commands that need them,
so ``linksift --help`` and ``linksift import`` start fast.
"""

from __future__ import annotations

import os
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
ModelOpt = Annotated[
    str | None,
    typer.Option("--model", "-m", help="Model folder or models:/ URI (default: shipped model)."),
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
    from features.importers import ImportOptions, InputError
    from serving.batch import import_file

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
    except OSError as exc:
        fail(f"cannot write the output: {exc.strerror or exc} ({exc.filename or output})")
        return
    out.print(summary.text(), highlight=False)


@app.command()
def columns() -> None:
    """Print the canonical link table: every column, its type and which vendor column feeds it."""
    from features.schema import describe

    out.print(describe(), highlight=False, markup=False)


ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="Settings file (TOML or JSON).")
]


def settings(path: Path | None):
    from linksift.settings import SettingsError, load

    try:
        return load(path)
    except SettingsError as exc:
        fail(str(exc))
        raise


def metrics_table(metrics: dict[str, float], title: str):
    from rich.table import Table

    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in metrics.items():
        table.add_row(key, f"{value:,.4f}" if abs(value) < 1000 else f"{value:,.0f}")
    return table


def training_table(card: dict):
    """Held-out metrics with their intervals beside the baselines' on the same test rows."""
    from rich.table import Table

    m, b = card["metrics"], card.get("baselines", {})
    rows = card["rows"]["test"]
    spam = round(m["spam_share"] * m["rows"])
    table = Table(
        title=f"held-out test metrics ({rows:,} links, {spam:,} spam)",
        header_style="bold",
    )
    for name in ("metric", "model", "95% interval", "default LightGBM", "logistic regression"):
        table.add_column(name, justify="left" if name == "metric" else "right")
    table.add_column(
        f"best single feature\n({card.get('best_single_feature', '-')})", justify="right"
    )
    for key in ("roc_auc", "pr_auc", "ece"):
        if key not in m:
            continue
        low, high = m.get(f"{key}_low"), m.get(f"{key}_high")
        table.add_row(
            key,
            f"{m[key]:.4f}",
            f"{low:.4f} – {high:.4f}" if low is not None else "",
            *(
                f"{b[f'baseline_{who}_{key}']:.4f}" if f"baseline_{who}_{key}" in b else ""
                for who in ("lightgbm", "logreg", "best_feature")
            ),
        )
    for key, value in m.items():
        if key.endswith(("_low", "_high")) or key in ("roc_auc", "pr_auc", "ece", "rows"):
            continue
        table.add_row(key, f"{value:,.4f}", "", "", "", "")
    return table


@app.command()
def synth(
    n: Annotated[int, typer.Option("-n", help="Number of links.")] = 10_000,
    output: Annotated[Path, typer.Option("--output", "-o", help="CSV or Parquet to write.")] = Path(
        "data/generated/labeled.parquet"
    ),
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    as_of: AsOfOpt = None,
) -> None:
    """Generate labeled synthetic links (canonical rows with label, archetype and vendor)."""
    from training.synth import generate, write

    if n < 1:
        fail(f"-n: expected at least 1 link, got {n}")
    table = generate(n, seed=seed, as_of=parse_day(as_of))
    write(table, output)
    out.print(f"wrote {table.height:,} labeled links to {output}", highlight=False)


@app.command()
def train(
    data: Annotated[
        Path, typer.Option("--data", "-d", help="Labeled file (any format with a label column).")
    ],
    config: ConfigOpt = None,
    register: Annotated[
        bool,
        typer.Option(
            "--register", help="Register the model; make it champion if it passes the gate."
        ),
    ] = False,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Also write the model folder here.")
    ] = None,
    as_of: AsOfOpt = None,
) -> None:
    """Train a model on labeled links, log it to MLflow, and optionally register it."""
    from features.importers import InputError
    from training.data import DataError
    from training.pipeline import train as run

    s = settings(config)
    uri = s.resolved_tracking_uri()
    try:
        summary = run(
            data,
            s.train,
            s.thresholds,
            tracking_uri=uri,
            out=out_dir,
            register=register,
            as_of=parse_day(as_of),
            experiment=s.experiment,
            name=s.model_name,
        )
    except (DataError, InputError, ValueError) as exc:
        fail(str(exc))
        return
    Console(width=max(out.width, 120)).print(training_table(summary.card))
    out.print(
        f"trained on {summary.rows:,} labeled links ({summary.skipped:,} skipped"
        + (
            f", {summary.evaluation_rows_dropped:,} in the registry's evaluation set left out"
            if summary.evaluation_rows_dropped
            else ""
        )
        + f"), {summary.card['trees']} trees; model {summary.card['version']}",
        highlight=False,
    )
    for warning in summary.card.get("warnings", []):
        console.print(f"[bold yellow]warning:[/] {warning}", highlight=False)
    if out_dir:
        out.print(f"model folder: {summary.model_folder}", highlight=False)
    if summary.logged:
        out.print(
            f"MLflow run {summary.logged.run_id} in experiment {s.experiment!r} at {uri}",
            highlight=False,
        )
        if summary.logged.version:
            result = summary.logged.result
            state = {
                "promoted": "champion",
                "kept": "challenger (the champion stays)",
                "refused": "challenger (refused)",
            }[result.decision if result else "refused"]
            out.print(
                f"registered {s.model_name} version {summary.logged.version}: {state} — "
                f"{summary.logged.gate}",
                highlight=False,
            )


@app.command()
def evaluate(
    data: Annotated[Path, typer.Option("--data", "-d", help="Labeled file.")],
    model: ModelOpt = None,
    config: ConfigOpt = None,
    as_of: AsOfOpt = None,
) -> None:
    """Report a model's metrics on any labeled file."""
    from features.artifact import ModelLoadError
    from features.importers import InputError
    from training.data import DataError
    from training.pipeline import evaluate_file
    from training.tracking import RegistryError

    s = settings(config)
    try:
        metrics, card = evaluate_file(
            data,
            model or s.resolved_model(),
            tracking_uri=s.resolved_tracking_uri(),
            as_of=parse_day(as_of),
        )
    except (DataError, InputError, ModelLoadError, RegistryError) as exc:
        fail(str(exc))
        return
    out.print(metrics_table(metrics, f"model {card.get('version')} on {data}"))


models_app = typer.Typer(
    help="Registered model versions and the champion alias.", no_args_is_help=True
)
app.add_typer(models_app, name="models")


@models_app.command("list")
def models_list(config: ConfigOpt = None) -> None:
    """List registered versions with aliases and headline metrics."""
    from rich.table import Table

    from training.tracking import RegistryError, versions

    s = settings(config)
    try:
        rows = versions(s.resolved_tracking_uri(), s.model_name)
    except RegistryError as exc:
        fail(str(exc))
        return
    if not rows:
        out.print(f"no registered versions of {s.model_name!r} in {s.resolved_tracking_uri()}")
        return
    table = Table(show_header=True, header_style="bold")
    for col in ("version", "aliases", "model", "PR-AUC", "ROC-AUC", "ECE"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["version"],
            r["aliases"],
            r["model_version"],
            *(f"{r[k]:.4f}" if r[k] is not None else "" for k in ("pr_auc", "roc_auc", "ece")),
        )
    out.print(table)
    for r in rows:
        if r["gate"]:
            out.print(f"version {r['version']}: {r['gate']}", highlight=False)


@models_app.command("promote")
def models_promote(version: str, config: ConfigOpt = None) -> None:
    """Make VERSION the champion (by hand: no gate)."""
    from training.tracking import RegistryError, promote

    s = settings(config)
    try:
        out.print(promote(s.resolved_tracking_uri(), version, s.model_name), highlight=False)
    except RegistryError as exc:
        fail(str(exc))


@models_app.command("rollback")
def models_rollback(config: ConfigOpt = None) -> None:
    """Give the champion alias back to the version the current champion replaced."""
    from training.tracking import RegistryError, rollback

    s = settings(config)
    try:
        out.print(rollback(s.resolved_tracking_uri(), s.model_name), highlight=False)
    except RegistryError as exc:
        fail(str(exc))


@app.command()
def score(
    input: Annotated[Path, typer.Argument(help="Export to score (any format linksift imports).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Scored CSV or Parquet.")],
    model: ModelOpt = None,
    disavow: Annotated[
        Path | None, typer.Option(help="Write a disavow proposal (Google's format) here.")
    ] = None,
    domains: Annotated[
        Path | None,
        typer.Option(help="Write one row per referring domain (CSV or Parquet) here."),
    ] = None,
    disavow_policy: Annotated[
        str,
        typer.Option(
            help="cleanup: spam verdicts on followed, live links; manual-action (a site under a "
            "manual action or that bought links): review verdicts too."
        ),
    ] = "cleanup",
    report: Annotated[
        Path | None,
        typer.Option(
            help="Write the audit report here: HTML, or PDF (through Chromium) for a .pdf name."
        ),
    ] = None,
    explain: Annotated[str, typer.Option(help="Reasons for all|flagged|none links.")] = "all",
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted run.")] = False,
    chunk_rows: Annotated[
        int | None, typer.Option(help="Rows per chunk, memory vs overhead (default 25,000).")
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(
            help="Chunks scored at once, memory grows with it (default: cores, at most 4)."
        ),
    ] = None,
    format: FormatOpt = "auto",
    target: TargetOpt = None,
    as_of: AsOfOpt = None,
    engine: Annotated[str, typer.Option(help="local|spark")] = "local",
    labels: Annotated[
        str | None,
        typer.Option(
            help="Label store whose reviewed labels override verdicts (default: settings / labels.db)."
        ),
    ] = None,
    reviewed: Annotated[
        bool,
        typer.Option(
            "--reviewed/--model-only",
            help="Let people's standing labels (links and whole sites) set those verdicts.",
        ),
    ] = True,
    enrich: Annotated[
        str,
        typer.Option(
            help="Enrich first from the web: pages, domain-age or both (see `linksift enrich`)."
        ),
    ] = "",
    allow_private: Annotated[
        bool, typer.Option("--allow-private", help="With --enrich: fetch private addresses too.")
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """Score every link of an export, explain it, and write the disavow file and report."""
    from features.artifact import ModelLoadError
    from features.importers import InputError
    from training.tracking import RegistryError

    s = settings(config)
    if explain not in ("all", "flagged", "none"):
        fail(f"--explain: expected all, flagged or none, got {explain!r}")
    if engine not in ("local", "spark"):
        fail(f"--engine: expected local or spark, got {engine!r}")
    from serving.disavow import POLICIES

    if disavow_policy not in POLICIES:
        fail(f"--disavow-policy: expected one of {', '.join(POLICIES)}, got {disavow_policy!r}")
    for name, value in (("--chunk-rows", chunk_rows), ("--threads", threads)):
        if value is not None and value < 1:
            fail(f"{name}: expected a positive number, got {value}")
    original = input
    wanted = {w.strip() for w in enrich.split(",") if w.strip()}
    if wanted - {"pages", "domain-age"}:
        fail(f"--enrich: expected pages, domain-age or both, got {enrich!r}")
    workdir = None
    if wanted:
        import tempfile

        workdir = Path(tempfile.mkdtemp(prefix=".linksift-enrich-", dir=output.parent))
        enriched = workdir / f"{input.stem}.parquet"  # named as the input, for the headers
        try:
            lines, _ = enrich_file(
                input, enriched, "pages" in wanted, "domain-age" in wanted,
                Path(".linksift-cache"), allow_private, target=target,
            )  # fmt: skip
        except (InputError, OSError) as exc:
            fail(str(exc))
            return
        console.print("\n".join(lines), highlight=False)
        input, format, target = enriched, "auto", None
    try:
        from serving.model import LinkModel

        link_model = LinkModel.load(
            model or s.resolved_model(),
            tracking_uri=s.resolved_tracking_uri(),
            thresholds=s.thresholds.model_dump() if config else None,
        )
    except (ModelLoadError, RegistryError) as exc:
        fail(str(exc))
        return
    if engine == "spark":
        from serving.spark import score_spark

        try:
            summary = score_spark(
                input, output, link_model, explain=explain, as_of=parse_day(as_of)
            )
        except (InputError, ValueError) as exc:
            fail(str(exc))
            return
        out.print(summary, highlight=False)
        return
    from serving.batch import BatchError, BatchOptions, score_file

    standing = decisions = None
    if reviewed:
        from training.reviewed import standing_decisions, standing_labels

        standing = standing_labels(labels or s.resolved_labels_url())
        decisions = standing_decisions(labels or s.resolved_labels_url())
    sizes = {"chunk_rows": chunk_rows, "threads": threads}
    options = BatchOptions(
        explain=explain,  # type: ignore[arg-type]
        resume=resume,
        as_of=parse_day(as_of),
        format=format,
        target=target,
        disavow=disavow,
        disavow_policy=disavow_policy,
        domains=domains,
        decisions=decisions,
        report=report,
        reviewed=standing,
        **{k: v for k, v in sizes.items() if v is not None},
    )
    try:
        with progress_bar() as update:
            summary = score_file(input, output, link_model, options, progress=update)
        if workdir:
            summary.input = f"{original} (enriched)"
    except (BatchError, InputError) as exc:
        fail(str(exc))
        return
    except OSError as exc:
        fail(f"cannot write the output: {exc.strerror or exc} ({exc.filename or output})")
        return
    except KeyboardInterrupt:
        console.print("interrupted: finished chunks are kept; run again with --resume to continue")
        raise typer.Exit(130) from None
    finally:
        if workdir:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)
    out.print(summary.text(), highlight=False)


def progress_bar(doing: str = "scoring"):
    """A rich progress bar (rows/s, ETA) on a terminal; silent in pipes."""
    from contextlib import contextmanager

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    @contextmanager
    def bar():
        if not console.is_terminal:
            yield lambda done, total: None
            return
        with Progress(
            TextColumn(doing),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as p:
            task = p.add_task("score", total=None, rate="")
            import time

            start = time.perf_counter()

            def update(done: int, total: int) -> None:
                rate = done / max(time.perf_counter() - start, 1e-9)
                p.update(task, completed=done, total=total, rate=f"{rate:,.0f} rows/s")

            yield update

    return bar()


@app.command()
def retrain(
    base: Annotated[
        Path | None,
        typer.Option(
            help="Base labeled data the reviewed labels are added to "
            "(default: the sample labeled data shipped with linksift)."
        ),
    ] = None,
    labels: Annotated[
        str | None, typer.Option(help="Label store URL (default: settings / labels.db).")
    ] = None,
    weight: Annotated[float, typer.Option(help="Training weight of a reviewed label.")] = 5.0,
    config: ConfigOpt = None,
    as_of: AsOfOpt = None,
) -> None:
    """Train a challenger on base data + reviewed labels; promote it only if the gate passes."""
    from features.importers import InputError
    from training.data import DataError
    from training.labels import LabelStore
    from training.retrain import RetrainError
    from training.retrain import retrain as run

    s = settings(config)
    try:
        summary = run(
            base,
            LabelStore(labels or s.resolved_labels_url()),
            s.train,
            s.thresholds,
            tracking_uri=s.resolved_tracking_uri(),
            as_of=parse_day(as_of),
            reviewed_weight=weight,
            name=s.model_name,
            experiment=s.experiment,
        )
    except (RetrainError, DataError, InputError, ValueError) as exc:
        fail(str(exc))
        return
    out.print(summary.text(), highlight=False)
    if summary.logged.promoted:
        out.print(
            f"a service following models:/{s.model_name}@champion picks it up within "
            "LINKSIFT_RELOAD_SECONDS (or POST /model/reload)",
            highlight=False,
        )


labels_app = typer.Typer(help="The label store: reviewed labels.", no_args_is_help=True)
app.add_typer(labels_app, name="labels")


@labels_app.command("export")
def labels_export(
    output: Annotated[Path, typer.Option("--output", "-o", help="CSV to write.")],
    labels: Annotated[str | None, typer.Option(help="Label store URL.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Write the current reviewed labels as a canonical CSV with a label column."""
    from training.labels import LabelStore, export_csv

    s = settings(config)
    n = export_csv(LabelStore(labels or s.resolved_labels_url()), output)
    out.print(f"wrote {n:,} labeled links to {output}", highlight=False)


@labels_app.command("site")
def labels_site(
    site: Annotated[
        str, typer.Argument(help="Referring site (registrable domain), e.g. spam.example.")
    ],
    label: Annotated[str, typer.Option("--label", "-l", help="good or spam.")],
    reviewer: Annotated[str, typer.Option(help="Who decided (shown in the reason).")] = "",
    note: Annotated[str, typer.Option(help="Why.")] = "",
    labels: Annotated[str | None, typer.Option(help="Label store URL.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Label a whole referring site: its links take this verdict in score, the API and the
    review page until the label is removed."""
    from training.labels import LabelError, LabelStore

    s = settings(config)
    try:
        saved = LabelStore(labels or s.resolved_labels_url()).label_site(
            site, label, note=note, reviewer=reviewer
        )
    except LabelError as exc:
        fail(str(exc))
        return
    out.print(f"{site}: every link from it is now reviewed as {saved.label}", highlight=False)


@labels_app.command("remove")
def labels_remove(
    link: Annotated[list[str] | None, typer.Option("--link", help="Link id (repeatable).")] = None,
    site: Annotated[str | None, typer.Option(help="Referring site whose label to remove.")] = None,
    reviewer: Annotated[str, typer.Option(help="Who removed it (kept in the history).")] = "",
    labels: Annotated[str | None, typer.Option(help="Label store URL.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Withdraw reviewed labels: the model's verdict counts again (history keeps them)."""
    from training.labels import LabelStore

    if not link and not site:
        fail("give --link ID (repeatable) or --site SITE")
    s = settings(config)
    n = LabelStore(labels or s.resolved_labels_url()).remove(
        link_ids=link or [], site=site, reviewer=reviewer
    )
    out.print(f"removed {n:,} standing label{'s' if n != 1 else ''}", highlight=False)


@labels_app.command("load")
def labels_load(
    scored: Annotated[
        Path, typer.Argument(help="`linksift score` output (or an export to score).")
    ],
    labels: Annotated[str | None, typer.Option(help="Label store URL.")] = None,
    model: ModelOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Load a scored batch into the review page's database."""
    from features.importers import InputError
    from serving.model import LinkModel
    from serving.review import load_batch
    from training.labels import LabelStore

    s = settings(config)
    try:
        with progress_bar("loading") as update:
            batch = load_batch(
                LabelStore(labels or s.resolved_labels_url()),
                scored,
                scored.name,
                LinkModel.load(model or s.resolved_model(), tracking_uri=s.resolved_tracking_uri()),
                progress=update,
            )
    except InputError as exc:
        fail(str(exc))
        return
    out.print(f"loaded {scored} as review batch {batch}", highlight=False)


@app.command()
def enrich(
    input: Annotated[
        Path | None, typer.Argument(help="A backlink export (any format linksift reads).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Enriched CSV or Parquet.")
    ] = None,
    pages: Annotated[
        bool, typer.Option("--pages", help="Fetch each source page and read the link on it.")
    ] = False,
    domain_age: Annotated[
        bool, typer.Option("--domain-age", help="Registration dates from the registries (RDAP).")
    ] = False,
    refresh_bootstrap: Annotated[
        bool,
        typer.Option("--refresh-bootstrap", help="Download IANA's RDAP server list first."),
    ] = False,
    cache: Annotated[
        Path, typer.Option(help="Folder for the caches (pages, RDAP answers, RDAP servers).")
    ] = Path(".linksift-cache"),
    allow_private: Annotated[
        bool,
        typer.Option("--allow-private", help="Also fetch private and loopback addresses."),
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace what the export gave with what is found.")
    ] = False,
    contact: Annotated[
        str, typer.Option(help="An address for site owners, sent in the user agent.")
    ] = "",
    target: Annotated[
        str | None, typer.Option(help="Target URL for exports without one (Search Console).")
    ] = None,
) -> None:
    """Add what the web says to an export's missing columns, before `linksift score`: each
    source page's placement, rel, context, outbound links, title and language (--pages), and
    each source domain's registration date (--domain-age). Uses the network."""
    import httpx

    from features.importers import InputError
    from serving import enrich as web

    bootstrap = cache / "rdap-dns.json"
    if refresh_bootstrap:
        try:
            published = web.refresh_bootstrap(bootstrap)
        except (httpx.HTTPError, ValueError) as exc:
            fail(f"cannot download the RDAP bootstrap from {web.BOOTSTRAP_URL}: {exc}")
            return
        out.print(f"RDAP bootstrap published {published} → {bootstrap}", highlight=False)
    if input is None and refresh_bootstrap:
        return
    if input is None or output is None or not (pages or domain_age):
        fail("expected INPUT, -o OUTPUT and --pages and/or --domain-age")
        return
    try:
        lines, rejected = enrich_file(
            input, output, pages, domain_age, cache, allow_private, overwrite, contact, target
        )
    except (InputError, OSError) as exc:
        fail(str(exc))
        return
    out.print("\n".join([*lines, f"  → {output}"]), highlight=False)
    if rejected:
        out.print(f"  {rejected:,} rows rejected on import (`linksift import` lists them)")


def enrich_file(
    input: Path,
    output: Path,
    pages: bool,
    domain_age: bool,
    cache: Path,
    allow_private: bool = False,
    overwrite: bool = False,
    contact: str = "",
    target: str | None = None,
) -> tuple[list[str], int]:
    """``linksift enrich``'s work: the summary lines and how many rows were rejected."""
    from features.importers import ImportOptions, read_links
    from serving import enrich as web
    from serving.batch import _write_table

    links, rejects = read_links(input, ImportOptions(target=target))
    lines = []
    if pages:
        options = web.PageOptions(
            cache=cache / "pages.db",
            allow_private=allow_private,
            overwrite=overwrite,
            contact=contact,
        )
        links, summary = web.enrich_pages(links, options)
        summary.input, summary.output = str(input), str(output)
        lines.append(summary.text())
    if domain_age:
        rdap = web.RdapOptions(
            cache=cache / "rdap.db",
            bootstrap=cache / "rdap-dns.json",
            url=os.environ.get("LINKSIFT_RDAP_URL", ""),
        )
        links = web.enrich_domain_age(links, rdap, overwrite)
        counts = links["domain_age_status"].str.replace(r"^registered .*", "registered")
        lines.append("  domain age:")
        lines += [f"  {n:>8,}  {s}" for s, n in counts.value_counts(sort=True).iter_rows()]
    _write_table(links.drop("row", "link_id", "duplicate", strict=False), output)
    return lines, rejects.height


disavow_app = typer.Typer(
    help="The disavow file's deny and allow lists (kept in the label store), and the file.",
    no_args_is_help=True,
)
app.add_typer(disavow_app, name="disavow")
LabelsOpt = Annotated[str | None, typer.Option(help="Label store URL (default: settings).")]


def _entries(values: list[str]) -> list[tuple[str, str]]:
    """``domain:example.com``, ``example.com`` or a URL, as list entries."""
    return [
        ("url", v)
        if v.lower().startswith(("http://", "https://"))
        else ("domain", v.removeprefix("domain:"))
        for v in values
    ]


@disavow_app.command("import")
def disavow_import(
    file: Annotated[Path, typer.Argument(help="An existing disavow file (Google's format).")],
    labels: LabelsOpt = None,
    reviewer: Annotated[str, typer.Option(help="Who decided.")] = "",
    config: ConfigOpt = None,
) -> None:
    """Put every domain and URL of an existing disavow file on the deny list: later
    proposals keep them."""
    from serving.disavow import parse_file
    from training.labels import LabelStore

    s = settings(config)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{file}: cannot read it as a UTF-8 text file ({exc})")
        return
    entries, problems = parse_file(text)
    for problem in problems[:20]:
        console.print(f"[yellow]skipped[/] {problem}", highlight=False)
    n = LabelStore(labels or s.resolved_labels_url()).decide(
        entries, "deny", note=f"in {file.name}", reviewer=reviewer
    )
    domains = sum(k == "domain" for k, _ in entries)
    out.print(
        f"{file}: {n:,} entries on the deny list ({domains:,} domains, {n - domains:,} URLs); "
        f"{len(problems):,} lines skipped",
        highlight=False,
    )


def _decide(
    values: list[str], decision: str, note: str, labels: str | None, config: Path | None
) -> None:
    from training.labels import LabelStore

    s = settings(config)
    n = LabelStore(labels or s.resolved_labels_url()).decide(_entries(values), decision, note=note)
    out.print(f"{n:,} entries: {decision}", highlight=False)


@disavow_app.command("deny")
def disavow_deny(
    values: Annotated[list[str], typer.Argument(help="Domains or URLs.")],
    note: Annotated[str, typer.Option(help="Why.")] = "",
    labels: LabelsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Always list these domains or URLs in the disavow file."""
    _decide(values, "deny", note, labels, config)


@disavow_app.command("allow")
def disavow_allow(
    values: Annotated[list[str], typer.Argument(help="Domains or URLs.")],
    note: Annotated[str, typer.Option(help="Why.")] = "",
    labels: LabelsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Never list these domains or URLs in the disavow file."""
    _decide(values, "allow", note, labels, config)


@disavow_app.command("remove")
def disavow_remove(
    values: Annotated[list[str], typer.Argument(help="Domains or URLs.")],
    labels: LabelsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Take these domains or URLs off the deny or allow list."""
    _decide(values, "remove", "", labels, config)


@disavow_app.command("export")
def disavow_export(
    scored: Annotated[Path, typer.Argument(help="A `linksift score` output (CSV or Parquet).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Disavow file to write.")],
    policy: Annotated[str, typer.Option(help="cleanup or manual-action.")] = "cleanup",
    labels: LabelsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Build the disavow file from the lists' decisions plus the proposals of a scored file."""
    from serving import disavow
    from training.labels import LabelStore

    s = settings(config)
    if policy not in disavow.POLICIES:
        fail(f"--policy: expected one of {', '.join(disavow.POLICIES)}, got {policy!r}")
    import polars as pl

    try:
        table = disavow.read_scored(str(scored))
    except (OSError, pl.exceptions.PolarsError) as exc:
        fail(f"{scored}: cannot read it as a linksift score output ({exc})")
        return
    made = disavow.build(
        disavow.collect([table], policy=policy),
        header=f"from {scored.name}",
        policy=policy,
        decisions=LabelStore(labels or s.resolved_labels_url()).decisions(),
    )
    output.write_text(made.text, encoding="utf-8")
    out.print(f"wrote {output}: {made.note}", highlight=False)


@disavow_app.command("compare")
def disavow_compare(
    previous: Annotated[Path, typer.Argument(help="The previous audit (a score output).")],
    current: Annotated[Path, typer.Argument(help="This audit of the same target.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the per-domain changes (CSV).")
    ] = None,
    policy: Annotated[str, typer.Option(help="cleanup or manual-action.")] = "cleanup",
) -> None:
    """A re-audit: what changed since the previous audit of the same target (new and gone
    links and domains, domains now or no longer proposed for disavow)."""
    import polars as pl

    from features import schema
    from serving import disavow

    try:
        changes = disavow.compare(
            disavow.read_scored(str(previous)), disavow.read_scored(str(current)), policy
        )
    except (OSError, pl.exceptions.PolarsError) as exc:
        fail(f"cannot compare: {exc}")
        return
    counts = changes.group_by("change").len().filter(pl.col("change") != "")
    out.print(
        f"{previous.name} -> {current.name}: {int(changes['new_links'].sum()):,} new links, "
        f"{int(changes['gone_links'].sum()):,} gone; domains: "
        + (", ".join(f"{n:,} {c}" for c, n in sorted(counts.rows())) or "no changes"),
        highlight=False,
    )
    for row in (
        changes.filter(pl.col("change").is_in(["now disavow", "new domain"]))
        .head(20)
        .rows(named=True)
    ):
        out.print(
            f"  {row['change']:<18} {row['referring_domain']} "
            f"({row['links_after']:,} links, action {row['action_after']})",
            highlight=False,
        )
    if output:
        schema.write_csv(changes, output)
        out.print(f"wrote {output}", highlight=False)


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 3000,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    model: ModelOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Start the HTTP API and review page (BentoML) on HOST:PORT."""
    import os

    s = settings(config)
    env = dict(os.environ, BENTOML_DO_NOT_TRACK="True")
    chosen = model or s.resolved_model()
    if chosen:
        env["LINKSIFT_MODEL"] = chosen
    env.setdefault("MLFLOW_TRACKING_URI", s.resolved_tracking_uri())
    env.setdefault("LINKSIFT_LABELS_URL", s.resolved_labels_url())
    from features.artifact import ModelLoadError
    from serving.model import LinkModel
    from training.tracking import RegistryError

    try:  # refuse a broken model here, with its reason, before a server is started
        LinkModel.load(chosen or None, tracking_uri=env["MLFLOW_TRACKING_URI"])
    except (ModelLoadError, RegistryError) as exc:
        console.print(f"[red]error:[/red] the model was refused: {exc}")
        raise typer.Exit(2) from exc
    cmd = [
        sys.executable,
        "-m",
        "bentoml",
        "serve",
        "serving.service:Linksift",
        "--port",
        str(port),
        "--host",
        host,
    ]
    console.print(f"linksift API on http://{host}:{port} (docs at /docs, review page at /review)")
    raise typer.Exit(_run_forwarding_signals(cmd, env))


def _run_forwarding_signals(cmd: list[str], env: dict[str, str]) -> int:
    """Run the server as a child; SIGTERM or SIGINT to this process stops it too (a process
    manager stopping `linksift serve` must not leave a server holding the port)."""
    import signal
    import subprocess

    child = subprocess.Popen(cmd, env=env)

    def stop(signum: int, _frame: object) -> None:
        child.send_signal(signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while True:
            try:
                return child.wait(timeout=60)
            except subprocess.TimeoutExpired:
                continue
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if child.poll() is None:
            child.kill()


def main() -> None:  # pragma: no cover - console entry point wrapper
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover - `python -m linksift.cli`
    main()
