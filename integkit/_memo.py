"""One object per key in the process, made on first use: the backend of a state URL, the
token store on it, the ledger on a backend, the HTTP cache's store of a namespace.

Every part that shares a key shares the object (its connections, its locks), however many
threads ask for it first at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["OncePerKey"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class OncePerKey(Generic[K, V]):
    """The objects made so far, by key.

    >>> made = OncePerKey[str, list[str]]()
    >>> made.get("a", list) is made.get("a", lambda: ["never made"])
    True
    """

    def __init__(self) -> None:
        self._made: dict[K, V] = {}
        self._lock = threading.Lock()

    def get(self, key: K, make: Callable[[], V]) -> V:
        """The object for ``key``; ``make()`` builds it (under the lock) the first time."""
        with self._lock:
            if key not in self._made:
                self._made[key] = make()
            return self._made[key]

    def items(self) -> list[tuple[K, V]]:
        """The keys and objects made so far (a copy)."""
        with self._lock:
            return list(self._made.items())
