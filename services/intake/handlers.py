"""What intake consumes: the deadline service's clocks, so that the public status page shows the
authoritative promised due date (intake's own estimate is only a first guess)."""

from __future__ import annotations

from contracts.deadline import ClockStarted, DueDateChanged
from services.runtime import HandlerContext, Service

from .store import Store


def register(service: Service) -> None:
    @service.handler(ClockStarted, DueDateChanged, name="due_dates")
    async def on_clock(event: ClockStarted | DueDateChanged, ctx: HandlerContext) -> None:
        store = Store(ctx.session)
        found = await store.case(event.receipt_no)
        if found is None:
            return  # not ours (or not yet visible): nothing to show
        app, rev = found
        due = event.due_date if isinstance(event, ClockStarted) else event.new_due_date
        if app.due_on == due:
            return
        app.due_on = due
        await store.save_case(app, rev)
