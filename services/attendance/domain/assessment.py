"""The year-end assessment decided by the center (年终考核由中心统一评定). Pure Python, no I/O.

Per staff member, the year's attendance score, satisfaction index, on-time rate, violations and
awards combine into a score and a proposed grade (优秀 / 称职 / 基本称职 / 不称职):

    score = (w_att × attendance + w_sat × satisfaction + w_on × on-time rate × 100)
            ÷ (sum of the weights of the parts with data)
            − penalty × violations + min(cap, bonus × awards), kept within 0..100

    优秀 ≥ excellent_min (and no more than excellent_max_violations violations),
    称职 ≥ competent_min, 基本称职 ≥ basic_min, else 不称职.

Every figure is a setting (``ATTENDANCE_ASSESSMENT``); the formula in words goes with every
result. The center decides (it may depart from the proposal); the staff member may appeal once,
and the decision on the appeal is final (:func:`next_step`).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, Field, model_validator

from contracts.attendance import GRADE_LABELS, AssessmentGrade, AssessmentParts

from services.runtime.errors import InvalidState


class AssessmentSettings(BaseModel):
    attendance_weight: float = Field(0.3, ge=0, description="Weight of the year's attendance score.")
    satisfaction_weight: float = Field(0.3, ge=0, description="Weight of the satisfaction index.")
    on_time_weight: float = Field(0.4, ge=0, description="Weight of the on-time rate (as 0-100).")
    violation_penalty: float = Field(3.0, ge=0, description="Points off per violation in force.")
    award_bonus: float = Field(2.0, ge=0, description="Points per award (service star month, red-flag month).")
    award_bonus_cap: float = Field(6.0, ge=0, description="At most this many points from awards.")
    excellent_min: float = Field(90.0, ge=0, le=100, description="优秀 from this score on.")
    competent_min: float = Field(75.0, ge=0, le=100, description="称职 from this score on.")
    basic_min: float = Field(60.0, ge=0, le=100, description="基本称职 from this score on.")
    excellent_max_violations: int = Field(0, ge=0, description="优秀 only with at most this many violations.")

    @model_validator(mode="after")
    def _ordered(self) -> "AssessmentSettings":
        if not self.excellent_min >= self.competent_min >= self.basic_min:
            raise ValueError("thresholds must be excellent_min >= competent_min >= basic_min")
        return self


def _num(x: float) -> str:
    return f"{x:g}"


def formula_text(s: AssessmentSettings) -> str:
    return (
        f"考核得分 = ({_num(s.attendance_weight)}×全年出勤得分 + {_num(s.satisfaction_weight)}×满意度指数"
        f" + {_num(s.on_time_weight)}×按时办结率) ÷ 有数据指标的权重之和"
        f" − {_num(s.violation_penalty)}×违规违章次数"
        f" + {_num(s.award_bonus)}×获奖次数（最多加{_num(s.award_bonus_cap)}分），得分在0至100之间。"
        f"优秀：≥{_num(s.excellent_min)}分且违规违章不超过{s.excellent_max_violations}次；"
        f"称职：≥{_num(s.competent_min)}分；基本称职：≥{_num(s.basic_min)}分；其余为不称职。"
        "按时办结率以百分制计；满意度指数 = (平均评价分 − 1) ÷ 4 × 100；"
        "获奖次数 = 当选服务标兵的月数 + 所在窗口当选红旗窗口的月数；本年度无数据的指标不参与计算。"
    )


@dataclass(frozen=True)
class Proposal:
    staff_id: str
    name: str
    unit_code: str
    unit_name: str
    window_no: str | None
    parts: AssessmentParts
    score: float | None
    grade: AssessmentGrade | None
    formula: str

    @property
    def grade_label(self) -> str | None:
        return GRADE_LABELS[self.grade] if self.grade else None


def score(parts: AssessmentParts, s: AssessmentSettings) -> float | None:
    """The score, or None when the year has no attendance, rating or case for the person."""
    terms = []
    if parts.attendance_score is not None:
        terms.append((s.attendance_weight, parts.attendance_score))
    if parts.satisfaction_index is not None:
        terms.append((s.satisfaction_weight, parts.satisfaction_index))
    if parts.on_time_rate is not None:
        terms.append((s.on_time_weight, parts.on_time_rate * 100))
    total = sum(w for w, _ in terms)
    if not terms or total == 0:
        return None
    base = sum(w * v for w, v in terms) / total
    value = base - s.violation_penalty * parts.violations + min(s.award_bonus_cap, s.award_bonus * parts.awards)
    return round(min(100.0, max(0.0, value)), 2)


def grade(value: float | None, violations: int, s: AssessmentSettings) -> AssessmentGrade | None:
    if value is None:
        return None
    if value >= s.excellent_min:
        return AssessmentGrade.EXCELLENT if violations <= s.excellent_max_violations else AssessmentGrade.COMPETENT
    if value >= s.competent_min:
        return AssessmentGrade.COMPETENT
    if value >= s.basic_min:
        return AssessmentGrade.BASICALLY_COMPETENT
    return AssessmentGrade.INCOMPETENT


def propose(staff_id: str, name: str, unit_code: str, unit_name: str, window_no: str | None,
            parts: AssessmentParts, s: AssessmentSettings) -> Proposal:
    value = score(parts, s)
    return Proposal(staff_id, name, unit_code, unit_name, window_no, parts, value,
                    grade(value, parts.violations, s), formula_text(s))


# --- the decision and the one appeal ----------------------------------------------------------


class Step:
    FIRST = "first"        # nothing decided yet: the center decides
    APPEAL = "appeal"      # decided, appeal pending: the center decides the appeal (final)


def next_step(decided: bool, appealed: bool, appeal_decided: bool) -> str:
    """What a decision now would be; refuses when the assessment is closed or waits for nothing."""
    if not decided:
        return Step.FIRST
    if appeal_decided:
        raise InvalidState("grade", "申诉已处理，考核结果为最终结果")
    if not appealed:
        raise InvalidState("grade", "已评定；本人申诉后方可重新评定")
    return Step.APPEAL


def check_appeal(decided: bool, appealed: bool) -> None:
    """The staff member may appeal once, after the center's decision."""
    if not decided:
        raise InvalidState("reason", "中心尚未评定，不能申诉")
    if appealed:
        raise InvalidState("reason", "已申诉过一次，不能再次申诉")
