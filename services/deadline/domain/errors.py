"""The deadline service's refusals. Each is a runtime :class:`~services.runtime.errors.DomainError`
(status, field, zh-CN reason): the runtime answers a route's with problem+json, and a handler turns
one into a dead letter with the reason."""

from __future__ import annotations

from services.runtime.errors import InvalidInput, InvalidState
from services.runtime.workdays import CalendarError


class DeadlineError(InvalidInput):
    """A rule broken by a request or an event (422); ``field`` names the input at fault, the
    reason is zh-CN (it reaches window staff as the problem+json detail)."""


class DeadlineConflict(InvalidState, DeadlineError):
    """A step the state no longer allows (409): a case already decided, a notice already replied
    to. Still a :class:`DeadlineError` for the code that catches any broken rule."""


class CalendarRefused(CalendarError, InvalidInput):
    """A calendar change or count refused (422). It is also the runtime's arithmetic
    :class:`~services.runtime.workdays.CalendarError` (a day beyond 9999-12-31 ...), so code that
    catches that catches this too; :meth:`of` turns the arithmetic's refusal into one."""

    def __init__(self, field: str | None, reason: str) -> None:
        InvalidInput.__init__(self, field, reason)

    @classmethod
    def of(cls, exc: CalendarError) -> "CalendarRefused":
        return exc if isinstance(exc, CalendarRefused) else cls(exc.field, str(exc))
