"""The compiled URL and host passes give what their definitions give: ``split_urls`` what the
``_URL_PARTS`` regular expression extracts, ``host_table`` what ``host_info`` (tldextract's
Public Suffix List walk) says, value for value."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from hypothesis import given
from hypothesis import strategies as st

from features import rx, urls
from features.urls import TLD_CLASSES, host_info, host_table, split_urls
from tests.features.test_properties import SETTINGS
from tests.features.test_rx import strings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _assert_split_like_the_regex(arr: pa.Array) -> None:
    got = split_urls(arr)
    expected = rx.extract(arr, urls._URL_PARTS, small=-1)
    expected["host"] = pc.utf8_lower(expected["host"])
    for part in ("host", "path", "query"):
        assert got[part].to_pylist() == expected[part].to_pylist(), part


@SETTINGS
@given(values=strings, skip=st.integers(min_value=0, max_value=3))
def test_split_urls_agrees_with_the_regex(values, skip):
    arr = pa.array(["https://pad.example/"] * skip + values, pa.string()).slice(skip)
    _assert_split_like_the_regex(arr)


def test_split_urls_on_edge_cases():
    _assert_split_like_the_regex(
        pa.array(
            [
                "https://www.Example.com/a/b?x=1#f",
                "http://user:pw@host.com:8080/p?q",
                "HTTP://[::1]:80/x",
                "http://[abc/def",
                None,
                "ftp://x",
                "nope",
                "https://ÄBC.de/ä?ö#",
                "a1+.-://h/p",
                "http://h?q?r#s",
                "http://:80",
                "http://@/",
                "",
                "http://a@b@c/d",
                "http://h:12ab/c",
            ]
        )
    )


def _assert_hosts_like_host_info(hosts: list[str]) -> None:
    # padded past rx.SMALL: a few hosts take host_info itself, more take the compiled pass
    hosts = hosts + [f"pad{i}.example.com" for i in range(rx.SMALL + 1)]
    table = host_table(pa.array(hosts, pa.string()))
    for i, h in enumerate(hosts):
        ref = host_info(h)
        assert (
            table.site[i].as_py(),
            table.brand[i].as_py(),
            TLD_CLASSES[table.tld_class[i]],
            bool(table.shared_platform[i]),
            bool(table.is_ip[i]),
            int(table.subdomain_depth[i]),
            int(table.hyphens[i]),
        ) == (
            ref.site,
            ref.brand,
            ref.tld_class,
            ref.shared_platform,
            ref.is_ip,
            ref.subdomain_depth,
            ref.host.count("-"),
        ), h


label = st.one_of(
    st.from_regex(r"[a-z0-9]([a-z0-9_-]{0,6}[a-z0-9])?", fullmatch=True),
    st.sampled_from(["www", "xn--p1ai", "xn--abc", "wild", "city", "s3", "compute-1", "_", ""]),
)
suffix = st.sampled_from(
    [
        "com", "co.uk", "uk", "ck", "www.ck", "kawasaki.jp", "city.kawasaki.jp", "blogspot.com",
        "github.io", "sites.google.com", "google.com", "s3.amazonaws.com", "amazonaws.com",
        "compute.amazonaws.com", "gov.uk", "edu", "ac.jp", "xyz", "shop", "de", "technology",
        "platform.sh", "sch.uk", "xn--p1ai", "localhost", "1", "", "COM", "例え.jp",
    ]
)  # fmt: skip
host = st.builds(
    lambda labels, s, dots: "." * dots[0] + ".".join([*labels, s]) + "." * dots[1],
    st.lists(label, max_size=4),
    suffix,
    st.tuples(st.integers(0, 1), st.integers(0, 2)),
)


@SETTINGS
@given(st.lists(host, min_size=1, max_size=20))
def test_host_table_agrees_with_host_info(hosts):
    _assert_hosts_like_host_info(hosts)


def test_host_table_on_every_public_suffix_rule():
    """Wildcard (``*.ck``) and exception (``!www.ck``) rules, private sections, platforms."""
    rules = urls._EXTRACT._get_tld_extractor().tlds_incl_private
    hosts = []
    for rule in sorted(rules):
        plain = rule.replace("*", "wild").lstrip("!")
        hosts += [plain, f"x.{plain}", f"www.y.x.{plain}", f"a-b.x.{plain}"]
    _assert_hosts_like_host_info(hosts)


def test_host_table_on_the_hosts_of_vendor_fixtures():
    hosts: set[str] = set()
    for path in sorted(FIXTURES.glob("*.csv")):
        table = pacsv.read_csv(path)
        for name in table.column_names:
            if pa.types.is_string(table[name].type):
                parts = split_urls(table[name].combine_chunks())
                hosts.update(h for h in parts["host"].to_pylist() if h)
    assert len(hosts) > 10
    _assert_hosts_like_host_info(sorted(hosts))
