"""Arrow string arrays as bytes, for compiled (numba) kernels.

Some per-link string work has no Arrow kernel that does it in one pass (splitting a URL into
its parts, walking the Public Suffix List for a host), and doing it in Python, value by value,
held the interpreter lock for most of a batch run. These helpers hand an array's buffers to a
kernel as NumPy views, and build string arrays back from (start, end) byte spans, without
copying through Python objects.

Kernels work on bytes: UTF-8 never puts an ASCII byte inside a multi-byte character, so
scanning for ASCII delimiters is exact on any valid UTF-8 text.
"""

from __future__ import annotations

import numba
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def as_string(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One contiguous string array (vendors' columns arrive chunked and sometimes typed)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if not pa.types.is_string(arr.type):
        arr = pc.cast(arr, pa.string())
    return arr


def as_bytes(arr: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(offsets as int64, n + 1 of them; data as uint8; valid as bool) of a string array."""
    arr = as_string(arr)
    n = len(arr)
    _, offsets, data = arr.buffers()
    off = np.frombuffer(offsets, np.int32)[arr.offset : arr.offset + n + 1].astype(np.int64)
    raw = np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)
    if arr.null_count:
        valid = np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    else:
        valid = np.ones(n, dtype=bool)
    return off, raw, valid


@numba.njit(cache=True, nogil=True)
def _gather(data, starts, ends, lower, out_offsets):  # pragma: no cover - compiled
    n = starts.shape[0]
    total = 0
    out_offsets[0] = 0
    for i in range(n):
        total += max(ends[i] - starts[i], 0)
        out_offsets[i + 1] = total
    out = np.empty(total + 64, np.uint8)  # zeroed padding: Arrow kernels may read past the end
    out[total:] = 0
    for i in range(n):
        o = out_offsets[i]
        for j in range(starts[i], ends[i]):
            b = data[j]
            if lower and 65 <= b <= 90:
                b += 32
            out[o] = b
            o += 1
    return out


def from_spans(
    data: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    valid: np.ndarray | None = None,
    *,
    lower: bool = False,
) -> pa.StringArray:
    """The strings ``data[starts[i]:ends[i]]`` (null where ``valid`` is false); ``lower``
    lower-cases ASCII letters on the way."""
    n = len(starts)
    offsets = np.empty(n + 1, np.int32)
    out = _gather(data, starts.astype(np.int64), ends.astype(np.int64), lower, offsets)
    if valid is None or valid.all():
        bitmap, nulls = None, 0
    else:
        bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
        nulls = int(n - valid.sum())
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(out), bitmap, nulls)


@numba.njit(cache=True, nogil=True)
def _digit_counts(offsets, data, out):  # pragma: no cover - compiled
    for i in range(offsets.shape[0] - 1):
        k = 0
        for j in range(offsets[i], offsets[i + 1]):
            k += 48 <= data[j] <= 57
        out[i] = k


def digit_counts(arr: pa.Array) -> np.ndarray:
    """ASCII digits (RE2's ``\\d``) in each value, as floats (NaN for null)."""
    offsets, data, valid = as_bytes(arr)
    out = np.empty(len(valid))
    _digit_counts(offsets, data, out)
    out[~valid] = np.nan
    return out


FNV_OFFSET = np.uint64(14695981039346656037)
FNV_PRIME = np.uint64(1099511628211)


@numba.njit(cache=True, nogil=True)
def fnv1a(data, start, stop, h=FNV_OFFSET):  # pragma: no cover - compiled
    """64-bit FNV-1a hash of ``data[start:stop]`` (continuing from ``h``)."""
    for j in range(start, stop):
        h = (h ^ np.uint64(data[j])) * FNV_PRIME
    return h


@numba.njit(cache=True, nogil=True)
def same_bytes(a, a_start, b, b_start, n):  # pragma: no cover - compiled
    k = 0
    while k < n and a[a_start + k] == b[b_start + k]:
        k += 1
    return k == n


@numba.njit(cache=True, nogil=True)
def _index_build(offsets, data, slots):  # pragma: no cover - compiled
    """slots[s] = (hash, key number + 1) pairs: a probe reads one cache line, and a key's
    bytes only when its hash matches."""
    mask = slots.shape[0] - 1
    for i in range(offsets.shape[0] - 1):
        h = fnv1a(data, offsets[i], offsets[i + 1])
        slot = np.int64(h & np.uint64(mask))
        while slots[slot, 1] != 0:
            slot = (slot + 1) & mask
        slots[slot, 0], slots[slot, 1] = h, i + 1


@numba.njit(cache=True, nogil=True)
def _index_find(offsets, data, slots, v_offsets, v_data, v_valid, out):  # pragma: no cover
    mask = slots.shape[0] - 1
    for i in range(v_offsets.shape[0] - 1):
        out[i] = -1
        if not v_valid[i]:
            continue
        start, n = v_offsets[i], v_offsets[i + 1] - v_offsets[i]
        h = fnv1a(v_data, start, start + n)
        slot = np.int64(h & np.uint64(mask))
        while slots[slot, 1] != 0:
            k = np.int64(slots[slot, 1]) - 1
            if (
                slots[slot, 0] == h
                and offsets[k + 1] - offsets[k] == n
                and same_bytes(data, offsets[k], v_data, start, n)
            ):
                out[i] = k
                break
            slot = (slot + 1) & mask


class StringIndex:
    """Positions of strings among a fixed set of distinct keys, many at a time: a compiled,
    exact hash table (equal hashes are confirmed byte by byte), built once and shared by
    threads. Arrow's ``index_in`` rebuilds its table from the key set on every call, which
    for a profile of a million sites costs more than the lookups."""

    def __init__(self, keys: pa.Array) -> None:
        self.keys = as_string(keys)
        self._offsets, self._data, _ = as_bytes(self.keys)
        self._slots = np.zeros((1 << max(4, (2 * len(self.keys)).bit_length()), 2), np.uint64)
        _index_build(self._offsets, self._data, self._slots)

    def positions(self, values: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """Each value's position among the keys; -1 where it is not one of them, or null."""
        offsets, data, valid = as_bytes(values)
        out = np.empty(len(valid), np.int64)
        _index_find(self._offsets, self._data, self._slots, offsets, data, valid, out)
        return out


@numba.njit(cache=True, nogil=True, inline="always")
def _rotl(x, b):  # pragma: no cover - compiled
    return (x << np.uint64(b)) | (x >> np.uint64(64 - b))


@numba.njit(cache=True, nogil=True, inline="always")
def _sip_rounds(v0, v1, v2, v3, rounds):  # pragma: no cover - compiled
    for _ in range(rounds):
        v0 += v1
        v1 = _rotl(v1, 13) ^ v0
        v0 = _rotl(v0, 32)
        v2 += v3
        v3 = _rotl(v3, 16) ^ v2
        v0 += v3
        v3 = _rotl(v3, 21) ^ v0
        v2 += v1
        v1 = _rotl(v1, 17) ^ v2
        v2 = _rotl(v2, 32)
    return v0, v1, v2, v3


@numba.njit(cache=True, nogil=True, inline="always")
def _sip_feed(data, start, stop, v0, v1, v2, v3, m, k):  # pragma: no cover - compiled
    """SipHash's message words from ``data[start:stop]``, continuing a word of ``k`` bytes."""
    for j in range(start, stop):
        m |= np.uint64(data[j]) << np.uint64(8 * k)
        k += 1
        if k == 8:
            v3 ^= m
            v0, v1, v2, v3 = _sip_rounds(v0, v1, v2, v3, 2)
            v0 ^= m
            m = np.uint64(0)
            k = 0
    return v0, v1, v2, v3, m, k


@numba.njit(cache=True, nogil=True)
def _joined_hashes(s1, e1, d1, s2, e2, d2, s3, e3, d3, sep, k0, k1, out):  # pragma: no cover
    """Per row, SipHash-2-4 (pandas' key) of its three spans joined by ``sep``, fed part by
    part (the same message words as the joined bytes), then pandas' final mix."""
    for i in range(out.shape[0]):
        v0 = k0 ^ np.uint64(0x736F6D6570736575)
        v1 = k1 ^ np.uint64(0x646F72616E646F6D)
        v2 = k0 ^ np.uint64(0x6C7967656E657261)
        v3 = k1 ^ np.uint64(0x7465646279746573)
        m, k = np.uint64(0), 0
        v0, v1, v2, v3, m, k = _sip_feed(d1, s1[i], e1[i], v0, v1, v2, v3, m, k)
        v0, v1, v2, v3, m, k = _sip_feed(sep, 0, sep.shape[0], v0, v1, v2, v3, m, k)
        v0, v1, v2, v3, m, k = _sip_feed(d2, s2[i], e2[i], v0, v1, v2, v3, m, k)
        v0, v1, v2, v3, m, k = _sip_feed(sep, 0, sep.shape[0], v0, v1, v2, v3, m, k)
        v0, v1, v2, v3, m, k = _sip_feed(d3, s3[i], e3[i], v0, v1, v2, v3, m, k)
        n = (e1[i] - s1[i]) + (e2[i] - s2[i]) + (e3[i] - s3[i]) + 2 * sep.shape[0]
        m |= np.uint64(n & 0xFF) << np.uint64(56)  # the last word: the length in its top byte
        v3 ^= m
        v0, v1, v2, v3 = _sip_rounds(v0, v1, v2, v3, 2)
        v0 ^= m
        v2 ^= np.uint64(0xFF)
        v0, v1, v2, v3 = _sip_rounds(v0, v1, v2, v3, 4)
        h = v0 ^ v1 ^ v2 ^ v3
        h ^= h >> np.uint64(30)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
        out[i] = h


def joined_hashes(a: pa.Array, b: pa.Array, c: pa.Array, sep: str) -> np.ndarray:
    """``pandas.util.hash_array(values, categorize=False)`` of each row's ``a``, ``b`` and
    ``c`` joined by ``sep`` (a null as an empty string), computed on their bytes: pandas first
    turns every value into a Python string, and joining them first costs a copy of all three."""
    parts: list[np.ndarray] = []
    for arr in (a, b, c):
        offsets, data, valid = as_bytes(arr)
        starts = offsets[:-1]
        parts += [starts, np.where(valid, offsets[1:], starts), data]
    out = np.empty(len(a), np.uint64)
    separator = np.frombuffer(sep.encode(), np.uint8)
    _joined_hashes(*parts, separator, _PANDAS_KEY[0], _PANDAS_KEY[1], out)
    return out


_PANDAS_KEY = np.frombuffer(b"0123456789123456", np.uint64)  # pandas' default hash key


@numba.njit(cache=True, nogil=True)
def ascii_space(b):  # pragma: no cover - compiled
    return b == 32 or 9 <= b <= 13 or 28 <= b <= 31


@numba.njit(cache=True, nogil=True)
def space_at(data, j):  # pragma: no cover - compiled
    """(is the character at byte ``j`` whitespace, its length in bytes): Unicode's White_Space,
    what Arrow's ``utf8_split_whitespace`` and Python's ``str.split`` split on."""
    b = data[j]
    if b < 0x80:
        return ascii_space(b), 1
    if b >= 0xF0:
        return False, 4
    if b >= 0xE0:
        c = ((b & 15) << 12) | ((data[j + 1] & 63) << 6) | (data[j + 2] & 63)
        space = c == 0x1680 or 0x2000 <= c <= 0x200A or c in (0x2028, 0x2029, 0x202F, 0x205F)
        return space or c == 0x3000, 3
    c = ((b & 31) << 6) | (data[j + 1] & 63)
    return c == 0x85 or c == 0xA0, 2


@numba.njit(cache=True, nogil=True)
def _needs_cleaning(offsets, data, valid):  # pragma: no cover - compiled
    for i in range(offsets.shape[0] - 1):
        start, end = offsets[i], offsets[i + 1]
        if not valid[i] or start == end:
            continue
        if space_at(data, start)[0]:
            return True
        last = end - 1
        while last > start and data[last] & 0xC0 == 0x80:  # back to the last character's start
            last -= 1
        if space_at(data, last)[0]:
            return True
        for j in range(start, end - 1):
            if data[j] == 0xC2 and data[j + 1] == 0xA0:  # U+00A0, no-break space
                return True
    return False


def needs_cleaning(arr: pa.Array) -> bool:
    """Does any value hold a no-break space, or start or end with whitespace?"""
    return bool(_needs_cleaning(*as_bytes(arr)))


@numba.njit(cache=True, nogil=True, inline="always")
def _probe(table, h):  # pragma: no cover - compiled
    """The slot holding ``h`` in an open-addressing table of hashes, or the empty (0) slot
    where it would go."""
    mask = table.shape[0] - 1
    slot = np.int64((h * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(40)) & mask
    while table[slot] != 0 and table[slot] != h:
        slot = (slot + 1) & mask
    return slot


@numba.njit(cache=True, nogil=True)
def _add_hashes(table, zero_seen, hashes, seen):  # pragma: no cover - compiled
    added = 0
    for i in range(hashes.shape[0]):
        h = hashes[i]
        if h == 0:  # 0 marks an empty slot: the value 0 has a flag of its own
            seen[i] = zero_seen[0]
            added += not zero_seen[0]
            zero_seen[0] = True
            continue
        slot = _probe(table, h)
        seen[i] = table[slot] == h
        if not seen[i]:
            table[slot] = h
            added += 1
    return added


@numba.njit(cache=True, nogil=True)
def _rehash(old, new):  # pragma: no cover - compiled
    for h in old:
        if h != 0:
            new[_probe(new, h)] = h


@numba.njit(cache=True, nogil=True)
def _find_hashes(table, zero_seen, hashes, out):  # pragma: no cover - compiled
    for i in range(hashes.shape[0]):
        h = hashes[i]
        out[i] = zero_seen[0] if h == 0 else table[_probe(table, h)] == h


class HashSet:
    """The 64-bit hashes seen so far (every link id of a file, to flag repeats; a chunk's
    (target, term) keys): an open-addressing table that grows, so adding a chunk costs its own
    length, not the file's."""

    def __init__(self, expected: int = 1 << 14) -> None:
        """``expected``: about how many hashes it will hold (it grows past that)."""
        self._table = np.zeros(1 << max(4, (2 * expected).bit_length()), np.uint64)
        self._zero = np.zeros(1, np.bool_)
        self._count = 0

    def add(self, hashes: np.ndarray) -> np.ndarray:
        """Add ``hashes`` in order; True where a hash was already there (earlier in the set or
        earlier in ``hashes``)."""
        size = len(self._table)
        while 2 * (self._count + len(hashes)) > size:
            size *= 2
        if size != len(self._table):
            table = np.zeros(size, np.uint64)
            _rehash(self._table, table)
            self._table = table
        seen = np.empty(len(hashes), np.bool_)
        self._count += _add_hashes(self._table, self._zero, hashes.astype(np.uint64), seen)
        return seen

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        """True where a hash is in the set (nothing is added)."""
        out = np.empty(len(hashes), np.bool_)
        _find_hashes(self._table, self._zero, hashes.astype(np.uint64), out)
        return out
