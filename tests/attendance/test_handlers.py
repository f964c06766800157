"""The subscribers one by one: module-level typed functions, each in the consumer group it
always had, each keeping its fact reduced (a repeat replaces it)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from contracts.common import CaseKind
from contracts.deadline import ClockEnded, NoticeSource, SupervisionNoticeIssued
from contracts.envelope import Envelope
from contracts.intake import RatingLevel, RatingSubmitted
from services.attendance import handlers, store
from services.runtime import HandlerContext

from .service_fixture import attendance_service


@pytest.fixture
async def svc(tmp_path):
    async with attendance_service(tmp_path) as service:
        yield service


async def _handle(svc, fn, event) -> None:  # type: ignore[no-untyped-def]
    async with svc.uow() as uow:
        await fn(event, HandlerContext(Envelope.wrap(event), uow, svc))
        await uow.commit()


def _ended(on_time: bool, unit: str = "FGJ") -> ClockEnded:
    return ClockEnded(receipt_no="FGJ-2025-0001", unit_code=unit, item_code="ITEM-01", case_kind=CaseKind.PROMISED,
                      decided_at=datetime(2025, 6, 10, 3, tzinfo=UTC), outcome="approved",
                      due_date=date(2025, 6, 10), on_time=on_time, within_statutory=True, working_days_used=3,
                      working_days_stopped=0, late_working_days=0 if on_time else 2)


def test_the_consumer_groups_keep_their_names(tmp_path):
    from services.attendance.app import create_service
    from services.attendance.config import AttendanceSettings

    svc = create_service(AttendanceSettings(data_dir=tmp_path, auth_secret="k" * 40))
    groups = {spec.group: sorted(t.__name__ for t in spec.types.values()) for spec in svc.handlers}
    assert groups == {
        "attendance.on_clock_ended": ["ClockEnded"],
        "attendance.on_rating": ["RatingSubmitted"],
        "attendance.on_supervision_notice": ["InspectionRecorded", "SupervisionNoticeIssued"],
    }


async def test_on_clock_ended_keeps_the_latest_outcome(svc):
    await _handle(svc, handlers.on_clock_ended, _ended(True))
    await _handle(svc, handlers.on_clock_ended, _ended(False, unit="SCJ"))
    async with svc.uow() as uow:
        row = await uow.session.get(store.OutcomeRow, "FGJ-2025-0001")
    assert (row.unit_code, row.on_time) == ("SCJ", False)


async def test_on_rating_credits_the_clerk_who_accepted(svc):
    event = RatingSubmitted(receipt_no="FGJ-2025-0001", unit_code="FGJ", item_code="ITEM-01",
                            level=RatingLevel.SATISFIED, score=4, has_comment=False, accepted_by="S01",
                            decided_by="S02", rated_at=datetime(2025, 6, 12, 6, tzinfo=UTC))
    await _handle(svc, handlers.on_rating, event)
    await _handle(svc, handlers.on_rating, event.model_copy(update={"accepted_by": None, "score": 2,
                                                                     "level": RatingLevel.DISSATISFIED}))
    async with svc.uow() as uow:
        row = await uow.session.get(store.RatingRow, "FGJ-2025-0001")
    assert (row.score, row.staff_id) == (2, "S02")  # nobody accepted it: the one who decided


async def test_on_supervision_notice_keeps_the_notice(svc):
    event = SupervisionNoticeIssued(notice_no="DB-2025-017", unit_code="SCJ", raised_by="督查科",
                                    raised_at=datetime(2025, 6, 20, 2, tzinfo=UTC), reason="超期未办结",
                                    reply_due=date(2025, 6, 27), origin=NoticeSource.OVERDUE,
                                    receipt_no="SCJ-2025-0001")
    await _handle(svc, handlers.on_supervision_notice, event)
    async with svc.uow() as uow:
        row = await uow.session.get(store.NoticeRow, "DB-2025-017")
    assert (row.unit_code, row.receipt_no) == ("SCJ", "SCJ-2025-0001")
