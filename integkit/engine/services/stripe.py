"""Stripe: friendly dates for ``created`` ranges, and the documented writes with typed arguments.

>>> stripe = ik.connect("stripe", api_key="sk_test_...")                  # doctest: +SKIP
>>> stripe.list("charges", created={"gte": "2024-01-01"}, expand=["data.customer"]).to_frame()
>>> stripe.create_payment_intent(amount=2000, currency="usd", metadata={"order": "42"})
"""

from __future__ import annotations

from typing import Any

from ..._errors import ConfigError
from ..._validate import epoch_seconds
from .._listing import partitioning, register_strategies
from .._rest import Connection

__all__ = ["StripeConnection", "to_unix"]

_RANGE_KEYS = ("gt", "gte", "lt", "lte")


def to_unix(value: Any) -> int:
    """Seconds since the epoch from an int, a date, a datetime (naive = UTC) or an ISO string."""
    try:
        seconds = epoch_seconds(value)
    except ValueError:
        seconds = None
    if seconds is None:
        if isinstance(value, str):
            raise ConfigError(
                f"cannot read {value!r} as a date; use ISO format like '2024-01-31' "
                "or '2024-01-31T12:00:00Z', or a unix timestamp"
            )
        raise ConfigError(f"not a time: {value!r}")
    return int(seconds)


# Every listing is newest first and filters on ``created``: parallel reads cut it in time ranges.
register_strategies("stripe", partitioning("created_time"))


class StripeConnection(Connection):
    """Stripe's REST API: form-encoded bodies, ``starting_after`` paging, idempotent POSTs."""

    def prepare_params(self, params: dict[str, Any]) -> dict[str, Any]:
        params = dict(params)
        for key in ("created", "arrival_date", "available_on", "due_date"):
            value = params.get(key)
            if isinstance(value, dict):
                unknown = set(value) - set(_RANGE_KEYS)
                if unknown:
                    raise ConfigError(
                        f"{key} range keys must be among {_RANGE_KEYS}, not {sorted(unknown)}"
                    )
                params[key] = {k: to_unix(v) for k, v in value.items()}
            elif value is not None:
                params[key] = to_unix(value)
        return params



CONNECTION = StripeConnection
