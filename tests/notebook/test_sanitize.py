"""The notebook sanitizer masks what depends on the wall clock, provably: every countdown
integkit's panels can print, and every projected bill, masks to one text, so a stored output
recorded at any moment matches a run at any other (notebooks/nbval_sanitize.cfg).

The patterns are applied exactly as nbval applies them (its own parser, in file order).
"""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from nbval.plugin import get_sanitize_patterns

from integkit._notebook._dashboard import format_duration, format_money

CFG = Path(__file__).resolve().parents[2] / "notebooks" / "nbval_sanitize.cfg"
PATTERNS = get_sanitize_patterns(CFG.read_text(encoding="utf-8"))
MONTH = 31 * 86_400.0


def sanitize(text: str) -> str:
    for regex, replace in PATTERNS:
        text = re.sub(regex, replace, text)
    return text


def countdown_line(seconds: float) -> str:
    """A dashboard line with a budget's countdown in it, as _dashboard.py writes it."""
    return (f"  daily quota: 19,942 of 20,000 left, resets in {format_duration(seconds)}; "
            f"monthly quota: 399,942 of 400,000 left, resets in {format_duration(seconds)}; ")


@given(st.floats(min_value=0.0, max_value=MONTH), st.floats(min_value=0.0, max_value=MONTH))
def test_every_countdown_masks_to_the_same_text(first: float, second: float) -> None:
    assert sanitize(countdown_line(first)) == sanitize(countdown_line(second))


def test_each_countdown_form_is_masked_whole() -> None:
    for seconds, shown in [(2.5, "2.5s"), (185, "3m 05s"), (4 * 3600 + 120, "4h 02m"),
                           (27 * 86_400 + 7 * 3600, "27d 7h")]:
        assert format_duration(seconds) == shown
        assert sanitize(f"resets in {shown};") == "resets in T;"


@given(st.decimals(min_value=0, max_value=10**7, places=4),
       st.decimals(min_value=0, max_value=10**7, places=4), st.sampled_from(["USD", "EUR"]))
def test_a_projected_bill_masks_to_the_same_text(first, second, currency: str) -> None:
    def line(amount: object) -> str:
        money = format_money(float(str(amount)), currency)
        return f"month under plan metered: 0.0220 USD so far, {money} projected"

    assert sanitize(line(first)) == sanitize(line(second))
    assert "0.0220 USD so far" in sanitize(line(first))  # the bill so far is still checked
