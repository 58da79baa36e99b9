"""URLs and hosts: URL parts, sites on shared platforms, and public suffixes as tldextract
(the maintained Public Suffix List library) reads them."""

from __future__ import annotations

import polars as pl
import pytest
import tldextract
from hypothesis import given
from hypothesis import strategies as st

from features.urls import TLD_CLASSES, ascii_host, host_frame, sites_of, with_url_parts
from tests.features.test_properties import SETTINGS

LIBRARY = tldextract.TLDExtract(
    suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True
)


def parts(*urls: str | None) -> list[tuple]:
    frame = with_url_parts(pl.DataFrame({"u": list(urls)}, schema={"u": pl.String}), "u", "")
    return frame.select("host", "path", "query").rows()


def test_url_parts_on_edge_cases():
    assert parts(
        "https://www.Example.com/a/b?x=1#f",
        "http://user:pw@host.com:8080/p?q",
        "HTTP://[::1]:80/x",
        "https://ÄBC.de/ä?ö#",
        "http://h?q?r#s",
        "http://h:12ab/c",
        "https://only.host",
        "nope",
        "",
        None,
    ) == [
        ("www.example.com", "/a/b", "x=1"),
        ("host.com", "/p", "q"),
        ("[::1]", "/x", ""),
        ("äbc.de", "/ä", "ö"),
        ("h", "", "q?r"),
        ("h", "ab/c", ""),  # the port's digits go, what follows belongs to the path
        ("only.host", "", ""),
        (None, None, None),
        (None, None, None),
        (None, None, None),
    ]


def frame(*hosts: str) -> dict[str, dict]:
    return {r["host"]: r for r in host_frame(pl.Series(list(hosts))).iter_rows(named=True)}


def test_sites_brands_and_classes():
    f = frame(
        "news.example.co.uk",
        "alice.blogspot.com",
        "x.alice.blogspot.com",
        "blogspot.com",
        "bob.sites.google.com",
        "deep.sub.best-cheap-links.xyz",
        "www.ox.ac.uk",
        "192.0.2.10",
        "[2001:db8::1]",
        "localhost",
        "www.ck",
        "foo.ck",
        "a.b.city.kobe.jp",
    )

    def described(host: str) -> tuple:
        r = f[host]
        return (
            r["site"],
            r["brand"],
            TLD_CLASSES[int(r["tld_class"])],
            r["shared_platform"],
            r["ip_host"],
            r["subdomain_depth"],
        )

    assert described("news.example.co.uk") == ("example.co.uk", "example", "country", 0, 0, 1)
    assert described("alice.blogspot.com") == ("alice.blogspot.com", "alice", "generic", 1, 0, 0)
    assert described("x.alice.blogspot.com")[:2] == ("alice.blogspot.com", "alice")
    assert described("blogspot.com")[:2] == ("blogspot.com", "")  # the platform itself
    assert described("bob.sites.google.com")[:2] == ("bob.sites.google.com", "bob")
    assert described("deep.sub.best-cheap-links.xyz")[2:] == ("cheap", 0, 0, 2)
    assert f["deep.sub.best-cheap-links.xyz"]["host_hyphens"] == 2
    assert described("www.ox.ac.uk")[:3] == ("ox.ac.uk", "ox", "edu_gov")
    assert described("192.0.2.10") == ("192.0.2.10", "", "generic", 0, 1, 0)
    assert described("[2001:db8::1]")[4] == 1
    assert described("localhost")[:2] == ("localhost", "localhost")  # no public suffix
    assert described("www.ck")[:2] == ("www.ck", "www")  # exception rule !www.ck
    assert described("foo.ck")[:2] == ("foo.ck", "")  # wildcard rule *.ck: foo.ck is a suffix
    assert described("a.b.city.kobe.jp")[:2] == ("city.kobe.jp", "city")
    assert frame("ALICE.Blogspot.com.")["ALICE.Blogspot.com."]["site"] == "alice.blogspot.com"


def test_international_hosts_are_read_as_punycode():
    f = frame("bücher.example.de", "xn--bcher-kva.example.de")
    assert f["bücher.example.de"]["site"] == "example.de"
    assert f["bücher.example.de"]["subdomain_depth"] == 1
    assert f["xn--bcher-kva.example.de"]["site"] == "example.de"


def _assert_suffixes_like_tldextract(hosts: list[str]) -> None:
    """Where no shared platform or IP address is involved, a host's suffix, brand and site are
    tldextract's suffix, domain and registrable domain."""
    got = frame(*hosts)
    for h in hosts:
        name = ascii_host(h)
        r, ext = got[h], LIBRARY(name)
        if r["ip_host"] or (r["shared_platform"] and r["brand"] != ext.domain):
            continue  # a platform subdomain is its own site: not tldextract's reading
        assert (r["suffix"], r["brand"], r["site"]) == (
            ext.suffix,
            ext.domain,
            ext.top_domain_under_public_suffix or name,
        ), h


def test_every_public_suffix_rule_reads_as_tldextract_reads_it():
    """Wildcard (``*.ck``) and exception (``!www.ck``) rules and private sections, for every
    rule of the bundled list, bare and under one, two and three labels."""
    hosts = []
    for rule in sorted(LIBRARY.tlds):
        plain = rule.replace("*", "wild").lstrip("!")
        hosts += [plain, f"x.{plain}", f"www.y.x.{plain}", f"a-b.x.{plain}"]
    _assert_suffixes_like_tldextract(hosts)


label = st.one_of(
    st.from_regex(r"[a-z0-9]([a-z0-9_-]{0,6}[a-z0-9])?", fullmatch=True),
    st.sampled_from(["www", "xn--p1ai", "xn--abc", "wild", "city", "s3", "compute-1", "_", ""]),
)
suffix = st.sampled_from(
    [
        "com", "co.uk", "uk", "ck", "www.ck", "kawasaki.jp", "city.kawasaki.jp", "google.com",
        "s3.amazonaws.com", "amazonaws.com", "compute.amazonaws.com", "gov.uk", "edu", "ac.jp",
        "xyz", "shop", "de", "technology", "platform.sh", "sch.uk", "xn--p1ai", "localhost",
        "1", "", "COM", "例え.jp",
    ]
)  # fmt: skip
host = st.builds(
    lambda labels, s, dots: "." * dots[0] + ".".join([*labels, s]) + "." * dots[1],
    st.lists(label, max_size=4),
    suffix,
    st.tuples(st.integers(0, 1), st.integers(0, 2)),
)


@SETTINGS
@given(st.lists(host, min_size=1, max_size=20, unique=True))
def test_generated_hosts_read_as_tldextract_reads_them(hosts):
    _assert_suffixes_like_tldextract(hosts)


@pytest.mark.parametrize("n", [1, 3])
def test_sites_of_urls(n):
    urls = pl.Series(["https://a.b.example.com/x", "nope", None, "http://bob.wordpress.com/"] * n)
    assert sites_of(urls).to_list() == ["example.com", None, None, "bob.wordpress.com"] * n
