"""Importers: every vendor's layout maps onto the canonical table; bad input is reported."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from features import schema
from features.importers import (
    Importer,
    ImportOptions,
    InputError,
    detect_format,
    from_records,
    read_links,
)
from serving.batch import import_file
from tests.conftest import AS_OF, FIXTURES


def read(name: str, **kw) -> tuple[list[dict], list[dict]]:
    table, rejects = read_links(FIXTURES / name, ImportOptions(as_of=AS_OF, **kw))
    return table.to_dicts(), rejects.to_dicts()


def test_semrush_export_maps_flags_numbers_and_dates():
    rows, rejects = read("semrush.csv")
    assert rejects == []
    assert len(rows) == 4  # the blank line is not a record
    first, directory, guestbook, dup = rows
    assert first["source_url"] == "https://breadnotes.example.org/sourdough-basics/"
    assert first["source_page_authority"] == 41.0
    assert first["source_traffic"] is None  # Semrush has no traffic: null, never invented
    assert first["first_seen"] == date(2025, 3, 1)
    assert directory["source_external_links"] == 1250.0  # thousands separator
    assert directory["sitewide"] is True
    assert guestbook["nofollow"] is True  # "TRUE"
    assert guestbook["is_image"] is True
    assert guestbook["placement"] == "comment"  # a link inside a form
    assert guestbook["anchor_text"] == ""  # the column exists, the cell is blank
    assert [r["row"] for r in rows] == [1, 2, 3, 4]
    assert [r["duplicate"] for r in rows] == [False, False, False, True]
    assert dup["link_id"] == first["link_id"]
    assert first["Text"] == "true" and "New link" in first  # unknown columns pass through


def test_ahrefs_export_maps_context_placement_and_type():
    rows, rejects = read("ahrefs.csv")
    assert rejects == []
    article, forum, hacked = rows
    assert article["source_authority"] == 54.0 and article["source_traffic"] == 15400.0
    assert article["left_context"] == "if you bake rye at home,"
    assert article["placement"] == "content"
    assert forum["placement"] == "unknown"  # Content = FALSE: not in the main content
    assert forum["ugc"] is True
    assert hacked["is_image"] is True and hacked["redirect"] is False
    assert hacked["source_http_status"] == 404.0
    assert article["first_seen"] == date(2023, 5, 2)  # datetime → date
    assert article["Author"] == "Ann Baker"


def test_ahrefs_utf16_tsv_gives_the_same_table_as_utf8_csv(tmp_path: Path):
    rows = list(csv.reader((FIXTURES / "ahrefs.csv").open(encoding="utf-8", newline="")))
    buf = io.StringIO()
    csv.writer(buf, delimiter="\t", lineterminator="\r\n").writerows(rows)
    utf16 = tmp_path / "ahrefs-export.csv"
    utf16.write_bytes(b"\xff\xfe" + buf.getvalue().encode("utf-16-le"))
    a, _ = read_links(FIXTURES / "ahrefs.csv", ImportOptions(as_of=AS_OF))
    b, rejects = read_links(utf16, ImportOptions(as_of=AS_OF))
    assert rejects.height == 0
    assert a.equals(b)


def test_majestic_blank_flags_mean_false():
    rows, rejects = read("majestic.csv")
    assert rejects == []
    good, spam = rows
    assert (good["nofollow"], good["is_image"], good["redirect"]) == (False, False, False)
    assert (spam["nofollow"], spam["redirect"]) == (True, True)
    assert good["source_authority"] == 18.0  # Trust Flow
    assert good["last_seen"] == date(2025, 10, 3) and good["first_seen"] == date(2024, 6, 1)


def test_moz_inbound_links():
    rows, rejects = read("moz.csv")
    assert rejects == []
    assert rows[0]["source_authority"] == 48.0 and rows[0]["source_page_authority"] == 33.0
    assert rows[0]["source_referring_domains"] == 1200.0
    assert rows[1]["nofollow"] is True and rows[1]["redirect"] is False
    assert rows[0]["Spam Score"] == "1%"


def test_gsc_needs_a_target_and_reads_both_date_styles():
    with pytest.raises(InputError, match=r"target_url.*--target"):
        Importer(FIXTURES / "gsc.csv")
    rows, rejects = read("gsc.csv", target="https://bakewise.example.com/")
    assert rejects == []
    assert [r["last_seen"] for r in rows] == [date(2026, 9, 15), date(2026, 9, 20)]
    assert all(r["target_url"] == "https://bakewise.example.com/" for r in rows)
    assert rows[0]["anchor_text"] is None and rows[0]["source_authority"] is None


def test_canonical_csv_and_parquet_round_trip(tmp_path: Path):
    rows, rejects = read("canonical.csv")
    assert rejects == []
    assert rows[0]["label"] == "good" and rows[1]["label"] == "spam"
    assert rows[1]["nofollow"] is False  # "0"
    assert rows[0]["campaign"] == "spring"
    out = tmp_path / "links.parquet"
    summary = import_file(FIXTURES / "canonical.csv", out, ImportOptions(as_of=AS_OF))
    assert (summary.read, summary.kept, summary.rejected) == (2, 2, 0)
    again, _ = read_links(out, ImportOptions(as_of=AS_OF))
    first, _ = read_links(FIXTURES / "canonical.csv", ImportOptions(as_of=AS_OF))
    assert again.select(schema.CANONICAL).equals(first.select(schema.CANONICAL))


@pytest.mark.parametrize(
    ("header", "fmt"),
    [
        (["Page ascore", "Source title", "Source url", "Target url", "Anchor"], "semrush"),
        (["#", "Referring page title", "Referring page URL", "Target URL"], "ahrefs"),
        (["Target URL", "Source URL", "Anchor Text", "FlagNoFollow"], "majestic"),
        (["URL", "Title", "Anchor Text", "Domain Authority", "Target URL"], "moz"),
        (["Linking page", "Last crawled"], "gsc"),
        (["SOURCE_URL", "target_url"], "canonical"),
    ],
)
def test_format_is_detected_from_the_header(header, fmt):
    assert detect_format(header) == fmt


def test_empty_file_is_refused(tmp_path: Path):
    path = tmp_path / "empty.csv"
    path.write_text("\n\n")
    with pytest.raises(InputError, match="empty"):
        Importer(path)


def test_binary_file_is_refused(tmp_path: Path):
    path = tmp_path / "export.csv"
    path.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(InputError, match="binary"):
        Importer(path)


def test_wrong_delimiter_names_the_missing_column(tmp_path: Path):
    path = tmp_path / "export.csv"
    path.write_text(
        "Source url:Target url:Anchor\nhttps://a.example.com/:https://b.example.com/:x\n"
    )
    with pytest.raises(InputError, match="missing required column 'source_url'"):
        Importer(path, ImportOptions(format="semrush"))
    with pytest.raises(InputError, match="could not recognise"):
        Importer(path)


def test_missing_required_column_is_one_clear_error(tmp_path: Path):
    path = tmp_path / "export.csv"
    path.write_text("source_url,anchor_text\nhttps://a.example.com/,hello\n")
    with pytest.raises(InputError) as err:
        Importer(path)
    assert "missing required column 'target_url'" in str(err.value)


def test_bad_rows_are_rejected_with_row_and_reason_and_nothing_is_lost(tmp_path: Path):
    path = tmp_path / "links.csv"
    path.write_text(
        "source_url,target_url,source_authority,nofollow,first_seen\n"
        "https://a.example.com/1,https://t.example.com/,10,false,2025-01-01\n"
        "javascript:alert(1),https://t.example.com/,10,false,2025-01-01\n"
        "https://a.example.com/3,https://t.example.com/,150,false,2025-01-01\n"
        "https://a.example.com/4,https://t.example.com/,1,maybe,2025-01-01\n"
        "https://a.example.com/5,https://t.example.com/,1,true,2031-01-01\n"
        'https://a.example.com/6,https://t.example.com/,"1,5",true\n'
        "\n"
        "https://a.example.com/7,https://t.example.com/,abc,true,2025-01-01\n"
        "Total,,,,\n"
    )
    table, rejects = read_links(path, ImportOptions(as_of=AS_OF))
    reasons = {r["row"]: r["reason"] for r in rejects.to_dicts()}
    assert table["row"].to_list() == [1]
    assert table.height + rejects.height == 8
    assert reasons[2].startswith(
        "source_url: expected an http(s) URL with a valid host name, got 'javascript:alert(1)'"
    )
    assert reasons[3].startswith("source_authority: expected a number in 0..100, got '150'")
    assert reasons[4].startswith("nofollow: expected true or false, got 'maybe'")
    assert reasons[5].startswith("first_seen: expected a date not after 2026-11-25")
    assert reasons[6] == "expected 5 fields, got 4"
    assert reasons[7].startswith("source_authority: expected a number, got 'abc'")
    assert reasons[8].startswith(
        "source_url: expected an http(s) URL with a valid host name, got 'Total'"
    )


def test_chunked_reading_gives_the_same_rows(tmp_path: Path):
    lines = ["source_url,target_url,anchor_text"]
    for i in range(250):
        lines.append(f"https://s{i % 17}.example.com/p{i},https://t.example.com/,anchor {i % 5}")
        if i == 120:
            lines.append("https://broken.example.com/,too,many,fields")
    path = tmp_path / "links.csv"
    path.write_text("\n".join(lines) + "\n")
    whole, rej_whole = read_links(path, ImportOptions(as_of=AS_OF))
    small, rej_small = read_links(path, ImportOptions(as_of=AS_OF, chunk_rows=7))
    assert whole.equals(small)
    assert rej_whole.to_dicts() == rej_small.to_dicts()
    assert rej_whole.to_dicts()[0]["row"] == 122
    assert whole.height + rej_whole.height == 251


def test_values_in_many_spellings():
    table, rejects = from_records(
        [
            {
                "source_url": "example.com/a",
                "target_url": "//t.example.com/x",
                "nofollow": "TRUE",
                "sponsored": 1,
                "source_traffic": "12 345",
                "first_seen": "Sep 15, 2026",
            },
            {
                "source_url": "HTTPS://Example.com/b",
                "target_url": "https://t.example.com/",
                "nofollow": "",
                "sponsored": False,
                "source_traffic": 0.5,
                "first_seen": "2026-09-15T10:00:00Z",
            },
        ],
        ImportOptions(as_of=AS_OF),
    )
    assert rejects.height == 0
    rows = table.to_dicts()
    assert rows[0]["source_url"] == "http://example.com/a"
    assert rows[0]["target_url"] == "http://t.example.com/x"
    assert [r["nofollow"] for r in rows] == [True, None]
    assert [r["sponsored"] for r in rows] == [True, False]
    assert [r["source_traffic"] for r in rows] == [12345.0, 0.5]
    assert [r["first_seen"] for r in rows] == [date(2026, 9, 15)] * 2


def test_records_with_wrong_json_types_are_rejected_by_index():
    table, rejects = from_records(
        [
            {"source_url": "https://a.example.com/", "target_url": "https://t.example.com/"},
            {"source_url": ["x"], "target_url": "https://t.example.com/"},
            {"target_url": "https://t.example.com/"},
        ]
    )
    assert table["row"].to_list() == [0]
    assert [(r["row"], r["field"]) for r in rejects.to_dicts()] == [
        (1, "source_url"),
        (2, "source_url"),
    ]
    assert "expected a string, number or boolean, got list" in rejects.to_dicts()[0]["reason"]


def test_vendor_field_names_are_accepted_in_records():
    table, rejects = from_records(
        [
            {
                "Source url": "https://a.example.com/",
                "Target url": "https://t.example.com/",
                "Page ascore": 12,
                "Anchor": "hello",
                "Nofollow": "true",
            }
        ]
    )
    assert rejects.height == 0
    row = table.to_dicts()[0]
    assert (row["source_page_authority"], row["anchor_text"], row["nofollow"]) == (
        12.0,
        "hello",
        True,
    )


def test_import_writes_parquet_and_rejects_file(tmp_path: Path):
    src = tmp_path / "in.csv"
    src.write_text("source_url,target_url\nhttps://a.example.com/,https://t.example.com/\nnope,x\n")
    out = tmp_path / "out" / "links.parquet"
    summary = import_file(src, out, ImportOptions(as_of=AS_OF))
    assert (summary.read, summary.kept, summary.rejected) == (2, 1, 1)
    assert pq.read_table(out).num_rows == 1
    rejects = (tmp_path / "out" / "links.rejects.csv").read_text()
    assert "source_url: expected an http(s) URL with a valid host name, got 'nope'" in rejects
    assert "kept" in summary.text() and "rejected" in summary.text()


def test_canonical_schema_documents_every_column():
    doc = schema.describe()
    for name in schema.CANONICAL:
        assert f"`{name}`" in doc
    assert "Referring page URL" in doc and "Page ascore" in doc
    assert schema.polars_type("first_seen") == pl.Date


def test_duplicates_are_flagged_across_chunks(tmp_path: Path):
    """A copy is flagged whichever chunk its first occurrence was in; firsts never are."""
    pairs = [(i % 7, i % 3) for i in range(40)]
    lines = ["source_url,target_url"] + [
        f"https://s{a}.example.com/p,https://t.example.com/{b}" for a, b in pairs
    ]
    src = tmp_path / "dups.csv"
    src.write_text("\n".join(lines) + "\n")
    links, _ = read_links(src, ImportOptions(chunk_rows=4))
    expected = [pairs.index(p) != i for i, p in enumerate(pairs)]
    assert links["duplicate"].to_list() == expected


def test_crawler_export_maps_position_dofollow_and_status():
    """The open-source backlinks-analysis crawler: is_doFollow is inverted into nofollow,
    HTML positions become placements, and anchors lose the page's indentation."""
    rows, rejects = read("crawler.csv")
    assert [(r["row"], r["reason"]) for r in rejects] == [
        (4, "is_exist: expected a page that still carries the link, got 'False'")
    ]
    first, lost, image = rows
    assert first["source_url"].startswith("https://www.gardenjournal.example.org/")
    assert first["anchor_text"] == "compostkit.example.com/"
    assert first["placement"] == "content" and first["nofollow"] is False
    assert first["is_image"] is False and first["source_external_links"] == 42.0
    assert lost["nofollow"] is True and lost["source_http_status"] == 403.0
    assert lost["placement"] is None and lost["is_image"] is None  # blank: unknown
    assert image["placement"] == "footer" and image["is_image"] is True
    assert first["source_authority"] is None  # Open PageRank is not on a 0-100 scale: kept as is
    assert first["pagerank"] == "4.72" and first["countryCode"] == "FR"
