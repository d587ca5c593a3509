"""A listing is a plan (immutable data checked before any page) read by one function; what a
service does its own way comes from the strategies registered for it, in a fixed order: the
resource's own, the partitioning the definition names, the service's, then the defaults."""

from __future__ import annotations

import dataclasses

import pytest

import integkit as ik
from integkit.engine import (
    ListingPlan,
    PageSlices,
    Strategies,
    TimeRanges,
    register_partitioning,
    register_strategies,
)
from integkit.engine._listing import strategies_for

from .. import apps


def count_one(listing) -> int:
    return 1


def count_two(listing) -> int:
    return 2


def test_a_plan_is_immutable_and_a_partition_is_another_plan() -> None:
    plan = ListingPlan(name="items", path="/items", endpoint="items.list",
                       params={"status": "open"}, method="post")
    assert plan.method == "POST"
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.path = "/other"  # type: ignore[misc]
    part = plan.with_params(page=3)
    assert part.params == {"status": "open", "page": 3} and plan.params == {"status": "open"}
    assert part.shape() == plan.shape()  # the same frame from the same pages


def test_a_plan_refuses_options_that_do_not_combine() -> None:
    with pytest.raises(ik.ConfigError, match="checkpoint= and parallel="):
        ListingPlan(name="items", path="/items", endpoint="items.list", parallel=2,
                    checkpoint="folder")
    with pytest.raises(ik.ConfigError, match="max_empty_pages"):
        ListingPlan(name="items", path="/items", endpoint="items.list", max_empty_pages=-1)


def test_strategies_come_from_the_resource_then_the_named_partitioning_then_the_service() -> None:
    assert isinstance(strategies_for("plan_nobody").partition, PageSlices)
    assert strategies_for("plan_nobody").count is None
    register_strategies("plan_svc", Strategies(count=count_one))
    register_strategies("plan_svc", Strategies(count=count_two), resource="special")
    named = strategies_for("plan_svc", "events", "created_time")
    assert named.count is count_one and isinstance(named.partition, TimeRanges)
    assert named.facts is not None  # the time ranges remember the oldest record
    assert strategies_for("plan_svc", "special").count is count_two
    assert isinstance(strategies_for("plan_svc", "special").partition, PageSlices)


def test_a_partitioning_registered_by_name_is_found_by_that_name() -> None:
    register_partitioning("plan_updated_time", TimeRanges(field="updated"))
    found = strategies_for("plan_svc", "events", "plan_updated_time").partition
    assert isinstance(found, TimeRanges) and found.field == "updated"
    with pytest.raises(ik.ConfigError, match="no partitioning named 'plan_nope'"):
        strategies_for("plan_svc", "events", "plan_nope")


def test_a_registered_records_strategy_shapes_the_rows_of_a_plain_rest_api(api) -> None:
    conn = ik.rest(api, records_path="items",
                   paginator={"type": "offset", "limit": 50, "total_path": "total"})
    register_strategies(conn.service, Strategies(records=lambda listing, rows: [
        {**row, "listed_from": listing.path} for row in rows]))
    try:
        frame = conn.list("/offset/items", parallel=2).to_frame()
        assert len(frame) == apps.TOTAL and set(frame["listed_from"]) == {"/offset/items"}
    finally:
        register_strategies(conn.service, Strategies())
