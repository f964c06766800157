"""Settings of the attendance service (environment variables with the ``ONEWINDOW_`` prefix;
nested ones take JSON, e.g. ``ONEWINDOW_ATTENDANCE_RULES='{"late_grace_minutes": 0}'``)."""

from __future__ import annotations

from pydantic import Field

from services.runtime.declaration import ServiceDeclaration
from services.runtime.settings import ServiceSettings

from .domain.assessment import AssessmentSettings
from .domain.evaluation import EvaluationSettings
from .domain.iclock import PushOptions
from .domain.rules import AttendanceRules


class AttendanceSettings(ServiceSettings):
    attendance_rules: AttendanceRules = Field(
        default_factory=AttendanceRules,
        description="Office hours by season, grace minutes, weekend shifts, duty grace (JSON).",
    )
    attendance_evaluation: EvaluationSettings = Field(
        default_factory=EvaluationSettings,
        description="Evaluation weights, supervision penalty and award rules (JSON).",
    )
    attendance_assessment: AssessmentSettings = Field(
        default_factory=AssessmentSettings,
        description="Year-end assessment: weights, violation penalty, award bonus, grade thresholds (JSON).",
    )
    attendance_complaint_max_score: int = Field(
        1, ge=0, le=5,
        description="A rating at or below this score (1 非常不满意 ... 5 非常满意; 0: none) is recorded as a conduct "
        "complaint against the clerk who accepted the case.",
    )
    attendance_violation_check_seconds: float = Field(
        3600.0, gt=0, description="How often finished days are judged for lateness, absence and leaving the post.",
    )
    attendance_violation_lookback_days: int = Field(
        7, ge=1, le=62, description="How many finished days back the violation sweep judges (leave recorded late "
        "withdraws what it no longer finds).",
    )
    attendance_push_delay: int = Field(10, ge=1, description="Seconds between a terminal's command polls (Delay).")
    attendance_push_error_delay: int = Field(30, ge=1, description="Seconds a terminal waits after an error (ErrorDelay).")
    attendance_push_trans_times: str = Field(
        "00:00;14:05", description="Times of day a terminal pushes whatever it still holds (TransTimes)."
    )
    attendance_push_realtime: bool = Field(True, description="Terminals push each punch at once (Realtime).")
    attendance_iclock_date_header: bool = Field(
        False,
        description="Set the HTTP Date header on terminal answers ourselves. Off by default: uvicorn "
        "(onewindow serve) already sends a correct one and the header must appear once.",
    )
    attendance_max_upload_bytes: int = Field(4 * 1024 * 1024, ge=1024, description="Largest terminal upload accepted.")
    attendance_commands_per_poll: int = Field(10, ge=1, description="Commands handed to a terminal per poll.")
    attendance_command_resend_seconds: float = Field(
        300.0, gt=0, description="A command handed out without a result is handed out again after this."
    )
    attendance_push_staff_to_devices: bool = Field(
        True, description="Queue a user update on every terminal when a staff member's PIN or name changes."
    )
    attendance_background_jobs: bool = Field(
        True, description="Run the duty watcher and the month-end publication in this instance (with several "
        "replicas, one is enough; both are idempotent either way).",
    )
    attendance_duty_check_seconds: float = Field(60.0, gt=0, description="How often weekend coverage is checked.")
    attendance_publish_check_seconds: float = Field(3600.0, gt=0, description="How often month-end publication is checked.")
    attendance_publish_on_day: int = Field(
        2, ge=1, le=28,
        description="Day of the following month the monthly report and rankings go out (late ratings get in).",
    )

    def push_options(self) -> PushOptions:
        return PushOptions(
            error_delay=self.attendance_push_error_delay,
            delay=self.attendance_push_delay,
            trans_times=tuple(t.strip() for t in self.attendance_push_trans_times.split(";") if t.strip()),
            realtime=self.attendance_push_realtime,
        )


#: What the tools need to know of attendance (``tools/registry.py``): its default port, the topics its
#: handlers read (its KafkaUser's read ACLs) and other services' command topics it writes.
DECLARATION = ServiceDeclaration(
    name="attendance",
    port=8105,
    title="OneWindow attendance",
    consumes=('deadline.calendar', 'deadline.clocks', 'deadline.supervision', 'intake.ratings'),
    writes=(),
)
