"""Moves this process's clock when ``INTEGKIT_TEST_NOW`` is set and this folder is on
PYTHONPATH: Python imports ``sitecustomize`` at start-up, so every process of a run (pytest,
its workers, Jupyter kernels, sandbox processes) sees the shifted date, ticking on from there.

    INTEGKIT_TEST_NOW=2028-02-29T12:00:00Z PYTHONPATH=tests/timeshift .venv/bin/python -m pytest

runs the suite on a leap day (tests/notebook/test_any_date.py does this for the notebooks).
The first process turns the instant into an offset from the real clock and hands the offset
down (``INTEGKIT_TEST_OFFSET``), so processes started later agree with it to the microsecond,
as processes sharing leases, limits and a ledger must. time-machine moves what Python reads
(time.time, datetime.now, date.today...), not time.monotonic, nor the clocks of other
programs (Redis, OpenSSL's certificate checks). A Python without time-machine (a fresh venv
made by a test) keeps the real clock.
"""

import datetime
import os
import time

_NOW = os.environ.get("INTEGKIT_TEST_NOW")
if _NOW:
    try:
        import time_machine
    except ImportError:
        time_machine = None
    if time_machine is not None:
        _offset = os.environ.get("INTEGKIT_TEST_OFFSET")
        if _offset is None:
            target = datetime.datetime.fromisoformat(_NOW.replace("Z", "+00:00"))
            if target.tzinfo is None:
                target = target.replace(tzinfo=datetime.UTC)
            _offset = repr(target.timestamp() - time.time())
            os.environ["INTEGKIT_TEST_OFFSET"] = _offset
        time_machine.travel(time.time() + float(_offset), tick=True).start()
        time.time()  # time-machine starts ticking at the first reading: make it now
