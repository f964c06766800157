"""The year-end assessment (年终考核): proposals with the formula, the center's decision (center
admin), the one appeal (the staff member or their unit head)."""

from __future__ import annotations

from services.runtime import CenterAdmin, CurrentStaff, UoW

from ..schemas import AppealIn, AssessmentOut, DecisionIn, DecisionOut, StaffIdStr, YearParam
from ..usecases import assessments
from .deps import AttendanceDep, staff_router

router = staff_router()


@router.get("/assessments/{year}", summary="Proposed grades of the year (formula shown) and the decisions")
async def year_view(year: YearParam, staff: CurrentStaff, uow: UoW, att: AttendanceDep) -> list[AssessmentOut]:
    return [AssessmentOut.of(year, a.proposal, a.decision) for a in await assessments.year_view(uow, att, year, staff)]


@router.get("/assessments/{year}/{staff_id}", summary="One staff member's assessment")
async def one(year: YearParam, staff_id: StaffIdStr, staff: CurrentStaff, uow: UoW, att: AttendanceDep) -> AssessmentOut:
    a = await assessments.one(uow, att, year, staff_id, staff)
    return AssessmentOut.of(year, a.proposal, a.decision)


@router.post("/assessments/{year}/{staff_id}/decision", summary="The center decides the grade (or the appeal)")
async def decide(year: YearParam, staff_id: StaffIdStr, body: DecisionIn, staff: CenterAdmin, uow: UoW,
                 att: AttendanceDep) -> DecisionOut:
    return DecisionOut.of(await assessments.decide(uow, att, year, staff_id, body.grade, body.note, staff))


@router.post("/assessments/{year}/{staff_id}/appeal", summary="Appeal the center's decision (once)")
async def appeal(year: YearParam, staff_id: StaffIdStr, body: AppealIn, staff: CurrentStaff, uow: UoW,
                 att: AttendanceDep) -> DecisionOut:
    return DecisionOut.of(await assessments.appeal(uow, att, year, staff_id, body.reason, staff))
