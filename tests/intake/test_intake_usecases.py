"""intake's rooms after the floor plan: the use cases alone (on a unit of work), the handler
alone, the case-kind table, the typed views (same JSON as the old hand-made dicts), the
working-day counting kept exactly as intake's own did."""

from __future__ import annotations

import functools
from datetime import date, timedelta
from pathlib import Path

import holidays
import re

import pytest

from contracts.common import CaseKind, DocumentType, Role
from contracts.deadline import ClockStarted, DueDateChanged
from contracts.intake import JointAnswer, Outcome
from contracts.kinds import ITEM_KINDS, KINDS, CaseStep, rules_of
from services.intake import handlers, usecases
from services.intake.domain.access import Actor
from services.intake.schemas import ApplicantIn, ApplicationIn, JointProgressView, case_view
from services.intake.store import Store
from services.runtime import Batch, HandlerContext
from services.runtime.errors import InvalidState, NotAllowed, NotFound
from services.runtime.workdays import local_date, national_calendar

from .helpers import CLERK, MONDAY, RFB_CLERK, ZRJ_CLERK, receive
from .service_helpers import clerk, client, file, intake_service, outbox, seed_catalog, types

LYJ = Actor("C0001", Role.CLERK, "LYJ")


def _application(kind: str = "promised", materials=("M01", "M02", "M03")) -> ApplicationIn:
    code = {"immediate": "LYJ-001", "promised": "LYJ-002", "joint": "LYJ-003", "reported_up": "LYJ-004"}[kind]
    return ApplicationIn(item_code=code, materials=list(materials), applicant=ApplicantIn(
        type="person", name="张三丰", resident_id="11010519491231002X", mobile="13812345678"))


# ---------------------------------------------------------------------------- use cases


async def test_receive_application_use_case_numbers_accepts_and_emits(tmp_path: Path) -> None:
    async with intake_service(tmp_path) as svc:
        await seed_catalog(svc)
        st = svc.state.intake
        async with svc.uow() as uow:
            app = await usecases.receive_application(uow, st, LYJ, _application())
        assert re.fullmatch(r"2024-LYJ-[2-9A-HJKMNP-Z]{8}", app.receipt_no) and app.status.value == "accepted"
        assert app.register_seq == 1
        assert app.due_on == date(2024, 6, 11)  # five working days after Monday 3 June 2024 (10 June: 端午)
        async with svc.uow() as uow:
            second = await usecases.receive_application(uow, st, LYJ, _application(materials=("M01",)))
        assert second.register_seq == 2 and second.receipt_no != app.receipt_no and second.status.value == "awaiting_supplement"
        assert types(await outbox(svc, "intake.applications")) == [
            "ApplicationReceived", "ApplicationAccepted", "ApplicationReceived", "SupplementRequested"]
        # A refused application uses no number.
        async with svc.uow() as uow:
            with pytest.raises(NotAllowed):
                await usecases.receive_application(uow, st, Actor("C9", Role.CLERK, "SCJ"), _application())
        async with svc.uow() as uow:
            third = await usecases.receive_application(uow, st, LYJ, _application())
        assert third.register_seq == 3  # the register stays gap-free; receipt numbers are random


async def test_case_steps_as_use_cases(tmp_path: Path) -> None:
    async with intake_service(tmp_path) as svc:
        await seed_catalog(svc)
        st = svc.state.intake
        async with svc.uow() as uow:
            no = (await usecases.receive_application(uow, st, LYJ, _application("reported_up"))).receipt_no
        async with svc.uow() as uow:
            with pytest.raises(InvalidState):
                await usecases.decide(uow, st, LYJ, no, Outcome.APPROVED, "准予")
        async with svc.uow() as uow:
            await usecases.forward(uow, st, LYJ, no, None, "请审批")
        async with svc.uow() as uow:
            await usecases.record_higher_answer(uow, st, LYJ, no, True, "同意", None)
        async with svc.uow() as uow:
            app = await usecases.decide(uow, st, LYJ, no, Outcome.APPROVED, "准予")
        assert app.status.value == "decided" and app.authority == "省林业和草原局"
        async with svc.uow() as uow:
            with pytest.raises(NotFound):
                await usecases.accept(uow, st, LYJ, "2024-LYJ-09999")


async def test_monthly_reports_use_case_makes_each_report_once(tmp_path: Path) -> None:
    async with intake_service(tmp_path, intake_inactivity_months=1) as svc:
        await seed_catalog(svc)
        st = svc.state.intake
        sup = Actor("S0001", Role.SUPERVISOR)
        async with svc.uow() as uow:
            with pytest.raises(NotAllowed):
                await usecases.monthly_reports(uow, st, LYJ, "2024-06")
        async with svc.uow() as uow:
            first = await usecases.monthly_reports(uow, st, sup, "2024-06")
        async with svc.uow() as uow:
            again = await usecases.monthly_reports(uow, st, sup, "2024-06")
        assert [type(e).__name__ for e in first].count("UnitVolumeReported") == 4 and again == []
        assert usecases.previous_period(MONDAY) == "2024-05"


# ---------------------------------------------------------------------------- the handler


async def test_due_dates_handler_alone(tmp_path: Path) -> None:
    async with intake_service(tmp_path) as svc:
        await seed_catalog(svc)
        async with clerk(svc) as c:
            no = (await file(c)).json()["receipt_no"]
            other = (await file(c)).json()
        started = ClockStarted(
            receipt_no=no, unit_code="LYJ", item_code="LYJ-002", item_version=1, case_kind=CaseKind.PROMISED,
            accepted_at=MONDAY, promised_days=5, statutory_days=20, due_date=date(2024, 6, 12),
            statutory_due_date=date(2024, 7, 2), provisional=False, calendar_version=1)

        async def handle(*events) -> None:  # type: ignore[no-untyped-def]
            async with svc.uow() as uow:
                await handlers.due_dates(Batch([(e, HandlerContext(envelope=None, uow=uow, service=svc))  # type: ignore[arg-type]
                                                for e in events], uow, svc))
                await uow.commit()

        async def shown(receipt_no: str) -> tuple[date | None, int]:
            async with svc.uow() as uow:
                app, rev = await Store(uow.session).case(receipt_no)
            return app.due_on, rev

        await handle(started)
        assert (await shown(no))[0] == date(2024, 6, 12)
        # One batch: a case's events in order, the last one wins; a start that confirms intake's
        # own estimate writes nothing; a case not ours is left alone.
        moved = DueDateChanged(
            receipt_no=no, unit_code="LYJ", old_due_date=date(2024, 6, 12), new_due_date=date(2024, 6, 14),
            old_statutory_due_date=date(2024, 7, 2), new_statutory_due_date=date(2024, 7, 4), reason="stop",
            provisional=False, calendar_version=1)
        confirmed = started.model_copy(update={"receipt_no": other["receipt_no"],
                                               "due_date": date.fromisoformat(other["due_on"])})
        unknown = started.model_copy(update={"receipt_no": "2024-LYJ-09999"})
        rev_before = (await shown(other["receipt_no"]))[1]
        await handle(started.model_copy(update={"due_date": date(2024, 6, 13)}), confirmed, unknown, moved)
        assert (await shown(no))[0] == date(2024, 6, 14)
        assert await shown(other["receipt_no"]) == (date.fromisoformat(other["due_on"]), rev_before)
        assert handlers.GROUPS == {"due_dates": (handlers.due_dates,)}
        assert [s.group for s in svc.handlers] == ["intake.due_dates"]
        assert set(svc.handlers[0].types.values()) == {ClockStarted, DueDateChanged}


# ---------------------------------------------------------------------------- views


def _old_case_view(app) -> dict:  # type: ignore[no-untyped-def]
    data = app.model_dump(mode="json")
    data.update(
        unit_code=app.unit_code, status_label=app.status.label, case_kind=app.kind.value,
        case_kind_label=app.kind.label, six_kind=app.six_kind.value, six_kind_label=app.six_kind.label,
    )
    return data


@pytest.mark.parametrize("kind", list(ITEM_KINDS))
def test_case_view_has_the_old_shape(kind: CaseKind) -> None:
    app = receive(kind)
    assert case_view(app).model_dump(mode="json") == _old_case_view(app)
    incomplete = receive(kind, materials=("M01",))
    assert case_view(incomplete).model_dump(mode="json") == _old_case_view(incomplete)


def test_joint_progress_view_is_the_old_subset() -> None:
    app = receive(CaseKind.JOINT)
    app.answer_joint_task(ZRJ_CLERK, MONDAY, JointAnswer.APPROVE, "同意")
    old = {k: _old_case_view(app)[k] for k in ("receipt_no", "status", "status_label", "joint_tasks", "unit_code")}
    assert JointProgressView.of(app).model_dump(mode="json") == old


async def test_joint_answer_route_answers_each_unit_its_view(tmp_path: Path) -> None:
    async with intake_service(tmp_path) as svc:
        await seed_catalog(svc)
        async with clerk(svc) as c:
            no = (await file(c, "joint")).json()["receipt_no"]
        async with client(svc, Role.CLERK, "ZRJ", sub="C0003") as zrj:
            r = await zrj.post(f"/intake/applications/{no}/joint-answer", json={"answer": "approve", "opinion": "同意"})
        assert r.status_code == 200
        assert sorted(r.json()) == ["joint_tasks", "receipt_no", "status", "status_label", "unit_code"]
        async with client(svc, Role.CLERK, "RFB", sub="C0004") as rfb:
            r = await rfb.post(f"/intake/applications/{no}/joint-answer", json={"answer": "approve", "opinion": "同意"})
        assert r.json()["status"] == "accepted" and "applicant" not in r.json()
        async with clerk(svc) as c:
            full = (await c.get(f"/intake/applications/{no}")).json()
        assert full["applicant"]["mobile"] == "13812345678" and full["six_kind_label"] == "联办件"


# ---------------------------------------------------------------------------- the kinds table


def test_the_kinds_table_says_what_the_scattered_checks_said() -> None:
    assert set(KINDS) == set(CaseKind)
    assert ITEM_KINDS == (CaseKind.IMMEDIATE, CaseKind.PROMISED, CaseKind.JOINT, CaseKind.REPORTED_UP)
    assert [k for k in CaseKind if rules_of(k).on_the_spot] == [CaseKind.IMMEDIATE]
    assert [k for k in CaseKind if rules_of(k).joint_tasks] == [CaseKind.JOINT]
    assert [k for k in CaseKind if rules_of(k).forwarded] == [CaseKind.REPORTED_UP]
    assert rules_of(CaseKind.IMMEDIATE).acceptance_notices == ()
    assert rules_of(CaseKind.JOINT).acceptance_notices == (DocumentType.ACCEPTANCE, DocumentType.JOINT)
    assert rules_of(CaseKind.REPORTED_UP).allows(CaseStep.FORWARD)
    assert not rules_of(CaseKind.PROMISED).allows(CaseStep.FORWARD)
    assert all(rules_of(k).clock_on_acceptance for k in ITEM_KINDS)


def test_forwarding_a_case_of_another_kind_is_refused_as_before() -> None:
    app = receive(CaseKind.PROMISED)
    with pytest.raises(InvalidState) as exc:
        app.forward(CLERK, MONDAY)
    assert exc.value.reason == "只有上报件才需要上报上级机关"
    assert RFB_CLERK.unit_code == "RFB"


# ---------------------------------------------------------------------------- working days


@functools.lru_cache(maxsize=64)
def _library_year(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("CN", years=year)


def _intake_add_working_days(start: date, days: int) -> date:
    """intake's own former counting (services/intake/workdays.py): 0 is the start itself,
    otherwise the days after the start, by the library's per-year calendar."""
    d, left = start, days
    while left:
        d += timedelta(days=1)
        if _library_year(d.year).is_working_day(d):
            left -= 1
    return d


def test_working_days_are_counted_as_intake_counted_them() -> None:
    cal = national_calendar()
    start = date(2024, 1, 1)
    for offset in range(0, 800, 3):
        day = start + timedelta(days=offset)
        for n in (0, 1, 5, 10):
            assert cal.add_working_days(day, n) == _intake_add_working_days(day, n), (day, n)
    assert local_date(MONDAY) == date(2024, 6, 3)
