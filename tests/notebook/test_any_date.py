"""The notebooks' stored outputs hold on any day: every notebook is run and compared (nbval,
as the suite does) with the clock of every process moved to a month from now, to the last
minutes of December 31 and to the next leap day.

The clock is moved by tests/timeshift/sitecustomize.py (time-machine, started in each new
Python process: pytest, its Jupyter kernels, sandbox processes). The emulators' data does not
move with it (their clock starts at a fixed instant); what integkit itself prints from the
wall clock (countdowns, projected bills, reset times) is masked by nbval_sanitize.cfg, which
tests/notebook/test_sanitize.py checks.
"""

from __future__ import annotations

import calendar
import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
TIMESHIFT = ROOT / "tests" / "timeshift"


def _next_leap_day(today: dt.date) -> dt.date:
    year = today.year if (today.month, today.day) <= (2, 29) else today.year + 1
    while not calendar.isleap(year):
        year += 1
    return dt.date(year, 2, 29)


def _shifted_instants() -> dict[str, dt.datetime]:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return {
        "a month later": now + dt.timedelta(days=31),
        "new year's eve": dt.datetime(now.year, 12, 31, 23, 40, tzinfo=dt.UTC),
        "leap day": dt.datetime.combine(_next_leap_day(now.date()), dt.time(12, 0),
                                        tzinfo=dt.UTC),
    }


def _env(when: dt.datetime, home: Path) -> dict[str, str]:
    env = {**os.environ, "INTEGKIT_TEST_NOW": when.isoformat(), "INTEGKIT_HOME": str(home),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(TIMESHIFT),
                                                       os.environ.get("PYTHONPATH")]))}
    env.pop("INTEGKIT_STATE", None)
    return env


def _code_cells() -> int:
    return sum(1 for path in (ROOT / "notebooks").glob("*.ipynb")
               for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code")


@pytest.mark.timeout(900)
@pytest.mark.parametrize("label", list(_shifted_instants()))
def test_the_notebooks_match_their_outputs_on_another_day(label: str, tmp_path: Path) -> None:
    when = _shifted_instants()[label]
    env = _env(when, tmp_path / "home")

    # The shift reaches the kernels (else this test would prove nothing).
    probe = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import datetime; print(datetime.datetime.now(datetime.UTC).date())")])
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env)
        NotebookClient(probe, kernel_name="python3", timeout=120).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert probe.cells[0].outputs[0]["text"].strip() == when.date().isoformat()

    done = subprocess.run(
        [sys.executable, "-m", "pytest", "notebooks", "-q", "-p", "no:cacheprovider",
         "-p", "no:time_machine"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
    assert done.returncode == 0, f"{label} ({when}): {summary}\n{done.stdout[-6000:]}"
    passed = re.search(r"(\d+) passed", summary)
    assert passed and int(passed.group(1)) == _code_cells(), summary
    assert "skipped" not in summary and "failed" not in summary, summary
