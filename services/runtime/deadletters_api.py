"""Dead letters over HTTP, for the center's operator (center_admin only).

Every Kafka service mounts this router under its own prefix (``Service.__init__``)::

    GET  /<service>/admin/dead-letters                 the dead letters of its consumer groups
    POST /<service>/admin/dead-letters/{id}/replay     hand one to the consumer that failed it, again

The console has no Kafka (by design), so the pages that replace ``onewindow dlq list|replay`` go
through here. Listing reads the ``<topic>.dlq`` twins of the topics the service consumes with
:mod:`services.runtime.deadletters` and keeps the letters its own groups wrote (``dlq_consumer`` is
``<service>.<group>``; other services consuming the same topic have their own letters in the same
twin). Each letter says whether that group has since processed the event (its inbox).

Replaying does not publish to the original topic as the CLI does: a service may write only its
own topics (the Kafka ACLs), and only the group that failed needs the event again. The record
goes, unchanged and with its original topic, partition and offset, through that group's
:class:`~services.runtime.consumer.Consumer` in this process: same inbox (an event processed
meanwhile is skipped), same retries, and a record that fails again is dead-lettered again.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Annotated, Any, Literal

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from . import deadletters
from .auth import CenterAdmin
from .consumer import Consumer, HandlerSpec, Record
from .problems import Problem

if TYPE_CHECKING:
    from .app import Service

log = logging.getLogger(__name__)

#: ``<topic>:<partition>:<offset>`` of the letter in ``<topic>.dlq``.
LETTER_ID = re.compile(r"^(?P<topic>[A-Za-z0-9._-]{1,200}):(?P<partition>\d{1,6}):(?P<offset>\d{1,19})$")
#: How long a listing or a replay may wait for the broker before answering 503.
KAFKA_SECONDS = 20.0


class DeadLetterOut(BaseModel):
    id: str = Field(description="`<topic>:<partition>:<offset>` of the letter in `<topic>.dlq` (the replay key).")
    topic: str = Field(description="The original topic.")
    ce_id: str | None = Field(None, description="The event's id (CloudEvents `ce_id`).")
    ce_type: str | None = Field(None, description="The event's type.")
    reason: str | None = Field(None, description="invalid (not an event), rejected (Reject), handler_failed (after retries).")
    error: str | None = Field(None, description="The error, as the consumer recorded it.")
    consumer: str | None = Field(None, description="The consumer group that failed it (`<service>.<group>`).")
    origin: str = Field(description="Where it came from: `<topic>[<partition>]@<offset>`.")
    time: str | None = Field(None, description="When it was dead-lettered (ISO 8601, UTC).")
    processed: bool = Field(description="The failed group has processed this event since (replayed, or redelivered).")


class DeadLetterPage(BaseModel):
    service: str
    topics: list[str] = Field(description="The topics this service consumes (their `.dlq` twins were read).")
    total: int
    items: list[DeadLetterOut]


class ReplayOut(BaseModel):
    id: str
    ce_id: str | None
    consumer: str | None
    outcome: Literal["processed", "already_processed", "failed_again"] = Field(
        description="processed: the group handled it now; already_processed: its inbox had it, nothing ran; "
        "failed_again: it failed again and is a new dead letter.")


def consumed_topics(service: "Service") -> list[str]:
    return sorted({t for spec in service.handlers for t in spec.topics})


def _own(service: "Service", letter: deadletters.DeadLetter) -> bool:
    return (letter.headers.get("dlq_consumer") or "").startswith(f"{service.name}.")


def _letter_id(topic: str, letter: deadletters.DeadLetter) -> str:
    return f"{topic}:{letter.partition}:{letter.offset}"


async def _processed(service: "Service", pairs: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which (consumer group, event id) pairs are in the service's inbox."""
    if not pairs:
        return set()
    inbox = service.db.tables.inbox
    ids = sorted({e for _, e in pairs})
    async with service.uow() as uow:
        rows = await uow.session.execute(select(inbox.c.consumer, inbox.c.event_id).where(inbox.c.event_id.in_(ids)))
        return {(c, e) for c, e in rows.all()} & pairs


async def _read(service: "Service", topic: str) -> list[deadletters.DeadLetter]:
    try:
        async with asyncio.timeout(KAFKA_SECONDS):
            letters = await deadletters.read(topic, options=service.settings.aiokafka_options())
    except (KafkaError, OSError, TimeoutError) as exc:
        log.warning("dead letters of %s unreadable: %r", topic, exc)
        raise Problem(503, "消息队列暂时无法访问，未能读取死信，请稍后再试") from exc
    return [d for d in letters if _own(service, d)]


def _summary(topic: str, d: deadletters.DeadLetter, processed: bool) -> DeadLetterOut:
    s = d.summary()
    return DeadLetterOut(id=_letter_id(topic, d), topic=topic, ce_id=s["ce_id"], ce_type=s["ce_type"],
                         reason=s["reason"], error=s["error"], consumer=s["consumer"], origin=s["from"],
                         time=s["time"], processed=processed)


def router_for(service: "Service") -> APIRouter:
    """The dead-letter routes of ``service``, under ``/<service>/admin/dead-letters``."""
    router = APIRouter(prefix=f"/{service.name}/admin/dead-letters", tags=["dead letters"])

    @router.get("", summary="Dead letters of this service's consumer groups (center admin)")
    async def list_dead_letters(
        staff: CenterAdmin,
        topic: Annotated[str | None, Query(max_length=200, description="Only this original topic.")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> DeadLetterPage:
        topics = consumed_topics(service)
        if topic is not None:
            if topic not in topics:
                raise Problem(422, f"本服务不消费该主题：{topic[:80]}", field="topic")
            topics = [topic]
        read = await asyncio.gather(*(_read(service, t) for t in topics))
        letters = [(t, d) for t, ds in zip(topics, read, strict=True) for d in ds]
        letters.sort(key=lambda td: td[1].headers.get("dlq_time", ""), reverse=True)  # newest first
        done = await _processed(service, {(d.headers.get("dlq_consumer", ""), d.event_id or "")
                                          for _, d in letters if d.event_id})
        items = [_summary(t, d, (d.headers.get("dlq_consumer", ""), d.event_id or "") in done) for t, d in letters]
        return DeadLetterPage(service=service.name, topics=consumed_topics(service), total=len(items),
                              items=items[:limit])

    @router.post("/{letter_id}/replay", summary="Hand one dead letter to the consumer group that failed it (center admin)")
    async def replay_dead_letter(letter_id: str, staff: CenterAdmin) -> ReplayOut:
        m = LETTER_ID.fullmatch(letter_id)
        if m is None or m["topic"] not in consumed_topics(service):
            raise Problem(404, "没有这条死信", field="letter_id")
        topic, partition, offset = m["topic"], int(m["partition"]), int(m["offset"])
        letter = next((d for d in await _read(service, topic) if (d.partition, d.offset) == (partition, offset)), None)
        spec = _spec_of(service, letter.headers.get("dlq_consumer")) if letter else None
        if letter is None or spec is None:
            raise Problem(404, "没有这条死信", field="letter_id")
        key = (spec.group, letter.event_id or "")
        if letter.event_id and await _processed(service, {key}):
            outcome = "already_processed"
        else:
            await Consumer(service, spec).handle_records([_original_record(topic, letter)])
            outcome = "processed" if letter.event_id and await _processed(service, {key}) else "failed_again"
        log.info("dead letter %s (%s) replayed into %s by %s: %s", letter_id, letter.event_id, spec.group,
                 staff.sub, outcome)
        return ReplayOut(id=letter_id, ce_id=letter.event_id, consumer=spec.group, outcome=outcome)

    return router


def _spec_of(service: "Service", group: str | None) -> HandlerSpec | None:
    return next((s for s in service.handlers if s.group == group), None)


def _original_record(topic: str, d: deadletters.DeadLetter) -> Any:
    """The record as the group first saw it: its topic, partition and offset, its own headers."""
    h = d.headers
    return Record(h.get("dlq_topic") or topic, int(h.get("dlq_partition") or 0), int(h.get("dlq_offset") or 0),
                  d.key, d.value, d.original_headers())
