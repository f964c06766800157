"""Shared fixtures of the deadline service's unit tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.deadline.app import create_service
from services.deadline.config import DeadlineSettings
from services.deadline.domain.calendar import CalendarBook, WorkCalendar
from services.runtime.app import Service


@pytest.fixture
def book() -> CalendarBook:
    return CalendarBook()


@pytest.fixture
def cal(book: CalendarBook) -> WorkCalendar:
    return book.calendar()


# The service migrated, no workers, no broker: for tests that drive its handlers and use cases
# directly (a module needing other settings or a broker defines its own ``svc``).
@pytest.fixture
async def svc(tmp_path: Path) -> AsyncIterator[Service]:
    service = create_service(
        DeadlineSettings(data_dir=tmp_path, auth_secret="deadline-test-secret-0123456789abcdef", deadline_workers=False)
    )
    await service.db.migrate()
    try:
        yield service
    finally:
        await service.db.dispose()
