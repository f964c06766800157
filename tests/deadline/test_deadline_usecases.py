"""The deadline service's use cases called directly (no HTTP, no broker): each refusal is a
runtime ``DomainError`` with the status, field and zh-CN reason the API answers with."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from contracts.common import Role
from contracts.deadline import InspectionResult, NoticeSource, StopReason
from services.deadline import store
from services.deadline.domain import CalendarError, CalendarRefused, DeadlineConflict, DeadlineError
from services.deadline.usecases import calendar, clocks, oversight
from services.deadline.usecases.shared import DeadlineState, state_of, who
from services.runtime import clock as suite_clock
from services.runtime.app import Service
from services.runtime.auth import Staff
from services.runtime.errors import DomainError, InvalidInput, InvalidState, NotFound

from .helpers import local
from .intake_events import UNIT, accepted, decided

R1 = "2025-SCJG-00001"
CLERK = Staff(sub="clerk-1", name="李明", role=Role.CLERK, unit=UNIT)
HEAD = Staff(sub="head-1", name="王建国", role=Role.UNIT_HEAD, unit=UNIT)
SUPERVISOR = Staff(sub="sup-1", name="李督查", role=Role.SUPERVISOR)
ADMIN = Staff(sub="admin-1", name="赵管理", role=Role.CENTER_ADMIN)


@pytest.fixture
def st(svc: Service) -> DeadlineState:
    return state_of(svc)


async def start(svc: Service, st: DeadlineState, receipt_no: str = R1, **kwargs: object) -> None:
    async with svc.uow() as uow:
        await clocks.start_clock(uow, st, accepted(receipt_no, local(2025, 9, 26, 10), **kwargs), cause=f"c-{receipt_no}")  # type: ignore[arg-type]
        await uow.commit()


def test_the_refusals_are_domain_errors() -> None:
    assert DeadlineError("days", "x").status == 422 and isinstance(DeadlineError("days", "x"), InvalidInput)
    conflict = DeadlineConflict("receipt_no", "案件 X 已办结")
    assert conflict.status == 409 and isinstance(conflict, DeadlineError) and isinstance(conflict, InvalidState)
    refused = CalendarRefused("day", "2025-11-06 没有本县的调整记录")
    assert refused.status == 422 and isinstance(refused, CalendarError) and (refused.field, refused.reason) == (
        "day", "2025-11-06 没有本县的调整记录")
    plain = CalendarError("9999-12-30 之后 10 个工作日超出了9999年", "days")
    assert (CalendarRefused.of(plain).field, CalendarRefused.of(plain).reason) == ("days", str(plain))


def test_who_is_cut_to_the_columns_width() -> None:
    assert who(Staff(sub="s", name="督" * 100, role=Role.SUPERVISOR)) == "督" * 80
    assert who(Staff(sub="sub-only", role=Role.CLERK)) == "sub-only"


async def test_clock_commands(svc: Service, st: DeadlineState) -> None:
    await start(svc, st)
    async with svc.uow() as uow:
        with pytest.raises(NotFound) as nf:
            await clocks.get_clock(uow, st, "2025-SCJG-09999", CLERK)
        assert nf.value.field == "receipt_no"
        with pytest.raises(DeadlineError) as err:
            await clocks.stop_clock(uow, st, R1, CLERK, reason=StopReason.HEARING,
                                    started_at=suite_clock.now() + timedelta(hours=1), note=None, stop_id=None)
        assert err.value.field == "started_at" and "不能晚于当前时间" in err.value.reason
    async with svc.uow() as uow:
        v = await clocks.stop_clock(uow, st, R1, CLERK, reason=StopReason.HEARING,
                                    started_at=local(2025, 10, 13, 9), note="听证会", stop_id="h1")
        assert v.row.state == "stopped" and v.days_left is not None
    async with svc.uow() as uow:
        with pytest.raises(NotFound) as nf:
            await clocks.end_stop(uow, st, R1, "nope", CLERK, ended_at=None)
        assert nf.value.field == "stop_id"
    async with svc.uow() as uow:
        v = await clocks.end_stop(uow, st, R1, "h1", CLERK, ended_at=local(2025, 10, 15, 17))
        assert v.row.due_date == date(2025, 10, 20)
    async with svc.uow() as uow:
        v = await clocks.extend_clock(uow, st, R1, HEAD, days=5, reason="需现场核查", extension_id="e1")
        assert v.row.due_date == date(2025, 10, 27) and v.row.extensions[0]["approved_by"] == "王建国"
    async with svc.uow() as uow:
        assert [c.row.receipt_no for c in await clocks.list_clocks(
            uow, st, CLERK, unit_code=None, state=None, overdue=None, after=None, limit=10)] == [R1]


async def test_a_decided_case_cannot_be_extended(svc: Service, st: DeadlineState) -> None:
    await start(svc, st)
    async with svc.uow() as uow:
        await clocks.decided(uow, st, decided(R1, local(2025, 10, 10, 10)), cause="d-1")
        await uow.commit()
    async with svc.uow() as uow:
        with pytest.raises(DeadlineConflict) as err:
            await clocks.extend_clock(uow, st, R1, HEAD, days=5, reason="需现场核查", extension_id=None)
        assert err.value.status == 409 and err.value.field == "receipt_no"


async def test_calendar_use_cases(svc: Service, st: DeadlineState) -> None:
    async with svc.uow() as uow:
        with pytest.raises(InvalidInput) as err:
            await calendar.days(uow, st, date(2025, 10, 2), date(2025, 10, 1))
        assert err.value.field == "end"
        with pytest.raises(InvalidInput):
            await calendar.days(uow, st, date(2025, 1, 1), date(2026, 12, 31))
        assert [d["working"] for d in await calendar.days(uow, st, date(2025, 10, 11), date(2025, 10, 12))] == [True, False]
        with pytest.raises(CalendarRefused) as refused:
            await calendar.due_date(uow, st, date(9999, 12, 31), 1)
        assert refused.value.field == "days" and "9999" in refused.value.reason
        due = await calendar.due_date(uow, st, date(2025, 9, 26), 10)
        assert (due.due_date, due.provisional) == (date(2025, 10, 16), False)
    async with svc.uow() as uow:
        with pytest.raises(InvalidInput) as err:
            await calendar.load_schedule(uow, st, 1900, ADMIN, holidays=[date(1900, 1, 1)], working_days=[], reason="r")
        assert err.value.field == "year"
    async with svc.uow() as uow:
        change = await calendar.set_day(uow, st, date(2025, 10, 14), ADMIN, working=False, reason="县级临时放假")
        assert change.change.version == 1 and st.alarm.recompute.is_set()
    async with svc.uow() as uow:
        with pytest.raises(CalendarRefused) as refused:
            await calendar.remove_day(uow, st, date(2025, 10, 15), ADMIN, reason="无此调整")
        assert refused.value.field == "day"
    async with svc.uow() as uow:
        (view,) = await calendar.history(uow)
        assert (view.change.changed_by, view.recomputed, view.clocks_moved) == ("赵管理", False, None)


async def test_oversight_use_cases(svc: Service, st: DeadlineState) -> None:
    await start(svc, st)
    async with svc.uow() as uow:
        await clocks.decided(uow, st, decided(R1, local(2025, 10, 10, 10)), cause="d-1")
        await uow.commit()
    async with svc.uow() as uow:
        with pytest.raises(InvalidInput) as err:
            await oversight.statistics(uow, period=None, first=None, last=None, unit_code=None)
        assert err.value.field == "period"
        with pytest.raises(DeadlineError) as derr:
            await oversight.statistics(uow, period="9999-12", first=None, last=None, unit_code=None)
        assert derr.value.field == "period"
        stats = await oversight.statistics(uow, period="2025-10", first=None, last=None, unit_code=None)
        assert [(u.unit_code, u.cases) for u in stats.units] == [("*", 1), (UNIT, 1)]

    async with svc.uow() as uow:
        draft = await oversight.get_bulletin(uow, st, "2025-10")
        assert draft.published is False and draft.content["bulletin_no"] == "TB-2025-10"
    async with svc.uow() as uow:
        published = await oversight.publish_bulletin(uow, st, "2025-10", SUPERVISOR)
        assert (published.published, published.published_by) == (True, "李督查")
    async with svc.uow() as uow:
        with pytest.raises(InvalidState) as state_err:
            await oversight.publish_bulletin(uow, st, "2025-10", SUPERVISOR)
        assert state_err.value.field == "period"
        assert "2025年10月审批服务办理情况通报" in await oversight.bulletin_document(uow, st, "2025-10")

    async with svc.uow() as uow:
        with pytest.raises(InvalidInput) as err:
            await oversight.create_notice(uow, st, SUPERVISOR, unit_code="OTHER", receipt_no=R1, reason="超期未办",
                                          reply_days=None, origin=NoticeSource.MANUAL)
        assert err.value.field == "unit_code"
    async with svc.uow() as uow:
        notice = await oversight.create_notice(uow, st, SUPERVISOR, unit_code=UNIT, receipt_no=R1, reason="超期未办",
                                               reply_days=3, origin=NoticeSource.OVERDUE)
        assert notice.status == "open" and notice.notice.notice_no.startswith("DB-")
    async with svc.uow() as uow:
        replied = await oversight.reply(uow, notice.notice.notice_no, HEAD, text="已整改")
        assert replied.status == "replied"
    async with svc.uow() as uow:
        with pytest.raises(DeadlineConflict):
            await oversight.reply(uow, notice.notice.notice_no, HEAD, text="再次回复")
        assert [n.status for n in await oversight.list_notices(uow, CLERK, unit_code=None, open_only=False, limit=10)] == [
            "replied"]

    async with svc.uow() as uow:
        sample = await oversight.draw_sample(uow, st, SUPERVISOR, unit_code=UNIT, period="2025-10", share=1.0, seed="abc")
        assert sample.receipt_nos == [R1]
    async with svc.uow() as uow:
        with pytest.raises(InvalidState):
            await oversight.draw_sample(uow, st, SUPERVISOR, unit_code=UNIT, period="2025-10", share=None, seed=None)
        with pytest.raises(NotFound) as nf:
            await oversight.record_result(uow, st, "CC-nope", SUPERVISOR, receipt_no=R1,
                                          result=InspectionResult.COMPLIANT, notes=None, with_notice=False, reply_days=None)
        assert nf.value.field == "sample_id"
    async with svc.uow() as uow:
        result = await oversight.record_result(uow, st, sample.sample_id, SUPERVISOR, receipt_no=R1,
                                               result=InspectionResult.VIOLATION, notes="未一次性告知", with_notice=True,
                                               reply_days=None)
        assert result.violation is True and result.notice_no
    async with svc.uow() as uow:
        row, results = await oversight.get_sample(uow, sample.sample_id, CLERK)
        assert (row.sample_id, [r.receipt_no for r in results]) == (sample.sample_id, [R1])
        assert len(await store.list_notices(uow.session, unit_code=UNIT, open_only=True, limit=10)) == 1


def test_every_refusal_is_a_domain_error() -> None:
    for cls in (DeadlineError, DeadlineConflict, CalendarRefused, clocks.ClockNotFound):
        assert issubclass(cls, DomainError)
