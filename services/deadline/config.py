"""The deadline service's declaration and settings."""

from __future__ import annotations

from pydantic import Field, field_validator

from services.runtime.declaration import ServiceDeclaration
from services.runtime.settings import ServiceSettings


class DeadlineSettings(ServiceSettings):
    deadline_warning_days: list[int] = Field(
        default_factory=lambda: [2],
        description="Yellow-card thresholds in working days left (JSON list, e.g. [3, 1]); each fires once per case.",
    )
    deadline_watch_max_sleep_seconds: float = Field(
        60.0, gt=0, description="Longest the watcher sleeps between looks (it wakes earlier for a due card)."
    )
    deadline_watch_batch_size: int = Field(
        2000, ge=1,
        description="Clocks handled per watcher transaction (on SQLite the API's writers wait at most one batch's writes).",
    )
    deadline_recompute_chunk: int = Field(1000, ge=1, description="Clocks recomputed per transaction after a calendar change.")
    deadline_gauge_seconds: float = Field(30.0, gt=0, description="How often the open/overdue clock gauges are refreshed.")
    deadline_reply_days: int = Field(5, ge=1, description="Working days a unit has to reply to a supervision notice.")
    deadline_inspection_share: float = Field(0.05, gt=0, le=1, description="Default share of a unit's decided cases drawn for inspection.")
    deadline_workers: bool = Field(
        True, description="Run the watcher, recomputation and gauge workers (tests drive them by hand)."
    )
    deadline_center_unit_code: str = Field("CENTER", description="The center's own unit code (issuer of the bulletin).")
    deadline_center_name: str = Field("县行政审批服务中心", description="The center's name, printed on the bulletin.")

    @field_validator("deadline_warning_days")
    @classmethod
    def _positive(cls, v: list[int]) -> list[int]:
        if any(k < 1 for k in v):
            raise ValueError("warning thresholds are working days left, at least 1")
        return sorted(set(v), reverse=True)


#: What the tools need to know of deadline (``tools/registry.py``): its default port, the topics its
#: handlers read (its KafkaUser's read ACLs) and other services' command topics it writes.
DECLARATION = ServiceDeclaration(
    name="deadline",
    port=8103,
    title="OneWindow deadline",
    consumes=('intake.applications', 'intake.catalog', 'intake.units', 'deadline.calendar', 'attendance.violations'),
    writes=(),
)
