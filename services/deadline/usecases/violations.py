"""Staff violations (违规违章) from attendance, kept only as the monthly bulletin counts them:
unit, kind and month. Idempotent and order-tolerant: a withdrawal seen before its record (or a
record repeated after its withdrawal) leaves the violation withdrawn."""

from __future__ import annotations

from contracts.attendance import StaffViolationRecorded, StaffViolationWithdrawn
from services.runtime.uow import UnitOfWork

from .. import store


async def recorded(uow: UnitOfWork, event: StaffViolationRecorded) -> None:
    row = await uow.session.get(store.StaffViolationRow, event.violation_id)
    if row is not None:
        if row.recorded_at is None:  # the withdrawal came first: remember the record, still withdrawn
            row.recorded_at = store.utc(event.recorded_at)
            uow.session.add(row)
        return
    uow.session.add(store.StaffViolationRow(
        violation_id=event.violation_id, unit_code=event.unit_code, violation_kind=event.violation_kind.value,
        period=event.period, occurred_on=event.occurred_on, recorded_at=store.utc(event.recorded_at),
    ))


async def withdrawn(uow: UnitOfWork, event: StaffViolationWithdrawn) -> None:
    row = await uow.session.get(store.StaffViolationRow, event.violation_id)
    if row is None:
        row = store.StaffViolationRow(
            violation_id=event.violation_id, unit_code=event.unit_code, violation_kind=event.violation_kind.value,
            period=event.period, occurred_on=event.occurred_on,
        )
    if row.withdrawn_at is None:
        row.withdrawn_at = store.utc(event.withdrawn_at)
        uow.session.add(row)
