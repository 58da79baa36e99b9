"""Read any backlink export into the canonical link table, in bounded-memory chunks.

Flow: ``sniff`` finds the encoding, delimiter and header; ``detect_format`` recognises the
vendor from the header; ``Importer.chunks`` streams the file with Arrow's CSV reader, maps the
vendor's columns onto the canonical ones (``schema.COLUMNS`` says which feeds which), parses
and validates them, and yields the kept rows and the rejected rows (row number, field, reason)
chunk by chunk. Every record is either kept or rejected: nothing is dropped quietly.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl
import polars_hash as plh
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from features import parse, schema

FORMATS = ("auto", *schema.VENDORS)
DEFAULT_CHUNK_ROWS = 100_000
OUTPUT_COLUMNS = (
    "spam_probability",
    "quality_score",
    "verdict",
    "action",
    "evidence",
    "reason_1",
    "reason_2",
    "reason_3",
    "model_version",
)
RESERVED = {n.lower() for n in (*schema.EXTRA, *schema.CANONICAL, *OUTPUT_COLUMNS)}

# A header is recognised when it contains every name of one of the format's signatures.
SIGNATURES: dict[str, tuple[frozenset[str], ...]] = {
    # checked in this order: specific signatures before the generic "Source url, Target url"
    "canonical": (frozenset({"source_url", "target_url"}), frozenset({"source_url"})),
    "ahrefs": (frozenset({"referring page url"}),),
    "majestic": (
        frozenset({"source url", "target url", "flagnofollow"}),
        frozenset({"source url", "sourcetrustflow"}),
    ),
    "moz": (
        frozenset({"url", "target url", "domain authority"}),
        frozenset({"url", "page authority", "anchor text"}),
    ),
    "semrush": (
        frozenset({"source url", "target url", "page ascore"}),
        frozenset({"source url", "target url"}),
    ),
    "gsc": (frozenset({"linking page"}), frozenset({"linking pages"})),
    "crawler": (frozenset({"backlink", "target_url", "is_dofollow"}),),
}

EARLIEST = date(1985, 1, 1)
EARLIEST_REASON = "expected a date from 1985 on (the first domain was registered in 1985)"
"""Dates before this are placeholders (0001-01-01, 1970-01-01), not when anything happened;
read as real, a domain "created" in year 1 would look 2,000 years old and trustworthy."""

REJECT_SCHEMA = {"row": pl.Int64, "field": pl.String, "reason": pl.String, "value": pl.String}


class InputError(ValueError):
    """A problem with an input, worded for the person who supplied it."""


@dataclass(frozen=True)
class Layout:
    """How a file is laid out: what ``sniff`` found."""

    path: Path
    kind: Literal["csv", "parquet"]
    header: tuple[str, ...]
    encoding: str = "utf-8"
    delimiter: str = ","
    skip_lines: int = 0
    has_rows: bool = True
    clean: bool = True  # UTF-8 throughout, no NUL bytes: read as text directly
    header_chars: int = 0


@dataclass(frozen=True)
class ImportOptions:
    """Choices that change how rows are read.

    ``target`` fills ``target_url`` for exports that lack it (Google Search Console);
    ``as_of`` is the day dates may not be later than.
    """

    format: str = "auto"
    target: str | None = None
    as_of: date = field(default_factory=date.today)
    chunk_rows: int = DEFAULT_CHUNK_ROWS


@dataclass
class ImportChunk:
    links: pl.DataFrame
    rejects: pl.DataFrame


def norm_header(name: str) -> str:
    return " ".join(str(name).replace("\ufeff", "").strip().lower().split())


HEAD_BYTES = 1 << 16
"""How much of a file decides its encoding (and, for most files, holds the header)."""
MAX_HEADER_BYTES = 16 << 20
"""A header line longer than this is not a header."""
# Python's csv module refuses fields over 128 KiB by default: a wide header tried with the
# wrong delimiter, or a long cell in a damaged file, is one such field.
csv.field_size_limit(max(csv.field_size_limit(), MAX_HEADER_BYTES))


def _encoding(head: bytes) -> tuple[str, int]:
    """Encoding of a file from its first bytes, and the BOM length.

    The rule: a BOM decides; NUL bytes in a UTF-16 pattern mean UTF-16; otherwise UTF-8,
    unless the first 64 KiB hold non-ASCII bytes and none of them forms a UTF-8 character:
    then Windows-1252 (what spreadsheets on Windows save). In a UTF-8 file, a row with bytes
    that are not UTF-8 (or NUL bytes) is rejected on its own (``read_raw``)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8", 3
    if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16", 2
    if b"\x00" in head:
        even, odd = head[0::2], head[1::2]
        if odd.count(0) > len(odd) * 0.3 and even.count(0) < len(even) * 0.05:
            return "utf-16-le", 0
        if even.count(0) > len(even) * 0.3 and odd.count(0) < len(odd) * 0.05:
            return "utf-16-be", 0
        if head.count(0) > len(head) * 0.05 or b"\x00" in head.split(b"\n", 1)[0]:
            raise InputError(
                "the file holds binary data (NUL bytes); expected a CSV/TSV text export"
            )
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8", 0
    except UnicodeDecodeError:
        pass
    utf8_characters = re.search(rb"[\xc2-\xf4][\x80-\xbf]+", head) is not None
    return ("utf-8" if utf8_characters else "cp1252"), 0


def _clean_utf8(path: Path, skip: int) -> bool:
    """Whether the file from byte ``skip`` (past the BOM) on is valid UTF-8 without NUL
    bytes: the fast reading path. Read in 4 MiB blocks (a few hundred MB a second)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as fh:
        fh.seek(skip)
        while block := fh.read(4 << 20):
            if b"\x00" in block:
                return False
            try:
                decoder.decode(block, final=False)
            except UnicodeDecodeError:
                return False
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _header_line(path: Path, head: bytes, bom: int, encoding: str) -> tuple[str, int, bool]:
    """(the header line, blank lines before it, whether rows follow), reading on past the
    first 64 KiB for very wide headers (twice as much each time, so a long header is decoded
    a few times, not once per 64 KiB)."""
    data = head
    with path.open("rb") as fh:
        fh.seek(len(head))
        while True:
            text = data[bom:].decode(encoding, errors="replace")
            lines = text.splitlines(keepends=True)
            skip = 0
            while skip < len(lines) and not lines[skip].strip():
                skip += 1
            ended = skip < len(lines) and lines[skip].endswith(("\n", "\r"))
            more = fh.read(len(data)) if not ended else b""
            if not more:
                break
            if len(data) > MAX_HEADER_BYTES:
                raise InputError(
                    f"{path}: the first line is longer than {MAX_HEADER_BYTES >> 20} MiB; "
                    "expected a header line of column names"
                )
            data += more
    if skip == len(lines):
        raise InputError(f"{path}: the file is empty")
    line = lines[skip].rstrip("\r\n")
    rows_follow = any(x.strip() for x in lines[skip + 1 :]) or path.stat().st_size > len(data)
    return line, skip, rows_follow


def sniff(path: str | Path) -> Layout:
    """Find encoding, delimiter and header of a CSV/TSV export, or recognise Parquet."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    with path.open("rb") as fh:
        head = fh.read(HEAD_BYTES)
    if not head.strip():
        raise InputError(f"{path}: the file is empty")
    if head.startswith(b"PAR1"):
        try:
            names = tuple(pq.ParquetFile(path).schema_arrow.names)
        except (pa.ArrowException, OSError) as exc:
            raise InputError(
                f"{path}: not a readable Parquet file (truncated or damaged: {exc})"
            ) from exc
        return Layout(path, "parquet", names)
    encoding, bom = _encoding(head)
    line, skip, rows_follow = _header_line(path, head, bom, encoding)
    printable = sum(ch.isprintable() or ch in "\t" for ch in line)
    if printable < len(line) * 0.9:
        raise InputError(f"{path}: the file does not look like text; expected a CSV/TSV export")
    best = max(
        (",", "\t", ";", "|"),
        key=lambda d: len(next(csv.reader([line], delimiter=d), [])),
    )
    header = tuple(h.strip() for h in next(csv.reader([line], delimiter=best)))
    clean = encoding != "utf-8" or _clean_utf8(path, bom)
    return Layout(path, "csv", header, encoding, best, skip, rows_follow, clean, len(line))


def detect_format(header: Iterable[str]) -> str:
    """Vendor of an export from its header names (case-insensitive)."""
    names = {norm_header(h) for h in header}
    for fmt, signatures in SIGNATURES.items():
        if any(sig <= names for sig in signatures):
            return fmt
    shown = ", ".join(repr(h) for h in list(header)[:12])
    raise InputError(
        f"could not recognise the export format from its header ({shown}); "
        "use canonical column names (source_url, target_url, ...) or pass --format "
        f"({'|'.join(schema.VENDORS)})"
    )


def column_sources(header: Iterable[str], fmt: str) -> dict[str, tuple[str, schema.Source | None]]:
    """Canonical column → (header it comes from, how) for a file of format ``fmt``.

    Canonical names are accepted in every format, so a vendor export with an added ``label``
    column trains as it is.
    """
    by_norm: dict[str, str] = {}
    for h in header:
        by_norm.setdefault(norm_header(h), h)
    mapping: dict[str, tuple[str, schema.Source | None]] = {}
    for col in schema.COLUMNS:
        src = col.sources.get(fmt)
        if src is not None:
            for alias in src.headers:
                if norm_header(alias) in by_norm:
                    mapping[col.name] = (by_norm[norm_header(alias)], src)
                    break
        if col.name not in mapping and col.name in by_norm:
            mapping[col.name] = (by_norm[col.name], None)
    return mapping


def _dedupe(names: Iterable[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        n = n or "column"
        if n in seen:
            seen[n] += 1
            n = f"{n}.{seen[n]}"
        else:
            seen[n] = 0
        out.append(n)
    return out


Problem = tuple[int, str, str]
"""A record rejected while reading: (row, field or "", reason)."""


def _malformed_records(layout: Layout) -> tuple[np.ndarray, list[Problem]]:
    """Record numbers of all well-formed records, and the problems of malformed ones.

    Only called when Arrow met a record with the wrong number of fields: Arrow cannot say
    where it was, Python's csv module can, so the slow scan runs just for damaged files. A
    record that runs over several lines names them: that is what an unbalanced quote does.
    """
    good, bad = [], []
    n = len(layout.header)
    with layout.path.open(encoding=layout.encoding, newline="", errors="replace") as fh:
        reader = csv.reader(fh, delimiter=layout.delimiter)
        header_seen = False
        row, line = 0, 0
        for rec in reader:
            first, line = line + 1, reader.line_num
            if not rec:
                continue
            if not header_seen:
                header_seen = True
                continue
            row += 1
            if len(rec) == n:
                good.append(row)
                continue
            reason = f"expected {n} fields, got {len(rec)}"
            if line > first:
                reason += (
                    f"; this record runs over lines {first}-{line} of the file "
                    f'({line - first + 1} lines): an unbalanced quote (") in line {first}?'
                )
            bad.append((row, "", reason))
    return np.asarray(good, dtype=np.int64), bad


def _run_on(frame: pl.DataFrame, rows: np.ndarray, delimiter: str, fields: int) -> list[Problem]:
    """Records whose text runs on over lines that look like records of their own: an
    unbalanced quote that swallowed the rows after it (Arrow reads such a quote to the end
    of the file without complaint)."""
    if fields < 3:
        return []
    d = re.escape(delimiter)
    swallowed = rf"\n[^\n]*https?://[^\n]*({d}[^\n]*){{{min(fields - 1, 20)}}}"
    out = []
    for name, dtype in frame.schema.items():
        if dtype != pl.String:
            continue
        hit = frame[name].str.contains(swallowed).fill_null(False)
        for i in hit.arg_true().to_list():
            lines = frame[name][i].rstrip("\r\n").count("\n") + 1
            out.append(
                (
                    int(rows[i]),
                    name,
                    f"{name}: runs over {lines} lines that look like records of their own: "
                    'an unbalanced quote (") in this row? Those lines were read as part of it',
                )
            )
    return out


def _decoded(frame: pl.DataFrame) -> tuple[pl.DataFrame, dict[int, Problem]]:
    """Binary cells as text; a cell that is not UTF-8, or holds a NUL byte, rejects its row
    (by index; the first such field). Only for files that are not clean UTF-8."""
    columns, problems = {}, {}
    for name in frame.columns:
        values = frame[name].to_list()
        text: list[str | None] = []
        for i, v in enumerate(values):
            if v is None:
                text.append(None)
                continue
            try:
                cell = v.decode("utf-8")
            except UnicodeDecodeError as exc:
                problems.setdefault(
                    i, (i, name, f"{name}: bytes that are not UTF-8 ({exc.reason})")
                )
                text.append(None)
                continue
            if "\x00" in cell:
                problems.setdefault(i, (i, name, f"{name}: a NUL byte; expected text"))
                text.append(None)
                continue
            text.append(cell)
        columns[name] = pl.Series(name, text, dtype=pl.String)
    return pl.DataFrame(columns), problems


def _as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Parquet columns that hold lists or structs, as JSON text: a canonical field then
    says what it got, a pass-through column stays readable in CSV output."""
    nested = [n for n, t in frame.schema.items() if t.is_nested()]
    if not nested:
        return frame
    return frame.with_columns(
        pl.Series(
            n, [None if v is None else json.dumps(v, default=str) for v in frame[n].to_list()]
        )
        for n in nested
    )


def read_raw(layout: Layout, chunk_rows: int) -> Iterator[tuple[pl.DataFrame, np.ndarray, list]]:
    """Stream records as all-string frames (typed columns for Parquet) with their 1-based
    record numbers. Arrow's streaming CSV reader does the reading: it transcodes UTF-16 and
    cp1252 exports and hands over records with the wrong number of fields.

    Yields ``(table, rows, problems)`` where ``problems`` lists the records rejected while
    reading (``Problem``) since the previous chunk: the wrong number of fields, bytes that
    are not UTF-8, NUL bytes, a quote that swallowed the rows after it.
    """
    names = _dedupe(layout.header)
    if layout.kind == "parquet":
        yield from _read_parquet(layout, names, chunk_rows)
        return
    if not layout.has_rows:
        return
    damaged: list[bool] = []

    def on_invalid(_row: Any) -> str:
        damaged.append(True)
        return "skip"

    text = pa.string() if layout.clean else pa.binary()
    try:
        reader = pacsv.open_csv(
            layout.path,
            read_options=pacsv.ReadOptions(
                encoding=layout.encoding,
                column_names=names,
                skip_rows=layout.skip_lines + 1,
                # the streaming reader keeps dozens of blocks in flight; a block must hold
                # the header line
                block_size=max(1 << 20, 8 * layout.header_chars),
                # no reader threads: this thread only reads while pool threads work on chunks
                use_threads=False,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=layout.delimiter, newlines_in_values=True, invalid_row_handler=on_invalid
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: text for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise InputError(f"{layout.path}: cannot read as CSV: {exc}") from exc
    emitted = 0
    positions: np.ndarray | None = None
    pending_bad: list[Problem] = []
    buffer: list[pa.RecordBatch] = []
    buffered = 0

    def flush(limit: int | None = None) -> tuple[pl.DataFrame, np.ndarray, list]:
        """The first ``limit`` buffered records (all when None) as one chunk."""
        nonlocal emitted, buffer, buffered, pending_bad
        table = pa.Table.from_batches(buffer, schema=reader.schema)
        if limit is not None and len(table) > limit:
            rest = table.slice(limit)
            table = table.slice(0, limit)
            buffer, buffered = rest.to_batches(), rest.num_rows
        else:
            buffer, buffered = [], 0
        if positions is None:
            rows = np.arange(emitted + 1, emitted + len(table) + 1, dtype=np.int64)
        else:
            rows = positions[emitted : emitted + len(table)]
        last = int(rows[-1]) if len(rows) else 0
        bad = [b for b in pending_bad if b[0] <= last] if len(rows) else list(pending_bad)
        pending_bad = [b for b in pending_bad if b not in bad]
        emitted += len(table)
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        if not layout.clean:
            frame, problems = _decoded(frame)
            if problems:
                keep = np.ones(len(rows), dtype=bool)
                keep[list(problems)] = False
                bad += [(int(rows[i]), f, r) for i, f, r in problems.values()]
                frame, rows = frame.filter(pl.Series(keep)), rows[keep]
        run_on = _run_on(frame, rows, layout.delimiter, len(names))
        if run_on:
            keep = ~np.isin(rows, [r for r, _, _ in run_on])
            frame, rows = frame.filter(pl.Series(keep)), rows[keep]
            bad += run_on
        return frame, rows, sorted(bad)

    try:
        for batch in reader:
            if damaged and positions is None:
                positions, pending_bad = _malformed_records(layout)
            buffer.append(batch)
            buffered += batch.num_rows
            while buffered >= chunk_rows:  # Arrow reads in blocks; chunks are exactly chunk_rows
                yield flush(chunk_rows)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise InputError(f"{layout.path}: cannot read as CSV: {exc}") from exc
    if damaged and positions is None:
        positions, pending_bad = _malformed_records(layout)
    if buffer or pending_bad:
        if not buffer:
            buffer = [pa.RecordBatch.from_pylist([], schema=reader.schema)]
        table, rows, bad = flush()
        yield table, rows, sorted(bad + pending_bad)


def _read_parquet(
    layout: Layout, names: list[str], chunk_rows: int
) -> Iterator[tuple[pl.DataFrame, np.ndarray, list]]:
    start = 0
    try:
        for batch in pq.ParquetFile(layout.path).iter_batches(batch_size=chunk_rows):
            table = pl.from_arrow(pa.Table.from_batches([batch]).rename_columns(names))
            assert isinstance(table, pl.DataFrame)
            yield _as_text(table), np.arange(start + 1, start + len(table) + 1, dtype=np.int64), []
            start += len(table)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(
            f"{layout.path}: rows after {start:,} cannot be read (a truncated or damaged "
            f"Parquet file: {exc})"
        ) from exc


def _reason(expect: str, value: str) -> str:
    shown = value if len(value) <= 80 else value[:77] + "..."
    return f"{expect}, got {shown!r}"


def _as_string(s: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A typed column as text; whole floats without ".0" (a JSON ``1`` is the flag "1")."""
    if dtype == pl.String:
        return s
    if dtype.is_float():
        whole = s.cast(pl.Int64, strict=False)
        exact = whole.cast(pl.Float64) == s
        return pl.when(exact).then(whole.cast(pl.String)).otherwise(s.cast(pl.String))
    return s.cast(pl.String)


def _apply_source(s: pl.Expr, src: schema.Source) -> pl.Expr:
    """A vendor's cleaned cell as canonical text: its values rewritten (``src.values``; any
    other non-empty value becomes ``src.other``), blanks replaced (``src.empty``)."""
    if src.values is not None:
        low = s.str.to_lowercase()
        mapped = low.replace_strict(src.values, default=src.other, return_dtype=pl.String)
        s = pl.when(low == "").then(pl.lit("")).otherwise(mapped)
    if src.empty is not None:
        s = pl.when(s.fill_null("") == "").then(pl.lit(src.empty)).otherwise(s)
    return s


_PARSERS: dict[str, tuple[Callable[[pl.Expr], pl.Expr], str]] = {
    "url": (parse.parse_url, "expected an http(s) URL with a valid host name"),
    "text": (lambda s: s, ""),
    "bool": (parse.parse_bool, "expected true or false"),
    "number": (parse.parse_number, "expected a number"),
    "date": (parse.parse_date, "expected a date like 2026-09-15 or Sep 15, 2026"),
    "category": (
        lambda s: parse.parse_category(s, schema.PLACEMENTS, schema.PLACEMENT_SYNONYMS),
        "expected one of " + ", ".join(schema.PLACEMENTS),
    ),
    "label": (
        lambda s: parse.parse_choice(s, schema.LABEL_SYNONYMS),
        "expected good or spam (or 0/1)",
    ),
}
"""Per kind of canonical column: the parser of its cleaned text cells, and what a bad cell
was expected to be."""


def link_hash(source: pl.Expr, target: pl.Expr, anchor: pl.Expr) -> pl.Expr:
    """A stable 64-bit hash of each (source, target, anchor): xxHash64 of the three joined by
    ``\\x1f`` (a null anchor as the empty string). A published algorithm, so stored ids do not
    change with a library upgrade."""
    joined = [source, target, anchor.fill_null("")]
    return plh.concat_str(joined, separator="\x1f").nchash.xxhash64()


_HEX = np.array([f"{i:02x}" for i in range(256)], dtype="S2")


def hex_ids(hashes: pl.Series) -> pl.Series:
    """Link hashes as ``link_id`` strings: 16 hexadecimal digits."""
    values = hashes.to_numpy().astype(">u8")
    digits = _HEX[values.view(np.uint8).reshape(-1, 8)].view("S16").ravel()
    return pl.Series("link_id", digits.astype(str), dtype=pl.String)


def link_ids(links: pl.DataFrame) -> pl.Series:
    """The ``link_id`` of each canonical row, from its source, target and anchor."""
    hashes = links.select(
        link_hash(pl.col("source_url"), pl.col("target_url"), pl.col("anchor_text"))
    ).to_series()
    return hex_ids(hashes)


_CHECK = "__problem"


@dataclass(frozen=True)
class _Plan:
    """How one layout of raw records becomes canonical rows: the stages' expressions."""

    cells: list[pl.Expr]  # the vendor's cells as cleaned text (or typed values)
    values: list[pl.Expr]  # the canonical columns
    passed: list[pl.Expr]  # the columns linksift does not know, as they are
    problem: pl.Expr  # each row's first problem, as an index into ``checks``; null: none
    checks: list[tuple[str, str, str]]  # (field, what was expected, raw column)


def canonicalize(
    raw: pl.DataFrame,
    rows: np.ndarray,
    fmt: str,
    options: ImportOptions,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Map, parse and validate one chunk of raw records.

    Returns the kept rows as a canonical table (``duplicate`` still false) and the rejected
    rows as ``(row, field, reason, value)``. A row with several problems is reported with
    the first one, in the order of ``schema.COLUMNS``. Three stages, each materialised once:
    the vendor's cells as cleaned text (``__in_*``), the typed values, the checks.
    """
    plan = _plan(tuple(raw.schema.items()), fmt, options.as_of, options.target)
    table = (
        raw.lazy()
        .with_columns(plan.cells)
        .with_columns(pl.Series("row", rows, dtype=pl.Int64), *plan.values)
        .with_columns(plan.problem)
        .select("row", *(c.name for c in schema.COLUMNS), *plan.passed, _CHECK)
        .collect(engine="in-memory")
    )
    problems = table[_CHECK]
    links = table.filter(problems.is_null()).drop(_CHECK)
    links = links.insert_column(1, link_ids(links)).insert_column(
        2, pl.Series("duplicate", [False] * links.height, dtype=pl.Boolean)
    )
    if problems.null_count() == len(problems):
        return links, pl.DataFrame(schema=REJECT_SCHEMA)
    return links, _rejects(raw, rows, problems, plan.checks)


@lru_cache(maxsize=64)
def _plan(
    header: tuple[tuple[str, pl.DataType], ...], fmt: str, as_of: date, target: str | None
) -> _Plan:
    """The stages for raw records with this header (names and types), built once: files
    repeat their header in every chunk, API requests repeat a few field conventions."""
    types = dict(header)
    mapping = column_sources(types, fmt)
    latest = as_of + timedelta(days=1)
    cells: list[pl.Expr] = []
    values: list[pl.Expr] = []
    checks: list[tuple[str, pl.Expr, str, str]] = []  # (field, problem, expected, raw column)

    if fmt in schema.NOT_A_LINK:
        name, not_link, expect = schema.NOT_A_LINK[fmt]
        column = next((h for h in types if norm_header(h) == norm_header(name)), None)
        if column is not None:
            cell = parse.clean(_as_string(pl.col(column), types[column])).str.to_lowercase()
            cells.append(cell.is_in(not_link).alias("__in_not_a_link"))
            checks.append((name, pl.col("__in_not_a_link"), expect, column))
    for col in schema.COLUMNS:
        if col.name not in mapping:
            values.append(_absent(col, target).alias(col.name))
            continue
        column, src = mapping[col.name]
        dtype = types[column]
        cell = f"__in_{col.name}"
        value = parse.typed(pl.col(cell), dtype, col.kind) if src is None else None
        if value is not None:  # already typed (Parquet, JSON numbers)
            cells.append(pl.col(column).alias(cell))
            bad = pl.col(col.name).is_null() & pl.col(cell).is_not_null()
            expect = "expected a finite number"
        else:
            text = parse.clean(_as_string(pl.col(column), dtype))
            cells.append((text if src is None else _apply_source(text, src)).alias(cell))
            parser, expect = _PARSERS[col.kind]
            value = parser(pl.col(cell))
            bad = parse.bad(pl.col(col.name), pl.col(cell))
        values.append(value.cast(schema.polars_type(col.name)).alias(col.name))
        v = pl.col(col.name)
        checks.append((col.name, bad, expect, column))
        if col.kind == "number" and (col.low is not None or col.high is not None):
            low = -np.inf if col.low is None else col.low
            high = np.inf if col.high is None else col.high
            rng = f"{col.low:g}..{col.high:g}" if col.high is not None else f">= {col.low:g}"
            checks.append((col.name, (v < low) | (v > high), f"expected a number in {rng}", column))
        if col.kind == "date":
            checks.append((col.name, v > latest, f"expected a date not after {as_of}", column))
            checks.append((col.name, v < EARLIEST, EARLIEST_REASON, column))
        if col.required:
            checks.append((col.name, v.is_null(), "required, but empty", column))
    mapped = {h for h, _ in mapping.values()}
    problem = pl.coalesce([pl.when(c).then(pl.lit(i)) for i, (_, c, _, _) in enumerate(checks)])
    return _Plan(
        cells,
        values,
        [
            pl.col(h).alias(f"input_{h}" if h.lower() in RESERVED else h)
            for h in types
            if h not in mapped
        ],
        problem.alias(_CHECK),
        [(field, expect, column) for field, _, expect, column in checks],
    )


def _absent(col: schema.Column, target: str | None) -> pl.Expr:
    """A column the input does not have: null, or ``--target`` for the target."""
    if col.name != "target_url" or not target:
        return pl.lit(None, schema.polars_type(col.name))
    parsed = pl.select(parse.parse_url(parse.clean(pl.lit(target)))).item()
    if parsed is None:
        raise InputError(f"--target {target!r} is not an http(s) URL")
    return pl.lit(parsed)


def _rejects(
    raw: pl.DataFrame, rows: np.ndarray, problem: pl.Series, checks: list[tuple[str, str, str]]
) -> pl.DataFrame:
    """``(row, field, reason, value)`` of the rows that have a problem, with the raw value
    quoted (a few rows: worded one by one)."""
    index = problem.is_not_null().arg_true()
    out: dict[str, list] = {"row": [], "field": [], "reason": [], "value": []}
    for i, k in zip(index.to_list(), problem.gather(index).to_list(), strict=True):
        field, expect, header = checks[k]
        cell = raw[header][i]
        value = "" if cell is None else str(cell)
        out["row"].append(int(rows[i]))
        out["field"].append(field)
        out["reason"].append(f"{field}: " + (_reason(expect, value) if value != "" else expect))
        out["value"].append(value[:200])
    return pl.DataFrame(out, schema=REJECT_SCHEMA)


def _missing_required(header: Iterable[str], fmt: str, options: ImportOptions) -> None:
    mapping = column_sources(header, fmt)
    for col in schema.COLUMNS:
        if not col.required or col.name in mapping:
            continue
        if col.name == "target_url" and options.target:
            continue
        src = col.sources.get(fmt)
        expected = " or ".join(repr(h) for h in (src.headers if src else (col.name,)))
        hint = " (this export has no target column: pass --target URL)" if fmt == "gsc" else ""
        shown = ", ".join(repr(h) for h in list(header)[:20])
        raise InputError(
            f"missing required column {col.name!r}: expected a header {expected} "
            f"for a {fmt} file{hint}; found {shown}"
        )


def _read_problems(problems: list[Problem]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "row": [r for r, _, _ in problems],
            "field": [f for _, f, _ in problems],
            "reason": [reason for _, _, reason in problems],
            "value": [""] * len(problems),
        },
        schema=REJECT_SCHEMA,
    )


class Importer:
    """Streams one input file as canonical chunks, flagging duplicates across chunks."""

    def __init__(self, path: str | Path, options: ImportOptions | None = None) -> None:
        self.options = options or ImportOptions()
        if self.options.format not in FORMATS:
            raise InputError(
                f"--format: expected one of {', '.join(FORMATS)}, got {self.options.format!r}"
            )
        self.layout = sniff(path)
        fmt = self.options.format
        self.format = detect_format(self.layout.header) if fmt == "auto" else fmt
        _missing_required(self.layout.header, self.format, self.options)
        self._seen = np.zeros(0, np.uint64)  # link ids seen so far, sorted

    def chunks(self) -> Iterator[ImportChunk]:
        for raw in self.raw_chunks():
            yield self.mark_duplicates(self.canonical(*raw))

    def raw_chunks(self) -> Iterator[tuple[pl.DataFrame, np.ndarray, list]]:
        """The file's records as raw chunks (see ``read_raw``), for ``canonical``."""
        return read_raw(self.layout, self.options.chunk_rows)

    def canonical(self, raw: pl.DataFrame, rows: np.ndarray, malformed: list) -> ImportChunk:
        """One raw chunk mapped, parsed and validated; duplicates are not flagged yet.

        Needs nothing from other chunks, so chunks can be canonicalised on several threads;
        ``mark_duplicates`` then takes them in file order."""
        links, rejects = canonicalize(raw, rows, self.format, self.options)
        if malformed:
            rejects = pl.concat([rejects, _read_problems(malformed)]).sort("row")
        return ImportChunk(links, rejects)

    def mark_duplicates(self, chunk: ImportChunk) -> ImportChunk:
        """Flag the second and later copies of a link (same source, target and anchor), across
        chunks: call in file order. The ids seen so far are kept as one sorted array of
        numbers: 16 MB for 2M links, where a set of their strings took 236 MB."""
        ids = chunk.links["link_id"].str.to_integer(base=16, dtype=pl.UInt64).to_numpy()
        seen = self._seen
        at = np.searchsorted(seen, ids)  # where each id is, or would go, among those seen
        earlier = seen[at.clip(max=len(seen) - 1)] == ids if len(seen) else np.zeros(len(ids), bool)
        values, first_at = np.unique(ids, return_index=True)
        first = np.zeros(len(ids), bool)
        first[first_at] = True
        fresh = ~earlier[first_at]  # this chunk's distinct ids not seen before
        self._seen = np.insert(seen, at[first_at][fresh], values[fresh])
        flags = earlier | ~first
        links = chunk.links.with_columns(pl.Series("duplicate", flags, dtype=pl.Boolean))
        return ImportChunk(links, chunk.rejects)


def records_format(records: list[dict[str, Any]], options: ImportOptions | None = None) -> str:
    """The field-name convention of link dicts (canonical unless a vendor's is recognised);
    raises ``InputError`` naming a required field that no record has."""
    options = options or ImportOptions()
    if not records:
        raise InputError("links: expected at least one link, got an empty list")
    header = list(dict.fromkeys(k for r in records for k in r))
    fmt = options.format
    if fmt == "auto":
        try:
            fmt = detect_format(header)
        except InputError:
            fmt = "canonical"
    _missing_required(header, fmt, options)
    return fmt


def _record_column(values: list[Any]) -> tuple[pl.Series, dict[int, str]]:
    """One field of JSON-like records as a column: booleans and numbers keep their type,
    everything else becomes text; values of a type no column can hold are errors by index."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return pl.Series(values, dtype=pl.Boolean), {}
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return pl.Series([None if v is None else float(v) for v in values], dtype=pl.Float64), {}
    cells: list[str | None] = []
    errors: dict[int, str] = {}
    for i, v in enumerate(values):
        if isinstance(v, bool):
            cells.append("true" if v else "false")
        elif v is None or isinstance(v, int | float | str):
            cells.append(None if v is None else str(v))
        elif isinstance(v, date | datetime):
            cells.append(v.isoformat())
        else:
            cells.append(None)
            errors[i] = f"expected a string, number or boolean, got {type(v).__name__}"
    return pl.Series(cells, dtype=pl.String), errors


def from_records(
    records: list[dict[str, Any]], options: ImportOptions | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Canonical table from JSON-like link dicts (canonical or vendor field names).

    Rows are numbered from 0 (the index in the list). Values of the wrong JSON type (a list
    where a string belongs) are rejected with the field named.
    """
    options = options or ImportOptions()
    if not records:
        raise InputError("links: expected at least one link, got an empty list")
    header = list(dict.fromkeys(k for r in records for k in r))
    type_errors: dict[int, tuple[str, str]] = {}
    columns: dict[str, pl.Series] = {}
    for h in header:
        columns[h], errors = _record_column([rec.get(h) for rec in records])
        for i, message in errors.items():
            type_errors.setdefault(i, (h, message))
    fmt = records_format(records, options)
    raw = pl.DataFrame(columns)
    links, rejects = canonicalize(raw, np.arange(len(records), dtype=np.int64), fmt, options)
    if type_errors:
        bad_rows = sorted(type_errors)
        links = links.filter(~pl.col("row").is_in(bad_rows))
        extra = pl.DataFrame(
            {
                "row": bad_rows,
                "field": [type_errors[r][0] for r in bad_rows],
                "reason": [f"{type_errors[r][0]}: {type_errors[r][1]}" for r in bad_rows],
                "value": [""] * len(bad_rows),
            },
            schema=REJECT_SCHEMA,
        )
        rejects = pl.concat([rejects.filter(~pl.col("row").is_in(bad_rows)), extra]).sort("row")
    return links, rejects


def read_links(
    path: str | Path, options: ImportOptions | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Whole file as one canonical table plus its rejects (for data that fits in memory)."""
    importer = Importer(path, options)
    parts = list(importer.chunks())
    return (
        concat([p.links for p in parts]),
        pl.concat([p.rejects for p in parts]) if parts else pl.DataFrame(schema=REJECT_SCHEMA),
    )


def concat(tables: list[pl.DataFrame]) -> pl.DataFrame:
    """Concatenate chunks whose pass-through columns may differ in presence."""
    if not tables:
        return pl.DataFrame(schema=schema.canonical_schema())
    return pl.concat(tables, how="diagonal_relaxed")
