"""Staff violations (违规违章): what the attendance rules find in a judged day (lateness, absence,
leaving the post), what a rating at the complaint level means, and the monthly counts per unit
the bulletin circulates. Pure Python, no I/O.

A violation is recorded against a staff member with its evidence; the staff member may reply;
a supervisor may withdraw it with a reason. Those found by the rules carry a ``source_key`` so that
finding them again records nothing twice (and a day judged again after leave was recorded late
withdraws what is no longer found).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from contracts.attendance import VIOLATION_LABELS, ViolationKind

from .rules import SessionKind, SessionResult


@dataclass(frozen=True)
class FoundViolation:
    """A violation found by a rule (attendance, rating), not yet recorded."""

    staff_id: str
    kind: ViolationKind
    occurred_on: date
    source_key: str
    evidence: str
    receipt_no: str | None = None


def _hm(t) -> str:  # type: ignore[no-untyped-def]
    return t.strftime("%H:%M")


def from_day(staff_id: str, day: date, results: Iterable[SessionResult]) -> list[FoundViolation]:
    """The violations of a judged day: absent (旷工), else late (迟到) and/or left early (早退/脱岗);
    leave excuses a session, a missing punch alone is not a violation."""
    out: list[FoundViolation] = []
    for r in results:
        if r.leave is not None:
            continue
        s = r.session
        what = f"{day.isoformat()} {s.kind.label}（{_hm(s.start)}–{_hm(s.end)}"
        what += f"，{s.ref}号窗口）" if s.kind is SessionKind.DUTY and s.ref else "）"
        punches = "，".join(f"{label} {_hm(t)}" for label, t in (("签到", r.arrived), ("签退", r.left)) if t)
        punches = f"；打卡：{punches}" if punches else "；无打卡记录"
        key = f"att:{staff_id}:{day.isoformat()}:{s.kind.value}:{_hm(s.start)}"
        if r.absent:
            out.append(FoundViolation(staff_id, ViolationKind.ABSENT, day, f"{key}:absent",
                                      f"{what}{r.note}{punches}"))
            continue
        if r.late_minutes:
            out.append(FoundViolation(staff_id, ViolationKind.LATE, day, f"{key}:late",
                                      f"{what}迟到{r.late_minutes}分钟{punches}"))
        if r.early_minutes:
            out.append(FoundViolation(staff_id, ViolationKind.LEFT_POST, day, f"{key}:left_post",
                                      f"{what}早退{r.early_minutes}分钟{punches}"))
    return out


RATING_LABELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}


def from_rating(staff_id: str, receipt_no: str, score: int, day: date, max_score: int) -> FoundViolation | None:
    """A rating at or below ``max_score`` (0: never) is a conduct complaint against the clerk."""
    if score > max_score:
        return None
    return FoundViolation(staff_id, ViolationKind.CONDUCT, day, f"rating:{receipt_no}",
                          f"申请人评价“{RATING_LABELS.get(score, score)}”（受理编号 {receipt_no}）", receipt_no)


# --- counts for the monthly bulletin ---------------------------------------------------------


@dataclass(frozen=True)
class ViolationFact:
    """A recorded violation as the counts need it."""

    violation_id: str
    staff_id: str
    unit_code: str
    kind: ViolationKind
    occurred_on: date
    withdrawn: bool = False


@dataclass
class UnitCount:
    unit_code: str
    unit_name: str
    total: int = 0
    by_kind: dict[str, int] = field(default_factory=lambda: {k.value: 0 for k in ViolationKind})
    staff: set[str] = field(default_factory=set)
    withdrawn: int = 0


def counts_by_unit(facts: Sequence[ViolationFact], unit_names: dict[str, str]) -> list[UnitCount]:
    """Per unit: violations in force (withdrawn ones counted apart), by kind, and how many
    staff members they concern; units sorted by code."""
    units: dict[str, UnitCount] = {}
    for f in facts:
        u = units.setdefault(f.unit_code, UnitCount(f.unit_code, unit_names.get(f.unit_code, f.unit_code)))
        if f.withdrawn:
            u.withdrawn += 1
            continue
        u.total += 1
        u.by_kind[f.kind.value] += 1
        u.staff.add(f.staff_id)
    return sorted(units.values(), key=lambda u: u.unit_code)


def by_staff(facts: Iterable[ViolationFact]) -> dict[str, int]:
    """Violations in force per staff member."""
    out: dict[str, int] = defaultdict(int)
    for f in facts:
        if not f.withdrawn:
            out[f.staff_id] += 1
    return dict(out)


__all__ = ["VIOLATION_LABELS", "FoundViolation", "UnitCount", "ViolationFact", "by_staff", "counts_by_unit",
           "from_day", "from_rating"]
