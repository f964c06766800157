"""notify's background loops (registered with ``service.worker`` in ``app.py``):

- :class:`DeliveryWorker` (``notify-delivery``): sends the due SMS;
- :func:`release_waiting_forever` (``notify-contact-rendezvous``): releases notices and surveys
  left waiting for a contact, and duty gaps left waiting for a duty manager;
- :func:`render_waiting_forever` (``notify-render``): lays out the numbered notices' PDFs with no
  transaction open and sends them to the seal;
- :func:`seal_timeouts_forever` (``notify-seal-timeouts``): fails notices whose seal did not come.

The delivery worker: picks due messages (quiet hours and retry backoffs respected by their
``not_before``), claims a batch of them in one committed statement before the provider sees any,
submits them through the provider's rate limiter, and records the outcomes with their events,
whatever answers have come by then in one transaction.

Crash safety: a message is marked 'sending' (committed) before the request leaves. If notify dies
before the outcome is stored, the message is still 'sending' at the next start and becomes
'unknown' — it may have reached the handset, so it is not sent again on its own (staff settle it;
a late delivery receipt settles it too when the part ids were stored). Run one delivery worker
per deployment (the claim is a compare-and-set, so a second one cannot double-send a due
message, but the restart rule above assumes no other worker is mid-send).

The database away for a while is not a crash: the worker keeps running (it does not start over,
so it never takes its own messages in flight for a dead process's). A message claimed but not yet
handed to the provider is put back in the queue once the database answers again; the outcome of
one that was handed over is stored once it answers again — neither ends 'unknown' for that.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, retry_if_exception_type, wait_exponential

from services.runtime import clock
from services.runtime.app import Service
from services.runtime.db import inline_sqlite

from . import store
from .domain import OPT_OUT_REPLIES, InvalidMobile, Receipt, SendResult, normalize_mobile
from .providers.base import InboundSms, OutgoingSms, RateLimiter, SmsProvider
from .store import OptOutRow
from .usecases import messages as messaging
from .usecases.duty_gaps import DutyGaps, release_duty_gaps
from .usecases.messages import SmsMetrics
from .usecases.notices import Notices, release_waiting, render_waiting, sweep_timeouts

log = logging.getLogger(__name__)


T = TypeVar("T")


def _now() -> datetime:
    """Messages are scheduled (quiet hours, retry backoffs) and stamped (SmsSent, SmsDelivered)
    on the suite's clock, so a simulated run sends them at its own time."""
    return clock.now()


def database_away(exc: BaseException) -> bool:
    """The database unreachable or the connection cut: not the message's fault; wait for it."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, (ConnectionError, OSError, asyncio.TimeoutError))


class DeliveryWorker:
    def __init__(self, service: Service, provider: SmsProvider, limiter: RateLimiter, metrics: SmsMetrics) -> None:
        self.service = service
        self.settings = service.settings
        self.provider = provider
        self.limiter = limiter
        self.metrics = metrics
        self.wakeup = asyncio.Event()
        #: Claimed (perhaps: the commit's answer may have been lost) but never handed to the
        #: provider, while the database was away: back to the queue once it answers.
        self.unsent: set[str] = set()
        self.retry_seconds = (0.5, 5.0)  # first and longest wait for the database
        provider.on_receipt(self.on_receipt)
        provider.on_inbound(self.on_inbound)

    async def recover(self) -> int:
        """Messages left 'sending' by a crash: outcome unknown."""
        async with self.service.uow() as uow:
            rows = await store.stuck_sending(uow.session)
            for row in rows:
                await messaging.mark_unknown(uow, row, "notify stopped while sending; not resent automatically",
                                             _now(), self.metrics)
            await uow.commit()
        return len(rows)

    async def until_stored(self, what: str, fn: Callable[[], Awaitable[T]]) -> T:
        """``fn()`` (its own transaction), again and again while the database is away (waits
        doubling from ``retry_seconds[0]`` up to ``retry_seconds[1]``); any other error is raised."""
        first, longest = self.retry_seconds

        def warn(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            wait = state.next_action.sleep if state.next_action else 0.0
            log.warning("%s: database unavailable, retrying in %.1fs: %r", what, wait, exc)

        async for attempt in AsyncRetrying(retry=retry_if_exception(database_away),
                                           wait=wait_exponential(multiplier=first, min=first, max=longest),
                                           before_sleep=warn, reraise=True):
            with attempt:
                return await fn()
        raise AssertionError("unreachable: tenacity retries until fn() returns or raises")

    async def requeue_unsent(self) -> int:
        """Put back the messages claimed but never handed to the provider (see ``unsent``)."""
        if not self.unsent:
            return 0
        ids = sorted(self.unsent)
        async with self.service.uow() as uow:
            n = await store.unclaim_many(uow.session, ids, clock.system_now())  # a lease: bookkeeping
            await uow.commit()
        self.unsent.difference_update(ids)
        return n

    async def run_once(self, now: datetime | None = None) -> int:
        """Send what is due now; returns how many messages were attempted."""
        await self.requeue_unsent()
        claimed = await self.claim(now or _now())
        if claimed:
            await self.send_and_store(claimed)
        return len(claimed)

    async def claim(self, now: datetime) -> list[Any]:
        """The due messages, claimed and read in one statement and committed before any provider
        sees them (an empty list when the commit's answer was lost: they go back to the queue
        once the database answers, see ``unsent``)."""
        claimed: list[Any] = []
        try:
            with inline_sqlite():  # one short indexed statement and the commit
                async with self.service.uow() as uow:
                    # One message per sending slot, no more: a claimed message is 'sending' and ends
                    # 'unknown' (never resent) if notify dies before its answer is stored, so a
                    # claim waiting for a free slot would be lost to a crash though never sent.
                    claimed = await store.claim_due(uow.session, now, self.settings.notify_worker_concurrency,
                                                    clock.system_now())  # a lease: bookkeeping
                    await uow.commit()
        except Exception as exc:
            if not database_away(exc) or not claimed:
                raise  # nothing claimed: ``until_stored`` tries again
            self.unsent.update(r.id for r in claimed)  # not handed to the provider: certainly not sent
            log.warning("%d message(s) not sent: database unavailable (%r); queued again once it is back",
                        len(claimed), exc)
            return []
        return claimed

    async def send_and_store(self, claimed: list[Any]) -> None:
        """Hand the claimed messages to the provider (``notify_worker_concurrency`` at once,
        through the rate limiter) and store the answers as they come: whatever has come by the
        time the previous store committed goes in one transaction."""
        sem = asyncio.Semaphore(self.settings.notify_worker_concurrency)
        answers: list[tuple[str, SendResult | None, str]] = []
        arrived = asyncio.Event()
        left = len(claimed)  # answers not yet stored (or given up as never handed over)

        async def one(row: Any) -> None:
            nonlocal left
            try:
                async with sem:
                    answers.append(await self.send(row))
            except Exception:  # noqa: BLE001 - not handed to the provider (``send`` keeps its errors)
                log.exception("message %s not sent; queued again", row.id)
                self.unsent.add(row.id)
                left -= 1
            finally:
                arrived.set()

        tasks = [asyncio.create_task(one(row)) for row in claimed]
        try:
            while left > 0:
                await arrived.wait()
                arrived.clear()
                batch = answers[:]
                del answers[:]
                if not batch:
                    continue

                async def record(batch: list[tuple[str, SendResult | None, str]] = batch) -> None:
                    with inline_sqlite():
                        async with self.service.uow() as uow:
                            await messaging.store_attempts(uow, self.settings, batch, _now(), self.metrics)
                            await uow.commit()

                what = batch[0][0] if len(batch) == 1 else f"{len(batch)} messages"
                await self.until_stored(f"message {what}: storing the provider's answer", record)
                left -= len(batch)
        except asyncio.CancelledError:
            for t in tasks:
                t.cancel()
            raise
        finally:
            # After a failure to store (not the database away: a bug), the sends in flight still
            # finish (a message handed over is not cut off); their answers are not stored and the
            # messages end 'unknown' at the next start.
            await asyncio.gather(*tasks, return_exceptions=True)

    async def send(self, row: Any) -> tuple[str, SendResult | None, str]:
        """One claimed message to the provider: its answer, or None and why when the provider raised."""
        sms = OutgoingSms(row.id, row.mobile, row.text, row.template, row.body, dict(row.params),
                          {int(k): v for k, v in row.accepted_parts.items()})
        await self.limiter.acquire(max(1, row.parts - len(sms.already_accepted)))
        try:
            return row.id, await self.provider.send(sms), ""
        except Exception as exc:  # noqa: BLE001 - a provider bug must not lose the message's state
            log.exception("provider %s raised for message %s", self.provider.name, row.id)
            return row.id, None, f"provider error: {type(exc).__name__}"

    async def run(self, _service: Service | None = None) -> None:
        await self.provider.start()
        try:
            await self.until_stored("recovering messages left sending", self.recover)
            while True:
                n = await self.until_stored("delivery paused", self.run_once)
                if n == 0:
                    self.wakeup.clear()
                    await _woken_or_after(self.wakeup, self.settings.notify_worker_poll_seconds)
        finally:
            await self.provider.stop()

    # ------------------------------------------------------------------ provider callbacks

    async def on_receipt(self, receipt: Receipt) -> None:
        async with self.service.uow() as uow:
            await messaging.apply_receipt(uow, receipt, _now(), self.metrics)
            await uow.commit()

    async def on_inbound(self, sms: InboundSms) -> None:
        """A reply 'TD' (or 退订) stops survey invitations to that number; legal notices go on."""
        if sms.text.strip().upper() not in OPT_OUT_REPLIES:
            log.info("inbound SMS ignored (%d characters)", len(sms.text))
            return
        try:
            mobile = normalize_mobile(sms.mobile)
        except InvalidMobile:
            return
        async with self.service.uow() as uow:
            await store.upsert(uow.session, OptOutRow, {"mobile": mobile}, {"source": "sms"})
            await uow.commit()


# --------------------------------------------------------------------------- release and sweeps


async def _woken_or_after(event: asyncio.Event, seconds: float) -> None:
    """Wait until ``event`` is set or ``seconds`` have passed. ``asyncio.timeout``, not
    ``asyncio.wait_for``: on Python 3.11 the latter swallows a cancellation that comes as the event
    is set (it returns the event's result instead), and a worker that loses its cancellation keeps
    the service from stopping."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        pass


async def _look_whenever_asked(asked: asyncio.Event, period: float, look: Callable[[], Awaitable[None]],
                               what: str) -> None:
    """Run ``look`` whenever ``asked`` is set (a commit asks) and every ``period`` seconds besides;
    after a failure (the database away) again soon, backing off (1 s doubling up to the period), or
    as soon as a commit asks. The next look retries; nothing is lost meanwhile."""

    async def one() -> None:
        asked.clear()  # before looking: a commit during the look asks for another
        await look()

    def warn(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning("%s failed (retry in %.0fs): %r", what, wait, exc)

    async def wait(seconds: float) -> None:
        await _woken_or_after(asked, seconds)

    while True:
        await AsyncRetrying(retry=retry_if_exception_type(Exception),
                            wait=wait_exponential(multiplier=1.0, min=min(1.0, period), max=period),
                            sleep=wait, before_sleep=warn)(one)
        await _woken_or_after(asked, period)


async def release_waiting_forever(service: Service, notices: Notices, duty_gaps: DutyGaps | None = None) -> None:
    """Run :func:`~.usecases.notices.release_waiting` whenever a commit asks for it
    (``notices.rendezvous``) and every ``notify_contact_sweep_seconds`` besides; and
    :func:`~.usecases.duty_gaps.release_duty_gaps` when a duty gap's or a duty manager's commit
    asked (``notices.duty_gaps_asked``) or a period has passed since its last look: not after
    every applicant's contact (two transactions per application for nothing)."""
    period = notices.settings.notify_contact_sweep_seconds
    loop = asyncio.get_running_loop()
    last_gaps_look = -period

    async def look() -> None:
        nonlocal last_gaps_look
        with inline_sqlite():  # short indexed statements: no hand-off to aiosqlite's thread each
            await release_waiting(service, notices, render=False)  # rendering: render_waiting_forever
        if duty_gaps is not None and (notices.duty_gaps_asked or loop.time() - last_gaps_look >= period):
            notices.duty_gaps_asked = False  # before looking: a commit during the look asks again
            began = loop.time()
            try:
                await release_duty_gaps(service, duty_gaps)
            except BaseException:
                notices.duty_gaps_asked = True  # the retry looks again
                raise
            last_gaps_look = began

    await _look_whenever_asked(notices.rendezvous, notices.settings.notify_contact_sweep_seconds, look,
                               "releasing notices (or duty gaps) left waiting")


async def render_waiting_forever(service: Service, notices: Notices) -> None:
    """Lay out and send the notices left ``rendering`` whenever a commit numbered one
    (``notices.render_wake``) and every ``notify_contact_sweep_seconds`` besides (a process that
    stopped between the numbering and the render); a worker of its own, so that a long release
    of waiting surveys never holds the notices back."""

    async def look() -> None:
        await render_waiting(service, notices)

    await _look_whenever_asked(notices.render_wake, notices.settings.notify_contact_sweep_seconds, look,
                               "rendering notices")


async def seal_timeouts_forever(service: Service, notices: Notices) -> None:
    """Fail the notices whose seal did not come in time, every quarter of the timeout (30 s at most)."""
    while True:
        await sweep_timeouts(service, notices)
        await asyncio.sleep(min(30.0, notices.settings.notify_seal_timeout_seconds / 4))
