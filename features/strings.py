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
