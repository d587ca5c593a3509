"""A bounded, thread-safe memory of delivery ids already handled (least recent goes first)."""

from __future__ import annotations

import threading
from collections import OrderedDict

__all__ = ["SeenIds"]


class SeenIds:
    """The last ``maxsize`` ids seen in this process.

    >>> seen = SeenIds(2)
    >>> seen.add("a"), seen.add("a")
    (True, False)
    """

    def __init__(self, maxsize: int = 10_000) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, key: str) -> bool:
        """Remember ``key``; True if it is new, False if it was already seen."""
        with self._lock:
            if key in self._ids:
                self._ids.move_to_end(key)
                return False
            self._ids[key] = None
            if len(self._ids) > self.maxsize:
                self._ids.popitem(last=False)
            return True

    def discard(self, key: str) -> None:
        """Forget ``key`` (its handling failed, so the service's retry must run again)."""
        with self._lock:
            self._ids.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._ids.clear()

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._ids

    def __len__(self) -> int:
        return len(self._ids)
