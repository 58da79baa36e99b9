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
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from features import parse, schema
from features.parse import fill, string
from features.strings import HashSet, as_bytes, joined_hashes

FORMATS = ("auto", *schema.VENDORS)
DEFAULT_CHUNK_ROWS = 100_000
OUTPUT_COLUMNS = (
    "spam_probability",
    "quality_score",
    "verdict",
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

REJECT_SCHEMA = pa.schema(
    [("row", pa.int64()), ("field", pa.string()), ("reason", pa.string()), ("value", pa.string())]
)


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
    links: pa.Table
    rejects: pa.Table


def norm_header(name: str) -> str:
    return " ".join(str(name).replace("\ufeff", "").strip().lower().split())


def _encoding(head: bytes) -> tuple[str, int]:
    """Encoding of a file from its first bytes, and the BOM length."""
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
        raise InputError("the file holds binary data (NUL bytes); expected a CSV/TSV text export")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8", 0
    except UnicodeDecodeError:
        return "cp1252", 0


def sniff(path: str | Path) -> Layout:
    """Find encoding, delimiter and header of a CSV/TSV export, or recognise Parquet."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    with path.open("rb") as fh:
        head = fh.read(1 << 16)
    if not head.strip():
        raise InputError(f"{path}: the file is empty")
    if head.startswith(b"PAR1"):
        names = tuple(pq.ParquetFile(path).schema_arrow.names)
        return Layout(path, "parquet", names)
    encoding, bom = _encoding(head)
    text = head[bom:].decode(encoding, errors="replace")
    lines = text.splitlines()
    skip = 0
    while skip < len(lines) and not lines[skip].strip():
        skip += 1
    if skip == len(lines):
        raise InputError(f"{path}: the file is empty")
    line = lines[skip]
    printable = sum(ch.isprintable() or ch in "\t" for ch in line)
    if printable < len(line) * 0.9:
        raise InputError(f"{path}: the file does not look like text; expected a CSV/TSV export")
    best = max(
        (",", "\t", ";", "|"),
        key=lambda d: len(next(csv.reader([line], delimiter=d), [])),
    )
    header = tuple(h.strip() for h in next(csv.reader([line], delimiter=best)))
    return Layout(path, "csv", header, encoding, best, skip)


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


def _malformed_records(layout: Layout) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Record numbers of all well-formed records, and (row, fields) of malformed ones.

    Only called when Arrow met a record with the wrong number of fields: Arrow cannot say
    where it was, Python's csv module can, so the slow scan runs just for damaged files.
    """
    good, bad = [], []
    n = len(layout.header)
    with layout.path.open(encoding=layout.encoding, newline="", errors="replace") as fh:
        reader = csv.reader(fh, delimiter=layout.delimiter)
        header_seen = False
        row = 0
        for rec in reader:
            if not rec:
                continue
            if not header_seen:
                header_seen = True
                continue
            row += 1
            (good if len(rec) == n else bad).append(row if len(rec) == n else (row, len(rec)))
    return np.asarray(good, dtype=np.int64), bad


def read_raw(layout: Layout, chunk_rows: int) -> Iterator[tuple[pa.Table, np.ndarray, list]]:
    """Stream records as all-string Arrow tables with their 1-based record numbers.

    Yields ``(table, rows, malformed)`` where ``malformed`` lists ``(row, fields)`` of records
    with the wrong number of fields met since the previous chunk.
    """
    names = _dedupe(layout.header)
    if layout.kind == "parquet":
        pf = pq.ParquetFile(layout.path)
        start = 0
        for batch in pf.iter_batches(batch_size=chunk_rows):
            table = pa.Table.from_batches([batch]).rename_columns(names)
            yield table, np.arange(start + 1, start + len(table) + 1, dtype=np.int64), []
            start += len(table)
        return
    damaged: list[bool] = []

    def on_invalid(_row: Any) -> str:
        damaged.append(True)
        return "skip"

    reader = pacsv.open_csv(
        layout.path,
        read_options=pacsv.ReadOptions(
            encoding=layout.encoding,
            column_names=names,
            skip_rows=layout.skip_lines + 1,
            block_size=1 << 20,  # the streaming reader keeps dozens of blocks in flight
            # no reader threads: this thread only reads while pool threads work on chunks
            use_threads=False,
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=layout.delimiter, newlines_in_values=True, invalid_row_handler=on_invalid
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    emitted = 0
    positions: np.ndarray | None = None
    pending_bad: list[tuple[int, int]] = []
    buffer: list[pa.RecordBatch] = []
    buffered = 0

    def flush(limit: int | None = None) -> tuple[pa.Table, np.ndarray, list]:
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
        return table, rows, bad

    try:
        for batch in reader:
            if damaged and positions is None:
                positions, pending_bad = _malformed_records(layout)
            buffer.append(batch)
            buffered += batch.num_rows
            while buffered >= chunk_rows:  # Arrow reads in blocks; chunks are exactly chunk_rows
                yield flush(chunk_rows)
    except pa.ArrowInvalid as exc:
        raise InputError(f"{layout.path}: cannot read as CSV: {exc}") from exc
    if damaged and positions is None:
        positions, pending_bad = _malformed_records(layout)
    if buffer or pending_bad:
        if not buffer:
            buffer = [pa.RecordBatch.from_pylist([], schema=reader.schema)]
        table, rows, bad = flush()
        yield table, rows, bad + pending_bad


def _reason(expect: str, value: str) -> str:
    shown = value if len(value) <= 80 else value[:77] + "..."
    return f"{expect}, got {shown!r}"


def _apply_source(arr: pa.Array, src: schema.Source | None) -> pa.Array:
    if src is None:
        return arr
    s = parse.clean(arr)
    if src.values is not None:
        low = pc.utf8_lower(s)
        mapped = pa.nulls(len(s), pa.string())
        for raw, value in src.values.items():
            mapped = pc.if_else(pc.equal(low, raw), value, mapped)
        other = pa.scalar(src.other, pa.string())
        mapped = pc.if_else(
            pc.and_(pc.is_null(mapped), pc.not_equal(low, string(""))), other, mapped
        )
        s = pc.if_else(pc.equal(low, string("")), string(""), mapped)
    if src.empty is not None:
        s = pc.if_else(pc.equal(fill(s, ""), string("")), src.empty, s)
    return s


def _typed(arr: pa.Array, kind: str) -> pa.Array | None:
    """Parquet columns that already have the canonical type skip string parsing."""
    t = arr.type
    if kind == "number" and (pa.types.is_floating(t) or pa.types.is_integer(t)):
        return arr if t == pa.float64() else pc.cast(arr, pa.float64())
    if kind == "bool" and pa.types.is_boolean(t):
        return arr
    if kind == "date" and (pa.types.is_date(t) or pa.types.is_timestamp(t)):
        return pc.cast(
            pc.cast(arr, pa.timestamp("s")) if pa.types.is_timestamp(t) else arr, pa.date32()
        )
    return None


def _parse_column(col: schema.Column, arr: pa.Array) -> tuple[pa.Array, np.ndarray, str]:
    """Typed values, bad mask, and what was expected (for reject reasons)."""
    typed = _typed(arr, col.kind)
    if typed is not None:
        if col.kind == "number":
            finite = np.asarray(fill(pc.is_finite(typed), True).to_numpy(zero_copy_only=False))
            if not finite.all():
                typed = pc.if_else(pa.array(finite), typed, pa.scalar(None, pa.float64()))
            return typed, ~finite, "expected a finite number"
        return typed, np.zeros(len(arr), dtype=bool), ""
    arr = parse.as_string(arr)
    if col.kind == "url":
        return (*parse.parse_url(arr), "expected an http(s) URL")
    if col.kind == "text":
        return (*parse.parse_text(arr), "")
    if col.kind == "bool":
        return (*parse.parse_bool(arr), "expected true or false")
    if col.kind == "number":
        return (*parse.parse_number(arr), "expected a number")
    if col.kind == "date":
        return (*parse.parse_date(arr), "expected a date like 2026-09-15 or Sep 15, 2026")
    if col.kind == "category":
        values, bad = parse.parse_category(arr, schema.PLACEMENTS, schema.PLACEMENT_SYNONYMS)
        return values, bad, "expected one of " + ", ".join(schema.PLACEMENTS)
    if col.kind == "label":
        low = pc.utf8_lower(parse.clean(arr))
        mapped = pa.nulls(len(low), pa.string())
        for raw, value in schema.LABEL_SYNONYMS.items():
            mapped = pc.if_else(pc.equal(low, raw), value, mapped)
        bad = parse._mask(pc.is_null(mapped)) & ~parse.blank(low)
        return mapped, bad, "expected good or spam (or 0/1)"
    raise AssertionError(col.kind)


_HEX = np.array([f"{i:02x}" for i in range(256)], dtype="S2")


def link_ids(source: pa.Array, target: pa.Array, anchor: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Stable 16-hex-digit id of each (source, target, anchor), and the raw 64-bit hashes."""
    # pandas' hash_array of the joined strings (ids stay as they were), without joining them
    hashes = joined_hashes(source, target, anchor, "\x1f")
    digits = np.ascontiguousarray(_HEX[hashes.astype(">u8").view(np.uint8).reshape(-1, 8)])
    offsets = np.arange(0, 16 * (len(hashes) + 1), 16, dtype=np.int32)
    ids = pa.StringArray.from_buffers(len(hashes), pa.py_buffer(offsets), pa.py_buffer(digits))
    return ids, hashes


_NIBBLE = np.zeros(256, np.uint64)
_NIBBLE[np.frombuffer(b"0123456789abcdef", np.uint8)] = np.arange(16, dtype=np.uint64)


def link_hashes(ids: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """The 64-bit hashes back from ``link_id`` strings (their hex digits), without hashing the
    URLs again."""
    offsets, data, _ = as_bytes(ids)
    n = len(offsets) - 1
    digits = data[offsets[0] : offsets[0] + 16 * n].reshape(n, 16)
    out = np.zeros(n, np.uint64)
    for k in range(16):
        out = (out << np.uint64(4)) | _NIBBLE[digits[:, k]]
    return out


_NO_REJECTS = REJECT_SCHEMA.empty_table()


def canonicalize(
    raw: pa.Table,
    rows: np.ndarray,
    fmt: str,
    options: ImportOptions,
) -> tuple[pa.Table, pa.Table]:
    """Map, parse and validate one chunk of raw string records.

    Returns the kept rows as a canonical table (``duplicate`` still false) and the rejected
    rows as ``(row, field, reason, value)``.
    """
    mapping = column_sources(raw.column_names, fmt)
    n = raw.num_rows
    rejected = np.zeros(n, dtype=bool)
    reasons = np.full(n, None, dtype=object)
    fields = np.full(n, None, dtype=object)
    values_out = np.full(n, None, dtype=object)
    columns: dict[str, pa.Array] = {}
    latest = options.as_of + timedelta(days=1)

    def flag(mask: np.ndarray, name: str, raw_values: pa.Array | None, expect: str) -> None:
        """Reject the rows in ``mask`` not rejected yet: the first problem found is reported."""
        new = mask & ~rejected
        if not new.any():
            return
        idx = np.flatnonzero(new)
        rejected[idx] = True
        shown = (
            parse.as_string(raw_values).take(pa.array(idx)).to_pylist()
            if raw_values is not None
            else [""] * len(idx)
        )
        for i, value in zip(idx, shown, strict=True):
            value = "" if value is None else str(value)
            reasons[i] = f"{name}: " + (_reason(expect, value) if value != "" else expect)
            fields[i] = name
            values_out[i] = value[:200]

    if fmt in schema.NOT_A_LINK:
        name, values, expect = schema.NOT_A_LINK[fmt]
        header = next((h for h in raw.column_names if norm_header(h) == norm_header(name)), None)
        if header is not None:
            cells = parse.as_string(raw.column(header))
            flag(
                parse._mask(pc.is_in(pc.utf8_lower(parse.clean(cells)), pa.array(values))),
                name,
                cells,
                expect,
            )
    for col in schema.COLUMNS:
        if col.name in mapping:
            header, src = mapping[col.name]
            source_arr = parse.as_string(raw.column(header)) if src else raw.column(header)
            if isinstance(source_arr, pa.ChunkedArray):
                source_arr = source_arr.combine_chunks()
            arr = _apply_source(source_arr, src)
            values, bad, expect = _parse_column(col, arr)
            flag(bad, col.name, source_arr, expect)
        elif col.name == "target_url" and options.target:
            values, bad, _ = _parse_column(col, pa.array([options.target] * n, pa.string()))
            if bad.any():
                raise InputError(f"--target {options.target!r} is not an http(s) URL")
            source_arr = None
        else:
            values = pa.nulls(n, schema.arrow_type(col.name))
            source_arr = None
        if source_arr is None:
            columns[col.name] = values  # absent from the input (or --target): nothing to check
            continue
        if col.kind == "number" and (col.low is not None or col.high is not None):
            v = values.to_numpy(zero_copy_only=False)
            with np.errstate(invalid="ignore"):
                out = np.zeros(n, dtype=bool)
                if col.low is not None:
                    out |= v < col.low
                if col.high is not None:
                    out |= v > col.high
            rng = f"{col.low:g}..{col.high:g}" if col.high is not None else f">= {col.low:g}"
            flag(out, col.name, source_arr, f"expected a number in {rng}")
        if col.kind == "date":
            future = parse._mask(pc.greater(values, pa.scalar(latest, pa.date32())))
            flag(future, col.name, source_arr, f"expected a date not after {options.as_of}")
        if col.required:
            flag(parse._mask(pc.is_null(values)), col.name, source_arr, "required, but empty")
        columns[col.name] = values

    ok = ~rejected
    ids, _ = link_ids(columns["source_url"], columns["target_url"], columns["anchor_text"])
    out: dict[str, pa.Array] = {
        "row": pa.array(rows, pa.int64()),
        "link_id": ids,
        "duplicate": pa.array(np.zeros(n, dtype=bool)),
        **columns,
    }
    mapped_headers = {h for h, _ in mapping.values()}
    for name in raw.column_names:
        if name in mapped_headers:
            continue
        out_name = f"input_{name}" if name.lower() in RESERVED else name
        out[out_name] = raw.column(name)
    table = pa.table(out)
    if ok.all():
        return table, _NO_REJECTS
    table = table.take(pa.array(np.flatnonzero(ok)))
    bad_idx = np.flatnonzero(~ok)
    rejects = pa.table(
        {
            "row": pa.array(rows[bad_idx], pa.int64()),
            "field": pa.array(fields[bad_idx], pa.string()),
            "reason": pa.array(reasons[bad_idx], pa.string()),
            "value": pa.array(values_out[bad_idx], pa.string()),
        },
        schema=REJECT_SCHEMA,
    )
    return table, rejects


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
        self._seen = HashSet()

    def chunks(self) -> Iterator[ImportChunk]:
        for raw in self.raw_chunks():
            yield self.mark_duplicates(self.canonical(*raw))

    def raw_chunks(self) -> Iterator[tuple[pa.Table, np.ndarray, list]]:
        """The file's records as raw string chunks (see ``read_raw``), for ``canonical``."""
        return read_raw(self.layout, self.options.chunk_rows)

    def canonical(self, raw: pa.Table, rows: np.ndarray, malformed: list) -> ImportChunk:
        """One raw chunk mapped, parsed and validated; duplicates are not flagged yet.

        Needs nothing from other chunks, so chunks can be canonicalised on several threads;
        ``mark_duplicates`` then takes them in file order."""
        links, rejects = canonicalize(raw, rows, self.format, self.options)
        if malformed:
            expected = len(self.layout.header)
            extra = pa.table(
                {
                    "row": pa.array([r for r, _ in malformed], pa.int64()),
                    "field": pa.array([""] * len(malformed), pa.string()),
                    "reason": pa.array(
                        [f"expected {expected} fields, got {k}" for _, k in malformed],
                        pa.string(),
                    ),
                    "value": pa.array([""] * len(malformed), pa.string()),
                },
                schema=REJECT_SCHEMA,
            )
            rejects = pa.concat_tables([rejects, extra]).sort_by("row")
        return ImportChunk(links, rejects)

    def mark_duplicates(self, chunk: ImportChunk) -> ImportChunk:
        """Flag the second and later copies of a link (same source, target and anchor), across
        chunks: call in file order."""
        links = chunk.links
        dup = self._seen.add(link_hashes(links["link_id"]))
        idx = links.column_names.index("duplicate")
        return ImportChunk(links.set_column(idx, "duplicate", pa.array(dup)), chunk.rejects)


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


def from_records(
    records: list[dict[str, Any]], options: ImportOptions | None = None
) -> tuple[pa.Table, pa.Table]:
    """Canonical table from JSON-like link dicts (canonical or vendor field names).

    Rows are numbered from 0 (the index in the list). Values of the wrong JSON type (a list
    where a string belongs) are rejected with the field named.
    """
    options = options or ImportOptions()
    if not records:
        raise InputError("links: expected at least one link, got an empty list")
    header = list(dict.fromkeys(k for r in records for k in r))
    type_errors: dict[int, tuple[str, str]] = {}
    columns: dict[str, pa.Array] = {}
    for h in header:
        values = [rec.get(h) for rec in records]
        present = [v for v in values if v is not None]
        # JSON that already carries numbers or booleans skips string parsing
        if present and all(isinstance(v, bool) for v in present):
            columns[h] = pa.array(values, pa.bool_())
            continue
        if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
            columns[h] = pa.array(values, pa.float64())
            continue
        cells: list[str | None] = []
        for i, v in enumerate(values):
            if v is None:
                cells.append(None)
            elif isinstance(v, bool):
                cells.append("true" if v else "false")
            elif isinstance(v, int | float | str):
                cells.append(str(v))
            elif isinstance(v, date | datetime):
                cells.append(v.isoformat())
            else:
                cells.append(None)
                type_errors.setdefault(
                    i, (h, f"expected a string, number or boolean, got {type(v).__name__}")
                )
        columns[h] = pa.array(cells, pa.string())
    fmt = records_format(records, options)
    raw = pa.table(columns)
    links, rejects = canonicalize(raw, np.arange(len(records), dtype=np.int64), fmt, options)
    if type_errors:
        bad_rows = np.array(sorted(type_errors), dtype=np.int64)
        keep = ~np.isin(links["row"].to_numpy(), bad_rows)
        links = links.filter(pa.array(keep))
        extra = pa.table(
            {
                "row": pa.array(bad_rows),
                "field": [type_errors[r][0] for r in bad_rows],
                "reason": [f"{type_errors[r][0]}: {type_errors[r][1]}" for r in bad_rows],
                "value": [""] * len(bad_rows),
            },
            schema=REJECT_SCHEMA,
        )
        rejects = pa.concat_tables(
            [rejects.filter(pa.array(~np.isin(rejects["row"].to_numpy(), bad_rows))), extra]
        ).sort_by("row")
    return links, rejects


def read_links(path: str | Path, options: ImportOptions | None = None) -> tuple[pa.Table, pa.Table]:
    """Whole file as one canonical table plus its rejects (for data that fits in memory)."""
    importer = Importer(path, options)
    parts = list(importer.chunks())
    return (
        concat([p.links for p in parts]),
        pa.concat_tables([p.rejects for p in parts]) if parts else REJECT_SCHEMA.empty_table(),
    )


def concat(tables: list[pa.Table]) -> pa.Table:
    """Concatenate chunks whose pass-through columns may differ in presence."""
    if not tables:
        return schema.canonical_schema().empty_table()
    return pa.concat_tables(tables, promote_options="permissive")


def write_rejects(rejects: pa.Table, path: Path) -> None:
    """Rejects as CSV: row, field, reason, value."""
    buf = io.BytesIO()
    pacsv.write_csv(rejects, buf)
    path.write_bytes(buf.getvalue())


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
    """Import a file to canonical Parquet (written atomically) plus a rejects CSV."""
    output = Path(output)
    rejects_path = Path(rejects_path) if rejects_path else output.with_suffix(".rejects.csv")
    importer = Importer(path, options)
    summary = ImportSummary(Path(path), importer.format, output, None)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.partial")
    writer: pq.ParquetWriter | None = None
    all_rejects = []
    target_schema = None
    try:
        for chunk in importer.chunks():
            if target_schema is None:
                target_schema = chunk.links.schema
                writer = pq.ParquetWriter(tmp, target_schema)
            assert writer is not None
            writer.write_table(chunk.links.cast(target_schema))
            summary.kept += chunk.links.num_rows
            summary.duplicates += int(pc.sum(chunk.links["duplicate"]).as_py() or 0)
            summary.rejected += chunk.rejects.num_rows
            if chunk.rejects.num_rows:
                all_rejects.append(chunk.rejects)
        if writer is None:
            writer = pq.ParquetWriter(tmp, schema.canonical_schema())
        writer.close()
        writer = None
        tmp.replace(output)
    finally:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
    summary.read = summary.kept + summary.rejected
    if all_rejects:
        write_rejects(pa.concat_tables(all_rejects), rejects_path)
        summary.rejects_path = rejects_path
    else:
        rejects_path.unlink(missing_ok=True)
    return summary
