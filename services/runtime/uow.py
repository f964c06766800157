"""Unit of work: one database transaction holding a state change and the events it causes."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from contracts.base import Event
from contracts.envelope import Envelope

from .db import database_unavailable
from .outbox import add_to_outbox

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

    from .db import Database
    from .outbox import OutboxRelay

log = logging.getLogger(__name__)


class UnitOfWork:
    """``async with service.uow() as uow: ...; await uow.emit(event); await uow.commit()``.

    Leaving the block without :meth:`commit` rolls everything back, events included: nothing is
    left half-written.
    """

    session: "AsyncSession"

    def __init__(self, db: "Database", relay: "OutboxRelay | None" = None, source: str | None = None) -> None:
        self.db = db
        self.source = source
        self.relay = relay
        self.emitted: list[Envelope] = []   # committed to the outbox by this unit of work
        self.pending: list[Envelope] = []   # emitted, written at the next commit
        self._committed = False

    async def __aenter__(self) -> "UnitOfWork":
        self.session = self.db.session()
        self.emitted = []
        self.pending = []
        self._committed = False
        return self

    async def __aexit__(self, *exc: Any) -> None:
        # close() rolls back an uncommitted transaction and detaches objects without expiring
        # them, so what a read-only block loaded stays readable after it.
        try:
            await self.session.close()
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            # The server cut the connection (an outage, a restart) before the closing ROLLBACK:
            # there is nothing left to undo, and raising here (in a route's dependency, after
            # the answer has started) would only drop the client's connection.
            log.warning("closing a session on a lost database connection: %r", exc, extra={"throttle": True})
            try:
                await self.session.invalidate()
            except Exception:  # noqa: BLE001 - the connection is gone either way
                pass

    async def emit(
        self,
        event: Event,
        *,
        id: str | None = None,
        time: datetime | None = None,
        subject: str | None = None,
        extensions: Mapping[str, str] | None = None,
    ) -> Envelope:
        """Add ``event`` to the outbox in this transaction (written at :meth:`commit`). Give ``id`` when the event must be
        the same on a retry (derive it from the causing event's id), so a replayed cause cannot
        publish two different ids."""
        env = Envelope.wrap(event, id=id, time=time, subject=subject, extensions=extensions, source=self.source)
        self.pending.append(env)
        return env

    async def commit(self) -> None:
        # The outbox rows go in with one multi-row INSERT, in the same transaction as the state.
        await add_to_outbox(self.session, self.db.tables, self.pending)
        await self.session.commit()
        self._committed = True
        written, self.pending = self.pending, []
        self.emitted.extend(written)
        if written and self.relay is not None:
            self.relay.wake()

    async def rollback(self) -> None:
        await self.session.rollback()
        self.pending = []
