"""Kafka subscribers: thin typed functions over the use cases (``app.py`` subscribes them).

- group ``seal.seal_documents``: ``SealDocument`` commands in, ``DocumentSealed`` or
  ``SealingRefused`` out (through the outbox);
- group ``seal.seal_auto_issue`` (only with ``seal_auto_issue`` on, the demo run):
  ``UnitRegistered`` from intake gives the unit its No. 2 seal.

The consumer gives each a unit of work and commits it after the handler.
"""

from __future__ import annotations

from contracts.intake import UnitRegistered
from contracts.seal import SealDocument
from services.runtime.consumer import HandlerContext

from .usecases import documents, seals


async def seal_document(cmd: SealDocument, ctx: HandlerContext) -> None:
    assert ctx.service is not None
    await documents.seal_document(ctx.service, ctx.uow, cmd, ctx.event_id)


async def unit_registered(event: UnitRegistered, ctx: HandlerContext) -> None:
    assert ctx.service is not None
    await seals.auto_issue(ctx.service, ctx.uow, event)
