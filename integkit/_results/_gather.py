"""``ik.gather``: independent listings (one per repository, channel, account...) read at once.

Each lazy Result keeps its own cursor and its own connection's limits; the gathered Result
fetches them concurrently with ``parallel`` workers and yields their records in the order
the Results were given, each exactly once, with the usual resume after a failure.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .._errors import ConfigError
from .._validate import parallel as check_parallel
from ._parallel import ParallelResult
from ._result import Result

__all__ = ["gather"]


def gather(*results: Result | Iterable[Result], parallel: int = 4) -> Result:
    """One Result over several unread Results, fetched ``parallel`` at a time.

    >>> repos = ["acme/api", "acme/web", "acme/infra"]
    >>> issues = ik.gather(*(ik.github.issues(r, state="all") for r in repos))  # doctest: +SKIP
    >>> issues.to_frame()                                                         # doctest: +SKIP
    """
    workers = check_parallel(parallel)
    flat: list[Any] = []
    for item in results:
        flat.extend([item] if isinstance(item, Result) else list(item))
    if not flat:
        raise ConfigError("gather() needs at least one Result (e.g. conn.list(...))")
    for result in flat:
        if not isinstance(result, Result):
            raise ConfigError(f"gather() takes Results from conn.list(...), not {result!r}")
        if len(result) or result.max_records is not None or isinstance(result, ParallelResult):
            raise ConfigError(
                f"gather() takes fresh, uncapped, single-cursor Results; {result!r} has been "
                "read, has max_records, or is parallel already (cap the gathered Result instead)"
            )
    sources = [result._source for result in flat]  # noqa: SLF001 - same package
    return ParallelResult(sources[0], lambda stats: sources, workers=workers, across=False)
