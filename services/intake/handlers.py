"""What intake consumes: the deadline service's clocks, so that the public status page shows the
authoritative promised due date (intake's own estimate is only a first guess).

Consumer group ``intake.due_dates`` (its name is deployed: offsets and ACLs depend on it)."""

from __future__ import annotations

from contracts.deadline import ClockStarted, DueDateChanged
from services.runtime import Batch

from . import usecases


async def due_dates(batch: Batch[ClockStarted | DueDateChanged]) -> None:
    # A batch handler: the batch's cases are looked at in one query (one clock start per
    # accepted application reaches intake; most change nothing).
    await usecases.due_dates_changed(batch.uow, batch.events)


#: The consumer groups (``intake.<name>``) and their handlers, for ``app.py``.
GROUPS = {"due_dates": (due_dates,)}
