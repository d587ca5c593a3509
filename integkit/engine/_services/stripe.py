"""Stripe: ``created`` ranges split for parallel reads, and the documented writes with typed
arguments (its time parameters are typed in the definition).

>>> stripe = ik.connect("stripe", api_key="sk_test_...")                  # doctest: +SKIP
>>> stripe.list("charges", created={"gte": "2024-01-01"}, expand=["data.customer"]).to_frame()
>>> stripe.create_payment_intent(amount=2000, currency="usd", metadata={"order": "42"})
"""

from __future__ import annotations

from typing import Any

from ..._params import ParamType, convert
from .._listing import partitioning, register_strategies
from .._rest import Connection

__all__ = ["StripeConnection", "to_unix"]


def to_unix(value: Any) -> int:
    """Seconds since the epoch from an int, a date, a datetime (naive = UTC) or an ISO string:
    the ``unix`` parameter type (:mod:`integkit._params`), which the definition's time
    parameters (``created``...) go through."""
    return int(convert("time", value, ParamType("unix")))


# Every listing is newest first and filters on ``created``: parallel reads cut it in time ranges.
register_strategies("stripe", partitioning("created_time"))


class StripeConnection(Connection):
    """Stripe's REST API: form-encoded bodies, ``starting_after`` paging, idempotent POSTs."""


CONNECTION = StripeConnection
