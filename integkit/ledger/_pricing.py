"""Pricing tables from connector definitions, and the pure arithmetic that prices calls.

A definition's ``pricing:`` block names plans; each plan is one of three models::

    pricing:
      currency: USD
      default_plan: pay_as_you_go        # optional when there is one plan
      bill_errors: false                 # 429, 5xx and failed connections cost nothing
      data_transfer: {per_gb: 0.09, free_gb: 1}     # every plan; a plan may override (or null)
      plans:
        pay_as_you_go:                   # per call, graduated volume tiers
          model: per_call
          write: 0.0005                  # a plan-level rate is the fallback of the tiers
          tiers: [{up_to: 100000, read: 0.0001}, {up_to: null, read: 0.00005}]
        team: {model: monthly, fee: 49.0, included_calls: 50000, overage: 0.0008}
        hybrid: {model: hybrid, fee: 10, included_calls: 10000, read: 0.0002, write: 0.001}

Rules, all per service and per calendar month (UTC):

- A call is a read (GET, HEAD) or a write (anything else). ``price`` is one rate for both.
- A tier's rate for a kind is its ``read``/``write``, else its ``price``, else the plan's
  ``read``/``write``, else the plan's ``price``; a plan rate no tier can fall back to is an error.
- Tiers are graduated: ``up_to`` bounds the month's billable calls past ``included_calls``,
  and the last tier has ``up_to: null``.
- ``monthly``: ``fee`` covers ``included_calls``; each call beyond costs ``overage`` (default 0).
  ``hybrid``: ``fee`` and ``included_calls``, then per-call rates or tiers as ``per_call``.
- Data transfer: ``per_gb`` for the month's response bytes beyond ``free_gb`` (1 GB = 10**9 B).
- Cached and coalesced responses, and (unless ``bill_errors``) failed calls, cost nothing.

Money is computed in :class:`~decimal.Decimal` and handed back as float.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .._errors import ConfigError
from .._spec import did_you_mean, unknown_key

__all__ = [
    "GB",
    "Plan",
    "PricingTable",
    "Tier",
    "Transfer",
    "bill",
    "block_charge",
    "is_billable",
    "is_read",
    "price_call",
    "transfer_charge",
    "MODELS",
    "PLAN_KEYS",
    "TABLE_KEYS",
]

GB = Decimal(10**9)
READ_METHODS = frozenset({"GET", "HEAD"})
MODELS = ("per_call", "monthly", "hybrid")
_RATE_KEYS = ("price", "read", "write")
PLAN_KEYS = {
    "per_call": {"model", "price", "read", "write", "tiers", "included_calls", "data_transfer"},
    "monthly": {"model", "fee", "included_calls", "overage", "data_transfer"},
    "hybrid": {"model", "fee", "included_calls", "price", "read", "write", "tiers",
               "data_transfer"},
}
TABLE_KEYS = {"currency", "default_plan", "plans", "data_transfer", "bill_errors"}
_ZERO = Decimal(0)


@dataclass(frozen=True)
class Tier:
    """Rates for the billable calls below ``up_to`` (None: no bound)."""

    up_to: int | None
    read: Decimal
    write: Decimal

    def rate(self, read: bool) -> Decimal:
        return self.read if read else self.write


@dataclass(frozen=True)
class Transfer:
    """Data-transfer pricing: ``per_gb`` past ``free_gb`` each month."""

    per_gb: Decimal
    free_gb: Decimal = _ZERO


@dataclass(frozen=True)
class Plan:
    """One validated plan; every model is a fee, free calls, then graduated per-call tiers."""

    name: str
    model: str
    currency: str = "USD"
    fee: Decimal = _ZERO
    included_calls: int = 0
    tiers: tuple[Tier, ...] = (Tier(None, _ZERO, _ZERO),)
    transfer: Transfer | None = None
    bill_errors: bool = False


@dataclass(frozen=True)
class PricingTable:
    """A service's validated ``pricing:`` block."""

    service: str
    default_plan: str
    plans: dict[str, Plan] = field(default_factory=dict)
    currency: str = "USD"

    def plan(self, name: str | None = None) -> Plan:
        """The named plan (default: the table's default), or a ConfigError naming the plans."""
        name = name or self.default_plan
        try:
            return self.plans[name]
        except KeyError:
            raise ConfigError(
                f"{self.service or 'pricing'} has no plan {name!r}; plans: "
                f"{', '.join(sorted(self.plans))}"
            ) from None

    @classmethod
    def from_mapping(
        cls, raw: Mapping[str, Any], *, service: str = "", source: str | None = None
    ) -> PricingTable:
        """Validate a ``pricing:`` block; every problem found is named in one ConfigError."""
        where = source or (f"{service} pricing" if service else "pricing")
        problems: list[str] = []
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{where}: must be a mapping with 'plans'")
        for key in sorted(set(raw) - TABLE_KEYS):
            problems.append(unknown_key("", key, TABLE_KEYS))
        currency = raw.get("currency", "USD")
        if not isinstance(currency, str) or not currency:
            problems.append("'currency' must be a code such as USD")
            currency = "USD"
        bill_errors = raw.get("bill_errors", False)
        if not isinstance(bill_errors, bool):
            problems.append("'bill_errors' must be true or false")
            bill_errors = False
        shared = _transfer(raw.get("data_transfer"), "data_transfer", problems)
        plans_raw = raw.get("plans")
        if not isinstance(plans_raw, Mapping) or not plans_raw:
            problems.append("'plans' is required: a mapping of plan name -> {model: ...}")
            plans_raw = {}
        plans: dict[str, Plan] = {}
        for name, spec in plans_raw.items():
            plan = _plan(str(name), spec, currency, shared, bill_errors, problems)
            if plan is not None:
                plans[str(name)] = plan
        default = raw.get("default_plan")
        if default is None and len(plans_raw) == 1:
            default = next(iter(plans_raw))
        elif default is None and plans_raw:
            problems.append(
                f"'default_plan' is required with several plans: one of {sorted(plans_raw)}"
            )
        elif default is not None and default not in plans_raw:
            problems.append(f"default_plan {default!r} is not one of the plans {sorted(plans_raw)}")
        if problems:
            raise ConfigError(f"{where}: " + "; ".join(problems))
        return cls(service=service, default_plan=str(default), plans=plans, currency=currency)


def _money(value: Any, what: str, problems: list[str]) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        problems.append(f"{what} must be a number >= 0, not {value!r}")
        return None
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        problems.append(f"{what} must be a number >= 0, not {value!r}")
        return None
    if not amount.is_finite() or amount < 0:
        problems.append(f"{what} must be a number >= 0, not {value!r}")
        return None
    return amount


def _count(value: Any, what: str, problems: list[str], *, positive: bool = False) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < (1 if positive else 0):
        problems.append(f"{what} must be a whole number {'> 0' if positive else '>= 0'}, "
                        f"not {value!r}")
        return None
    return value


def _transfer(raw: Any, where: str, problems: list[str]) -> Transfer | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        problems.append(f"{where} must be a mapping {{per_gb: ..., free_gb: ...}}")
        return None
    for key in sorted(set(raw) - {"per_gb", "free_gb"}):
        problems.append(unknown_key(where, key, ("free_gb", "per_gb")))
    if "per_gb" not in raw:
        problems.append(f"{where}.per_gb is required")
        return None
    per_gb = _money(raw["per_gb"], f"{where}.per_gb", problems)
    free_gb = _money(raw.get("free_gb", 0), f"{where}.free_gb", problems)
    if per_gb is None or free_gb is None:
        return None
    return Transfer(per_gb=per_gb, free_gb=free_gb)


def _rates(spec: Mapping[str, Any], where: str, problems: list[str]) -> dict[str, Decimal]:
    rates = {}
    for key in _RATE_KEYS:
        if key in spec:
            amount = _money(spec[key], f"{where}.{key}", problems)
            if amount is not None:
                rates[key] = amount
    return rates


def _tiers(
    spec: Mapping[str, Any], where: str, problems: list[str]
) -> tuple[Tier, ...] | None:
    """The plan's per-call rates as graduated tiers (a flat rate is one unbounded tier)."""
    plan_rates = _rates(spec, where, problems)
    raw_tiers = spec.get("tiers")
    if raw_tiers is None:
        raw_tiers = [{"up_to": None}]
    elif not isinstance(raw_tiers, list) or not raw_tiers:
        problems.append(f"{where}.tiers must be a non-empty list of {{up_to: ..., price: ...}}")
        return None
    used: set[str] = set()
    tiers: list[Tier] = []
    previous = 0
    ok = True
    for i, tier in enumerate(raw_tiers):
        here = f"{where}.tiers[{i}]" if spec.get("tiers") is not None else where
        if not isinstance(tier, Mapping):
            problems.append(f"{here} must be a mapping {{up_to: ..., price: ...}}")
            ok = False
            continue
        for key in sorted(set(tier) - {"up_to", *_RATE_KEYS}):
            problems.append(unknown_key(here, key, ("up_to", *_RATE_KEYS)))
        if "up_to" not in tier:
            problems.append(f"{here}.up_to is required (null for the last tier)")
            ok = False
            continue
        up_to = tier["up_to"]
        last = i == len(raw_tiers) - 1
        if up_to is None and not last:
            problems.append(f"{here}: only the last tier may have up_to: null")
            ok = False
        elif up_to is not None:
            if last:
                problems.append(f"{here}: the last tier must have up_to: null")
                ok = False
            if _count(up_to, f"{here}.up_to", problems, positive=True) is None:
                ok = False
            elif up_to <= previous:
                problems.append(f"{here}.up_to must be greater than the previous tier's "
                                f"({previous})")
                ok = False
            else:
                previous = up_to
        tier_rates = _rates(tier, here, problems)
        kinds: dict[str, Decimal] = {}
        for kind in ("read", "write"):
            for source, key in ((tier_rates, kind), (tier_rates, "price"), (plan_rates, kind),
                                (plan_rates, "price")):
                if key in source:
                    kinds[kind] = source[key]
                    if source is plan_rates:
                        used.add(key)
                    break
            else:
                problems.append(f"{here} has no {kind} rate: give price, or read and write")
                ok = False
        if len(kinds) == 2:
            tiers.append(Tier(up_to, kinds["read"], kinds["write"]))
    unused = sorted(set(plan_rates) - used)
    if unused and ok:
        names = ", ".join(repr(k) for k in unused)
        why = ("every tier sets its own rate; put read/write rates in the tiers instead "
               "(a tier's rates override the plan's)") if spec.get("tiers") is not None else \
            "'read' and 'write' are both set"
        verb = "is" if len(unused) == 1 else "are"
        problems.append(f"{where}: {names} {verb} never used because {why}")
        ok = False
    return tuple(tiers) if ok else None


def _plan(
    name: str, spec: Any, currency: str, shared: Transfer | None, bill_errors: bool,
    problems: list[str],
) -> Plan | None:
    where = f"plan {name!r}"
    if not isinstance(spec, Mapping):
        problems.append(f"{where} must be a mapping with a 'model'")
        return None
    model = spec.get("model")
    if model not in MODELS:
        problems.append(f"{where}: 'model' must be one of {', '.join(MODELS)}, not {model!r}")
        return None
    n = len(problems)
    for key in sorted(set(spec) - PLAN_KEYS[model]):
        problems.append(f"{where}: {key!r} is not a {model} key"
                        + did_you_mean(key, PLAN_KEYS[model]))
    fee = _ZERO
    if model in ("monthly", "hybrid"):
        if "fee" not in spec:
            problems.append(f"{where}: a {model} plan needs 'fee' (per month)")
        else:
            fee = _money(spec["fee"], f"{where}.fee", problems) or _ZERO
    included = _count(spec.get("included_calls", 0), f"{where}.included_calls", problems) or 0
    if model == "monthly":
        overage = _money(spec.get("overage", 0), f"{where}.overage", problems) or _ZERO
        tiers: tuple[Tier, ...] | None = (Tier(None, overage, overage),)
    else:
        if not any(k in spec for k in (*_RATE_KEYS, "tiers")):
            problems.append(f"{where}: a {model} plan needs rates: price, read and write, "
                            "or tiers")
            return None
        tiers = _tiers(spec, where, problems)
    transfer = _transfer(spec["data_transfer"], f"{where}.data_transfer", problems) \
        if "data_transfer" in spec else shared
    if len(problems) > n or tiers is None:
        return None
    return Plan(name=name, model=model, currency=currency, fee=fee, included_calls=included,
                tiers=tiers, transfer=transfer, bill_errors=bill_errors)


# -- the arithmetic ------------------------------------------------------------------------------
def _field(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def is_read(method: str | None) -> bool:
    """GET and HEAD are reads; every other method is a write."""
    return (method or "GET").upper() in READ_METHODS


def is_billable(event: Any, plan: Plan | None = None) -> bool:
    """Whether a call (CallEvent, ledger row, mapping) counts against a plan."""
    if _field(event, "cached", False) or _field(event, "coalesced", False):
        return False
    status = _field(event, "status")
    if status is None:
        return False
    if plan is not None and plan.bill_errors:
        return True
    return int(status) < 500 and int(status) != 429


def _tier_at(plan: Plan, position: int) -> int | None:
    """The tier (index) of the ``position``-th (0-based) billable call of the month; None
    while it is one of the included calls."""
    position -= plan.included_calls
    if position < 0:
        return None
    for i, tier in enumerate(plan.tiers):
        if tier.up_to is None or position < tier.up_to:
            return i
    return len(plan.tiers) - 1


def transfer_charge(plan: Plan, bytes_before: int | float | Decimal, size: int | float | Decimal,
                    ) -> Decimal:
    """The charge for ``size`` more bytes after ``bytes_before`` this month."""
    if plan.transfer is None or not size:
        return _ZERO
    free = plan.transfer.free_gb * GB

    def cumulative(total: Decimal) -> Decimal:
        return max(_ZERO, total - free) / GB * plan.transfer.per_gb  # type: ignore[union-attr]

    before = Decimal(bytes_before)
    return cumulative(before + Decimal(size)) - cumulative(before)


def block_charge(plan: Plan, calls_before: int | float | Decimal,
                 reads: int | float | Decimal, writes: int | float | Decimal) -> Decimal:
    """The call charge of ``reads + writes`` more billable calls after ``calls_before`` this
    month, read/write mixed evenly through the block (used for estimates and projections)."""
    r, w = Decimal(reads), Decimal(writes)
    n = r + w
    if n <= 0:
        return _ZERO
    before = Decimal(calls_before) - plan.included_calls
    start, end = max(_ZERO, before), max(_ZERO, before + n)
    total, lo = _ZERO, _ZERO
    for tier in plan.tiers:
        hi = Decimal(tier.up_to) if tier.up_to is not None else None
        overlap = (end if hi is None else min(end, hi)) - max(start, lo)
        if overlap > 0:
            total += overlap * (r * tier.read + w * tier.write) / n
        if hi is None:
            break
        lo = hi
    return total


def price_call(event_like: Any, plan: Plan, *, calls_before: int = 0,
               bytes_before: int = 0) -> float:
    """The cost of one call (a CallEvent, ledger row or mapping with method, status, cached,
    bytes) when ``calls_before`` billable calls and ``bytes_before`` bytes preceded it this
    month: its tier's read/write rate (0 within the included calls) plus its transfer."""
    if not is_billable(event_like, plan):
        return 0.0
    tier = _tier_at(plan, calls_before)
    read = is_read(_field(event_like, "method"))
    charge = _ZERO if tier is None else plan.tiers[tier].rate(read)
    size = int(_field(event_like, "bytes", 0) or 0)
    return float(charge + transfer_charge(plan, bytes_before, size))


def bill(rows: Iterable[Any], plan: Plan) -> dict[str, Any]:
    """The month's bill of ``rows`` (ledger rows or CallEvents of one service and month, in
    time order) under ``plan``: counts, fee, call and transfer charges, total."""
    calls = cached = billable = reads = 0
    size = 0
    counts: dict[tuple[int, bool], int] = {}
    for row in rows:
        calls += 1
        if _field(row, "cached", False):
            cached += 1
        if not is_billable(row, plan):
            continue
        read = is_read(_field(row, "method"))
        reads += read
        size += int(_field(row, "bytes", 0) or 0)
        tier = _tier_at(plan, billable)
        billable += 1
        if tier is not None:
            counts[tier, read] = counts.get((tier, read), 0) + 1
    call_charges = sum(
        (n * plan.tiers[i].rate(read) for (i, read), n in counts.items()), _ZERO
    )
    transfer = transfer_charge(plan, 0, size)
    return {
        "plan": plan.name,
        "model": plan.model,
        "currency": plan.currency,
        "calls": calls,
        "cached_calls": cached,
        "billable_calls": billable,
        "reads": reads,
        "writes": billable - reads,
        "included_used": min(billable, plan.included_calls),
        "bytes": size,
        "fee": float(plan.fee),
        "call_charges": float(call_charges),
        "transfer_charges": float(transfer),
        "total": float(plan.fee + call_charges + transfer),
    }
