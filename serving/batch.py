"""Batch scoring of a whole link export: streamed, resumable, every row accounted for.

    linksift score export.csv -o scored.csv --disavow disavow.txt --report report.html

Pass 1 streams the file once to build the profile (links per referring site, anchor repetition,
the target's terms), so a link's features do not depend on which chunk it falls in, and keeps
each chunk's facts (the features that do not depend on the profile). Pass 2 adds the profile's
features and scores chunk by chunk; each finished chunk is written to a work folder next to the output
(``.scored.csv.linksift-work/``, Arrow IPC files) with a temporary name and renamed when
complete, so a run that is killed can continue with ``--resume`` from its last finished chunk.
The output is written from the finished chunks, in order, into a temporary file that is renamed
over the destination only when it is complete: there is never a half-written file in its
place.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from features import schema
from features.extract import Profile, link_facts
from features.importers import (
    OUTPUT_COLUMNS,
    REJECT_SCHEMA,
    ImportChunk,
    Importer,
    ImportOptions,
    InputError,
)
from serving import disavow, report
from serving.model import VERDICTS, Explain, LinkModel, Scores, fewer_collections
from training.reviewed import REVIEWED_PREFIX, Reviewed

WORK_SUFFIX = ".linksift-work"
_VERDICTS = pl.Series(VERDICTS, dtype=pl.String)


class BatchError(ValueError):
    """A batch run that cannot go on, said plainly."""


@dataclass
class BatchOptions:
    explain: Explain = "all"
    chunk_rows: int = 25_000
    resume: bool = False
    as_of: date = field(default_factory=date.today)
    format: str = "auto"
    target: str | None = None
    threads: int = field(default_factory=lambda: min(os.cpu_count() or 1, 4))
    disavow: Path | None = None
    disavow_policy: str = "cleanup"  # see serving/disavow.py
    domains: Path | None = None  # the referring-domains table (CSV or Parquet by extension)
    decisions: disavow.Decisions | None = None  # the label store's deny and allow lists
    report: Path | None = None
    reviewed: Reviewed | None = None  # people's standing labels, which override verdicts


@dataclass
class BatchSummary:
    """What a batch run did; ``read == scored + rejected`` always."""

    input: str
    output: str
    rejects: str | None
    read: int = 0
    scored: int = 0
    rejected: int = 0
    duplicates: int = 0
    verdicts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(VERDICTS, 0))
    seconds: float = 0.0
    resumed_chunks: int = 0
    model_version: str = ""
    disavow: str | None = None
    disavow_note: str = ""
    domains: str | None = None
    report: str | None = None
    reviewed: int = 0  # rows whose verdict a person's label decided
    evidence: dict[str, int] = field(default_factory=lambda: dict.fromkeys(schema.EVIDENCE, 0))

    @property
    def rate(self) -> float:
        return self.read / self.seconds if self.seconds else 0.0

    def text(self) -> str:
        v = self.verdicts
        lines = [
            f"{self.input}: {self.read:,} rows read = {self.scored:,} scored + "
            f"{self.rejected:,} rejected",
            f"  verdicts    good {v['good']:,} · review {v['review']:,} · spam {v['spam']:,}",
            f"  time        {self.seconds:,.1f} s ({self.rate:,.0f} rows/s), model {self.model_version}",
            f"  scored      → {self.output}",
        ]
        if self.rejects:
            lines.append(f"  rejected    → {self.rejects}")
        if self.reviewed:
            lines.append(
                f"  reviewed    {self.reviewed:,} verdicts set by people's labels "
                "(the first reason says who and when)"
            )
        thin = self.evidence[schema.EVIDENCE[0]] + self.evidence[schema.EVIDENCE[1]]
        if thin:
            lines.append(
                f"  evidence    thin for {thin:,} rows ({thin / max(self.scored, 1):.0%}): "
                f"{self.evidence[schema.EVIDENCE[0]]:,} URL only (verdicts at most review), "
                f"{self.evidence[schema.EVIDENCE[1]]:,} URL + anchor"
            )
        if self.duplicates:
            lines.append(f"  duplicates  {self.duplicates:,} (scored, flagged in 'duplicate')")
        if self.resumed_chunks:
            lines.append(f"  resumed     {self.resumed_chunks} finished chunks reused")
        if self.disavow:
            lines.append(
                f"  disavow     → {self.disavow}"
                + (f" ({self.disavow_note})" if self.disavow_note else "")
            )
        if self.domains:
            lines.append(f"  domains     → {self.domains}")
        if self.report:
            lines.append(f"  report      → {self.report}")
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------------
# output tables
# ------------------------------------------------------------------------------------------------


def scored_table(
    links: pl.DataFrame, scores: Scores, model_version: str, policy: str = "cleanup"
) -> pl.DataFrame:
    """Input columns (canonical + pass-through) with the score columns in front."""
    return with_scores(links, score_columns(links, scores, model_version, policy))


def with_scores(links: pl.DataFrame, scored: pl.DataFrame) -> pl.DataFrame:
    """``links`` with the score columns of ``scored`` in front (after ``row`` and ``link_id``)."""
    front = ["row", "link_id"]
    rest = [c for c in links.columns if c not in front and c not in scored.columns]
    return pl.concat([links.select(front), scored, links.select(rest)], how="horizontal")


def score_columns(
    links: pl.DataFrame, scores: Scores, model_version: str, policy: str = "cleanup"
) -> pl.DataFrame:
    """The ``OUTPUT_COLUMNS`` of scored ``links``; ``action`` follows the disavow policy
    (``disavow.link_actions``)."""
    n = links.height
    reasons = [pl.Series(f"reason_{k + 1}", [None] * n, dtype=pl.String) for k in range(3)]
    if scores.reasons is not None:
        explained = scores.explained if scores.explained is not None else np.ones(n, bool)
        for k in range(min(3, scores.reasons.feature.shape[1])):
            text = scores.reasons.labelled(k)
            reasons[k] = pl.select(
                pl.when(pl.Series(explained)).then(text).alias(f"reason_{k + 1}")
            ).to_series()
    if scores.reviewed is not None:
        # a person's verdict comes first; the model's reasons follow it
        note = pl.Series(scores.review_notes, dtype=pl.String)
        shifted = [note, *reasons[:2]]
        reasons = [
            pl.select(
                pl.when(note.is_not_null()).then(new).otherwise(old).alias(old.name)
            ).to_series()
            for new, old in zip(shifted, reasons, strict=True)
        ]
    verdict = _VERDICTS.gather(scores.verdict_code.astype(np.int64)).alias("verdict")
    table = pl.DataFrame(
        [
            verdict,
            disavow.link_actions(links, verdict.cast(pl.String), policy),
            scores.evidence if scores.evidence is not None else schema.evidence(links),
            pl.Series("spam_probability", np.round(scores.probability, 6), dtype=pl.Float64),
            pl.Series("quality_score", scores.quality_score, dtype=pl.Int64),
            *reasons,
            pl.Series("model_version", [model_version] * n, dtype=pl.String),
        ]
    )
    assert set(table.columns) == set(OUTPUT_COLUMNS)
    return table


class _Writer:
    """Writes the final output (CSV or Parquet by extension) to a temporary file, then renames."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_name(f".{path.name}.partial")
        self.csv = path.suffix.lower() not in (".parquet", ".pq")
        self.schema: pl.Schema | None = None
        self._writer: Any = None

    def write(self, table: pl.DataFrame) -> None:
        if self.schema is None:
            self.schema = table.schema
            if self.csv:
                self._writer = self.tmp.open("wb")
            else:
                arrow = table.to_arrow()
                # min/max statistics for numbers, flags and dates (what readers filter on);
                # for long text (URLs, contexts, reasons) they cost a fifth of the writing
                stats = [c for c, t in table.schema.items() if t != pl.String]
                self._writer = pq.ParquetWriter(
                    self.tmp, arrow.schema, write_statistics=stats, use_dictionary=_repeating(table)
                )
        table = conform(table, self.schema)
        if self.csv:
            schema.write_csv(table, self._writer, include_header=self._writer.tell() == 0)
        else:
            self._writer.write_table(table.to_arrow())

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with open(self.tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(self.tmp, self.path)

    def abort(self) -> None:
        if self._writer is not None:
            # the writer may already be broken (disk full): there is nothing more to flush
            with contextlib.suppress(Exception):
                self._writer.close()
        self.tmp.unlink(missing_ok=True)


def _repeating(table: pl.DataFrame) -> list[str]:
    """Columns whose values repeat (at most half of them distinct in the first chunk): the
    ones a Parquet dictionary makes smaller. For the others (URLs, ids, scores, contexts) the
    writer would hash every value into a dictionary it then drops, which took ~15% of it."""
    distinct = table.select(pl.all().n_unique()).row(0, named=True)
    return [name for name, n in distinct.items() if 2 * n <= max(table.height, 1)]


def conform(table: pl.DataFrame, target: pl.Schema) -> pl.DataFrame:
    """A chunk in the first chunk's schema (a column that is all null may have come out
    typed otherwise, a pass-through column may be missing)."""
    if table.schema == target:
        return table
    return table.select(
        (pl.col(name) if name in table.columns else pl.lit(None)).cast(dtype).alias(name)
        for name, dtype in target.items()
    )


# ------------------------------------------------------------------------------------------------
# resumable work folder
# ------------------------------------------------------------------------------------------------


def _fingerprint(path: Path) -> dict[str, Any]:
    st = path.stat()
    h = hashlib.sha256()
    with path.open("rb") as fh:
        h.update(fh.read(1 << 20))
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "head_sha256": h.hexdigest()}


WORK_LAYOUT = 4
"""What the work folder's files hold (3: Polars facts and profile); a folder from an earlier
layout is not resumed."""


class WorkFolder:
    """Finished chunks of one run, so an interrupted run can resume."""

    def __init__(self, output: Path, state: dict[str, Any], resume: bool) -> None:
        self.dir = output.with_name(f".{output.name}{WORK_SUFFIX}")
        self.state = state
        state_file = self.dir / "state.json"
        if resume and state_file.exists():
            saved = json.loads(state_file.read_text())
            changed = [k for k in state if saved.get(k) != state[k]]
            if changed:
                raise BatchError(
                    f"cannot resume: {', '.join(changed)} changed since the interrupted run "
                    f"(remove {self.dir} or run without --resume to start over)"
                )
        else:
            if self.dir.exists():
                shutil.rmtree(self.dir)
            self.dir.mkdir(parents=True)
            _atomic_write(state_file, json.dumps(state, indent=1).encode())

    def canonical(self, i: int) -> Path:
        return self.dir / f"canonical-{i:06d}.arrow"

    def facts(self, i: int) -> Path:
        return self.dir / f"facts-{i:06d}.arrow"

    def part(self, i: int) -> Path:
        return self.dir / f"part-{i:06d}.arrow"

    def rejects(self, i: int) -> Path:
        return self.dir / f"rejects-{i:06d}.arrow"

    def done(self, i: int) -> bool:
        return self.part(i).exists()

    def aggregate(self, i: int) -> Path:
        return self.dir / f"report-{i:06d}.json"

    def save(self, i: int, result: ChunkResult) -> None:
        _atomic_write(self.aggregate(i), json.dumps(result.aggregate).encode())
        _atomic_ipc(result.scores, self.part(i))  # written last: its presence means "done"
        self.facts(i).unlink(missing_ok=True)  # scored: its facts are not needed again

    def scored(self, i: int, columns: list[str] | None = None) -> pl.DataFrame:
        """Chunk ``i`` as it is written out: its input columns with its scores in front (the
        part holds only the scores; the input columns stay in its canonical chunk)."""
        table = with_scores(_read_ipc(self.canonical(i)), _read_ipc(self.part(i)))
        return table if columns is None else table.select(columns)

    def profile(self) -> Profile | None:
        folder = self.dir / "profile"
        return Profile.read(folder) if (folder / "done").exists() else None

    def save_profile(self, profile: Profile) -> None:
        folder = self.dir / "profile"
        profile.write(folder)
        (folder / "done").touch()

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def _atomic_write(path: Path, blob: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(blob)
    os.replace(tmp, path)


def _atomic_ipc(table: pl.DataFrame, path: Path) -> None:
    """A chunk in Arrow's own file format: the work folder's chunks are written once and read
    once or twice, and Arrow IPC costs next to nothing either way (Parquet's encoding took
    ~2 µs per link to write and ~1 µs to read, for each of the two kinds of chunk)."""
    tmp = path.with_name(path.name + ".tmp")
    table.write_ipc(tmp, compression="uncompressed")
    os.replace(tmp, path)


def _read_ipc(path: Path) -> pl.DataFrame:
    """A work-folder chunk."""
    return pl.read_ipc(path)


# ------------------------------------------------------------------------------------------------
# the run
# ------------------------------------------------------------------------------------------------


Progress = Callable[[int, int], None]
"""Called with (rows done, rows total) as chunks finish."""


def _importer(input: Path, options: BatchOptions) -> Importer:
    return Importer(
        input,
        ImportOptions(
            format=options.format,
            target=options.target,
            as_of=options.as_of,
            chunk_rows=options.chunk_rows,
        ),
    )


def _import_job(
    importer: Importer, raw: tuple, as_of: date
) -> tuple[ImportChunk, Profile, pl.DataFrame]:
    """One raw chunk validated, with its facts (``link_facts``) and its part of the profile:
    all of it needs nothing from other chunks."""
    chunk = importer.canonical(*raw)
    facts = link_facts(chunk.links, as_of=as_of)
    return chunk, Profile.of(facts), facts


def import_and_profile(
    input: Path, options: BatchOptions, work: WorkFolder, pool: _Pool
) -> tuple[Profile, int, int]:
    """Pass 1: validate the file into canonical chunks (kept in the work folder, so pass 2
    and a resumed run never parse the input again), keep each chunk's facts, and build the
    profile of the whole file (each chunk's part, added up; counts add up exactly).

    This thread reads the file; pool threads validate chunks and compute their facts and
    partial profiles; this thread then takes them in file order to flag duplicates, save them
    and add up the profile. At most ``threads + 1`` chunks are in flight, so memory stays flat.

    Returns (profile, records, chunks)."""
    importer = _importer(input, options)
    parts: list[Profile] = []
    records = 0
    pending: deque[Future] = deque()

    def finish(i: int) -> None:
        nonlocal records
        chunk, partial, facts = pending.popleft().result()
        chunk = importer.mark_duplicates(chunk)
        _atomic_ipc(chunk.rejects, work.rejects(i))
        _atomic_ipc(facts.drop("topical"), work.facts(i))  # its words counted: not needed again
        _atomic_ipc(chunk.links, work.canonical(i))
        parts.append(partial)
        if len(parts) >= 8:  # keep the partial profiles few: add them up as they come
            parts[:] = [Profile.merge(parts)]
        records += chunk.links.height + chunk.rejects.height

    done = 0
    for raw in importer.raw_chunks():
        pending.append(pool.submit(_import_job, importer, raw, options.as_of))
        while len(pending) > pool.threads:
            finish(done)
            done += 1
    while pending:
        finish(done)
        done += 1
    return Profile.merge(parts).finish(), records, done


@dataclass
class ChunkResult:
    """One scored chunk: its score columns and its share of the report."""

    scores: pl.DataFrame
    aggregate: dict


def score_chunk(
    model: LinkModel,
    links: pl.DataFrame,
    facts: pl.DataFrame,
    profile: Profile,
    options: BatchOptions,
) -> ChunkResult:
    scores = model.score(
        links,
        profile,
        facts=facts,
        as_of=options.as_of,
        explain=options.explain,
        keep_contributions=options.explain != "none",
        parallel=options.threads <= 1,  # with several threads, each chunk keeps to its own
        reviewed=options.reviewed,
    )
    aggregate = report.chunk_aggregate(links, scores)
    columns = score_columns(links, scores, model.model_version, options.disavow_policy)
    return ChunkResult(columns, aggregate)


def _score_job(
    i: int, work: WorkFolder, model: LinkModel, profile: Profile, options: BatchOptions
) -> None:
    """Score chunk ``i`` from the work folder and save it there."""
    links, facts = _read_ipc(work.canonical(i)), _read_ipc(work.facts(i))
    work.save(i, score_chunk(model, links, facts, profile, options))


class _Pool:
    """Chunk jobs on ``threads`` threads, or in the calling thread when there is one.

    Threads rather than processes: the heavy parts (Arrow kernels, CSV and Parquet I/O,
    LightGBM, the explainer's kernels) release the GIL, so two threads keep two cores
    mostly busy, without a second copy of the libraries and the model in memory. At most
    ``threads`` chunks are in memory at once.
    """

    def __init__(self, threads: int) -> None:
        self.threads = max(threads, 1)
        self.executor = ThreadPoolExecutor(self.threads) if self.threads > 1 else None

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        if self.executor is not None:
            return self.executor.submit(fn, *args)
        future: Future = Future()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # surfaces through .result(), as in a real pool
            future.set_exception(exc)
        return future

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)


def score_file(
    input: str | Path,
    output: str | Path,
    model: LinkModel,
    options: BatchOptions | None = None,
    *,
    progress: Progress | None = None,
) -> BatchSummary:
    """Score a whole export to ``output``; rejected rows go to ``OUTPUT.rejects.csv``;
    optionally write a disavow file and an HTML report."""
    with fewer_collections():
        return _score_file(input, output, model, options, progress)


def _score_file(
    input: str | Path,
    output: str | Path,
    model: LinkModel,
    options: BatchOptions | None,
    progress: Progress | None,
) -> BatchSummary:
    options = options or BatchOptions()
    input, output = Path(input), Path(output)
    if not input.is_file():
        raise BatchError(f"cannot read {input}: no such file")
    if output.resolve() == input.resolve():
        raise BatchError("the output must not overwrite the input")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BatchError(f"cannot write {output}: {exc.strerror or exc}") from exc
    if not os.access(output.parent, os.W_OK):
        raise BatchError(f"cannot write {output}: {output.parent} is not writable")
    started = time.perf_counter()
    state = {
        "input": str(input.resolve()),
        "fingerprint": _fingerprint(input),
        "chunk_rows": options.chunk_rows,
        "explain": options.explain,
        "as_of": options.as_of.isoformat(),
        "format": options.format,
        "target": options.target,
        "model_version": model.model_version,
        "layout": WORK_LAYOUT,
        "reviewed": options.reviewed.fingerprint() if options.reviewed else "",
    }
    work = WorkFolder(output, state, options.resume)
    summary = BatchSummary(str(input), str(output), None, model_version=model.model_version)
    if input.stat().st_size <= options.chunk_rows * 200:  # roughly: a single chunk
        options = replace(options, threads=1)  # so it is scored with all cores, on this thread
    pool = _Pool(options.threads)
    try:
        profile = work.profile()
        saved = json.loads((work.dir / "state.json").read_text())
        total, n_chunks = saved.get("records"), saved.get("chunks")
        if profile is None or total is None or n_chunks is None:
            profile, total, n_chunks = import_and_profile(input, options, work, pool)
            work.save_profile(profile)
        _atomic_write(
            work.dir / "state.json",
            json.dumps({**state, "records": total, "chunks": n_chunks}).encode(),
        )
        # pass 2: every chunk not finished by an earlier run is scored and saved (each
        # chunk's part is complete or absent, so a kill at any point is resumable); this
        # thread writes the finished parts to the output in order meanwhile
        todo = [i for i in range(n_chunks) if not work.done(i)]
        summary.resumed_chunks = n_chunks - len(todo)
        futures = {i: pool.submit(_score_job, i, work, model, profile, options) for i in todo}
        if progress:
            progress(0, total)
        _assemble(work, n_chunks, futures, output, summary, progress, total)
    finally:
        pool.close()
    if options.disavow or options.report or options.domains:
        sites = disavow.collect(
            (work.scored(i) for i in range(n_chunks)), policy=options.disavow_policy
        )
        domains = disavow.domains_table(sites, options.decisions)
        if options.domains:
            _write_table(domains, Path(options.domains))
            summary.domains = str(options.domains)
        if options.disavow:
            made = disavow.build(
                sites,
                header=f"model {model.model_version}, {Path(summary.input).name}",
                policy=options.disavow_policy,
                synthetic=bool(model.scorer.artifact.card.get("synthetic")),
                decisions=options.decisions,
            )
            _atomic_write(Path(options.disavow), made.text.encode("utf-8"))
            summary.disavow, summary.disavow_note = str(options.disavow), made.note
        summary.seconds = time.perf_counter() - started
        if options.report:
            merged = report.merge(
                [json.loads(work.aggregate(i).read_text()) for i in range(n_chunks)]
            )
            page = report.render(
                summary,
                merged,
                report.profile_facts(work.scored(i) for i in range(n_chunks)),
                domains,
                model.describe(),
                model.scorer.artifact.card,
                options.as_of.isoformat(),
                profile.anchor_mix,
            )
            blob = page.encode("utf-8")
            if Path(options.report).suffix.lower() == ".pdf":
                try:
                    blob = report.to_pdf(page)
                except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
                    raise BatchError(f"--report {options.report}: {exc}") from None
            _atomic_write(Path(options.report), blob)
            summary.report = str(options.report)
    summary.seconds = time.perf_counter() - started
    work.remove()
    return summary


def _write_table(table: pl.DataFrame, path: Path) -> None:
    """A small output table, CSV (spreadsheet-safe) or Parquet by extension, written whole."""
    writer = _Writer(path)
    try:
        writer.write(table)
        writer.close()
    except BaseException:
        writer.abort()
        raise


def _add(summary: BatchSummary, scored: pl.DataFrame, rejected: int) -> None:
    summary.scored += scored.height
    summary.rejected += rejected
    summary.read += scored.height + rejected
    summary.duplicates += int(scored["duplicate"].sum())
    summary.reviewed += int(scored["reason_1"].str.starts_with(REVIEWED_PREFIX).sum())
    for value, n in scored["verdict"].value_counts().iter_rows():
        summary.verdicts[value] = summary.verdicts.get(value, 0) + n
    for value, n in scored["evidence"].value_counts().iter_rows():
        summary.evidence[value] = summary.evidence.get(value, 0) + n


def _assemble(
    work: WorkFolder,
    n_parts: int,
    futures: dict[int, Future],
    output: Path,
    summary: BatchSummary,
    progress: Progress | None,
    total: int,
) -> None:
    """Write the finished chunks to the output and the rejects file in order, as they finish,
    and rename both into place only when complete."""
    writer = _Writer(output)
    rejects_path = output.with_name(output.stem + ".rejects.csv")
    rejects_writer = _Writer(rejects_path)
    try:
        for i in range(n_parts):
            if i in futures:
                futures.pop(i).result()
            part = work.scored(i)
            writer.write(part)
            rej = _read_ipc(work.rejects(i))
            if rej.height:
                rejects_writer.write(rej.cast(REJECT_SCHEMA))
            _add(summary, part, rej.height)
            del part
            if progress:
                progress(summary.read, total)
        if writer.schema is None:  # nothing scored at all: still write the header
            writer.write(_empty_output())
        writer.close()
        rejects_writer.close()
    except BaseException:
        writer.abort()
        rejects_writer.abort()
        raise
    if rejects_writer.schema is not None:
        summary.rejects = str(rejects_path)
    else:
        rejects_path.unlink(missing_ok=True)


def _empty_output() -> pl.DataFrame:
    fields = {
        "row": pl.Int64,
        "link_id": pl.String,
        "verdict": pl.String,
        "action": pl.String,
        "spam_probability": pl.Float64,
        "quality_score": pl.Int64,
        "reason_1": pl.String,
        "reason_2": pl.String,
        "reason_3": pl.String,
        "model_version": pl.String,
        "duplicate": pl.Boolean,
    }
    fields.update((c, schema.polars_type(c)) for c in schema.CANONICAL)
    return pl.DataFrame(schema=fields)


# ------------------------------------------------------------------------------------------------
# import only
# ------------------------------------------------------------------------------------------------


@dataclass
class ImportSummary:
    """What ``import_file`` did, for the person who ran it."""

    input: Path
    format: str
    output: Path
    rejects_path: Path | None
    read: int = 0
    kept: int = 0
    rejected: int = 0
    duplicates: int = 0

    def text(self) -> str:
        lines = [
            f"{self.input}: {self.format} export",
            f"  rows read   {self.read:>10,}",
            f"  kept        {self.kept:>10,}  → {self.output}",
            f"  rejected    {self.rejected:>10,}"
            + (f"  → {self.rejects_path}" if self.rejects_path else ""),
        ]
        if self.duplicates:
            lines.append(f"  duplicates  {self.duplicates:>10,}  (kept, flagged in 'duplicate')")
        return "\n".join(lines)


def import_file(
    path: str | Path,
    output: str | Path,
    options: ImportOptions | None = None,
    rejects_path: str | Path | None = None,
) -> ImportSummary:
    """``linksift import``: any export to canonical Parquet, rejected rows to
    ``OUTPUT.rejects.csv``; both written as the scored output is (renamed when complete)."""
    output = Path(output)
    rejects_path = Path(rejects_path) if rejects_path else output.with_suffix(".rejects.csv")
    importer = Importer(path, options)
    summary = ImportSummary(Path(path), importer.format, output, None)
    output.parent.mkdir(parents=True, exist_ok=True)
    writer, rejects_writer = _Writer(output), _Writer(rejects_path)
    try:
        for chunk in importer.chunks():
            writer.write(chunk.links)
            summary.kept += chunk.links.height
            summary.duplicates += int(chunk.links["duplicate"].sum())
            if chunk.rejects.height:
                rejects_writer.write(chunk.rejects)
                summary.rejected += chunk.rejects.height
        if writer.schema is None:
            writer.write(pl.DataFrame(schema=schema.canonical_schema()))
        writer.close()
        rejects_writer.close()
    except BaseException:
        writer.abort()
        rejects_writer.abort()
        raise
    summary.read = summary.kept + summary.rejected
    if rejects_writer.schema is not None:
        summary.rejects_path = rejects_path
    else:
        rejects_path.unlink(missing_ok=True)
    return summary


__all__ = ["BatchError", "BatchOptions", "BatchSummary", "InputError", "score_file"]
