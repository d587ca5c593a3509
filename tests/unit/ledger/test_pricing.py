"""Pricing tables: validation messages and the exact arithmetic of every model."""

from __future__ import annotations

from itertools import chain, repeat
from typing import Any

import pytest

import integkit as ik
from integkit.ledger import PricingTable, bill, price_call
from integkit.ledger._pricing import block_charge, transfer_charge

from . import metered_pricing

TABLE = PricingTable.from_mapping(metered_pricing(), service="metered")
GET: dict[str, Any] = {"method": "GET", "status": 200, "cached": False, "bytes": 0}
POST: dict[str, Any] = {"method": "POST", "status": 200, "cached": False, "bytes": 0}


def rows(*parts: tuple[dict[str, Any], int]) -> chain[dict[str, Any]]:
    return chain.from_iterable(repeat(row, n) for row, n in parts)


def test_example_definition_validates() -> None:
    assert TABLE.default_plan == "pay_as_you_go" and TABLE.currency == "USD"
    assert sorted(TABLE.plans) == ["hybrid", "pay_as_you_go", "team", "volume"]
    assert TABLE.plan().name == "pay_as_you_go"
    with pytest.raises(ik.ConfigError, match="no plan 'gold'; plans: hybrid, pay_as_you_go"):
        TABLE.plan("gold")


def test_shipped_stripe_table_prices_calls_at_zero() -> None:
    from integkit.ledger import pricing_for

    table = pricing_for("stripe")
    assert table is not None and table.default_plan == "standard"
    assert price_call(POST, table.plan(), calls_before=10**6) == 0.0


@pytest.mark.parametrize(("raw", "message"), [
    ({}, "'plans' is required"),
    ({"plans": {"a": {"model": "flat"}}}, "'model' must be one of per_call, monthly, hybrid"),
    ({"plans": {"a": {"model": "per_call", "price": 1}, "b": {"model": "per_call", "price": 2}}},
     r"'default_plan' is required with several plans: one of \['a', 'b'\]"),
    ({"default_plan": "c", "plans": {"a": {"model": "per_call", "price": 1}}},
     "default_plan 'c' is not one of the plans"),
    ({"plans": {"a": {"model": "per_call"}}}, "needs rates: price, read and write, or tiers"),
    ({"plans": {"a": {"model": "per_call", "read": 1}}}, "plan 'a' has no write rate"),
    ({"plans": {"a": {"model": "per_call", "price": -1}}}, r"plan 'a'.price must be a number >= 0"),
    ({"plans": {"a": {"model": "per_call", "price": "cheap"}}}, "must be a number >= 0"),
    ({"plans": {"a": {"model": "monthly", "included_calls": 5}}}, "a monthly plan needs 'fee'"),
    ({"plans": {"a": {"model": "monthly", "fee": 1, "read": 2}}}, "'read' is not a monthly key"),
    ({"plans": {"a": {"model": "per_call", "tiers": [{"up_to": 10, "price": 1}]}}},
     r"tiers\[0\]: the last tier must have up_to: null"),
    ({"plans": {"a": {"model": "per_call", "tiers": [
        {"up_to": 10, "price": 1}, {"up_to": 5, "price": 1}, {"up_to": None, "price": 1}]}}},
     r"tiers\[1\].up_to must be greater than the previous tier's \(10\)"),
    ({"plans": {"a": {"model": "per_call", "read": 0.0001, "write": 0.0005, "tiers": [
        {"up_to": 100000, "price": 0.0001}, {"up_to": None, "price": 0.00005}]}}},
     "'read', 'write' are never used because every tier sets its own rate"),
    ({"plans": {"a": {"model": "per_call", "price": 1, "read": 1, "write": 2}}},
     "'price' is never used because 'read' and 'write' are both set"),
    ({"data_transfer": {"gb": 1}, "plans": {"a": {"model": "per_call", "price": 1}}},
     "data_transfer: unknown key 'gb'.*data_transfer.per_gb is required"),
    ({"plans": {"a": {"model": "per_call", "price": 1}}, "bill_errors": "yes"},
     "'bill_errors' must be true or false"),
])
def test_validation_names_the_problem(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ik.ConfigError, match=message):
        PricingTable.from_mapping(raw, service="svc")


def test_validation_reports_every_problem_at_once() -> None:
    with pytest.raises(ik.ConfigError) as info:
        PricingTable.from_mapping({"plans": {"a": {"model": "monthly"}, "b": {"model": "x"}},
                                   "colour": "red"}, service="svc")
    text = str(info.value)
    assert text.startswith("svc pricing: ")
    assert "unknown key 'colour'" in text and "needs 'fee'" in text and "'model' must" in text


def test_per_call_reads_and_writes_cross_tier_boundary() -> None:
    plan = TABLE.plan("pay_as_you_go")
    assert price_call(GET, plan, calls_before=99_999) == 0.0001
    assert price_call(GET, plan, calls_before=100_000) == 0.00005
    assert price_call(POST, plan, calls_before=0) == 0.0005
    assert price_call(POST, plan, calls_before=100_000) == 0.0005  # writes are flat
    assert price_call({"method": "HEAD", "status": 200}, plan) == 0.0001
    result = bill(rows((GET, 100_001), (POST, 2)), plan)
    assert result["billable_calls"] == 100_003 and result["reads"] == 100_001
    assert result["writes"] == 2
    # 100,000 reads at 0.0001 + 1 read at 0.00005 + 2 writes at 0.0005
    assert result["call_charges"] == 10.00105 and result["total"] == 10.00105
    assert result["fee"] == 0.0 and result["transfer_charges"] == 0.0


def test_graduated_tiers_with_per_tier_read_write_rates() -> None:
    plan = TABLE.plan("volume")
    sequence = [GET, POST, GET, POST, GET, GET, POST]
    # tier 1 (3 calls at 0.01) + tier 2 (write 0.02 + read 0.005) + tier 3 (2 at 0.001)
    assert bill(sequence, plan)["call_charges"] == 0.057
    priced = [price_call(row, plan, calls_before=i) for i, row in enumerate(sequence)]
    assert priced == [0.01, 0.01, 0.01, 0.02, 0.005, 0.001, 0.001]
    # estimates spread reads and writes evenly: 2 calls in tier 2 at (0.005 + 0.02) / 2
    assert float(block_charge(plan, 3, 1, 1)) == 0.025


def test_monthly_plan_included_calls_then_overage() -> None:
    plan = TABLE.plan("team")
    assert price_call(GET, plan, calls_before=49_999) == 0.0
    assert price_call(POST, plan, calls_before=50_000) == 0.0008
    result = bill(rows((GET, 50_000), (POST, 3)), plan)
    assert result["included_used"] == 50_000 and result["billable_calls"] == 50_003
    assert result["fee"] == 49.0 and result["call_charges"] == 0.0024
    assert result["total"] == 49.0024
    assert bill([], plan)["total"] == 49.0  # the fee is due without a single call


def test_hybrid_plan_fee_included_calls_then_read_write_rates() -> None:
    plan = TABLE.plan("hybrid")
    result = bill(rows((GET, 10_000), (GET, 5), (POST, 2)), plan)
    assert result["call_charges"] == 0.003 and result["total"] == 10.003
    assert price_call(POST, plan, calls_before=9_999) == 0.0
    assert price_call(POST, plan, calls_before=10_000) == 0.001
    assert float(block_charge(plan, 9_995, 10, 0)) == 0.001  # 5 included, 5 at 0.0002


def test_data_transfer_with_free_gigabytes() -> None:
    plan = TABLE.plan("pay_as_you_go")
    big = {**GET, "bytes": 600_000_000}
    assert price_call(big, plan) == 0.0001  # 0.6 GB of the free 1 GB
    # 1.2 GB in all: 0.2 GB at 0.09 beyond the free GB, plus the read
    assert price_call(big, plan, calls_before=1, bytes_before=600_000_000) == 0.0181
    result = bill([big, big, big], plan)
    assert result["bytes"] == 1_800_000_000
    assert result["transfer_charges"] == 0.072 and result["total"] == 0.0723
    assert float(transfer_charge(plan, 2 * 10**9, 10**9)) == 0.09
    assert bill([big], TABLE.plan("volume"))["transfer_charges"] == 0.0  # plan opts out


def test_cached_coalesced_and_failed_calls_are_free() -> None:
    plan = TABLE.plan("volume")
    free = [
        {**GET, "cached": True, "bytes": 10**12},
        {**GET, "coalesced": True},
        {**GET, "status": 503},
        {**GET, "status": 429},
        {**GET, "status": None, "error": "ConnectError()"},
    ]
    assert [price_call(row, plan) for row in free] == [0.0] * 5
    assert price_call({**GET, "status": 404}, plan) == 0.01  # the service answered
    result = bill([*free, GET], plan)
    assert result["calls"] == 6 and result["cached_calls"] == 1
    assert result["billable_calls"] == 1 and result["total"] == 0.01
    billed = PricingTable.from_mapping(
        {"bill_errors": True, "plans": {"p": {"model": "per_call", "price": 0.5}}}).plan()
    assert price_call({**GET, "status": 503}, billed) == 0.5
    assert price_call({**GET, "status": None}, billed) == 0.0  # no answer, nothing to bill
    assert price_call({**GET, "cached": True}, billed) == 0.0
