"""Parallel extraction of Stripe listings: time partitions, stable order, limits, resume."""

from __future__ import annotations

import time

import pytest

import integkit as ik


@pytest.fixture(scope="module")
def sb():
    with ik.sandbox("stripe", records=2_500) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def expected(sb) -> list[str]:
    return [r["id"] for r in sb.connect().list("charges", prefetch=False)]


def test_same_records_same_order_as_one_cursor(sb, expected) -> None:
    result = sb.connect().list("charges", parallel=4)
    assert list(result.to_frame()["id"]) == expected
    assert result.partitions >= 4 and result.complete
    assert result.stats.records == len(expected)


def test_a_second_read_needs_one_probe_not_nine(sb, expected, tmp_path) -> None:
    conn = ik.connect("stripe", api_key=sb.api_key, base_url=sb.url,
                      state=f"sqlite:///{tmp_path}/state.db", rate_limit=False)
    first = conn.list("charges", parallel=4)
    assert list(first.to_frame()["id"]) == expected
    assert first.stats.calls - first.stats.pages == 9  # probes for the oldest charge
    again = conn.list("charges", parallel=4)
    assert list(again.to_frame()["id"]) == expected
    assert again.stats.calls - again.stats.pages == 1  # the oldest is remembered, confirmed


def test_idle_workers_take_over_half_of_a_busy_partition(sb, expected) -> None:
    # a range reaching 20 years back: every charge falls in the newest of the 3 partitions,
    # so the two workers whose partitions are empty must split the busy one to help
    since = int(time.time()) - 20 * 365 * 86400
    result = sb.connect().list("charges", parallel=3, created={"gte": since})
    assert list(result.to_frame()["id"]) == expected  # every record once, in order
    assert result.partitions > 3
    assert result.stats.records == len(expected)


def test_ranged_listing_needs_no_probes(sb, expected) -> None:
    conn = sb.connect()
    every = conn.list("charges").to_frame()
    since = every["created"].iloc[len(every) // 2]
    result = conn.list("charges", parallel=3, created={"gte": since.isoformat()})
    frame = result.to_frame()
    assert list(frame["id"]) == list(every[every["created"] >= since]["id"])
    assert result.stats.calls == result.stats.pages  # no probe call


def test_failure_mid_way_resumes_each_partition(sb, sleeps, expected) -> None:
    conn = sb.connect(sleep=sleeps, retry={"maxAttempts": 2, "initialDelay": 0.001})
    sb.faults.reset(times=6, after=15, path="/v1/charges*")
    result = conn.list("charges", parallel=4)
    try:
        with pytest.raises(ik.NetworkError):
            result.to_frame()
    finally:
        sb.faults.clear()
    assert not result.complete
    assert list(result.to_frame()["id"]) == expected


def test_max_records_and_iteration(sb, expected) -> None:
    result = sb.connect().list("charges", parallel=3, max_records=250)
    assert [r["id"] for r in result] == expected[:250]


def test_parallel_stays_within_the_rate_limit() -> None:
    with ik.sandbox("stripe", records=1_500, rate_limit=(20, 10), latency=0.05) as limited:
        conn = limited.connect()
        started = time.perf_counter()
        result = conn.list("charges", parallel=6, created={"gte": "2000-01-01"})
        assert len(result.to_frame()) == 1_500
        elapsed = time.perf_counter() - started
        assert limited.emulator.rate_limited == 0
        floor = (result.stats.calls - 10) / 20  # after the burst, 20 calls a second at most
        assert elapsed >= floor * 0.9
        assert elapsed <= floor * 1.5 + 0.5


def test_checkpoint_and_parallel_do_not_combine(sb, tmp_path) -> None:
    with pytest.raises(ik.ConfigError, match="do not combine"):
        sb.connect().list("charges", parallel=2, checkpoint=str(tmp_path))
