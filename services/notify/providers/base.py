"""The one interface every SMS provider implements, and the per-provider rate limiter.

A provider answers each send with a :class:`~services.notify.domain.SendResult` whose outcome is
one of accepted / temporary / permanent / unknown; it never raises for a provider-side problem.
Delivery receipts and inbound messages (replies such as "TD") are pushed to handlers the app
registers.
"""

from __future__ import annotations

import abc
import asyncio
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable

from ..domain import Receipt, SendResult, TokenBucket


@dataclass(frozen=True)
class OutgoingSms:
    message_id: str
    mobile: str                 # 11 digits, normalized
    text: str                   # exactly what the handset shows (signature included)
    template: str = ""
    body: str = ""              # the text without the signature (providers that add SignName)
    params: dict[str, str] = field(default_factory=dict)
    #: Parts a previous attempt got accepted (part number -> provider id): not sent again.
    already_accepted: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class InboundSms:
    """A message from a handset (mobile originated), e.g. 'TD' to stop survey invitations."""

    provider: str
    mobile: str
    text: str


@dataclass
class ProviderHealth:
    provider: str
    ok: bool
    detail: str = ""
    extra: dict[str, object] = field(default_factory=dict)


ReceiptHandler = Callable[[Receipt], Awaitable[None]]
InboundHandler = Callable[[InboundSms], Awaitable[None]]


class SmsProvider(abc.ABC):
    name: str = "provider"

    def __init__(self) -> None:
        self._receipt_handler: ReceiptHandler | None = None
        self._inbound_handler: InboundHandler | None = None

    def on_receipt(self, handler: ReceiptHandler) -> None:
        self._receipt_handler = handler

    def on_inbound(self, handler: InboundHandler) -> None:
        self._inbound_handler = handler

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Open connections; must not fail when the peer is down (reconnect in the background)."""

    async def stop(self) -> None:  # noqa: B027 - optional hook
        """Close connections."""

    @abc.abstractmethod
    async def send(self, sms: OutgoingSms) -> SendResult:
        """Submit every part of ``sms`` not yet accepted; never raises for provider errors."""

    @abc.abstractmethod
    def health(self) -> ProviderHealth: ...


class RateLimiter:
    """Async token bucket: ``acquire(n)`` waits until ``n`` submits are allowed."""

    def __init__(self, rate_per_second: float, burst: float | None = None, clock=time.monotonic) -> None:
        self._clock = clock
        self._bucket = TokenBucket(rate_per_second, burst or max(1.0, rate_per_second), clock())
        self._lock = asyncio.Lock()

    async def acquire(self, n: int = 1) -> None:
        n = min(n, self._bucket.burst)  # a message longer than the burst still goes, just slowly
        async with self._lock:  # first come, first served
            while True:
                wait = self._bucket.take(self._clock(), n)
                if wait <= 0:
                    return
                await asyncio.sleep(wait)
