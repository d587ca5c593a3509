"""Progress bars for long extractions (``Result.fetch_all`` / ``to_frame`` / ``to_arrow``).

A bar appears once a read goes past its first page, so ``head()`` and one-page answers stay
quiet. It counts records (against ``max_records`` when set) and shows pages, partitions and the
seconds waited on rate limits as its postfix. ``tqdm.auto`` draws it as a widget in Jupyter and
as text on a terminal. By default bars are on where someone sees them (an interactive kernel,
Voila, a terminal) and off under papermill, nbconvert, CI or without a tty, so scheduled runs'
logs stay clean; ``progress=True`` / ``False`` decides instead. Without tqdm there is no bar.

The bar follows the Result's shared :class:`~integkit._results.Stats`, read after every page and
by a small ticker thread, so a parallel read moves while its workers fill later partitions.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

from ._frontend import has_frontend

__all__ = ["Progress", "progress_enabled", "track"]

_TICK_S = 0.5


def progress_enabled(progress: bool | None) -> bool:
    """``progress`` if given, else whether a bar would be seen here."""
    return has_frontend() if progress is None else bool(progress)


def _tqdm() -> Any:
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm


class Progress:
    """A bar over ``result``'s stats; a context manager. Disabled: every method is a no-op."""

    def __init__(self, result: Any, *, enabled: bool = True, file: Any = None) -> None:
        self.result = result
        self.file = file
        self._factory: Any = _tqdm() if enabled else None
        self.bar: Any = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return self._factory is not None

    def __enter__(self) -> Progress:
        if self.enabled:
            self._ticker = threading.Thread(target=self._tick, daemon=True,
                                            name="integkit-progress")
            self._ticker.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=2)
        with self._lock:
            if self.bar is None:
                return
            self._sync()
            if exc is not None:
                self.bar.set_description_str(f"{self._title()} (stopped: read again to resume)")
            self.bar.close()

    def _tick(self) -> None:
        while not self._stop.wait(_TICK_S):
            self.update()

    def _title(self) -> str:
        return f"{self.result.service} {self.result.endpoint}"

    def update(self) -> None:
        """Bring the bar up to date (creating it once past the first page)."""
        if not self.enabled:
            return
        with self._lock:
            if self._stop.is_set() and self.bar is None:
                return
            stats = self.result.stats
            if self.bar is None:
                if stats.pages < 1 or self.result.complete:
                    return
                self.bar = self._factory(
                    total=self.result.max_records, initial=self._records(), desc=self._title(),
                    unit=" records",
                    unit_scale=True, dynamic_ncols=True, mininterval=0.2, leave=True,
                    file=self.file,
                )
            self._sync()

    def _sync(self) -> None:
        stats = self.result.stats
        postfix = {"pages": f"{stats.pages:,}", "waited": f"{stats.seconds_waited:.1f}s"}
        partitions = getattr(self.result, "partitions", None)
        if isinstance(partitions, int) and partitions:
            postfix["partitions"] = f"{partitions}"
        if stats.retries:
            postfix["retries"] = f"{stats.retries:,}"
        self.bar.set_postfix(postfix, refresh=False)
        self.bar.update(max(0, self._records() - self.bar.n))

    def _records(self) -> int:
        records: int = self.result.stats.records
        cap = self.result.max_records
        return records if cap is None else min(records, cap)


def track(result: Any, progress: bool | None = None, *, file: Any = None) -> Progress:
    """The Progress of reading ``result`` (see the module doc for when it shows)."""
    return Progress(result, enabled=progress_enabled(progress), file=file)
