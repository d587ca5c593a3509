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

    def create_payment_intent(
        self, amount: int, currency: str, *, idempotency_key: str | None = None, **params: Any
    ) -> dict[str, Any]:
        """Create a PaymentIntent; ``amount`` in the currency's smallest unit (cents)."""
        return self.call_operation(  # type: ignore[no-any-return]
            "create_payment_intent", {"amount": amount, "currency": currency, **params},
            idempotency_key=idempotency_key,
        )

    def create_customer(
        self, *, idempotency_key: str | None = None, **params: Any
    ) -> dict[str, Any]:
        """Create a customer (email, name, metadata, ...)."""
        return self.call_operation(  # type: ignore[no-any-return]
            "create_customer", params, idempotency_key=idempotency_key
        )

    def create_refund(
        self,
        charge: str | None = None,
        *,
        payment_intent: str | None = None,
        amount: int | None = None,
        idempotency_key: str | None = None,
        **params: Any,
    ) -> dict[str, Any]:
        """Refund a charge or a payment intent, fully or ``amount`` of it."""
        if not (charge or payment_intent):
            raise ConfigError("create_refund needs a charge or a payment_intent")
        body = {"charge": charge, "payment_intent": payment_intent, "amount": amount, **params}
        return self.call_operation(  # type: ignore[no-any-return]
            "create_refund", {k: v for k, v in body.items() if v is not None},
            idempotency_key=idempotency_key,
        )


CONNECTION = StripeConnection
