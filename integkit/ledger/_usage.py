"""What the ledger tells an analyst: calls as a DataFrame, bills and projections, estimates.

pandas is imported on first use, so ``import integkit`` stays light.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeAlias

from .._errors import ConfigError
from .._state import StateBackend
from .._suggest import closest
from ._ledger import (
    COLUMNS,
    Ledger,
    ledger_for,
    month_bounds,
    month_of,
    priced_services,
    to_epoch,
)
from ._pricing import PricingTable, bill, block_charge, transfer_charge

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["COST_COLUMNS", "StateLike", "costs", "estimate_cost", "usage"]

# Where the rows are: a backend, its URL, a Ledger, or None for the configured backend.
StateLike: TypeAlias = StateBackend | str | Ledger | None

_DTYPES = {
    "service": "string", "endpoint": "string", "method": "string", "status": "Int64",
    "latency": "float64", "cached": "bool", "bytes": "int64", "cost": "float64",
    "attempt": "int64", "error": "string", "request_id": "string", "plan": "string",
}
COST_COLUMNS = ("service", "plan", "default", "model", "currency", "month", "elapsed", "calls",
                "cached_calls", "billable_calls", "included_used", "bytes", "fee",
                "call_charges", "transfer_charges", "total", "projected_calls",
                "projected_total")


def usage(service: str | None = None, since: Any = None, until: Any = None,
          state: StateLike = None) -> pd.DataFrame:
    """Every recorded call (``since <= time < until``; datetimes, ISO strings or epoch
    seconds, naive = UTC) as a DataFrame: time (UTC), service, endpoint, method, status,
    latency (s), cached, bytes, cost (NaN: the service has no pricing table), attempt, error,
    request_id, plan."""
    import pandas as pd

    rows = ledger_for(state).rows(service, since, until)
    frame = pd.DataFrame.from_records(rows, columns=list(COLUMNS))
    frame["time"] = pd.to_datetime(frame["time"].astype("float64"), unit="s", utc=True)
    return frame.astype(_DTYPES)


def _clock(now: Any) -> float:
    epoch = to_epoch(now)
    return time.time() if epoch is None else epoch


def _month(month: Any, now: float) -> str:
    if month is None:
        return month_of(now)
    if isinstance(month, str) and len(month.strip()) == 7:
        month_bounds(month.strip())  # validates
        return month.strip()
    epoch = to_epoch(month)
    return month_of(epoch if epoch is not None else now)


def _tables(service: str | None, services: list[str], ledger: Ledger
            ) -> dict[str, PricingTable]:
    if service is not None:
        table = ledger.pricing_for(service)
        if table is None:
            raise ConfigError(f"{service} has no pricing table: add a 'pricing:' block to its "
                              "definition, or ik.ledger.register_pricing(service, {...})")
        return {service: table}
    found = {s: ledger.pricing_for(s) for s in services}
    return {s: t for s, t in found.items() if t is not None}


def costs(plan: str | None = None, *, service: str | None = None, month: Any = None,
          state: StateLike = None, now: Any = None) -> pd.DataFrame:
    """The month's bill so far and its projection, one row per (service, plan): every plan of
    each priced service with calls that month (or ``service``, even without calls), or only
    ``plan``. ``month`` is ``YYYY-MM`` or a date (default: this UTC month). The projection is
    the bill so far plus the rest of the month at the pace so far (usage / elapsed fraction
    of the month, ``now`` injecting the clock), tiers and included calls applied; for a
    month that is over it equals the bill."""
    import pandas as pd

    clock = _clock(now)
    name = _month(month, clock)
    start, end = month_bounds(name)
    elapsed = min(Decimal(1), max(Decimal(0), Decimal(clock - start) / Decimal(end - start)))
    ledger = ledger_for(state)
    rows = ledger.rows(service, start, end)
    by_service: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_service.setdefault(row["service"], []).append(row)
    tables = _tables(service, sorted(by_service), ledger)
    if plan is not None:
        for svc, table in list(tables.items()):
            if plan not in table.plans:
                if service is not None:
                    table.plan(plan)  # raises a ConfigError naming the plans
                del tables[svc]
        if not tables:
            _check_plan(plan, name, sorted(by_service), ledger)
    records = []
    for svc, table in sorted(tables.items()):
        names = [plan] if plan is not None else sorted(table.plans)
        for plan_name in names:
            chosen = table.plan(plan_name)
            svc_rows = by_service.get(svc, [])
            result = bill(svc_rows, chosen)
            billable = result["billable_calls"]
            # the bill so far, plus the rest of the month at the same pace
            more = 1 / elapsed - 1 if elapsed > 0 else Decimal(0)
            projected = (
                Decimal(str(result["total"]))
                + block_charge(chosen, billable, result["reads"] * more,
                               result["writes"] * more)
                + transfer_charge(chosen, result["bytes"], result["bytes"] * more)
            )
            records.append({
                **{k: result[k] for k in ("model", "currency", "calls", "cached_calls",
                                          "billable_calls", "included_used", "bytes", "fee",
                                          "call_charges", "transfer_charges", "total")},
                "service": svc, "plan": plan_name, "default": plan_name == table.default_plan,
                "month": name, "elapsed": float(elapsed),
                "projected_calls": float(billable * (1 + more)),
                "projected_total": float(projected),
            })
    return pd.DataFrame.from_records(records, columns=list(COST_COLUMNS))


def _check_plan(plan: str, month: str, billed: list[str], ledger: Ledger) -> None:
    """``plan`` priced none of the services ``billed`` in ``month``: a ConfigError naming the
    plans there are (those of the services with calls, else of every priced service), unless
    some priced service has it and simply had no calls."""
    everywhere = {s: ledger.pricing_for(s) for s in sorted({*billed, *priced_services()})}
    billed = [s for s in billed if everywhere[s] is not None]
    having = [s for s, t in everywhere.items() if t is not None and plan in t.plans]
    if having and not billed:
        return  # a real plan, nothing billed under it this month: an empty bill
    shown = {s: t for s, t in everywhere.items() if t is not None and (s in billed or not
                                                                       billed)}
    plans = "; ".join(f"{s}: {', '.join(sorted(t.plans))}" for s, t in shown.items())
    guess = closest(plan, {p for t in shown.values() for p in t.plans})
    meant = f" Did you mean {guess!r}?" if guess else ""
    where = (f"none of the services with calls in {month} ({', '.join(billed)}) has it"
             if billed else "no pricing table has it")
    also = f" ({', '.join(having)} has it, with no calls in {month})" if having else ""
    raise ConfigError(f"ik.costs(plan={plan!r}): {where}{also}.{meant} Plans: "
                      f"{plans or 'none'}; or ik.ledger.register_pricing(service, {{...}}) "
                      "for a plan of your own.")


def estimate_cost(service: str, *, reads: int = 0, writes: int = 0, bytes: int = 0,
                  plan: str | None = None, state: StateLike = None,
                  now: Any = None) -> float:
    """The marginal cost of ``reads`` + ``writes`` more calls bringing ``bytes`` back, given
    this month's usage of ``service`` so far (tiers and included calls apply); no fee.
    0.0 when the service has no pricing table."""
    ledger = ledger_for(state)
    table = ledger.pricing_for(service)
    if table is None:
        return 0.0
    chosen = table.plan(plan)
    clock = _clock(now)
    calls, size = ledger.totals(service, month_of(clock))
    return float(block_charge(chosen, calls, reads, writes)
                 + transfer_charge(chosen, size, bytes))
