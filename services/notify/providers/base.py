"""The one interface every SMS provider implements, and the per-provider rate limiter.

A provider answers each send with a :class:`~services.notify.domain.SendResult` whose outcome is
one of accepted / temporary / permanent / unknown; it never raises for a provider-side problem.
Delivery receipts and inbound messages (replies such as "TD") are pushed to handlers the app
registers.
"""

from __future__ import annotations

import abc
import asyncio
from dataclasses import dataclass, field
from typing import Awaitable, Callable

from aiolimiter import AsyncLimiter

from ..domain import Receipt, SendResult


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
    """Per-provider rate limit, counted in SMS parts: ``rate_per_second`` on average, at most
    ``burst`` at once (a token bucket; aiolimiter's leaky bucket of capacity ``burst`` draining
    ``rate_per_second`` is the same rule). ``acquire(n)`` waits until ``n`` parts may go;
    callers are served first come, first served."""

    def __init__(self, rate_per_second: float, burst: float | None = None) -> None:
        if rate_per_second <= 0 or (burst is not None and burst < 1):
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate_per_second
        self.burst = burst or max(1.0, rate_per_second)
        self._limiter = AsyncLimiter(self.burst, self.burst / self.rate)
        self._lock = asyncio.Lock()

    async def acquire(self, n: int = 1) -> None:
        n = min(n, self.burst)  # a message longer than the burst still goes, just slowly
        async with self._lock:  # first come, first served (aiolimiter alone favours small requests)
            await self._limiter.acquire(n)
