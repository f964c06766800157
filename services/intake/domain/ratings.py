"""Satisfaction (好差评): the once-only rating of a decided case, and the rectification task
(整改) the two lowest levels open for the unit, due in a set number of working days and closed
with the unit's response."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, PrivateAttr

from contracts.base import Event
from contracts.intake import RatingLevel, RectificationClosed, RectificationOpened

from .access import Actor, require_unit_staff
from .cases import Application
from services.runtime.errors import InvalidInput, InvalidState
from services.runtime.workdays import WorkCalendar, local_date, national_calendar

MAX_RESPONSE = 2000


class RectificationStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Rectification(BaseModel):
    rectification_id: str
    receipt_no: str
    unit_code: str
    level: RatingLevel
    comment: str | None = None  # the applicant's comment, for the unit to answer (never on Kafka)
    opened_at: datetime
    due_on: date
    accepted_by: str | None = None
    status: RectificationStatus = RectificationStatus.OPEN
    response: str | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None

    _events: list[Event] = PrivateAttr(default_factory=list)

    @property
    def events(self) -> list[Event]:
        return self._events

    def pull_events(self) -> list[Event]:
        out, self._events = self._events, []
        return out

    @classmethod
    def open(cls, app: Application, rectification_id: str, at: datetime, working_days: int,
             calendar: WorkCalendar | None = None) -> "Rectification":
        assert app.rating is not None
        r = cls(
            rectification_id=rectification_id, receipt_no=app.receipt_no, unit_code=app.unit_code,
            level=app.rating.level, comment=app.rating.comment, opened_at=at,
            # The service passes the county's calendar (followed from its events); pure tests may not.
            due_on=(calendar or national_calendar()).add_working_days(local_date(at), working_days),
            accepted_by=app.accepted_by,
        )
        r._events.append(RectificationOpened(
            rectification_id=rectification_id, receipt_no=app.receipt_no, unit_code=app.unit_code,
            level=r.level, opened_at=at, due_on=r.due_on, accepted_by=app.accepted_by,
        ))
        return r

    def close(self, actor: Actor, at: datetime, response: str) -> list[Event]:
        """The unit's response closes the task (its own clerk or head)."""
        require_unit_staff(actor, self.unit_code)
        if self.status is RectificationStatus.CLOSED:
            raise InvalidState(None, "该整改任务已经办结")
        response = (response or "").strip()
        if not response:
            raise InvalidInput("response", "请填写整改情况说明")
        if len(response) > MAX_RESPONSE:
            raise InvalidInput("response", f"整改情况说明不能超过{MAX_RESPONSE}字")
        self.status = RectificationStatus.CLOSED
        self.response, self.closed_at, self.closed_by = response, at, actor.staff_id
        out = [RectificationClosed(
            rectification_id=self.rectification_id, receipt_no=self.receipt_no, unit_code=self.unit_code,
            closed_at=at, on_time=local_date(at) <= self.due_on, staff_id=actor.staff_id,
        )]
        self._events.extend(out)
        return out


def submit_rating(app: Application, *, at: datetime, level: RatingLevel, comment: str | None,
                  rectification_id: str, rectification_days: int,
                  calendar: WorkCalendar | None = None) -> tuple[list[Event], Rectification | None]:
    """Rate the case; a low rating also opens a rectification task. Returns all the events."""
    events = app.rate(at, level, comment)
    if not level.is_low:
        return events, None
    rect = Rectification.open(app, rectification_id, at, rectification_days, calendar)
    return events + list(rect.events), rect
