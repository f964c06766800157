"""What intake consumes: the deadline service's clocks, so that the public status page shows the
authoritative promised due date (intake's own estimate is only a first guess).

Consumer group ``intake.due_dates`` (its name is deployed: offsets and ACLs depend on it)."""

from __future__ import annotations

from contracts.deadline import ClockStarted, DueDateChanged
from services.runtime import HandlerContext

from . import usecases


async def due_dates(event: ClockStarted | DueDateChanged, ctx: HandlerContext) -> None:
    await usecases.due_date_changed(ctx.uow, event)


#: The consumer groups (``intake.<name>``) and their handlers, for ``app.py``.
GROUPS = {"due_dates": (due_dates,)}
