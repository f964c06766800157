"""Use cases of 两头受理 (accepting at both ends, rules in ``domain/outside.py``): a unit reports
the decisions it made outside the center — one by API, or its own system's CSV export — and
supervision sees the flagged ones counted per unit.

A report commits whole or not at all: one bad row refuses the file (every problem listed, the
field named ``rows[<line>].<column>``), nothing is written. A decision reported again (the same
unit and record number, the same facts) is skipped, so a unit may re-send its export; the same
number with other facts is refused (409). Each flagged decision emits ``OutsideHandlingDetected``
(codes only) with the unit's count of the month.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Integer, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from contracts.intake import OutsideHandlingDetected
from services.runtime import Service, UnitOfWork
from contracts.common import Role
from services.runtime.errors import InvalidInput, InvalidState, NotAllowed, NotFound
from services.runtime.problems import Problem
from services.runtime.workdays import local_date

from ..domain import outside as rules
from ..domain.access import Actor, OVERSIGHT_ROLES, UNIT_ROLES
from ..domain.outside import CaseFacts, ItemFacts, OutsideReport
from ..store import CaseRow, ItemRow, OutsideDecisionRow, UnitRow

SOURCES = ("api", "csv")


@dataclass
class ReportResult:
    recorded: list[OutsideDecisionRow] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # record numbers already reported alike

    @property
    def flagged(self) -> list[OutsideDecisionRow]:
        return [r for r in self.recorded if r.flagged]


class OutsideMetrics:
    def __init__(self, service: Service) -> None:
        self.detected = service.metrics.counter(
            "outside_handling_detected", "Decisions units made outside the center on items it must handle (两头受理).",
            ("unit",))


def install(service: Service) -> None:
    """The metric (``app.py`` calls this once)."""
    service.state.outside = OutsideMetrics(service)


def _may_report(actor: Actor, unit_code: str) -> None:
    # The unit's own staff report; the center admin may import on a unit's behalf.
    if actor.role in UNIT_ROLES and actor.unit_code == unit_code:
        return
    if actor.role is Role.CENTER_ADMIN:
        return
    raise NotAllowed("unit_code", "只有本单位工作人员或中心管理员可以报送本单位在中心外作出的决定")


def _same(row: OutsideDecisionRow, r: OutsideReport) -> bool:
    return (row.item_code, row.decided_on, row.outcome, row.receipt_no) == (
        r.item_code, r.decided_on, r.outcome.value, r.receipt_no)


async def report(uow: UnitOfWork, service: Service, actor: Actor, unit_code: str, reports: Sequence[OutsideReport],
                 source: str) -> ReportResult:
    """Record ``reports`` of ``unit_code``; commits. Refusals name ``<field>`` for one report,
    ``rows[<line>].<field>`` for a file's (the report's CSV line)."""
    _may_report(actor, unit_code)
    st = service.state.intake
    unit = await uow.session.get(UnitRow, unit_code)
    if unit is None:
        raise NotFound("unit_code", f"单位代码 {unit_code} 不存在")
    now: datetime = st.now()
    today = local_date(now)

    def prefix(i: int) -> str:
        line = reports[i].line
        return f"rows[{line}]." if line is not None else ""

    nos = [r.external_no for r in reports]
    existing = {row.external_no: row for row in (await uow.session.exec(
        select(OutsideDecisionRow).where(OutsideDecisionRow.unit_code == unit_code,
                                         OutsideDecisionRow.external_no.in_(nos)))).all()}  # type: ignore[attr-defined]
    items = {row.code: row for row in (await uow.session.exec(
        select(ItemRow).where(ItemRow.code.in_({r.item_code for r in reports})))).all()}  # type: ignore[attr-defined]
    errors: list[dict[str, str]] = []
    conflicts = 0  # numbers reported before with other facts: 409 when nothing else is wrong
    result = ReportResult()
    todo: list[tuple[OutsideReport, bool]] = []
    for i, r in enumerate(reports):
        if (old := existing.get(r.external_no)) is not None:
            if _same(old, r):
                result.skipped.append(r.external_no)
                continue
            errors.append({"field": f"{prefix(i)}external_no",
                           "reason": f"办件编号 {r.external_no} 已报送过，内容不同；如需更正请联系中心"})
            conflicts += 1
            continue
        item_row = items.get(r.item_code)
        item = ItemFacts(item_row.unit_code, bool(item_row.accepting and unit.entered)) if item_row else None
        case = None
        if r.receipt_no is not None:
            c = await uow.session.get(CaseRow, r.receipt_no)
            case = CaseFacts(c.unit_code, c.item_code) if c else None
        try:
            flagged = rules.check(r, unit_code=unit_code, today=today, item=item, case=case, prefix=prefix(i))
        except InvalidInput as exc:
            errors.append({"field": exc.field or "file", "reason": exc.reason})
            continue
        todo.append((r, flagged))
    if errors:
        status = 409 if conflicts == len(errors) else 422
        if source == "api" and len(errors) == 1:
            raise Problem(status, errors[0]["reason"], field=errors[0]["field"])
        raise Problem(status, f"有 {len(errors)} 处错误，整批未导入，请更正后重新导入", errors=errors)

    # The month's count before this report's rows are in the session (they would be flushed into it).
    counts = {period: await _flagged_in(uow, unit_code, period)
              for period in sorted({r.decided_on.strftime("%Y-%m") for r, flagged in todo if flagged})}
    for r, flagged in todo:
        row = OutsideDecisionRow(
            decision_id=f"OD-{uuid.uuid4().hex[:12].upper()}", unit_code=unit_code, item_code=r.item_code,
            external_no=r.external_no, decided_on=r.decided_on, outcome=r.outcome.value, receipt_no=r.receipt_no,
            flagged=flagged, source=source, reported_by=actor.staff_id[:64], reported_at=now)
        uow.session.add(row)
        result.recorded.append(row)
        if flagged:
            period = r.decided_on.strftime("%Y-%m")
            counts[period] += 1
            await uow.emit(OutsideHandlingDetected(
                decision_id=row.decision_id, unit_code=unit_code, item_code=r.item_code, decided_on=r.decided_on,
                detected_at=now, period_count=counts[period]))
    try:
        await uow.commit()
    except IntegrityError:  # the unique (unit, number): two imports of the same file raced
        raise InvalidState("external_no", "同一批办件正在被另一请求报送，请稍后重试") from None
    metrics: OutsideMetrics | None = getattr(service.state, "outside", None)
    if metrics is not None:
        for row in result.flagged:
            metrics.detected.labels(unit_code).inc()
    return result


async def _flagged_in(uow: UnitOfWork, unit_code: str, period: str) -> int:
    y, m = (int(x) for x in period.split("-"))
    start = date(y, m, 1)
    end = date(y + (m == 12), m % 12 + 1, 1)
    n = (await uow.session.exec(select(func.count()).select_from(OutsideDecisionRow).where(
        OutsideDecisionRow.unit_code == unit_code, OutsideDecisionRow.flagged == True,  # noqa: E712
        OutsideDecisionRow.decided_on >= start, OutsideDecisionRow.decided_on < end))).one()
    return int(n)


def _month(period: str | None) -> tuple[date, date] | None:
    if not period:
        return None
    y, m = (int(x) for x in period.split("-"))
    return date(y, m, 1), date(y + (m == 12), m % 12 + 1, 1)


async def decisions(uow: UnitOfWork, *, unit_code: str | None, flagged: bool | None, period: str | None,
                    limit: int, offset: int) -> list[OutsideDecisionRow]:
    stmt = select(OutsideDecisionRow).order_by(OutsideDecisionRow.decided_on.desc(),  # type: ignore[attr-defined]
                                               OutsideDecisionRow.external_no)
    if unit_code:
        stmt = stmt.where(OutsideDecisionRow.unit_code == unit_code)
    if flagged is not None:
        stmt = stmt.where(OutsideDecisionRow.flagged == flagged)
    if (span := _month(period)) is not None:
        stmt = stmt.where(OutsideDecisionRow.decided_on >= span[0], OutsideDecisionRow.decided_on < span[1])
    return list((await uow.session.exec(stmt.limit(limit).offset(offset))).all())


async def summary(uow: UnitOfWork, actor: Actor, *, period: str | None) -> list[dict[str, Any]]:
    """Per unit: decisions reported and flagged (in ``period``, or all time), most flagged first.
    For supervision (supervisors, the center admin)."""
    if actor.role not in OVERSIGHT_ROLES:
        raise NotAllowed(None, "两头受理统计仅限中心督查人员和管理员查看")
    stmt = select(OutsideDecisionRow.unit_code, func.count(),
                  func.sum(func.cast(OutsideDecisionRow.flagged, Integer))).group_by(OutsideDecisionRow.unit_code)
    if (span := _month(period)) is not None:
        stmt = stmt.where(OutsideDecisionRow.decided_on >= span[0], OutsideDecisionRow.decided_on < span[1])
    names = {u.code: u.name for u in (await uow.session.exec(select(UnitRow))).all()}
    rows = [{"unit_code": u, "unit_name": names.get(u), "reported": int(n), "flagged": int(f or 0)}
            for u, n, f in (await uow.session.exec(stmt)).all()]
    return sorted(rows, key=lambda r: (-r["flagged"], r["unit_code"]))
