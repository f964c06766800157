"""A small service used to test the runtime: it keeps a counter per widget and emits an event
each time it counts one. Its events are test fixtures (source ``test_runtime``): parseable, but
outside the catalog and the schemas."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pydantic import Field
from sqlmodel import Field as SQLField
from sqlmodel import select

from contracts.base import Event
from contracts.topics import Audience, topic
from services.runtime.app import Service
from services.runtime.auth import PUBLIC, CurrentStaff
from services.runtime.consumer import HandlerContext, Reject
from services.runtime.db import service_registry
from services.runtime.settings import ServiceSettings

IN = topic("test.runtime.in", owner="test_runtime", key="widget", audience=Audience.INTERNAL, partitions=2)
OUT = topic("test.runtime.out", owner="test_runtime", key="widget", audience=Audience.INTERNAL, partitions=2)


class WidgetArrived(Event, source="test_runtime", topic=IN.name, key_field="widget"):
    widget: str = Field(description="Widget name.")
    poison: bool = Field(False, description="When true the handler fails until fixed.")


class WidgetCounted(Event, source="test_runtime", topic=OUT.name, key_field="widget"):
    widget: str
    count: int


Base, metadata = service_registry()


class Counter(Base, table=True):
    widget: str = SQLField(primary_key=True)
    count: int = 0


class Tally(Base, table=True):
    """How many WidgetCounted events the tally handler processed, per widget."""

    widget: str = SQLField(primary_key=True)
    seen: int = 0


#: Lets a test see that a slow handler is in flight.
SLOW: dict[str, asyncio.Event] = {}

#: Flipped by tests to "fix" the cause of a poison message before a replay.
FIXED = {"poison": False}


async def count_widget(event: WidgetArrived, ctx: HandlerContext) -> None:
    if event.poison and not FIXED["poison"]:
        raise RuntimeError(f"cannot count poisoned widget {event.widget}")
    if event.widget == "reject-me":
        raise Reject("widget name not allowed")
    if event.widget.startswith("slow-"):
        SLOW["started"].set()
        await asyncio.sleep(1.0)  # in flight when shutdown begins
    row = (await ctx.session.exec(select(Counter).where(Counter.widget == event.widget))).first()
    if row is None:
        row = Counter(widget=event.widget, count=0)
    row.count += 1
    ctx.session.add(row)
    await ctx.emit(WidgetCounted(widget=event.widget, count=row.count))


async def tally(event: WidgetCounted, ctx: HandlerContext) -> None:
    row = await ctx.session.get(Tally, event.widget) or Tally(widget=event.widget, seen=0)
    row.seen += 1
    ctx.session.add(row)


def create_service(settings: ServiceSettings, name: str = "exampletest") -> Service:
    svc = Service(name, settings, metadata, None)
    svc.subscribe("count_widget", count_widget)
    svc.subscribe("tally", tally)

    from fastapi import APIRouter

    router = APIRouter()

    @router.get("/widgets/{widget}", **PUBLIC)
    async def get_widget(widget: str) -> dict[str, int]:
        async with svc.uow() as uow:
            row = await uow.session.get(Counter, widget)
        return {"count": row.count if row else 0}

    @router.post("/units/{unit}/widgets/{widget}")
    async def add_widget(unit: str, widget: str, staff: CurrentStaff) -> dict[str, int]:
        staff.ensure_unit(unit)
        async with svc.uow() as uow:
            row = await uow.session.get(Counter, widget) or Counter(widget=widget, count=0)
            row.count += 1
            uow.session.add(row)
            await uow.emit(WidgetCounted(widget=widget, count=row.count))
            await uow.commit()
        return {"count": row.count}

    svc.include_router(router)
    return svc


def make(tmp: Path, database_url: str | None = None, name: str = "exampletest", **overrides: object) -> Service:
    settings = ServiceSettings(
        data_dir=tmp, database_url=database_url, auth_secret="test-secret-0123456789abcdef0123456789",
        consumer_retry_backoff=0.01, **overrides,
    )
    return create_service(settings, name)
