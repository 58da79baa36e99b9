"""Exact path-dependent TreeSHAP for LightGBM boosters, split into a load step and a per-link step.

The "v2" idea of Yang's Fast TreeSHAP (2021): a leaf's root-to-leaf path has at most D distinct
features, and its contribution to each of them depends only on the leaf value, the path's
cover fractions, and which of those D features the link "follows" (a D-bit pattern). At load
time, for every leaf and every one of its 2^D patterns, the classic EXTEND / UNWIND recursion
runs once and the D contributions are stored. Per link and per tree, the internal nodes'
decisions are evaluated once, each leaf's pattern is read off its path, and D table entries
are added. The result is what LightGBM's ``pred_contrib=True`` returns (same features, same
base value, log-odds scale), several times faster.

Decisions follow LightGBM's own ``NumericalDecision`` / ``CategoricalDecision`` (tree.h):
missing types None / Zero / NaN with ``default_left``, and categorical bitsets. The trees come
from the booster's native text format, so thresholds keep full precision.

Memory is trees x leaves x 2^D x D doubles, which is why training caps the depth.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from features.artifact import on_all_cores, parse_model

K_ZERO_THRESHOLD = 1e-35
MAX_DEPTH = 12


# ------------------------------------------------------------------------------------------------
# load step: per-leaf paths and pattern tables
# ------------------------------------------------------------------------------------------------


@numba.njit(cache=True)
def _extend(d, z, o, w, length, pz, po, pi):
    d[length] = pi
    z[length] = pz
    o[length] = po
    w[length] = 1.0 if length == 0 else 0.0
    for i in range(length - 1, -1, -1):
        w[i + 1] += po * w[i] * (i + 1) / (length + 1)
        w[i] = pz * w[i] * (length - i) / (length + 1)


@numba.njit(cache=True)
def _unwound_sum(z, o, w, unique_depth, i):
    one = o[i]
    zero = z[i]
    next_one_portion = w[unique_depth]
    total = 0.0
    for j in range(unique_depth - 1, -1, -1):
        if one != 0.0:
            tmp = next_one_portion * (unique_depth + 1) / ((j + 1) * one)
            total += tmp
            next_one_portion = w[j] - tmp * zero * ((unique_depth - j) / (unique_depth + 1))
        elif zero != 0.0:
            total += (w[j] / zero) / ((unique_depth - j) / (unique_depth + 1))
    return total


@numba.njit(cache=True)
def _leaf_table(zeros, leaf_value, out):
    """out[p * D + i]: contribution to the leaf's i-th feature when the link's pattern is p."""
    n = zeros.shape[0]
    d = np.empty(n + 1, np.int64)
    z = np.empty(n + 1)
    o = np.empty(n + 1)
    w = np.empty(n + 1)
    for p in range(1 << n):
        _extend(d, z, o, w, 0, 1.0, 1.0, -1)
        for i in range(n):
            _extend(d, z, o, w, i + 1, zeros[i], float((p >> i) & 1), i)
        for i in range(n):
            s = _unwound_sum(z, o, w, n, i + 1)
            out[p * n + i] = s * (o[i + 1] - z[i + 1]) * leaf_value


@dataclass
class Tables:
    """Flat arrays the per-link kernel walks (indexed by tree, global node or global leaf)."""

    n_features: int
    bias: float
    max_depth: int
    tree_node_start: np.ndarray
    tree_node_count: np.ndarray
    tree_leaf_start: np.ndarray
    split_feature: np.ndarray
    threshold: np.ndarray
    decision_type: np.ndarray
    cat_start: np.ndarray
    cat_len: np.ndarray
    cat_words: np.ndarray
    left: np.ndarray
    right: np.ndarray
    slot: np.ndarray
    fresh: np.ndarray
    leaf_feat_start: np.ndarray
    leaf_feat_len: np.ndarray
    leaf_feat: np.ndarray
    leaf_table_start: np.ndarray
    table: np.ndarray
    tree_value_start: np.ndarray  # per tree: offset of its leaf values in ``leaf_value``
    leaf_value: np.ndarray  # every tree's leaf values, single-leaf trees included


def build(text: str) -> Tables:
    """Precompute, per node, the pattern slot of its feature, and per leaf its pattern table."""
    n_features, trees = parse_model(text)
    bias = 0.0
    max_depth = 0
    cols: dict[str, list] = {
        k: []
        for k in (
            "tns",
            "tnc",
            "tls",
            "sf",
            "th",
            "dt",
            "cs",
            "cl",
            "words",
            "left",
            "right",
            "slot",
            "fresh",
            "lfs",
            "lfl",
            "lf",
            "lts",
            "tvs",
            "lv",
        )
    }
    tables: list[np.ndarray] = []
    table_size = node_base = leaf_base = 0
    for tree in trees:
        n_nodes = len(tree.split_feature)
        cols["tns"].append(node_base)
        cols["tnc"].append(n_nodes)
        cols["tls"].append(leaf_base)
        cols["tvs"].append(len(cols["lv"]))
        cols["lv"].extend(tree.leaf_value.tolist())
        if n_nodes == 0:
            bias += float(tree.leaf_value[0])
            continue
        bias += float(np.sum(tree.leaf_count / tree.internal_count[0] * tree.leaf_value))
        slot = np.zeros(n_nodes, np.int64)
        fresh = np.zeros(n_nodes, np.bool_)
        leaf_info: dict[int, tuple[list[int], list[float]]] = {}
        # walk from the root carrying (distinct features so far, their cover fractions)
        stack: list[tuple[int, list[int], list[float], int]] = [(0, [], [], 1)]
        while stack:
            node, feats, zeros, depth = stack.pop()
            max_depth = max(max_depth, depth)
            f = int(tree.split_feature[node])
            fresh[node] = f not in feats
            slot[node] = len(feats) if fresh[node] else feats.index(f)
            for child in (tree.left[node], tree.right[node]):
                count = tree.leaf_count[~child] if child < 0 else tree.internal_count[child]
                frac = count / tree.internal_count[node]
                if fresh[node]:
                    child_feats, child_zeros = [*feats, f], [*zeros, frac]
                else:
                    child_feats, child_zeros = feats, list(zeros)
                    child_zeros[slot[node]] *= frac
                if child < 0:
                    leaf_info[~child] = (child_feats, child_zeros)
                else:
                    stack.append((child, child_feats, child_zeros, depth + 1))
        for k in range(n_nodes):
            cols["sf"].append(tree.split_feature[k])
            cols["th"].append(tree.threshold[k])
            cols["dt"].append(tree.decision_type[k])
            cols["left"].append(tree.left[k])
            cols["right"].append(tree.right[k])
            cols["slot"].append(slot[k])
            cols["fresh"].append(fresh[k])
            if tree.decision_type[k] & 1:
                idx = int(tree.threshold[k])
                lo, hi = tree.cat_boundaries[idx], tree.cat_boundaries[idx + 1]
                cols["cs"].append(len(cols["words"]))
                cols["cl"].append(hi - lo)
                cols["words"].extend(tree.cat_threshold[lo:hi].tolist())
            else:
                cols["cs"].append(0)
                cols["cl"].append(0)
        for leaf in range(len(tree.leaf_value)):
            feats, zeros = leaf_info[leaf]
            if len(feats) > MAX_DEPTH:
                raise ValueError(
                    f"a leaf path has {len(feats)} distinct features; "
                    f"the explainer supports up to {MAX_DEPTH}"
                )
            cols["lfs"].append(len(cols["lf"]))
            cols["lfl"].append(len(feats))
            cols["lf"].extend(feats)
            cols["lts"].append(table_size)
            out = np.empty((1 << len(feats)) * len(feats))
            _leaf_table(np.asarray(zeros), float(tree.leaf_value[leaf]), out)
            tables.append(out)
            table_size += len(out)
        node_base += n_nodes
        leaf_base += len(tree.leaf_value)
    i64 = np.int64
    return Tables(
        n_features,
        bias,
        max_depth,
        np.asarray(cols["tns"], i64),
        np.asarray(cols["tnc"], i64),
        np.asarray(cols["tls"], i64),
        np.asarray(cols["sf"], np.int32),
        np.asarray(cols["th"], np.float64),
        np.asarray(cols["dt"], np.int8),
        np.asarray(cols["cs"], i64),
        np.asarray(cols["cl"], i64),
        np.asarray(cols["words"], np.uint32),
        np.asarray(cols["left"], i64),
        np.asarray(cols["right"], i64),
        np.asarray(cols["slot"], i64),
        np.asarray(cols["fresh"], np.bool_),
        np.asarray(cols["lfs"], i64),
        np.asarray(cols["lfl"], i64),
        np.asarray(cols["lf"], i64),
        np.asarray(cols["lts"], i64),
        np.concatenate(tables) if tables else np.zeros(0),
        np.asarray(cols["tvs"], i64),
        np.asarray(cols["lv"], np.float64),
    )


# ------------------------------------------------------------------------------------------------
# per-link step
# ------------------------------------------------------------------------------------------------


@numba.njit(cache=True, inline="always")
def _goes_left(fval, threshold, dtype, cat_start, cat_len, words):
    if dtype & 1:  # categorical
        if np.isnan(fval):
            return False
        ival = int(fval)
        if ival < 0:
            return False
        word = ival >> 5
        if word >= cat_len:
            return False
        return ((words[cat_start + word] >> np.uint32(ival & 31)) & np.uint32(1)) == 1
    missing = (dtype >> 2) & 3
    if np.isnan(fval) and missing != 2:
        fval = 0.0
    if (missing == 1 and abs(fval) <= K_ZERO_THRESHOLD) or (missing == 2 and np.isnan(fval)):
        return (dtype & 2) != 0
    return fval <= threshold


@numba.njit(cache=True, inline="always")
def _add_tree(
    decisions,
    left,
    right,
    slot,
    fresh,
    leaf_base,
    lfs,
    lfl,
    lf,
    lts,
    table,
    columns,
    out,
    stack_node,
    stack_pattern,
):
    """Add one tree's contributions to ``out`` for one vector of node decisions.

    Walks the tree once carrying the pattern of the path so far: a node's feature has a fixed
    slot on every path through it (its first appearance from the root); the child's pattern
    sets that slot's bit (first appearance) or keeps it only if it was already set. At a leaf,
    the pattern picks the row of its table. ``columns`` maps feature → column of ``out``.
    """
    top = 0
    stack_node[0] = 0
    stack_pattern[0] = 0
    while top >= 0:
        node = stack_node[top]
        pattern = stack_pattern[top]
        top -= 1
        go_left = decisions[node]
        bit = np.int64(1) << slot[node]
        if fresh[node]:
            p_left = pattern | bit if go_left else pattern
            p_right = pattern if go_left else pattern | bit
        else:
            p_left = pattern if go_left else pattern & ~bit
            p_right = pattern & ~bit if go_left else pattern
        for child, p in ((right[node], p_right), (left[node], p_left)):
            if child >= 0:
                top += 1
                stack_node[top] = child
                stack_pattern[top] = p
            else:
                leaf = leaf_base + ~child
                d = lfl[leaf]
                off = lts[leaf] + p * d
                fs = lfs[leaf]
                for i in range(d):
                    out[columns[lf[fs + i]]] += table[off + i]


def _contributions(
    X,
    out,
    bias,
    tns,
    tnc,
    sf,
    th,
    dt,
    cs,
    cl,
    words,
    left,
    right,
    slot,
    fresh,
    leaf_base,
    lfs,
    lfl,
    lf,
    lts,
    table,
    max_depth,
):
    """Per link: evaluate each tree's node decisions, then walk the tree adding leaf rows."""
    n = X.shape[0]
    k = X.shape[1]
    identity = np.arange(k)
    for r in numba.prange(n):
        stack_node = np.empty(max_depth + 2, np.int64)
        stack_pattern = np.empty(max_depth + 2, np.int64)
        decisions = np.empty(max(1, tnc.max()), np.bool_)
        x = X[r]
        row = out[r]
        for j in range(k):
            row[j] = 0.0
        row[k] = bias
        for t in range(tns.shape[0]):
            base = tns[t]
            nodes = tnc[t]
            if nodes == 0:
                continue
            for node in range(nodes):
                g = base + node
                decisions[node] = _goes_left(x[sf[g]], th[g], dt[g], cs[g], cl[g], words)
            _add_tree(
                decisions,
                left[base : base + nodes],
                right[base : base + nodes],
                slot[base : base + nodes],
                fresh[base : base + nodes],
                leaf_base[t],
                lfs,
                lfl,
                lf,
                lts,
                table,
                identity,
                row,
                stack_node,
                stack_pattern,
            )


def _raw_score(X, out, tns, tnc, sf, th, dt, cs, cl, words, left, right, tvs, leaf_value):
    """Per link: the sum of its leaves' values, tree by tree from 0.0, as LightGBM's own
    predict adds them (so the result is the same to the last bit). The nodes sit in a few
    flat arrays, which matters when one link is scored with cold caches: LightGBM's own
    predict took ~100 µs there (~25 µs warm)."""
    for r in numba.prange(X.shape[0]):
        x = X[r]
        total = 0.0
        for t in range(tns.shape[0]):
            node = 0
            if tnc[t] > 0:
                base = tns[t]
                while node >= 0:
                    g = base + node
                    if _goes_left(x[sf[g]], th[g], dt[g], cs[g], cl[g], words):
                        node = left[g]
                    else:
                        node = right[g]
                node = ~node
            total += leaf_value[tvs[t] + node]
        out[r] = total


# ------------------------------------------------------------------------------------------------
# decision tables: for small trees, one row per possible vector of node decisions
# ------------------------------------------------------------------------------------------------


@numba.njit(cache=True)
def _fill_decision_table(
    n_nodes, left, right, slot, fresh, feature_col, leaf_base, lfs, lfl, lf, lts, table, out
):
    """out[code, j]: the tree's contribution to its j-th feature when node n goes left iff bit
    n of ``code`` is set: the same walk as per link, once per possible decision vector."""
    stack_node = np.empty(64, np.int64)
    stack_pattern = np.empty(64, np.int64)
    decisions = np.empty(n_nodes, np.bool_)
    for code in range(1 << n_nodes):
        for node in range(n_nodes):
            decisions[node] = (code >> node) & 1 == 1
        _add_tree(
            decisions,
            left,
            right,
            slot,
            fresh,
            leaf_base,
            lfs,
            lfl,
            lf,
            lts,
            table,
            feature_col,
            out[code],
            stack_node,
            stack_pattern,
        )


BLOCK = 256
"""Rows explained together, tree by tree: one tree's decision table (~100 KB) stays in the
core's cache for a whole block instead of every row touching every tree's table (~25 MB)."""


@numba.njit(cache=True, inline="always")
def _block_codes(xt, m, codes, base, nodes, sf, th, dt, cs, cl, words):
    """Each row's decision code for one tree: bit n set iff the row goes left at node n.

    Decisions are taken node by node over a block of rows (the block's features transposed,
    so each node reads one contiguous column), each kind of split as a branch-free loop the
    compiler vectorises; they decide exactly as ``_goes_left`` (tested). A branchy test in
    the same function, even for splits a model does not have, kept the compiler from
    vectorising any of it (2.5x slower)."""
    for r in range(m):
        codes[r] = 0
    for node in range(nodes):
        g = base + node
        f = sf[g]
        bit = np.int64(1) << node
        d = dt[g]
        missing = (d >> 2) & 3
        threshold = th[g]
        if d & 1:
            # categorical: a value in the bitset goes left; NaN, negatives (truncated toward
            # zero, as LightGBM casts) and values past the bitset go right; word by word, so
            # no gather
            end = 32.0 * cl[g]
            for w in range(cl[g]):
                bits = words[cs[g] + w]
                for r in range(m):
                    x = xt[f, r]
                    ok = (x > -1.0) & (x < end)
                    ival = np.int64(x if ok else 0.0)
                    hit = ((bits >> np.uint32(ival & 31)) & np.uint32(1)) == 1
                    codes[r] |= bit * (ok & ((ival >> 5) == w) & hit)
        elif missing == 1:  # zero as missing: NaN reads as 0.0, and 0.0 takes the default
            default_left = (d & 2) != 0
            for r in range(m):
                x = xt[f, r]
                x = 0.0 if x != x else x
                left = default_left if abs(x) <= K_ZERO_THRESHOLD else x <= threshold
                codes[r] |= bit * left
        else:  # missing None: NaN reads as 0.0; missing NaN: NaN takes the default side
            nan_left = (threshold >= 0.0) if missing == 0 else (d & 2) != 0
            for r in range(m):
                x = xt[f, r]
                left = (x <= threshold) | ((x != x) & nan_left)
                codes[r] |= bit * left


@numba.njit(cache=True, inline="always")
def _transpose_block(X, lo, m, xt):
    for r in range(m):
        for j in range(X.shape[1]):
            xt[j, r] = X[lo + r, j]


def _decision_raw_score(X, out, tns, tnc, sf, th, dt, cs, cl, words, tvs, leaf_value, cstart, leaf):
    """Per block of rows and tree: the decision codes pick each row's leaf; its value is added
    tree by tree from 0.0, as LightGBM's own predict adds them (the same result to the last
    bit), with the decisions vectorised instead of a branchy walk per row."""
    n = X.shape[0]
    for b in numba.prange((n + BLOCK - 1) // BLOCK):
        lo = b * BLOCK
        m = min(n, lo + BLOCK) - lo
        xt = np.empty((X.shape[1], BLOCK))
        codes = np.zeros(BLOCK, np.int64)
        total = np.zeros(BLOCK)
        _transpose_block(X, lo, m, xt)
        for t in range(tns.shape[0]):
            nodes = tnc[t]
            if nodes == 0:
                for r in range(m):
                    total[r] += leaf_value[tvs[t]]
                continue
            _block_codes(xt, m, codes, tns[t], nodes, sf, th, dt, cs, cl, words)
            values = leaf_value[tvs[t] :]
            leaves = leaf[cstart[t] :]
            for r in range(m):
                total[r] += values[leaves[codes[r]]]
        for r in range(m):
            out[lo + r] = total[r]


def _decision_contributions(
    X,
    out,
    raw,
    bias,
    tns,
    tnc,
    sf,
    th,
    dt,
    cs,
    cl,
    words,
    dstart,
    dfeat_start,
    dfeat_len,
    dfeat,
    dtable,
    tvs,
    leaf_value,
    cstart,
    leaf,
):
    """Per link and tree: the node decisions form a code; add that code's row, and the code's
    leaf value to the raw score (the same sum as ``_decision_raw_score``, so explaining every
    link takes the decisions once). Contributions are summed in a transposed block (feature
    by row), so each of a tree's features is one contiguous run of additions. Trees are added
    in the same order for every row, so the sums do not depend on blocking.
    """
    n = X.shape[0]
    k = X.shape[1]
    for b in numba.prange((n + BLOCK - 1) // BLOCK):
        lo = b * BLOCK
        m = min(n, lo + BLOCK) - lo
        xt = np.empty((k, BLOCK))
        acc = np.zeros((k, BLOCK))
        codes = np.zeros(BLOCK, np.int64)
        total = np.zeros(BLOCK)
        _transpose_block(X, lo, m, xt)
        for t in range(tns.shape[0]):
            nodes = tnc[t]
            if nodes == 0:
                for r in range(m):
                    total[r] += leaf_value[tvs[t]]
                continue
            _block_codes(xt, m, codes, tns[t], nodes, sf, th, dt, cs, cl, words)
            values = leaf_value[tvs[t] :]
            leaves = leaf[cstart[t] :]
            for r in range(m):
                total[r] += values[leaves[codes[r]]]
            width = dfeat_len[t]
            table = dtable[dstart[t] :]
            for i in range(width):
                row = acc[dfeat[dfeat_start[t] + i]]
                for r in range(m):
                    row[r] += table[codes[r] * width + i]
        for r in range(m):
            raw[lo + r] = total[r]
            for j in range(k):
                out[lo + r, j] = acc[j, r]
            out[lo + r, k] = bias


def _compiled(fn: Any, parallel: bool) -> Any:
    """``fn`` compiled for many cores or for the calling thread alone (both release the GIL).

    The parallel variant is compiled from a copy of ``fn`` under its own name: numba's disk
    cache keys entries by function name, line and signature, not by ``parallel``, so the two
    variants would otherwise share one entry and both run whichever was compiled first.
    """
    if parallel:
        fn = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + "_parallel")
        fn.__qualname__ = fn.__name__
    return numba.njit(parallel=parallel, nogil=True, cache=True)(fn)


_KERNELS = {
    (kind, parallel): _compiled(fn, parallel)
    for kind, fn in (("raw", _decision_raw_score), ("explain", _decision_contributions))
    for parallel in (True, False)
}
DECISION_TABLE_BYTES = 256 * 2**20
"""Largest decision-table set built; bigger (deeper or wider) trees use the pattern tables."""


@dataclass
class DecisionTables:
    start: np.ndarray  # per tree: offset of its rows in ``table``
    feat_start: np.ndarray  # per tree: offset of its feature list in ``feat``
    feat_len: np.ndarray
    feat: np.ndarray
    table: np.ndarray
    code_start: np.ndarray  # per tree: offset of its codes in ``leaf``
    leaf: np.ndarray  # per tree and decision code: the leaf it reaches


@numba.njit(cache=True)
def _fill_leaves(left, right, out):
    """out[code]: the leaf reached when node n goes left iff bit n of ``code`` is set."""
    for code in range(out.shape[0]):
        node = 0
        while node >= 0:
            node = left[node] if (code >> node) & 1 else right[node]
        out[code] = ~node


def build_decision_tables(t: Tables, limit: int = DECISION_TABLE_BYTES) -> DecisionTables | None:
    """Decision tables for every tree, or None when they would take more than ``limit``."""
    sizes = []
    feats: list[np.ndarray] = []
    for i in range(len(t.tree_node_start)):
        nodes = int(t.tree_node_count[i])
        f = np.unique(t.split_feature[t.tree_node_start[i] : t.tree_node_start[i] + nodes])
        feats.append(f.astype(np.int64))
        sizes.append((1 << nodes) * len(f) if nodes else 0)
        if nodes > 20 or sum(sizes) * 8 > limit:
            return None
    start = np.r_[0, np.cumsum(sizes)[:-1]].astype(np.int64)
    table = np.zeros(int(sum(sizes)))
    n_codes = [1 << int(c) if c else 0 for c in t.tree_node_count]
    code_start = np.r_[0, np.cumsum(n_codes)[:-1]].astype(np.int64)
    leaf = np.zeros(int(sum(n_codes)), np.int32)
    col = np.full(t.n_features, -1, np.int64)
    for i, f in enumerate(feats):
        nodes = int(t.tree_node_count[i])
        if nodes == 0:
            continue
        col[:] = -1
        col[f] = np.arange(len(f))
        view = table[start[i] : start[i] + sizes[i]].reshape(1 << nodes, len(f))
        b = int(t.tree_node_start[i])
        _fill_leaves(
            t.left[b : b + nodes],
            t.right[b : b + nodes],
            leaf[code_start[i] : code_start[i] + (1 << nodes)],
        )
        _fill_decision_table(
            nodes,
            t.left[b : b + nodes],
            t.right[b : b + nodes],
            t.slot[b : b + nodes],
            t.fresh[b : b + nodes],
            col,
            int(t.tree_leaf_start[i]),
            t.leaf_feat_start,
            t.leaf_feat_len,
            t.leaf_feat,
            t.leaf_table_start,
            t.table,
            view,
        )
    lens = np.asarray([len(f) for f in feats], np.int64)
    return DecisionTables(
        start,
        np.r_[0, np.cumsum(lens)[:-1]].astype(np.int64),
        lens,
        np.concatenate(feats) if feats else np.zeros(0, np.int64),
        table,
        code_start,
        leaf,
    )


_raw_score_parallel = _compiled(_raw_score, parallel=True)
_raw_score_serial = _compiled(_raw_score, parallel=False)
_contributions_parallel = _compiled(_contributions, parallel=True)
_contributions_serial = _compiled(_contributions, parallel=False)


class FastTreeShap:
    """Exact SHAP contributions for a LightGBM text model; ``contributions(X)`` matches
    ``booster.predict(X, pred_contrib=True)``."""

    def __init__(self, model_text: str) -> None:
        self.tables = build(model_text)
        self.max_depth = int(max(self.tables.max_depth, 1))
        self.decisions = build_decision_tables(self.tables)

    @property
    def table_bytes(self) -> int:
        extra = self.decisions.table.nbytes if self.decisions is not None else 0
        return int(self.tables.table.nbytes + extra)

    def _matrix(self, X: np.ndarray) -> np.ndarray:
        X = np.ascontiguousarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.tables.n_features:
            raise ValueError(
                f"expected a matrix with {self.tables.n_features} columns, got shape {X.shape}"
            )
        return X

    def _nodes(self) -> tuple[np.ndarray, ...]:
        """The node arrays every kernel reads (what a decision at each node needs)."""
        t = self.tables
        return (
            t.tree_node_start,
            t.tree_node_count,
            t.split_feature,
            t.threshold,
            t.decision_type,
            t.cat_start,
            t.cat_len,
            t.cat_words,
        )

    def raw_score(
        self, X: np.ndarray, *, use_decisions: bool = True, parallel: bool = True
    ) -> np.ndarray:
        """Log-odds, exactly LightGBM's ``predict(X, raw_score=True)`` (the same trees)."""
        X = self._matrix(X)
        t = self.tables
        d = self.decisions
        out = np.empty(len(X))
        if not len(X):
            return out
        many = on_all_cores(len(X), parallel)
        if use_decisions and d is not None:
            kernel = _KERNELS["raw", many]
            kernel(X, out, *self._nodes(), t.tree_value_start, t.leaf_value, d.code_start, d.leaf)
        else:
            kernel = _raw_score_parallel if many else _raw_score_serial
            kernel(X, out, *self._nodes(), t.left, t.right, t.tree_value_start, t.leaf_value)
        return out

    def explain(
        self, X: np.ndarray, *, use_decisions: bool = True, parallel: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """(raw scores, contributions) of every row: with decision tables, both from one pass
        over the trees (the node decisions are most of the work)."""
        if not (use_decisions and self.decisions is not None):
            return (
                self.raw_score(X, use_decisions=False, parallel=parallel),
                self.contributions(X, use_decisions=False, parallel=parallel),
            )
        X = self._matrix(X)
        t = self.tables
        raw = np.empty(len(X))
        out = np.empty((X.shape[0], t.n_features + 1))
        if len(X):
            kernel = _KERNELS["explain", on_all_cores(len(X), parallel)]
            kernel(X, out, raw, t.bias, *self._nodes(), *self._decision_arrays())
        return raw, out

    def _decision_arrays(self) -> tuple[np.ndarray, ...]:
        d = self.decisions
        t = self.tables
        assert d is not None
        return (
            d.start,
            d.feat_start,
            d.feat_len,
            d.feat,
            d.table,
            t.tree_value_start,
            t.leaf_value,
            d.code_start,
            d.leaf,
        )

    def contributions(
        self, X: np.ndarray, *, use_decisions: bool = True, parallel: bool = True
    ) -> np.ndarray:
        """Exact contributions, one row per link, the base value last.

        ``parallel=False`` keeps the work on the calling thread (the kernels release the GIL),
        for callers that already run several of these at once, such as batch scoring threads.
        """
        if use_decisions and self.decisions is not None:
            return self.explain(X, parallel=parallel)[1]
        X = self._matrix(X)
        t = self.tables
        out = np.empty((X.shape[0], t.n_features + 1))
        if len(X):
            kernel = (
                _contributions_parallel if on_all_cores(len(X), parallel) else _contributions_serial
            )
            kernel(
                X,
                out,
                t.bias,
                *self._nodes(),
                t.left,
                t.right,
                t.slot,
                t.fresh,
                t.tree_leaf_start,
                t.leaf_feat_start,
                t.leaf_feat_len,
                t.leaf_feat,
                t.leaf_table_start,
                t.table,
                self.max_depth,
            )
        return out
