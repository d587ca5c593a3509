"""The call ledger, pricing tables and cost estimates.

Every HTTP attempt and cache hit becomes one durable, priced row in the state backend once
the ledger is hooked to ``ik.on("call")``: by the first connection made (:func:`hook_in`;
``import integkit`` hooks nothing), or by :func:`install` for another backend.
:func:`usage` reads them back as a DataFrame, :func:`costs` bills the month per plan and
projects it, :func:`estimate_cost` prices calls not made yet.
"""

from __future__ import annotations

from ._ledger import (
    Ledger,
    hook_in,
    install,
    ledger_for,
    pricing_for,
    read_definitions_with,
    register_pricing,
    to_epoch,
    uninstall,
)
from ._pricing import MODELS, PLAN_KEYS, TABLE_KEYS, Plan, PricingTable, bill, price_call
from ._usage import costs, estimate_cost, usage

__all__ = [
    "Ledger",
    "MODELS",
    "PLAN_KEYS",
    "Plan",
    "PricingTable",
    "TABLE_KEYS",
    "bill",
    "costs",
    "estimate_cost",
    "hook_in",
    "install",
    "ledger_for",
    "price_call",
    "pricing_for",
    "read_definitions_with",
    "register_pricing",
    "to_epoch",
    "uninstall",
    "usage",
]
