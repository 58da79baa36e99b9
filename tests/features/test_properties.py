"""Property-based tests: hostile input never crashes; every row is scored or rejected with a
reason; features stay finite or missing."""

from __future__ import annotations

import csv
import io
import math
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


@SETTINGS
@given(st.lists(links, min_size=1, max_size=12))
def test_records_are_scored_or_rejected_with_a_reason_never_a_crash(records):
    table, rejects = from_records(records, ImportOptions(as_of=AS_OF))
    rows = sorted(table["row"].to_list() + rejects["row"].to_list())
    assert rows == list(range(len(records)))  # every record exactly once
    assert all(r["reason"] and r["field"] for r in rejects.to_dicts())
    if table.height:
        X = extract(table, as_of=AS_OF)
        assert X.shape[0] == table.height
        assert not np.isinf(X).any()
        p = MODEL.scorer.probability(X)
        assert np.all((p >= 0) & (p <= 1))
        # what was kept is sane
        for row in table.to_dicts():
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
    assert table.height + rejects.height == n_records
    assert sorted(table["row"].to_list() + rejects["row"].to_list()) == list(
        range(1, n_records + 1)
    )
