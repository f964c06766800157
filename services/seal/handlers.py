"""Kafka subscribers: thin typed functions over the use cases (``app.py`` subscribes them).

- group ``seal.seal_documents``: ``SealDocument`` commands (v1, and v2 with documents of no case) in, ``DocumentSealed`` or
  ``SealingRefused`` out (through the outbox); a batch handler: a batch's documents are signed
  together (across the signing processes, ``seal_sign_workers``), recorded in order;
- group ``seal.seal_auto_issue`` (only with ``seal_auto_issue`` on, the demo run):
  ``UnitRegistered`` from intake gives the unit its No. 2 seal.

The consumer gives each a unit of work and commits it after the handler.
"""

from __future__ import annotations

from contracts.intake import UnitRegistered
from contracts.seal import SealDocument, SealDocumentV1
from services.runtime.consumer import Batch, HandlerContext

from .usecases import documents, seals


async def seal_document(batch: Batch[SealDocument | SealDocumentV1], ctx: HandlerContext | None = None) -> None:
    """The consumer hands a batch (one transaction); called with one command and its context
    (``seal_document(cmd, ctx)``), it seals that one."""
    if ctx is not None:
        assert ctx.service is not None
        await documents.seal_document(ctx.service, ctx.uow, batch, ctx.event_id)  # type: ignore[arg-type]
        return
    assert batch.service is not None
    await documents.seal_documents(batch.service, batch.uow, [(cmd, c.event_id) for cmd, c in batch])


async def unit_registered(event: UnitRegistered, ctx: HandlerContext) -> None:
    assert ctx.service is not None
    await seals.auto_issue(ctx.service, ctx.uow, event)
