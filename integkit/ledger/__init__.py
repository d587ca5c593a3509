"""The call ledger, pricing tables and cost estimates.

Every HTTP attempt and cache hit becomes one durable, priced row in the state backend once
the ledger is hooked to ``ik.on("call")``: by the first connection made (:func:`hook_in`;
``import integkit`` hooks nothing), or by :func:`install` for another backend.
:func:`usage` reads them back as a DataFrame, :func:`costs` bills the month per plan and
projects it, :func:`estimate_cost` prices calls not made yet.
"""

from __future__ import annotations

from ._ledger import Ledger, hook_in, install, pricing_for, register_pricing, uninstall
from ._pricing import Plan, PricingTable, bill, price_call
from ._usage import costs, estimate_cost, usage

__all__ = [
    "Ledger",
    "Plan",
    "PricingTable",
    "bill",
    "costs",
    "estimate_cost",
    "hook_in",
    "install",
    "price_call",
    "pricing_for",
    "register_pricing",
    "uninstall",
    "usage",
]
