"""What ``ik.quota(service)`` returns: a plain dict, with a card for Jupyter."""

from __future__ import annotations

from typing import Any

from .. import _display

__all__ = ["QuotaStatus"]


class QuotaStatus(dict[str, Any]):
    """``ik.quota()``'s answer: ``service``, ``budgets``, ``limits``, ``throttled``,
    ``resumes_in``, ``pauses``, ``pauses_cleared``, ``seconds_waited``. A dict in every way;
    a notebook shows it as a card (budget bars, reset times, tiers, pauses)."""

    def _repr_html_(self) -> str:
        return _display.html("quota", self)
