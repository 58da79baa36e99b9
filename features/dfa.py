"""Several regular expressions searched in one pass over the bytes: a DFA built from the patterns.

Page types are seven patterns tried in order on every link's path: Arrow's RE2 kernel takes one
pass per pattern (about a microsecond per link for the seven). The same question, "which of
these patterns is the first to match anywhere in the value?", is answered here by one
deterministic automaton over the value's bytes, built once per set of patterns (subset
construction on a Thompson automaton), walked by a compiled kernel: one table step per byte.

Exactness. The automaton has RE2's meaning of the syntax it accepts, on valid UTF-8 (what Arrow
strings hold): ``^`` and ``$`` are the start and end of the text (no multi-line mode), ``\\d``
is ``[0-9]``, ``\\s`` is ``[\\t\\n\\f\\r ]``, ``\\w`` is ``[0-9A-Za-z_]``, and a negated class or
``.`` also matches any one non-ASCII character. Anything else (flags, word boundaries,
back-references, classes naming non-ASCII characters) makes ``compile`` return None and the
caller uses RE2; the tests compare both on generated text. Patterns are parsed by Python's own
regular-expression parser, whose syntax tree is the same for this subset.
"""

from __future__ import annotations

import functools
import re._constants as C
import re._parser as sre_parse
from collections.abc import Iterable
from dataclasses import dataclass

import numba
import numpy as np

MAX_STATES = 4096
"""A larger automaton is not built (RE2 is used instead)."""

_ASCII = frozenset(range(128))
_CATEGORIES = {
    C.CATEGORY_DIGIT: frozenset(range(48, 58)),
    C.CATEGORY_SPACE: frozenset({9, 10, 12, 13, 32}),
    C.CATEGORY_WORD: frozenset([*range(48, 58), *range(65, 91), *range(97, 123), 95]),
}
_LEAD = frozenset(range(0xC0, 0xF8))
_CONTINUATION = frozenset(range(0x80, 0xC0))


class Unsupported(ValueError):
    """The pattern uses syntax the automaton does not model."""


class _Nfa:
    """Thompson automaton: per node, epsilon edges (None, "^" or "$") and byte-set edges."""

    def __init__(self) -> None:
        self.eps: list[list[tuple[str | None, int]]] = []
        self.byte: list[list[tuple[frozenset[int], int]]] = []

    def node(self) -> int:
        self.eps.append([])
        self.byte.append([])
        return len(self.eps) - 1

    def chars(self, ascii: frozenset[int], non_ascii: bool, at: int) -> int:
        """Edges for one character from ``ascii`` (and any non-ASCII character if asked)."""
        end = self.node()
        self.byte[at].append((ascii, end))
        if non_ascii:  # a lead byte, then continuation bytes (valid UTF-8 ends the character)
            lead = self.node()
            self.byte[at].append((_LEAD, lead))
            self.byte[lead].append((_CONTINUATION, end))
            self.byte[lead].append((_CONTINUATION, lead))
        return end

    def sequence(self, items: Iterable[tuple], at: int) -> int:
        for op, av in items:
            at = self.item(op, av, at)
        return at

    def item(self, op: object, av: object, at: int) -> int:
        if op == C.LITERAL:
            for b in chr(av).encode():  # a non-ASCII literal is its UTF-8 bytes
                at = self.chars(frozenset({b}), False, at)
            return at
        if op == C.NOT_LITERAL:
            if av >= 128:
                raise Unsupported("negated non-ASCII literal")
            return self.chars(_ASCII - {av}, True, at)
        if op == C.ANY:
            return self.chars(_ASCII - {10}, True, at)  # RE2's "." stops at a newline
        if op == C.IN:
            chars, negated = _class(av)
            return self.chars(_ASCII - chars, True, at) if negated else self.chars(chars, False, at)
        if op == C.SUBPATTERN:
            _, add_flags, del_flags, items = av
            if add_flags or del_flags:
                raise Unsupported("flags")
            return self.sequence(items, at)
        if op == C.BRANCH:
            end = self.node()
            for alternative in av[1]:
                start = self.node()
                self.eps[at].append((None, start))
                self.eps[self.sequence(alternative, start)].append((None, end))
            return end
        if op in (C.MAX_REPEAT, C.MIN_REPEAT):  # greediness does not change whether it matches
            low, high, items = av
            for _ in range(low):
                at = self.sequence(items, at)
            if high == C.MAXREPEAT:
                loop = self.node()
                self.eps[at].append((None, loop))
                self.eps[self.sequence(items, loop)].append((None, loop))
                return loop
            end = self.node()
            self.eps[at].append((None, end))
            for _ in range(high - low):
                at = self.sequence(items, at)
                self.eps[at].append((None, end))
            return end
        if op == C.AT and av in (C.AT_BEGINNING, C.AT_BEGINNING_STRING):
            return self._assert("^", at)
        if op == C.AT and av in (C.AT_END, C.AT_END_STRING):
            return self._assert("$", at)
        raise Unsupported(f"{op} {av}")

    def _assert(self, kind: str, at: int) -> int:
        nxt = self.node()
        self.eps[at].append((kind, nxt))
        return nxt

    def closure(self, nodes: Iterable[int], begin: bool, end: bool) -> set[int]:
        """Nodes reachable by epsilon edges; "^" passable only at the start, "$" at the end."""
        out = set(nodes)
        todo = list(out)
        while todo:
            for kind, target in self.eps[todo.pop()]:
                if (kind == "^" and not begin) or (kind == "$" and not end) or target in out:
                    continue
                out.add(target)
                todo.append(target)
        return out


def _class(items: list[tuple]) -> tuple[frozenset[int], bool]:
    """An ASCII character class: (its characters, negated?)."""
    chars: set[int] = set()
    negated = False
    for op, av in items:
        if op == C.NEGATE:
            negated = True
        elif op == C.LITERAL and av < 128:
            chars.add(av)
        elif op == C.RANGE and av[1] < 128:
            chars.update(range(av[0], av[1] + 1))
        elif op == C.CATEGORY and av in _CATEGORIES:
            chars |= _CATEGORIES[av]
        else:
            raise Unsupported(f"class item {op} {av}")
    return frozenset(chars), negated


@dataclass(frozen=True)
class Dfa:
    """Byte classes, transitions, and per state the lowest pattern index known to match on
    entering it (``now``) or if the text ends there (``end``); ``len(patterns)`` = none. State 0
    is the start; a dead state (``dead``) can match nothing more."""

    classes: np.ndarray  # uint8[256]
    table: np.ndarray  # int32[states, classes]
    now: np.ndarray  # int32[states]
    end: np.ndarray  # int32[states]
    dead: np.ndarray  # bool[states]
    none: int


@functools.cache
def compile(patterns: tuple[str, ...]) -> Dfa | None:
    """The automaton for ``patterns`` (None if a pattern is outside the subset or the
    automaton would exceed ``MAX_STATES``)."""
    try:
        return _build(patterns)
    except (Unsupported, sre_parse.error, RecursionError):
        return None


def _build(patterns: tuple[str, ...]) -> Dfa | None:
    nfa = _Nfa()
    starts, accept = [], {}
    for k, pattern in enumerate(patterns):
        parsed = sre_parse.parse(pattern)
        if parsed.state.flags & ~C.SRE_FLAG_UNICODE:  # (?i), (?m), (?s)... for the whole pattern
            raise Unsupported("flags")
        start = nfa.node()
        accept[nfa.sequence(parsed, start)] = k
        starts.append(start)
    # a state is the set of its "important" nodes: those with byte edges, "$" edges or accepts
    important = {
        n
        for n in range(len(nfa.eps))
        if nfa.byte[n] or n in accept or any(k == "$" for k, _ in nfa.eps[n])
    }
    step = [frozenset(nfa.closure([n], False, False) & important) for n in range(len(nfa.eps))]
    restart = frozenset().union(*(step[s] for s in starts))  # a match may start at any byte
    signature: dict[tuple[bool, ...], int] = {}
    sets = sorted({fs for n in important for fs, _ in nfa.byte[n]}, key=sorted)
    classes = [
        signature.setdefault(tuple(b in fs for fs in sets), len(signature)) for b in range(256)
    ]
    n_classes = len(signature)
    # per node, the nodes each byte class leads to (only the classes it has edges for)
    moves: dict[int, dict[int, set[int]]] = {}
    for n in important:
        for fs, t in nfa.byte[n]:
            for c in {classes[b] for b in fs}:
                moves.setdefault(n, {}).setdefault(c, set()).update(step[t])
    first = frozenset(nfa.closure(starts, True, False) & important)
    ids: dict[tuple[bool, frozenset[int]], int] = {(True, first): 0}
    order = [(True, first)]
    table: list[list[int]] = []

    def state_id(key: tuple[bool, frozenset[int]]) -> int:
        if key not in ids:
            ids[key] = len(order)
            order.append(key)
        return ids[key]

    for _, state in order:  # grows while it is walked
        targets: dict[int, set[int]] = {}
        for n in state:
            for c, nodes in moves.get(n, {}).items():
                if c not in targets:
                    targets[c] = set(restart)
                targets[c].update(nodes)
        idle = state_id((False, restart))  # a class no node of the state has an edge for
        table.append(
            [
                state_id((False, frozenset(targets[c]))) if c in targets else idle
                for c in range(n_classes)
            ]
        )
        if len(order) > MAX_STATES:
            return None
    none = len(patterns)

    def lowest(nodes: Iterable[int]) -> int:
        return min((accept[n] for n in nodes if n in accept), default=none)

    return Dfa(
        classes=np.asarray(classes, np.uint8),
        table=np.asarray(table, np.int32),
        now=np.asarray([lowest(state) for _, state in order], np.int32),
        end=np.asarray([lowest(nfa.closure(state, s, True)) for s, state in order], np.int32),
        dead=np.asarray([not state for _, state in order], bool),
        none=none,
    )


@numba.njit(cache=True, nogil=True)
def _first(offsets, data, valid, classes, table, now, end, dead, none, out):  # pragma: no cover
    for r in range(out.shape[0]):
        if not valid[r]:
            out[r] = -1
            continue
        state = 0
        best = now[0]
        for j in range(offsets[r], offsets[r + 1]):
            if best == 0 or dead[state]:
                break
            state = table[state, classes[data[j]]]
            if now[state] < best:
                best = now[state]
        if end[state] < best:  # (a dead state, or best already 0, leaves best as it is)
            best = end[state]
        out[r] = best if best < none else -1


def first(dfa: Dfa, offsets: np.ndarray, data: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Per value, the index of the first pattern that matches (-1: none, or null)."""
    out = np.empty(len(valid), np.int64)
    _first(offsets, data, valid, dfa.classes, dfa.table, dfa.now, dfa.end, dfa.dead, dfa.none, out)
    return out
