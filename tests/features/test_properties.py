"""Property-based tests: hostile input never crashes; every row is scored or rejected with a
reason; features stay finite or missing."""

from __future__ import annotations

import contextlib
import csv
import io
import math
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features import parse, rx, text
from features.extract import extract
from features.importers import ImportOptions, InputError, from_records, read_links
from serving.model import LinkModel
from tests.conftest import AS_OF

SETTINGS = settings(
    max_examples=int(__import__("os").environ.get("LINKSIFT_EXAMPLES", 60)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

labels = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12
)
ascii_label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
hosts = st.one_of(
    st.builds(
        lambda a, b: f"{a}.{b}", ascii_label, st.sampled_from(["com", "org", "co.uk", "xyz"])
    ),
    st.builds(lambda a: f"{a}.blogspot.com", ascii_label),
    st.builds(lambda a: f"xn--{a}.de", ascii_label),  # punycode
    st.builds(lambda a: f"{a}.例え.jp", ascii_label),  # IDN
    st.just("192.0.2.10"),
    st.just("[2001:db8::1]"),
)
paths = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=40)
urls = st.one_of(
    st.builds(
        lambda s, h, p, q: f"{s}://{h}/{p}{q}",
        st.sampled_from(["http", "https", "HTTPS"]),
        hosts,
        paths,
        st.sampled_from(["", "?utm_source=x", "?a=1#frag", "#top"]),
    ),
    st.builds(lambda h, p: f"{h}/{p}", hosts, paths),  # no scheme
    st.builds(lambda h: f"https://user:pw@{h}:8443/x", hosts),  # credentials and a port
    st.builds(lambda h: f"//{h}/cdn", hosts),
    st.sampled_from(
        [
            "javascript:alert(1)",
            "mailto:a@b.com",
            "",
            "   ",
            "Total",
            "=cmd|' /C calc'!A0",
            "http://",
            "ftp://files.example.com/x",
        ]
    ),
    labels,
)
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.sampled_from(["1,234", "1 234", "0,5", "nan", "inf", "-1", "abc", "", "12%", "+5", "1e400"]),
    st.none(),
)
dates = st.one_of(
    st.dates(min_value=date(1990, 1, 1), max_value=date(2040, 1, 1)).map(str),
    st.sampled_from(
        ["Sep 15, 2026", "15 Sep 2026", "2026-13-45", "yesterday", "", "2026-09-15T10:00:00Z"]
    ),
    st.none(),
)
anchors = st.one_of(
    labels,
    st.text(max_size=10_000),
    st.just("a" * 10_000),
    st.sampled_from(['=HYPERLINK("http://evil")', "+1+1", "-2", "@SUM(A1)", "\t=x", ""]),
    st.none(),
)
flags = st.one_of(st.booleans(), st.sampled_from(["TRUE", "0", "yes", "maybe", ""]), st.none())

links = st.fixed_dictionaries(
    {
        "source_url": urls,
        "target_url": st.one_of(urls, st.just("https://bakewise.example.com/rye/")),
        "anchor_text": anchors,
        "source_title": st.one_of(labels, st.none()),
        "source_authority": numbers,
        "source_traffic": numbers,
        "source_external_links": numbers,
        "nofollow": flags,
        "first_seen": dates,
        "source_domain_created": dates,
        "placement": st.one_of(
            st.sampled_from(["content", "footer", "FOOTER", "banner", ""]), st.none()
        ),
    }
)


@contextlib.contextmanager
def _arrow_kernels_only() -> Iterator[None]:
    saved, rx.SMALL = rx.SMALL, -1
    try:
        yield
    finally:
        rx.SMALL = saved


@SETTINGS
@given(st.lists(links, min_size=1, max_size=12))
def test_records_are_scored_or_rejected_with_a_reason_never_a_crash(records):
    table, rejects = from_records(records, ImportOptions(as_of=AS_OF))
    # a few rows take value-by-value paths; Arrow's kernels must give the same
    with _arrow_kernels_only():
        by_kernels = from_records(records, ImportOptions(as_of=AS_OF))
        X_kernels = extract(by_kernels[0], as_of=AS_OF) if table.num_rows else None
    assert by_kernels[0].equals(table) and by_kernels[1].equals(rejects)
    rows = sorted(table["row"].to_pylist() + rejects["row"].to_pylist())
    assert rows == list(range(len(records)))  # every record exactly once
    assert all(r["reason"] and r["field"] for r in rejects.to_pylist())
    if table.num_rows:
        X = extract(table, as_of=AS_OF)
        assert np.array_equal(X, X_kernels, equal_nan=True)
        assert X.shape[0] == table.num_rows
        assert not np.isinf(X).any()
        p = MODEL.scorer.probability(X)
        assert np.all((p >= 0) & (p <= 1))
        # what was kept is sane
        for row in table.to_pylist():
            assert row["source_url"].lower().startswith(("http://", "https://"))
            if row["source_authority"] is not None:
                assert 0 <= row["source_authority"] <= 100
            for d in ("first_seen", "source_domain_created"):
                assert row[d] is None or row[d] <= AS_OF + timedelta(days=1)
            for n in ("source_traffic", "source_external_links"):
                assert row[n] is None or (math.isfinite(row[n]) and row[n] >= 0)


MODEL = LinkModel.load()


def _csv_bytes(records: list[dict], line_end: str, bom: bool) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=line_end)
    names = list(records[0])
    writer.writerow(names)
    for r in records:
        writer.writerow(["" if r[n] is None else str(r[n]) for n in names])
    data = buf.getvalue().encode("utf-8")
    return (b"\xef\xbb\xbf" + data) if bom else data


@SETTINGS
@given(
    st.lists(links, min_size=1, max_size=8),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),
    st.sampled_from(["\n", "\r\n"]),
)
def test_files_with_boms_and_mixed_line_endings_import_row_for_row(
    tmp_path_factory, records, first_end, bom, second_end
):
    path = Path(tmp_path_factory.mktemp("prop")) / "links.csv"
    head = _csv_bytes(records[: len(records) // 2 + 1], first_end, bom)
    tail = _csv_bytes(records[len(records) // 2 + 1 :] or records[:1], second_end, False)
    path.write_bytes(head + second_end.encode() + b"\n".join(tail.split(second_end.encode())[1:]))
    n_records = (
        sum(1 for rec in csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))) if rec) - 1
    )
    try:
        table, rejects = read_links(path, ImportOptions(as_of=AS_OF))
    except InputError as exc:  # a file that cannot be read at all says so in words
        assert str(exc)
        return
    assert table.num_rows + rejects.num_rows == n_records
    assert sorted(table["row"].to_pylist() + rejects["row"].to_pylist()) == list(
        range(1, n_records + 1)
    )


def _reference_fold(values: pa.Array, separators: str) -> pa.Array:
    """The plain Arrow path the fast tokeniser must agree with (lower, then regex)."""
    return pc.replace_substring_regex(pc.utf8_lower(values), separators, " ")


def sliced(alphabet: str, plain: int, special: int, rows: int, skips: int) -> st.SearchStrategy:
    """(values, the same values as a string array starting at an offset into its buffers, as
    a sliced Arrow array does: kernels must honour the offset). Values are null, any text up
    to ``plain`` characters, or text from ``alphabet`` up to ``special``."""
    values = st.lists(
        st.one_of(st.none(), st.text(max_size=plain), st.text(alphabet=alphabet, max_size=special)),
        max_size=rows,
    )
    return st.tuples(values, st.integers(min_value=0, max_value=skips)).map(
        lambda vs: (vs[0], pa.array(["PAD"] * vs[1] + vs[0], pa.string()).slice(vs[1]))
    )


@SETTINGS
@given(sliced("AbZ z-_./:!?\t\n\x0b\u00a0\u2019é", plain=40, special=20, rows=8, skips=3))
def test_fast_tokeniser_agrees_with_the_regex_path(case):
    """Tokens and anchor keys are the same whichever path (byte table or regex) a row takes,
    for plain, sliced and null-holding arrays; the compiled split finds Arrow's words, and
    numbers equal words equally."""
    values, arr = case
    folded = pc.utf8_trim_whitespace(_reference_fold(arr, text.SEPARATORS))
    expected_tokens = pc.utf8_split_whitespace(folded)
    tok = text.tokenize(arr)
    vocab = tok.vocab.to_pylist()
    assert len(set(vocab)) == len(vocab)
    got: list[list[str]] = [[] for _ in values]
    for row, word in zip(tok.rows, tok.ids, strict=True):
        got[row].append(vocab[word])
    assert got == [[w for w in t if w] if t else [] for t in expected_tokens.to_pylist()]
    expected_anchor = pc.utf8_trim_whitespace(_reference_fold(arr, text.ANCHOR_SEPARATORS))
    assert text.normalize_anchor(arr).to_pylist() == expected_anchor.to_pylist()


@SETTINGS
@given(
    st.lists(
        st.one_of(
            st.text(max_size=8),
            st.text(alphabet="ab19 ²٣ⅷé", max_size=6),
            st.sampled_from(sorted(text.STOPWORDS)),
        ),
        max_size=60,
        unique=True,
    )
)
def test_vocabulary_flags_agree_with_the_word_rules(tokens):
    """``content_flags`` (a chunk's whole vocabulary at once) says what ``is_content`` and
    ``is_topical`` say of each token, on the Arrow path and the few-token path."""
    content, topical = text.content_flags(pa.array(tokens, pa.string()))
    assert content.tolist() == [text.is_content(t) for t in tokens]
    assert topical.tolist() == [text.is_topical(t) for t in tokens]


@SETTINGS
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.just(""),
            st.dates(min_value=date(1, 1, 1)).map(date.isoformat),
            st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", fullmatch=True),  # 2026-02-30, 0000-...
            st.sampled_from(["Sep 15, 2026", "2026-09-15T10:00", " 2026-09-15", "15.09.2026"]),
        ),
        max_size=12,
    )
)
def test_date_column_fast_path_agrees_with_parsing_each_value(values):
    """A column of plain ISO dates is read by one cast; the answers (values and which cells
    are bad) are those of parsing each distinct value."""
    arr = pa.array(values, pa.string())
    got, bad = parse.parse_date(arr)
    expected, expected_bad = parse.parse_distinct(arr, parse._date_of, pa.date32())
    assert got.to_pylist() == expected.to_pylist()
    assert bad.tolist() == expected_bad.tolist()


@SETTINGS
@given(sliced(" \t\u00a0\u3000\u2003\u0085xé\x0b\x1c", plain=12, special=6, rows=10, skips=2))
def test_clean_skips_only_what_needs_no_cleaning(case):
    """``clean`` answers what replacing no-break spaces and trimming would, whether or not
    its scan lets it skip the work."""
    _, arr = case
    expected = pc.utf8_trim_whitespace(pc.replace_substring(arr, "\u00a0", " "))
    assert parse.clean(arr).to_pylist() == expected.to_pylist()
