"""Moves this process's clock when ``INTEGKIT_TEST_NOW`` is set and this folder is on
PYTHONPATH: Python imports ``sitecustomize`` at start-up, so every process of a run (pytest,
Jupyter kernels, sandbox processes) sees the same shifted date, ticking on from there.

    INTEGKIT_TEST_NOW=2028-02-29T12:00:00Z PYTHONPATH=tests/timeshift .venv/bin/python -m pytest

runs the suite on a leap day (tests/notebook/test_any_date.py does this for the notebooks).
time-machine moves what Python reads (time.time, datetime.now, date.today...), not
time.monotonic, nor the clocks of other programs (Redis, OpenSSL's certificate checks).
"""

import os

_NOW = os.environ.get("INTEGKIT_TEST_NOW")
if _NOW:
    import time_machine

    time_machine.travel(_NOW, tick=True).start()
