"""The suite's notion of "now": the system clock, unless ``ONEWINDOW_CLOCK`` says otherwise.

A simulation (``python -m tools.simulator``) replays months of a center's business in minutes,
so the services must stamp what happens with the *simulated* time. ``ONEWINDOW_CLOCK``:

- unset, empty or ``real``: the system clock (production);
- ``file:/path/to/clock``: the instant written in that file (ISO 8601 with an offset, e.g.
  ``2026-03-02T09:15:00+08:00``). The simulator rewrites the file (atomically) as its time
  advances; it is read on every call (a few microseconds). Every
  process given the same setting sees the same time, so a request sent after the file was
  written is stamped with that instant;
- an ISO 8601 instant: time stands still there (tests).

Only what a service decides with "now" (stamps of domain events) follows this clock; Kafka, the
database's bookkeeping columns and token lifetimes keep the system clock.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

from .workdays import TZ

ENV = "ONEWINDOW_CLOCK"


class ClockError(RuntimeError):
    """``ONEWINDOW_CLOCK`` names a clock that cannot be read."""


def _parse(text: str, where: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ClockError(f"{where}: {text.strip()!r} is not an ISO 8601 instant") from None
    if value.tzinfo is None:
        raise ClockError(f"{where}: {text.strip()!r} has no UTC offset")
    return value


class _FileClock:
    def __init__(self, path: Path) -> None:
        self.path = path

    def now(self) -> datetime:
        # Read on every call (a few microseconds): caching on the file's mtime could miss a
        # rewrite within the file system's timestamp granularity.
        try:
            text = self.path.read_text()
        except OSError as exc:
            raise ClockError(f"{ENV}: cannot read the clock file {self.path}: {exc.strerror}") from None
        return _parse(text, f"{ENV} file {self.path}")


_cache: tuple[str, object] | None = None


def now() -> datetime:
    """The current instant (timezone-aware) by the configured clock."""
    global _cache
    spec = os.environ.get(ENV, "").strip()
    if not spec or spec == "real":
        return datetime.now(UTC)
    if _cache is None or _cache[0] != spec:
        if spec.startswith("file:"):
            _cache = (spec, _FileClock(Path(spec[5:])))
        else:
            _cache = (spec, _parse(spec, ENV))
    clock = _cache[1]
    return clock.now() if isinstance(clock, _FileClock) else clock  # type: ignore[return-value]


def system_now() -> datetime:
    """The system's wall clock (UTC), for bookkeeping that must not follow a simulated clock:
    rate limits, lease and retry times, database housekeeping columns. Domain stamps use
    :func:`now`. Services call this rather than ``datetime.now`` (tests/runtime checks)."""
    return datetime.now(UTC)


def today() -> date:
    """Today's date in the center's time zone, by the configured clock."""
    return now().astimezone(TZ).date()


def local_now() -> datetime:
    """The current instant in the center's time zone, by the configured clock."""
    return now().astimezone(TZ)


def simulated() -> bool:
    """Whether a clock other than the system's is configured."""
    return os.environ.get(ENV, "").strip() not in ("", "real")


def write_clock_file(path: Path, instant: datetime) -> None:
    """Set a file clock (the simulator's side): written to a sibling and renamed, so a reader
    never sees half an instant."""
    if instant.tzinfo is None:
        raise ValueError("the clock needs an aware datetime")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(instant.isoformat())
    os.replace(tmp, path)
