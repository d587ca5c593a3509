"""``integkit demo --records 0``: an empty extraction is summed up as what it is, with the
frame's columns still there and typed (the demo runs the Stripe emulator in a child process)."""

from __future__ import annotations

import pytest

from integkit._cli import main


def test_the_demo_of_nothing_says_so_and_shows_the_typed_columns(capsys) -> None:
    assert main(["demo", "--records", "0"]) == 0
    out = capsys.readouterr().out
    assert "Pulled 0 charges into a DataFrame of " in out
    assert "No charges to summarise" in out
    assert "amount (int64), currency (str), created (datetime64[ms, UTC])" in out
    assert "Stats: 0 records in 1 pages, 1 calls" in out
    assert "Traceback" not in out


def test_the_demo_of_a_few_charges_still_sums_them_up(capsys) -> None:
    assert main(["demo", "--records", "25"]) == 0
    out = capsys.readouterr().out
    assert "Pulled 25 charges" in out and "Succeeded volume by currency" in out
    assert "First charge: " in out and "Stats: 25 records in 1 pages" in out


def test_a_negative_count_is_refused_by_the_parser(capsys) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["demo", "--records", "-3"])
    assert stopped.value.code == 2
    assert "-3 records: say 0 or more" in capsys.readouterr().err
