"""The emulated world's clock: a sandbox serves the same data on any day, starts where told,
and keeps protocol time (rate-limit resets, token expiry) on the real clock."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

import integkit as ik
from integkit.sandbox import SANDBOX_NOW, SandboxClock


def _charges(**options) -> list[tuple[str, int]]:
    with ik.sandbox("stripe", records=120, **options) as sb:
        frame = sb.connect(cache=False).list("charges").to_frame()
    return list(zip(frame["id"], frame["created"].astype("int64"), strict=True))


def test_a_sandbox_serves_the_same_records_whatever_the_date() -> None:
    seen = []
    for day in ("2027-01-04T09:30:00Z", "2026-12-31T23:59:30Z", "2028-02-29T12:00:00Z"):
        with time_machine.travel(day, tick=True):
            seen.append(_charges())
    assert seen[0] == seen[1] == seen[2] and len(seen[0]) == 120


def test_the_data_ends_at_the_sandbox_clock_and_covers_2024() -> None:
    with ik.sandbox("stripe", records=2_000) as sb:
        assert sb.now - SANDBOX_NOW < dt.timedelta(minutes=5)
        assert sb.today == dt.date(2025, 7, 1)
        stripe = sb.connect(cache=False)
        first_half = stripe.list("charges", created={"gte": "2024-01-01", "lt": "2024-07-01"})
        frame = first_half.to_frame()
        assert len(frame) > 300
        newest = stripe.list("charges").head(1)["created"].iloc[0]
        assert newest.date() <= sb.today


def test_now_moves_the_world_and_wall_follows_the_real_clock() -> None:
    with ik.sandbox("slack", records=50, now="2030-05-06") as sb:
        assert sb.today == dt.date(2030, 5, 6)
        sent = sb.connect().send_message(sb.emulator.world.channels[0].id, text="hello")
        assert dt.datetime.fromtimestamp(float(sent["ts"]), dt.UTC).date() == sb.today
    with ik.sandbox("github", records=20, now="wall") as sb:
        assert abs((sb.now - dt.datetime.now(dt.UTC)).total_seconds()) < 60


def test_rate_limit_resets_stay_on_the_real_clock() -> None:
    with ik.sandbox("github", records=20) as sb:  # the world is in 2025, the windows are not
        reset = sb.connect().rate_limit()["core"]["reset"]
    assert reset > dt.datetime.now(dt.UTC).timestamp()


def test_a_clock_follows_the_clock_it_is_given() -> None:
    now = [1_000.0]
    clock = SandboxClock("2025-07-01T12:00:00Z", real=lambda: now[0])
    assert clock.datetime() == SANDBOX_NOW
    now[0] += 86_400
    assert clock.today() == dt.date(2025, 7, 2) and clock.midnight() % 86_400 == 0


@pytest.mark.parametrize("bad", ["yesterday", True, object()])
def test_a_bad_now_is_a_config_error(bad) -> None:
    with pytest.raises(ik.ConfigError, match="now="):
        SandboxClock(bad)
