"""Seeded, deterministic record generation for the emulators: dice, ids, timestamps, tables.

Every seeded record is a pure function of ``(seed, kind, index)``, so an emulator with 50,000
records per resource starts in well under a second: only ids and creation times are made up
front, objects are built when a page asks for them (and their JSON cached).
"""

from __future__ import annotations

import base64
import bisect
import fnmatch
import hashlib
import itertools
import random
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson

__all__ = [
    "Dice",
    "Table",
    "Weights",
    "created_series",
    "glob_match",
    "mix64",
    "salt",
    "tokens",
]

_MASK = (1 << 64) - 1
_ALNUM = bytes.maketrans(b"+/", b"Xq")


def mix64(x: int) -> int:
    """The splitmix64 finaliser: a fast, well-spread 64-bit hash of an integer."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def salt(seed: int, *parts: object) -> int:
    """A stable 64-bit salt for one kind of record under one seed (not hash(): that varies)."""
    text = "\x1f".join([str(seed), *map(str, parts)]).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


class Weights:
    """``(value, weight)`` pairs prepared for fast weighted picks."""

    __slots__ = ("values", "cumulative", "total")

    def __init__(self, pairs: Iterable[tuple[Any, float]]) -> None:
        pairs = list(pairs)
        self.values = [v for v, _ in pairs]
        self.cumulative = list(itertools.accumulate(w for _, w in pairs))
        self.total = self.cumulative[-1]
        self.cumulative[-1] = float("inf")  # random() * total can never step past the last


class Dice(random.Random):
    """A deterministic random source per record (Mersenne Twister seeded by an int, which is
    stable across Python versions), with the few draws the builders need."""

    def next(self) -> int:
        return self.getrandbits(64)

    def below(self, n: int) -> int:
        return int(self.random() * n) if n > 0 else 0

    def between(self, lo: int, hi: int) -> int:
        """An integer in ``[lo, hi]``."""
        return lo + int(self.random() * (hi - lo + 1))

    def unit(self) -> float:
        return self.random()

    def chance(self, p: float) -> bool:
        return self.random() < p

    def pick(self, seq: Sequence[Any]) -> Any:
        return seq[int(self.random() * len(seq))]

    def weighted(self, table: Weights) -> Any:
        """Pick from a ``Weights`` table."""
        return table.values[bisect.bisect_right(table.cumulative, self.random() * table.total)]

    def token(self, length: int) -> str:
        """Alphanumeric characters (as in Stripe ids)."""
        raw = self.randbytes((length * 3 + 3) // 4)
        return base64.b64encode(raw).translate(_ALNUM)[:length].decode()


def tokens(n: int, length: int, seed: int) -> list[str]:
    """``n`` distinct alphanumeric strings of ``length``, deterministic for ``seed``."""
    rng = random.Random(seed)
    width = (length * 3 + 3) // 4
    while True:
        text = base64.b64encode(rng.randbytes(n * width)).translate(_ALNUM).decode()
        step = len(text) // n if n else 0
        out = [text[i * step : i * step + length] for i in range(n)]
        if len(set(out)) == n:  # a collision is astronomically rare; draw again if it happens
            return out


def created_series(n: int, seed: int, *, newest: int, span: int) -> list[int]:
    """``n`` distinct unix times in ``(newest - span, newest]``, newest first (Stripe's order)."""
    span = max(span, n)
    offsets = random.Random(seed).sample(range(span), n)
    offsets.sort()
    return [newest - off for off in offsets]


Facts = dict[str, Any]


class Table:
    """One resource's records in Stripe's list order (newest first), with cursor paging.

    Positions run over objects added at run time (newest, kept oldest-first in ``added``)
    followed by the seeded ones (index ``i`` at position ``len(added) + i``). Seeded objects
    are built on demand by ``build(i)``; ``facts(obj)`` extracts the values list filters use.
    """

    def __init__(
        self,
        name: str,
        ids: list[str],
        created: list[int],
        build: Callable[[int], dict[str, Any]],
        facts: Callable[[dict[str, Any]], Facts],
        *,
        cache_bytes: int = 128 << 20,
    ) -> None:
        self.name = name
        self.ids = ids
        self.created = created
        self.n = len(ids)
        self._build = build
        self._facts = facts
        self.index: dict[str, int] = {v: i for i, v in enumerate(ids)}
        self.added: list[dict[str, Any]] = []
        self.added_index: dict[str, int] = {}
        self.changed: dict[int, dict[str, Any]] = {}
        self._json: dict[int, bytes] = {}
        self._json_size = 0
        self._cache_budget = cache_bytes
        self._facts_seeded: list[Facts] | None = None
        self._selections: dict[Any, list[int]] = {}

    # -- addressing ------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.added) + self.n

    def position(self, obj_id: str) -> int | None:
        i = self.index.get(obj_id)
        if i is not None:
            return len(self.added) + i
        k = self.added_index.get(obj_id)
        if k is not None:
            return len(self.added) - 1 - k
        return None

    def created_at(self, pos: int) -> int:
        m = len(self.added)
        if pos < m:
            return int(self.added[m - 1 - pos]["created"])
        return self.created[pos - m]

    def object_at(self, pos: int) -> dict[str, Any]:
        """The object at a position; seeded ones are fresh dicts, others the stored ones."""
        m = len(self.added)
        if pos < m:
            return self.added[m - 1 - pos]
        i = pos - m
        changed = self.changed.get(i)
        return changed if changed is not None else self._build(i)

    def get(self, obj_id: str) -> dict[str, Any] | None:
        pos = self.position(obj_id)
        return None if pos is None else self.object_at(pos)

    def json_at(self, pos: int) -> bytes:
        """The object's JSON (cached: a page of 100 is then a join of cached bytes)."""
        m = len(self.added)
        key = pos - m if pos >= m else -(m - pos)  # seeded i >= 0, added k -> -(k + 1)
        data = self._json.get(key)
        if data is None:
            data = orjson.dumps(self.object_at(pos))
            if self._json_size + len(data) > self._cache_budget:
                self._json.clear()
                self._json_size = 0
            self._json[key] = data
            self._json_size += len(data)
        return data

    def prebuild(self) -> None:
        """Build every seeded object now: its JSON (within the cache budget) and its facts,
        so that neither a page nor the first filtered list pays for it."""
        facts: list[Facts] = []
        m = len(self.added)
        for i in range(self.n):
            obj = self.object_at(m + i)
            facts.append(self._facts(obj))
            if i not in self._json and self._json_size < self._cache_budget:
                data = orjson.dumps(obj)
                self._json[i] = data
                self._json_size += len(data)
        self._facts_seeded = facts

    # -- changes ---------------------------------------------------------------------------
    def add(self, obj: dict[str, Any]) -> None:
        """Store a new object: it becomes the newest (first in lists)."""
        self.added_index[obj["id"]] = len(self.added)
        self.added.append(obj)
        self._selections.clear()

    def update(self, obj: dict[str, Any]) -> None:
        """Replace a stored or seeded object by a changed version of it."""
        obj_id = obj["id"]
        i = self.index.get(obj_id)
        if i is not None:
            self.changed[i] = obj
            if self._facts_seeded is not None:
                self._facts_seeded[i] = self._facts(obj)
            self._json.pop(i, None)
        else:
            k = self.added_index[obj_id]
            self.added[k] = obj
            self._json.pop(-(k + 1), None)
        self._selections.clear()

    # -- listing ---------------------------------------------------------------------------
    def select(
        self,
        *,
        limit: int,
        where: Callable[[Facts], bool] | None = None,
        where_key: Any = None,
        created: dict[str, int] | None = None,
        after: int | None = None,
        before: int | None = None,
    ) -> tuple[list[int], bool]:
        """Positions of one page, and whether more follow (in the paging direction).

        ``where`` filters on facts (``where_key`` names it for caching), ``created`` holds
        ``gt/gte/lt/lte/eq`` bounds, ``after``/``before`` are the cursor objects' positions.
        """
        cand: Sequence[int] = range(len(self))
        if where is not None:
            cand = self._matching(where, where_key)
        lo, hi = 0, len(cand)
        if created:
            lo, hi = self._created_bounds(cand, created, lo, hi)
        if before is not None:
            hi = min(hi, bisect.bisect_left(cand, before, lo, hi)) if hi > lo else hi
            start = max(lo, hi - limit)
            return list(cand[start:hi]), start > lo
        if after is not None:
            lo = max(lo, bisect.bisect_right(cand, after, lo, hi)) if hi > lo else lo
        end = min(hi, lo + limit)
        return list(cand[lo:end]), end < hi

    def facts_at(self, pos: int) -> Facts:
        m = len(self.added)
        if pos < m:
            return self._facts(self.added[m - 1 - pos])
        return self._seeded_facts()[pos - m]

    def _seeded_facts(self) -> list[Facts]:
        if self._facts_seeded is None:
            facts = self._facts
            self._facts_seeded = [facts(self.object_at(len(self.added) + i)) for i in range(self.n)]
        return self._facts_seeded

    def _matching(self, where: Callable[[Facts], bool], key: Any) -> list[int]:
        hit = self._selections.get(key) if key is not None else None
        if hit is not None:
            return hit
        m = len(self.added)
        out = [m - 1 - k for k in range(m - 1, -1, -1) if where(self._facts(self.added[k]))]
        out += [m + i for i, f in enumerate(self._seeded_facts()) if where(f)]
        if key is not None:
            if len(self._selections) > 32:
                self._selections.clear()
            self._selections[key] = out
        return out

    def _created_bounds(
        self, cand: Sequence[int], bounds: dict[str, int], lo: int, hi: int
    ) -> tuple[int, int]:
        # created is non-increasing along positions, so -created is sorted ascending.
        def key(pos: int) -> int:
            return -self.created_at(pos)

        for op, value in bounds.items():
            if op == "gt":
                hi = min(hi, bisect.bisect_left(cand, -value, lo, hi, key=key))
            elif op in ("gte", "eq"):
                hi = min(hi, bisect.bisect_right(cand, -value, lo, hi, key=key))
            if op == "lt":
                lo = max(lo, bisect.bisect_right(cand, -value, lo, hi, key=key))
            elif op in ("lte", "eq"):
                lo = max(lo, bisect.bisect_left(cand, -value, lo, hi, key=key))
            hi = max(hi, lo)
        return lo, hi


def glob_match(value: str | None, patterns: Iterable[str]) -> bool:
    """Whether ``value`` matches any of the shell-style ``patterns`` (events' ``type=charge.*``)."""
    return value is not None and any(fnmatch.fnmatchcase(value, p) for p in patterns)
