"""The monthly and year-end evaluation of windows and staff, and the awards: red-flag window
(红旗窗口) and service star (服务标兵). Pure Python, no I/O.

Score = (w1 x on-time rate + w2 x satisfaction index + w3 x attendance score) / (sum of the
weights of the parts that have data) - penalty x supervision notices, floored at 0.

- on-time rate: cases whose clock ended within the promised limit / cases ended (x 100);
- satisfaction index: (mean rating - 1) / 4 x 100, ratings 非常满意 5 ... 非常不满意 1;
- attendance score: see :attr:`monthly.PersonMonth.attendance_score`;
- supervision notices (业务督办通知书) issued in the period.

A part without data (no case ended, no rating) is left out and the other weights renormalised,
so a window is not punished or favoured for a quiet month. A person's on-time rate and
satisfaction are their own cases' when they have any, else their window's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, Field

from contracts import attendance as c

from .rules import StaffMember, WindowPosts
from .monthly import PersonMonth, WindowMonth

#: The national five-level satisfaction scale (政务服务“好差评”).
SATISFACTION_LEVELS = {"非常满意": 5, "满意": 4, "基本满意": 3, "不满意": 2, "非常不满意": 1}


class EvaluationSettings(BaseModel):
    on_time_weight: float = Field(0.4, ge=0)
    satisfaction_weight: float = Field(0.3, ge=0)
    attendance_weight: float = Field(0.3, ge=0)
    supervision_penalty: float = Field(5.0, ge=0, description="Points off per supervision notice.")
    red_flag_count: int = Field(3, ge=0, description="How many red-flag windows are named.")
    service_star_count: int = Field(5, ge=0, description="How many service stars are named.")
    red_flag_min_cases: int = Field(1, ge=0, description="A window needs this many ended cases to rank.")
    red_flag_without_supervision: bool = Field(True, description="A supervised window cannot be a red flag.")
    red_flag_without_duty_gaps: bool = Field(True, description="A window left uncovered cannot be a red flag.")
    star_min_attendance: float = Field(95.0, ge=0, le=100)
    star_without_absence: bool = True
    star_without_supervision: bool = True


# --- facts consumed from the other services -------------------------------------------------


@dataclass(frozen=True)
class CaseOutcome:
    """From deadline's ClockEnded: was the case decided within its promised limit?"""

    receipt_no: str
    unit_code: str
    ended_at: datetime
    on_time: bool
    window_no: str | None = None
    staff_id: str | None = None


@dataclass(frozen=True)
class RatingFact:
    """From intake's RatingSubmitted: 5 (非常满意) .. 1 (非常不满意)."""

    receipt_no: str
    unit_code: str
    score: int
    rated_at: datetime
    window_no: str | None = None
    staff_id: str | None = None


@dataclass(frozen=True)
class NoticeFact:
    """From deadline's SupervisionNoticeIssued."""

    notice_no: str
    unit_code: str
    issued_at: datetime
    window_no: str | None = None
    staff_id: str | None = None


# --- scores ---------------------------------------------------------------------------------


@dataclass
class Parts:
    cases: int = 0
    cases_on_time: int = 0
    ratings: int = 0
    rating_sum: int = 0
    supervision_notices: int = 0
    attendance_score: float | None = None

    @property
    def on_time_rate(self) -> float | None:
        return round(self.cases_on_time / self.cases, 4) if self.cases else None

    @property
    def satisfaction_index(self) -> float | None:
        if not self.ratings:
            return None
        return round((self.rating_sum / self.ratings - 1) / 4 * 100, 2)

    def to_contract(self) -> c.ScoreParts:
        return c.ScoreParts(on_time_rate=self.on_time_rate, satisfaction_index=self.satisfaction_index,
                            attendance_score=self.attendance_score,
                            supervision_notices=self.supervision_notices, cases=self.cases, ratings=self.ratings)


def score(parts: Parts, s: EvaluationSettings) -> float | None:
    terms = []
    if parts.on_time_rate is not None:
        terms.append((s.on_time_weight, parts.on_time_rate * 100))
    if parts.satisfaction_index is not None:
        terms.append((s.satisfaction_weight, parts.satisfaction_index))
    if parts.attendance_score is not None:
        terms.append((s.attendance_weight, parts.attendance_score))
    total_weight = sum(w for w, _ in terms)
    if not terms or total_weight == 0:
        return None
    base = sum(w * v for w, v in terms) / total_weight
    return round(max(0.0, base - s.supervision_penalty * parts.supervision_notices), 2)


def _num(x: float) -> str:
    return f"{x:g}"


def formula_text(s: EvaluationSettings, irregular_weight: float = 0.5) -> str:
    return (
        f"综合得分 = ({_num(s.on_time_weight)}×按时办结率 + {_num(s.satisfaction_weight)}×满意度指数"
        f" + {_num(s.attendance_weight)}×出勤得分) ÷ 有数据指标的权重之和"
        f" − {_num(s.supervision_penalty)}×督办通知数（最低为0）。"
        "按时办结率以百分制计；满意度指数 = (平均评价分 − 1) ÷ 4 × 100，"
        "非常满意5分、满意4分、基本满意3分、不满意2分、非常不满意1分；"
        f"出勤得分 = 100 × (正常时段数 + {_num(irregular_weight)}×迟到/早退/缺卡时段数) ÷ 应出勤时段数（请假不计）；"
        "本期无数据的指标不参与计算。"
    )


@dataclass
class WindowScore:
    window_no: str
    unit_code: str
    unit_name: str
    parts: Parts
    score: float | None
    duty_gaps: int = 0
    eligible: bool = False
    reasons: list[str] = field(default_factory=list)


@dataclass
class PersonScore:
    staff_id: str
    name: str
    unit_code: str
    unit_name: str
    window_no: str | None
    parts: Parts
    score: float | None
    absent_sessions: int = 0
    eligible: bool = False
    reasons: list[str] = field(default_factory=list)


@dataclass
class Evaluation:
    period: str
    formula: str
    settings: EvaluationSettings
    windows: list[WindowScore]
    people: list[PersonScore]
    red_flag_windows: list[WindowScore]
    service_stars: list[PersonScore]


def _windows_of(unit_code: str, window_no: str | None, by_unit: dict[str, list[str]]) -> list[str]:
    """A fact names its window, or its unit: a unit's one window gets it, several share it."""
    if window_no:
        return [window_no]
    return by_unit.get(unit_code, [])


def evaluate(
    period: str,
    posts: Sequence[WindowPosts],
    staff: Sequence[StaffMember],
    people_attendance: Sequence[PersonMonth],
    windows_attendance: Sequence[WindowMonth],
    outcomes: Sequence[CaseOutcome],
    ratings: Sequence[RatingFact],
    notices: Sequence[NoticeFact],
    settings: EvaluationSettings,
    *,
    irregular_weight: float = 0.5,
) -> Evaluation:
    by_unit: dict[str, list[str]] = defaultdict(list)
    for w in posts:
        by_unit[w.unit_code].append(w.window_no)

    wparts: dict[str, Parts] = defaultdict(Parts)
    pparts: dict[str, Parts] = defaultdict(Parts)
    for o in outcomes:
        for wn in _windows_of(o.unit_code, o.window_no, by_unit):
            wparts[wn].cases += 1
            wparts[wn].cases_on_time += int(o.on_time)
        if o.staff_id:
            pparts[o.staff_id].cases += 1
            pparts[o.staff_id].cases_on_time += int(o.on_time)
    for r in ratings:
        for wn in _windows_of(r.unit_code, r.window_no, by_unit):
            wparts[wn].ratings += 1
            wparts[wn].rating_sum += r.score
        if r.staff_id:
            pparts[r.staff_id].ratings += 1
            pparts[r.staff_id].rating_sum += r.score
    for n in notices:
        for wn in _windows_of(n.unit_code, n.window_no, by_unit):
            wparts[wn].supervision_notices += 1
        if n.staff_id:
            pparts[n.staff_id].supervision_notices += 1

    wmonth = {w.window_no: w for w in windows_attendance}
    windows: list[WindowScore] = []
    for w in posts:
        parts = wparts[w.window_no]
        wm = wmonth.get(w.window_no)
        parts.attendance_score = wm.attendance_score if wm else None
        ws = WindowScore(w.window_no, w.unit_code, w.unit_name, parts, score(parts, settings),
                         duty_gaps=wm.duty_gaps if wm else 0)
        if ws.score is None:
            ws.reasons.append("本期无评价数据")
        if parts.cases < settings.red_flag_min_cases:
            ws.reasons.append(f"办结件数少于{settings.red_flag_min_cases}件")
        if settings.red_flag_without_supervision and parts.supervision_notices:
            ws.reasons.append("本期有督办通知")
        if settings.red_flag_without_duty_gaps and ws.duty_gaps:
            ws.reasons.append("双休日出现空岗")
        ws.eligible = not ws.reasons
        windows.append(ws)

    staff_by_id = {s.staff_id: s for s in staff}
    people: list[PersonScore] = []
    for pm in people_attendance:
        own = pparts.get(pm.staff_id, Parts())
        window = wparts.get(pm.window_no) if pm.window_no else None
        parts = Parts(supervision_notices=own.supervision_notices, attendance_score=pm.attendance_score)
        source = own if own.cases else window
        if source is not None:
            parts.cases, parts.cases_on_time = source.cases, source.cases_on_time
        source = own if own.ratings else window
        if source is not None:
            parts.ratings, parts.rating_sum = source.ratings, source.rating_sum
        member = staff_by_id.get(pm.staff_id)
        ps = PersonScore(pm.staff_id, pm.name, pm.unit_code, pm.unit_name, pm.window_no, parts,
                         score(parts, settings), absent_sessions=pm.absent_sessions)
        if member is not None and not member.active:
            ps.reasons.append("已离岗")
        if ps.score is None:
            ps.reasons.append("本期无评价数据")
        if pm.attendance_score is None or pm.attendance_score < settings.star_min_attendance:
            ps.reasons.append(f"出勤得分低于{_num(settings.star_min_attendance)}")
        if settings.star_without_absence and pm.absent_sessions:
            ps.reasons.append("本期有旷工")
        if settings.star_without_supervision and own.supervision_notices:
            ps.reasons.append("本期有督办通知")
        ps.eligible = not ps.reasons
        people.append(ps)

    red = sorted((w for w in windows if w.eligible),
                 key=lambda w: (-(w.score or 0), -w.parts.cases, w.window_no))[: settings.red_flag_count]
    stars = sorted((p for p in people if p.eligible),
                   key=lambda p: (-(p.score or 0), -p.parts.cases, p.staff_id))[: settings.service_star_count]
    return Evaluation(period, formula_text(settings, irregular_weight), settings, windows, people, red, stars)


# --- events ---------------------------------------------------------------------------------


def weights(s: EvaluationSettings) -> c.ScoreWeights:
    return c.ScoreWeights(on_time=s.on_time_weight, satisfaction=s.satisfaction_weight,
                          attendance=s.attendance_weight, supervision_penalty=s.supervision_penalty)


def ranking_event(ev: Evaluation) -> c.RankingPublished:
    return c.RankingPublished(
        period=ev.period,
        formula=ev.formula,
        weights=weights(ev.settings),
        red_flag_windows=[
            c.RankedWindow(rank=i, window_no=w.window_no, unit_code=w.unit_code, unit_name=w.unit_name,
                           score=w.score or 0.0, parts=w.parts.to_contract())
            for i, w in enumerate(ev.red_flag_windows, start=1)
        ],
        service_stars=[
            c.RankedPerson(rank=i, staff_id=p.staff_id, name=p.name, window_no=p.window_no,
                           unit_code=p.unit_code, unit_name=p.unit_name, score=p.score or 0.0,
                           parts=p.parts.to_contract())
            for i, p in enumerate(ev.service_stars, start=1)
        ],
    )


def monthly_event(report) -> c.MonthlyAttendanceReported:
    """The public summary of a :class:`monthly.MonthlyReport` (no mobile numbers, no details)."""
    return c.MonthlyAttendanceReported(
        period=report.period,
        working_days=report.working_days,
        people=[
            c.PersonAttendance(
                staff_id=p.staff_id, name=p.name, unit_code=p.unit_code, window_no=p.window_no,
                required_sessions=p.required_sessions, on_time_sessions=p.on_time_sessions, late=p.late,
                early_leave=p.early_leave, missing_punches=p.missing_punches,
                absent_sessions=p.absent_sessions, leave_sessions=p.leave_sessions,
                training_due=p.training_due, training_attended=p.training_attended,
                duty_shifts=p.duty_shifts, duty_shifts_missed=p.duty_shifts_missed,
                attendance_score=p.attendance_score,
            )
            for p in report.people
        ],
        windows=[
            c.WindowAttendance(
                window_no=w.window_no, unit_code=w.unit_code, unit_name=w.unit_name,
                staff_count=w.staff_count, required_sessions=w.required_sessions, late=w.late,
                early_leave=w.early_leave, missing_punches=w.missing_punches,
                absent_sessions=w.absent_sessions, leave_sessions=w.leave_sessions,
                duty_gaps=w.duty_gaps, attendance_score=w.attendance_score,
            )
            for w in report.windows
        ],
    )
