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

from features.parse import as_string


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
def fnv1a(data, start, stop):  # pragma: no cover - compiled
    """64-bit FNV-1a hash of ``data[start:stop]``."""
    h = FNV_OFFSET
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
def _index_build(offsets, data, hashes, slots):  # pragma: no cover - compiled
    mask = slots.shape[0] - 1
    for i in range(offsets.shape[0] - 1):
        h = fnv1a(data, offsets[i], offsets[i + 1])
        hashes[i] = h
        slot = np.int64(h & np.uint64(mask))
        while slots[slot] >= 0:
            slot = (slot + 1) & mask
        slots[slot] = i


@numba.njit(cache=True, nogil=True)
def _index_find(offsets, data, hashes, slots, v_offsets, v_data, v_valid, out):  # pragma: no cover
    mask = slots.shape[0] - 1
    for i in range(v_offsets.shape[0] - 1):
        out[i] = -1
        if not v_valid[i]:
            continue
        start, n = v_offsets[i], v_offsets[i + 1] - v_offsets[i]
        h = fnv1a(v_data, start, start + n)
        slot = np.int64(h & np.uint64(mask))
        while slots[slot] >= 0:
            k = slots[slot]
            if (
                hashes[k] == h
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
        self._hashes = np.empty(len(self.keys), np.uint64)
        self._slots = np.full(1 << max(4, (2 * len(self.keys)).bit_length()), -1, np.int64)
        _index_build(self._offsets, self._data, self._hashes, self._slots)

    def positions(self, values: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """Each value's position among the keys; -1 where it is not one of them, or null."""
        offsets, data, valid = as_bytes(values)
        out = np.empty(len(valid), np.int64)
        _index_find(self._offsets, self._data, self._hashes, self._slots, offsets, data, valid, out)
        return out


@numba.njit(cache=True, nogil=True, inline="always")
def _rotl(x, b):  # pragma: no cover - compiled
    return (x << np.uint64(b)) | (x >> np.uint64(64 - b))


@numba.njit(cache=True, nogil=True)
def _siphash24(data, start, stop, k0, k1):  # pragma: no cover - compiled
    """SipHash-2-4 of ``data[start:stop]`` (the reference algorithm, as pandas hashes
    strings)."""
    v0 = k0 ^ np.uint64(0x736F6D6570736575)
    v1 = k1 ^ np.uint64(0x646F72616E646F6D)
    v2 = k0 ^ np.uint64(0x6C7967656E657261)
    v3 = k1 ^ np.uint64(0x7465646279746573)
    n = stop - start
    end = start + (n - n % 8)
    j = start
    while j <= stop:
        if j < end:
            m = np.uint64(0)
            for k in range(8):
                m |= np.uint64(data[j + k]) << np.uint64(8 * k)
        else:  # the last word: the remaining bytes and the length in the top byte
            m = np.uint64(n & 0xFF) << np.uint64(56)
            for k in range(stop - j):
                m |= np.uint64(data[j + k]) << np.uint64(8 * k)
        v3 ^= m
        for _ in range(2):
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
        v0 ^= m
        j += 8
    v2 ^= np.uint64(0xFF)
    for _ in range(4):
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
    return v0 ^ v1 ^ v2 ^ v3


@numba.njit(cache=True, nogil=True)
def _pandas_hashes(offsets, data, k0, k1, out):  # pragma: no cover - compiled
    for i in range(offsets.shape[0] - 1):
        h = _siphash24(data, offsets[i], offsets[i + 1], k0, k1)
        h ^= h >> np.uint64(30)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
        out[i] = h


_PANDAS_KEY = np.frombuffer(b"0123456789123456", np.uint64)  # pandas' default hash key


def pandas_hashes(arr: pa.Array) -> np.ndarray:
    """``pandas.util.hash_array(values, categorize=False)`` of a string array without nulls,
    computed on its bytes: pandas first turns every value into a Python string."""
    offsets, data, _ = as_bytes(arr)
    out = np.empty(len(offsets) - 1, np.uint64)
    _pandas_hashes(offsets, data, _PANDAS_KEY[0], _PANDAS_KEY[1], out)
    return out
