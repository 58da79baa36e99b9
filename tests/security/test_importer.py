"""Hostile and damaged files, each replayed: every one is either read, with each record kept
or rejected with its row and a reason (rows in = kept + rejected), or refused as a whole
with a clear error, never a traceback. ``linksift score`` and ``linksift import`` alike."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from features.importers import ImportOptions, InputError, read_links
from serving.batch import BatchOptions, import_file, score_file
from serving.model import LinkModel
from tests.conftest import run_cli

AS_OF = date(2026, 11, 25)
HEADER = "source_url,target_url,anchor_text\n"


def records(n: int, start: int = 0) -> str:
    return "".join(
        f"https://a{i}.example.com/p,https://t.example.com/,anchor {i}\n"
        for i in range(start, start + n)
    )


def read(path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    return read_links(path, ImportOptions(as_of=AS_OF))


def test_a_bad_byte_past_the_first_64_kib_rejects_its_row_only(tmp_path: Path):
    path = tmp_path / "late.csv"
    path.write_bytes(
        (HEADER + records(3000)).encode()
        + b"https://bad.example.com/\xff,https://t.example.com/,x\n"
        + records(10, 5000).encode()
    )
    links, rejects = read(path)
    assert links.height == 3010 and rejects["row"].to_list() == [3001]
    assert rejects["reason"][0].startswith("source_url: bytes that are not UTF-8")


def test_one_windows_byte_does_not_garble_a_utf8_file(tmp_path: Path):
    path = tmp_path / "mixed.csv"
    path.write_bytes(
        HEADER.encode()
        + "https://a.example.com/,https://t.example.com/,café crème\n".encode()
        + b"https://b.example.com/,https://t.example.com/,caf\xe9\n"
        + records(3, 10).encode()
    )
    links, rejects = read(path)
    assert links["anchor_text"][0] == "café crème"
    assert rejects.select("row", "field").rows() == [(2, "anchor_text")]


def test_a_windows_1252_file_is_read_as_one(tmp_path: Path):
    path = tmp_path / "windows.csv"
    path.write_bytes(
        HEADER.encode() + "https://a.example.com/,https://t.example.com/,café\n".encode("cp1252")
    )
    links, rejects = read(path)
    assert links["anchor_text"].to_list() == ["café"] and rejects.height == 0


def test_nul_bytes_reject_their_row(tmp_path: Path):
    path = tmp_path / "nul.csv"
    path.write_bytes(
        (HEADER + records(3)).encode()
        + b"https://n.example.com/,https://t.example.com/,a\x00b\n"
        + records(3, 50).encode()
    )
    links, rejects = read(path)
    assert links.height == 6
    assert rejects.select("row", "field").rows() == [(4, "anchor_text")]
    assert "NUL" in rejects["reason"][0]


def test_a_header_only_file_without_a_final_newline_is_empty_not_an_error(tmp_path: Path):
    path = tmp_path / "header.csv"
    path.write_text(HEADER.rstrip("\n"))
    links, rejects = read(path)
    assert links.height == 0 and rejects.height == 0


def test_a_header_wider_than_64_kib_is_read_whole(tmp_path: Path):
    extra = [f"extra_column_{i}" for i in range(6000)]
    path = tmp_path / "wide.csv"
    path.write_text(
        "source_url,target_url,anchor_text," + ",".join(extra) + "\n"
        + "".join(f"https://a{i}.example.com/,https://t.example.com/,a" + ",x" * 6000 + "\n"
                  for i in range(5))
    )  # fmt: skip
    assert len(path.read_text().splitlines()[0]) > 1 << 16
    links, rejects = read(path)
    assert links.height == 5 and rejects.height == 0
    assert links["extra_column_5999"].to_list() == ["x"] * 5


def test_a_header_over_128_kib_is_read_whole(tmp_path: Path):
    """Wider than the csv module's default field limit, tried with every delimiter."""
    path = tmp_path / "wider.csv"
    names = [f"column_number_{i}" for i in range(20_000)]
    path.write_text("source_url,target_url," + ",".join(names) + "\n"
                    "https://a.example.com/,https://t.example.com/\n")  # fmt: skip
    assert len(path.read_text().splitlines()[0]) > 1 << 17
    links, rejects = read(path)
    assert links.height + rejects.height == 1


def test_an_unbalanced_quote_is_reported_with_the_rows_it_swallowed(tmp_path: Path):
    path = tmp_path / "quote.csv"
    path.write_text(
        HEADER
        + records(5)
        + 'https://q.example.com/,https://t.example.com/,"broken anchor\n'
        + records(15, 100)
    )
    links, rejects = read(path)
    assert links.height == 5 and rejects["row"].to_list() == [6]
    assert (
        "runs over 16 lines" in rejects["reason"][0] and "unbalanced quote" in rejects["reason"][0]
    )


def test_a_quote_that_closes_later_names_the_lines_it_ran_over(tmp_path: Path):
    path = tmp_path / "quote-closed.csv"
    path.write_text(
        HEADER
        + records(2)
        + 'https://q.example.com/,https://t.example.com/,"broken\n'
        + records(3, 100)
        + 'https://z.example.com/,"x",y\n'
        + records(2, 200)
    )
    links, rejects = read(path)
    assert links.height + rejects.height == 5
    reason = rejects.filter(pl.col("row") == 3)["reason"][0]
    assert "lines 4-8 of the file" in reason


def test_parquet_lists_and_structs_are_text_not_a_crash(tmp_path: Path):
    path = tmp_path / "nested.parquet"
    pq.write_table(
        pa.table(
            {
                "source_url": [["https://a.example.com/"], None],
                "target_url": ["https://t.example.com/", "https://t.example.com/"],
                "tags": [["a", "b"], []],
                "meta": [{"x": 1}, {"x": 2}],
            }
        ),
        path,
    )
    links, rejects = read(path)
    assert links.height == 0 and rejects.height == 2
    assert rejects["reason"].to_list()[0].startswith("source_url: expected an http(s) URL")
    path2 = tmp_path / "nested-extra.parquet"
    pq.write_table(
        pa.table(
            {
                "source_url": ["https://a.example.com/"],
                "target_url": ["https://t.example.com/"],
                "tags": [["a", "b"]],
            }
        ),
        path2,
    )
    links, _ = read(path2)
    assert links["tags"].to_list() == ['["a", "b"]']


def test_truncated_parquet_is_a_clear_error(tmp_path: Path):
    whole = tmp_path / "whole.parquet"
    pq.write_table(
        pa.table({"source_url": [f"https://a{i}.example.com/" for i in range(1000)],
                  "target_url": ["https://t.example.com/"] * 1000}),
        whole,
    )  # fmt: skip
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(InputError, match="truncated or damaged"):
        read(cut)


HOSTS = {
    "xn--zz.com": False,  # punycode that decodes to nothing
    "-bad-.com": False,
    "%65xample.com": False,
    "ex\u200bample.com": False,  # a zero-width space
    "exa mple.com": False,
    "example.123": False,
    ("a" * 64) + ".example.com": False,
    "good.example.com": True,
    "bücher.de": True,
    "xn--bcher-kva.de": True,
    "a_b.blogspot.com": True,
    "1.2.3.4": True,
    "[::1]": True,
    "EXAMPLE.com": True,
}


def test_host_names_are_checked(tmp_path: Path):
    path = tmp_path / "hosts.csv"
    path.write_text(
        HEADER + "".join(f"https://{h}/p,https://t.example.com/,x\n" for h in HOSTS),
        encoding="utf-8",
    )
    links, rejects = read(path)
    kept = {u.split("/")[2] for u in links["source_url"]}
    assert kept == {h for h, ok in HOSTS.items() if ok}
    assert set(rejects["field"]) == {"source_url"}
    assert all("valid host name" in r for r in rejects["reason"])


def test_no_date_before_1985(tmp_path: Path):
    path = tmp_path / "dates.csv"
    path.write_text(
        "source_url,target_url,source_domain_created,first_seen\n"
        "https://a.example.com/,https://t.example.com/,0001-01-01,2020-01-01\n"
        "https://b.example.com/,https://t.example.com/,1984-12-31,2020-01-01\n"
        "https://c.example.com/,https://t.example.com/,1985-03-15,1970-01-01\n"
        "https://d.example.com/,https://t.example.com/,1985-03-15,2020-01-01\n"
    )
    links, rejects = read(path)
    assert links["source_url"].to_list() == ["https://d.example.com/"]
    assert rejects.select("row", "field").rows() == [
        (1, "source_domain_created"),
        (2, "source_domain_created"),
        (3, "first_seen"),
    ]


HOSTILE: dict[str, Callable[[Path], None]] = {
    "late-bad-byte.csv": lambda p: p.write_bytes(
        (HEADER + records(3000)).encode() + b"https://x.example.com/\xc3,a,b\n"
    ),
    "nul.csv": lambda p: p.write_bytes((HEADER + records(2)).encode() + b"\x00,\x00,\x00\n"),
    "quote.csv": lambda p: p.write_text(HEADER + 'https://q.example.com/,"x\n' + records(4)),
    "header-only.csv": lambda p: p.write_text(HEADER.strip()),
    "utf16.csv": lambda p: p.write_text(HEADER + records(3), encoding="utf-16"),
    "bom-crlf.csv": lambda p: p.write_bytes(
        b"\xef\xbb\xbf" + (HEADER + records(3)).replace("\n", "\r\n").encode()
    ),
    "semicolons.csv": lambda p: p.write_text((HEADER + records(3)).replace(",", ";")),
    "ragged.csv": lambda p: p.write_text(HEADER + records(2) + "https://x.example.com/\n,,,,,\n"),
    "blank-lines.csv": lambda p: p.write_text("\n\n" + HEADER + "\n" + records(2) + "\n\n"),
    "huge-cell.csv": lambda p: p.write_text(
        HEADER + f"https://a.example.com/{'p' * 200_000},https://t.example.com/,x\n" + records(2)
    ),
    "control-chars.csv": lambda p: p.write_text(
        HEADER + "https://a.example.com/\x07,https://t.example.com/,\x1b[31mred\n" + records(2)
    ),
    "formulas.csv": lambda p: p.write_text(
        HEADER.strip() + ',=HYPERLINK("x")\n'
        '=HYPERLINK("http://evil"),https://t.example.com/,a,x\n'
        "https://a.example.com/,https://t.example.com/,\"+cmd|' /C calc'!A0\",@SUM(1)\n"
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_score_and_import_account_for_every_row(tmp_path: Path, name: str):
    path = tmp_path / name
    HOSTILE[name](path)
    summary = score_file(path, tmp_path / "scored.csv", LinkModel.load(), BatchOptions(as_of=AS_OF))
    scored = pl.read_csv(tmp_path / "scored.csv", infer_schema=False)
    rejects_path = tmp_path / "scored.rejects.csv"
    rejected = pl.read_csv(rejects_path, infer_schema=False) if rejects_path.exists() else None
    n_rejected = 0 if rejected is None else rejected.height
    assert summary.read == scored.height + n_rejected
    imported = import_file(path, tmp_path / "canonical.parquet", ImportOptions(as_of=AS_OF))
    assert imported.read == imported.kept + imported.rejected == summary.read
    for text in [(tmp_path / "scored.csv").read_text()] + (
        [rejects_path.read_text()] if rejected is not None else []
    ):
        for line in text.splitlines():
            for cell in line.split(","):
                assert not cell.startswith(("=", "+", "@", '"=', '"+', '"@')), line


REFUSED = {
    "empty.csv": (b"", "empty"),
    "blank.csv": (b"\n \n\t\n", "empty"),
    "image.png": (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 20,
        "binary|not look like text|could not recognise",
    ),
    "not-csv.csv": (b"just some words\nand more words\n", "could not recognise"),
    "no-source.csv": (b"target_url,anchor_text\nhttps://t.example.com/,x\n", "could not recognise"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_files_that_are_not_exports_are_refused_clearly(tmp_path: Path, name: str):
    blob, words = REFUSED[name]
    path = tmp_path / name
    path.write_bytes(blob)
    with pytest.raises(InputError, match=words):
        read(path)


def test_the_cli_reports_an_unwritable_output_without_a_traceback(tmp_path: Path):
    source = tmp_path / "links.csv"
    source.write_text(HEADER + records(3))
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    for command in ("import", "score"):
        out = run_cli(command, str(source), "-o", str(blocked / "out.csv"), timeout=120)
        assert out.returncode == 2, out.stderr
        assert "cannot write" in out.stdout + out.stderr
        assert "Traceback" not in out.stdout + out.stderr
