"""Result.estimate() against the Stripe emulator: unknown before a first complete read, then
calls, time under the limits, quota warnings and cost, close to what a read really takes."""

from __future__ import annotations

import time

import integkit as ik


def test_estimate_learns_from_a_complete_read_and_is_close(tmp_path) -> None:
    state = f"sqlite:///{tmp_path}/state.db"
    with ik.sandbox("stripe", records=6000, rate_limit="25/50") as sb:
        conn = ik.connect("stripe", api_key=sb.api_key, base_url=sb.url, state=state,
                          quotas={"daily": 100})
        before = conn.list("charges").estimate()
        assert before.records is None and before.calls is None
        assert "not been read in full" in before.basis
        assert sb.emulator.stats()["requests"] == 0  # estimating sends nothing

        conn.list("charges").to_frame()
        time.sleep(2.5)  # let the buckets refill, as the estimate assumes
        estimate = conn.list("charges").estimate()
        assert (estimate.records, estimate.calls) == (6000, 60)
        assert estimate.cost == 0.0 and estimate.currency == "USD"  # Stripe bills payments
        assert any("daily quota has 40 left" in note for note in estimate.notes)

        unmetered = ik.connect("stripe", api_key=sb.api_key, base_url=sb.url, state=state)
        started = time.perf_counter()
        result = unmetered.list("charges")
        result.to_frame()
        took = time.perf_counter() - started
        assert result.stats.calls == estimate.calls
        assert estimate.seconds is not None and 0.5 <= took / estimate.seconds <= 2.0, (
            took, estimate.seconds)

        capped = conn.list("charges", max_records=250).estimate()
        assert (capped.records, capped.calls) == (250, 3)
        assert "capped at max_records=250" in capped.basis


def test_a_cached_result_estimates_zero_calls(tmp_path) -> None:
    state = f"sqlite:///{tmp_path}/state.db"
    with ik.sandbox("stripe", records=300) as sb:
        conn = ik.connect("stripe", api_key=sb.api_key, base_url=sb.url, state=state)
        conn.list("charges", cache="1h").to_frame()
        estimate = conn.list("charges", cache="1h").estimate()
        assert (estimate.calls, estimate.seconds, estimate.cost) == (0, 0.0, 0.0)
        assert "Parquet" in str(estimate)
