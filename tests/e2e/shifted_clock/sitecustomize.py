"""Imported at start-up by every Python process whose PYTHONPATH holds this folder (the services
of a shifted-clock suite, tests/e2e/harness.py): when ``ONEWINDOW_E2E_CLOCK_OFFSET`` is set, the
wall clock (time.time, datetime.now, date.today ...) runs that many seconds from the real one
and keeps ticking (time-machine). Monotonic time, sleeps and timeouts stay real."""

import os

_offset = os.environ.get("ONEWINDOW_E2E_CLOCK_OFFSET")
if _offset:
    from datetime import UTC, datetime, timedelta

    import time_machine

    time_machine.travel(datetime.now(UTC) + timedelta(seconds=float(_offset)), tick=True).start()
