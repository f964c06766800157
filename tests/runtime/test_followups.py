"""The runtime's overdue follow-up: one event per overdue subject — not before its due day is
over, not twice (a second pass, another replica first), with an id derived from the subject —
and a gauge counting the subjects overdue now."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import Field
from sqlalchemy import and_
from sqlalchemy import select as sa_select
from sqlmodel import Field as SQLField

from contracts.base import Event
from services.runtime.app import Service
from services.runtime.db import service_registry
from services.runtime.followups import OverdueFollowUp
from services.runtime.settings import ServiceSettings
from services.runtime.workdays import TZ

from .example import OUT

pytestmark = pytest.mark.timeout(60)

Base, metadata = service_registry()


class Task(Base, table=True):
    __tablename__ = "fu_tasks"
    task_id: str = SQLField(primary_key=True)
    due_on: date
    done: bool = False


class TaskFollowUp(Base, table=True):
    __tablename__ = "fu_followups"
    kind: str = SQLField(primary_key=True)
    subject_id: str = SQLField(primary_key=True)
    detected_at: datetime


class TaskOverdue(Event, source="test_runtime", topic=OUT.name, key_field="task_id"):
    task_id: str = Field(description="The task.")
    due_on: date = Field(description="Its due day.")


TASKS = OverdueFollowUp(
    scope="followuptest", kind="task", namespace=uuid.UUID("8d7a2b8e-5a8f-4c57-9f3c-1c1f0f6e2a77"),
    record=TaskFollowUp, subjects=Task, subject_id=Task.task_id, due=Task.due_on,
    is_overdue=lambda today: and_(Task.done == False, Task.due_on < today),  # noqa: E712
    emission=lambda t, now: (TaskFollowUp(kind="task", subject_id=t.task_id, detected_at=now),
                             TaskOverdue(task_id=t.task_id, due_on=t.due_on)),
    gauge=("tasks_overdue", "Tasks still open after their due day."), words="tasks overdue")


@asynccontextmanager
async def _service(tmp: Path) -> AsyncIterator[Service]:
    svc = Service("followuptest", ServiceSettings(data_dir=tmp, auth_secret="test-secret-0123456789abcdef0123456789"),
                  metadata, None)
    TASKS.install(svc, worker_name="overdue-followups")
    await svc.db.migrate()
    try:
        yield svc
    finally:
        await svc.db.dispose()


async def _add(svc: Service, *rows: Any) -> None:
    async with svc.uow() as uow:
        for r in rows:
            uow.session.add(r)
        await uow.commit()


async def _events(svc: Service) -> list[tuple[str, dict]]:
    ob = svc.db.tables.outbox
    async with svc.uow() as uow:
        rows = (await uow.session.execute(sa_select(ob.c.headers, ob.c.payload).order_by(ob.c.id))).all()
    return [(h["ce_id"], json.loads(p)) for h, p in rows if ".TaskOverdue." in h["ce_type"]]


def _gauge(svc: Service) -> float | None:
    return svc.metrics.registry.get_sample_value("onewindow_followuptest_tasks_overdue")


def _at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


async def test_an_overdue_subject_is_followed_up_once_and_counted(tmp_path: Path) -> None:
    async with _service(tmp_path) as svc:
        await _add(svc, Task(task_id="T2", due_on=date(2025, 10, 16)), Task(task_id="T1", due_on=date(2025, 10, 15)),
                   Task(task_id="T3", due_on=date(2025, 10, 16), done=True))
        assert await TASKS.once(svc, _at(2025, 10, 15, 23, 59)) == []  # the due day itself (local)
        assert _gauge(svc) == 0
        assert await TASKS.once(svc, _at(2025, 10, 16, 0, 1)) == ["T1"]
        assert await TASKS.once(svc, _at(2025, 10, 17, 0, 1)) == ["T2"]  # a done task never
        assert _gauge(svc) == 2
        assert await TASKS.once(svc, _at(2025, 10, 20, 9)) == []  # once
        assert _gauge(svc) == 2  # still open: still counted
        events = await _events(svc)
        assert [(i, e["task_id"]) for i, e in events] == [(TASKS.event_id("T1"), "T1"), (TASKS.event_id("T2"), "T2")]
        # The id depends on scope, kind and subject only: the same on every replica, never another's.
        assert TASKS.event_id("T1") == str(uuid.uuid5(TASKS.namespace, "followuptest:task-overdue:T1"))
        assert TASKS.event_id("T1") != TASKS.event_id("T2")


class _OtherReplicaFirst:
    """A unit of work entered only after another replica committed its follow-up of ``subject``."""

    def __init__(self, svc: Service, real: Any, subject: str) -> None:
        self.svc, self.real, self.subject = svc, real, subject

    async def __aenter__(self) -> Any:
        async with self.real() as other:
            other.session.add(TaskFollowUp(kind="task", subject_id=self.subject, detected_at=_at(2025, 10, 16, 1)))
            await other.commit()
        self.uow = self.real()
        return await self.uow.__aenter__()

    async def __aexit__(self, *exc: Any) -> Any:
        return await self.uow.__aexit__(*exc)


async def test_a_subject_another_replica_followed_up_first_is_not_emitted_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with _service(tmp_path) as svc:
        await _add(svc, Task(task_id="T1", due_on=date(2025, 10, 15)), Task(task_id="T2", due_on=date(2025, 10, 15)))
        real, calls = svc.uow, []

        def uow() -> Any:  # the pass reads (1st), then T1's write (2nd) loses the race
            calls.append(1)
            return _OtherReplicaFirst(svc, real, "T1") if len(calls) == 2 else real()

        monkeypatch.setattr(svc, "uow", uow)
        assert await TASKS.once(svc, _at(2025, 10, 16, 9)) == ["T2"]
        assert [e["task_id"] for _, e in await _events(svc)] == ["T2"]  # nothing half-written for T1
        assert _gauge(svc) == 2  # overdue all the same
