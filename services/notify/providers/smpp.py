"""SMPP 3.4 to a carrier's SMSC, with ``smpplib`` (python-smpplib).

smpplib is synchronous, so one dedicated thread owns the socket and does all I/O on it (binds,
submit_sm, reading responses and deliver_sm, enquire_link, reconnecting); the asyncio side hands
it work through a queue and gets answers through ``concurrent.futures.Future`` objects wrapped
with ``asyncio.wrap_future``. Nothing but that thread touches the socket.

Once-only rules:
- A part waits in the queue until the session is bound; if no session comes up in
  ``queue_timeout`` it is given back as *temporary* (it never left, a retry is safe).
- A part written to the socket is *in flight*. Its ``submit_sm_resp`` settles it. If the
  connection drops or no response comes within ``response_timeout``, the outcome is *unknown*:
  the SMSC may have taken it, so it is not resent (a later receipt or an operator settles it).
- Parts already accepted (their ``submit_sm_resp`` arrived) are never submitted again: a retry
  of a message sends only the parts still missing, with the same concatenation reference.

Delivery receipts (``deliver_sm`` with esm_class 0x04) and replies from handsets are handed to
the app's async handlers; the ``deliver_sm_resp`` is sent only after the handler has finished
(or with ESME_RX_T_APPN so that the SMSC redelivers if it failed).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import logging
import select
import socket
import threading
import time
from dataclasses import dataclass, field

import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.smpp

from ..domain import sms_text
from ..domain import (
    Outcome,
    Receipt,
    ReceiptStatus,
    SendResult,
    classify_smpp_status,
    concat_reference,
    parse_receipt_text,
    smpp_code,
)
from .base import InboundSms, OutgoingSms, ProviderHealth, SmsProvider

log = logging.getLogger("notify.smpp")

ESME_RX_T_APPN = 0x00000064
#: message_state TLV values (SMPP 3.4 section 5.2.28) -> receipt status.
MESSAGE_STATES = {1: "ENROUTE", 2: "DELIVRD", 3: "EXPIRED", 4: "DELETED", 5: "UNDELIV", 6: "ACCEPTD", 7: "UNKNOWN", 8: "REJECTD"}


@dataclass(frozen=True)
class SmppConfig:
    host: str
    port: int
    system_id: str
    password: str
    system_type: str = ""
    source_addr: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    dest_addr_ton: int = 0
    dest_addr_npi: int = 1
    registered_delivery: bool = True
    reference_bits: int = 8
    max_parts: int = 6
    connect_timeout: float = 5.0
    response_timeout: float = 10.0
    queue_timeout: float = 15.0
    enquire_link_interval: float = 30.0
    reconnect_initial: float = 0.5
    reconnect_max: float = 30.0
    receipt_handler_timeout: float = 10.0


@dataclass(eq=False)
class _Submit:
    """One submit_sm on its way."""

    part: sms_text.EncodedPart
    destination: str
    future: concurrent.futures.Future = field(default_factory=concurrent.futures.Future)
    enqueued_at: float = field(default_factory=time.monotonic)
    sent_at: float | None = None
    sequence: int | None = None


@dataclass(frozen=True)
class PartResult:
    outcome: Outcome
    provider_id: str = ""
    code: str = ""
    reason: str = ""


class SmppProvider(SmsProvider):
    name = "smpp"

    def __init__(self, config: SmppConfig) -> None:
        super().__init__()
        self.config = config
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._queue: collections.deque[_Submit] = collections.deque()
        self._inflight: dict[int, _Submit] = {}
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._client: smpplib.client.Client | None = None
        self.bound = threading.Event()
        self.binds = 0              # successful binds so far (1 + reconnects)
        self.last_error = ""
        self._last_rx = 0.0
        self._enquire_sent: tuple[int, float] | None = None

    # ------------------------------------------------------------------ asyncio side

    async def start(self) -> None:
        if self._thread is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="smpp-session", daemon=True)
        self._thread.start()

    async def wait_bound(self, timeout: float = 10.0) -> bool:
        return await asyncio.to_thread(self.bound.wait, timeout)

    async def stop(self) -> None:
        if self._thread is None:
            return
        self._stopping.set()
        self._wake()
        await asyncio.to_thread(self._thread.join, self.config.response_timeout + 5)
        self._thread = None

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"x")
        except (BlockingIOError, OSError):
            pass  # a wake-up is already pending

    async def submit_part(self, part: sms_text.EncodedPart, destination: str) -> PartResult:
        item = _Submit(part, destination)
        with self._lock:
            self._queue.append(item)
        self._wake()
        return await asyncio.wrap_future(item.future)

    async def send(self, sms: OutgoingSms) -> SendResult:
        ref = concat_reference(sms.message_id, self.config.reference_bits)
        try:
            parts = sms_text.encode_parts(sms.text, ref, reference_bits=self.config.reference_bits,
                                          max_parts=self.config.max_parts)
        except sms_text.MessageTooLong as exc:
            return SendResult(Outcome.PERMANENT, self.name, code="too_long", reason=str(exc))
        accepted = dict(sms.already_accepted)
        total = len(parts)
        # Parts go one after the other: if one is refused, the rest are not sent in vain.
        for part in parts:
            if part.seq in accepted:
                continue
            result = await self.submit_part(part, sms.mobile)
            if result.outcome is Outcome.ACCEPTED:
                accepted[part.seq] = result.provider_id
                continue
            return SendResult(result.outcome, self.name, accepted, total, result.code, result.reason)
        return SendResult(Outcome.ACCEPTED, self.name, accepted, total, "0x00000000", "accepted by the SMSC")

    def health(self) -> ProviderHealth:
        with self._lock:
            queued, inflight = len(self._queue), len(self._inflight)
        ok = self.bound.is_set()
        return ProviderHealth(self.name, ok, "bound" if ok else (self.last_error or "not bound"),
                              {"host": self.config.host, "port": self.config.port, "binds": self.binds,
                               "queued": queued, "in_flight": inflight})

    # ------------------------------------------------------------------ session thread

    def _run(self) -> None:
        delay = self.config.reconnect_initial
        while not self._stopping.is_set():
            try:
                self._connect()
                delay = self.config.reconnect_initial
                self._serve()
            except (smpplib.exceptions.ConnectionError, OSError, smpplib.exceptions.PDUError, _SessionLost) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("SMPP session to %s:%s lost: %s", self.config.host, self.config.port, self.last_error)
            except Exception as exc:  # never let the session thread die
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("SMPP session failed")
            finally:
                self._teardown()
            if self._stopping.is_set():
                break
            self._pause(delay)
            delay = min(self.config.reconnect_max, delay * 2)
        self._give_back_queue("SMPP provider stopped")

    def _pause(self, seconds: float) -> None:
        """Wait before reconnecting, still expiring parts that waited too long."""
        end = time.monotonic() + seconds
        while not self._stopping.is_set():
            self._expire_queue(time.monotonic())
            left = end - time.monotonic()
            if left <= 0:
                return
            select.select([self._wake_r], [], [], min(left, 0.2))
            self._drain_wake()

    def _connect(self) -> None:
        cfg = self.config
        client = smpplib.client.Client(cfg.host, cfg.port, timeout=cfg.response_timeout,
                                       allow_unknown_opt_params=True, logger_name="notify.smpp.client")
        client._socket = client._create_socket()
        # PDUs are small and answered one by one: Nagle plus delayed ACKs would add ~40 ms each.
        client._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client._socket.settimeout(cfg.connect_timeout)
        client.connect()
        client._socket.settimeout(cfg.response_timeout)
        self._client = client
        client.bind_transceiver(system_id=cfg.system_id, password=cfg.password, system_type=cfg.system_type,
                                interface_version=0x34)
        self.binds += 1
        self._last_rx = time.monotonic()
        self._enquire_sent = None
        self.last_error = ""
        self.bound.set()
        log.info("SMPP bound as transceiver to %s:%s (bind #%d)", cfg.host, cfg.port, self.binds)

    def _serve(self) -> None:
        client = self._client
        assert client is not None
        sock = client._socket
        while not self._stopping.is_set():
            self._send_queued(client)
            readable, _, _ = select.select([sock, self._wake_r], [], [], 0.2)
            if self._wake_r in readable:
                self._drain_wake()
            if sock in readable:
                self._dispatch(client, client.read_pdu())
                self._last_rx = time.monotonic()
            now = time.monotonic()
            self._expire_inflight(now)
            self._keepalive(client, now)
        # Stopping: leave politely.
        try:
            client.unbind()
        except Exception:  # noqa: BLE001 - best effort on the way out
            pass

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def _send_queued(self, client: smpplib.client.Client) -> None:
        cfg = self.config
        while True:
            with self._lock:
                if not self._queue:
                    return
                item = self._queue.popleft()
            if item.future.done():
                continue
            item.sequence = client.next_sequence()
            with self._lock:
                self._inflight[item.sequence] = item
            item.sent_at = time.monotonic()
            # From here on the part counts as in flight: if sendall fails midway the SMSC may
            # still have got it, so the teardown reports it as unknown, never as retryable.
            client.send_pdu(self._submit_pdu(client, item))

    def _submit_pdu(self, client: smpplib.client.Client, item: _Submit):
        cfg = self.config
        part = item.part
        pdu = smpplib.smpp.make_pdu(
            "submit_sm", client=client, sequence=item.sequence,
            source_addr_ton=cfg.source_addr_ton, source_addr_npi=cfg.source_addr_npi, source_addr=cfg.source_addr,
            dest_addr_ton=cfg.dest_addr_ton, dest_addr_npi=cfg.dest_addr_npi, destination_addr=item.destination,
            short_message=part.short_message, data_coding=part.data_coding, esm_class=part.esm_class,
            registered_delivery=1 if cfg.registered_delivery else 0,
        )
        return pdu

    def _settle(self, sequence: int, result: PartResult) -> None:
        with self._lock:
            item = self._inflight.pop(sequence, None)
        if item is None:
            if result.outcome is Outcome.ACCEPTED:
                # A response after we gave up on it: the part went out. Log it loudly so staff
                # can settle the message marked unknown.
                log.warning("late submit_sm_resp for sequence %d: accepted as %s", sequence, result.provider_id)
            return
        if not item.future.done():
            item.future.set_result(result)

    def _on_submit_resp(self, pdu, **_: object) -> None:
        status = int(pdu.status)
        if status == 0:
            message_id = pdu.message_id.decode() if isinstance(pdu.message_id, bytes) else str(pdu.message_id or "")
            self._settle(pdu.sequence, PartResult(Outcome.ACCEPTED, message_id, smpp_code(0), "accepted"))
            return
        outcome, reason = classify_smpp_status(status)
        self._settle(pdu.sequence, PartResult(outcome, "", smpp_code(status), reason))

    def _dispatch(self, client: smpplib.client.Client, pdu) -> None:
        """Act on one PDU from the SMSC (smpplib parses; the session logic is ours)."""
        command = pdu.command
        if command == "submit_sm_resp":
            self._on_submit_resp(pdu)
        elif command == "generic_nack":
            outcome, reason = classify_smpp_status(int(pdu.status))
            self._settle(pdu.sequence, PartResult(outcome, "", smpp_code(int(pdu.status)), f"generic_nack: {reason}"))
        elif command == "deliver_sm":
            status = self._on_deliver_sm(pdu)
            resp = smpplib.smpp.make_pdu("deliver_sm_resp", client=client, status=status)
            resp.sequence = pdu.sequence
            client.send_pdu(resp)
        elif command == "enquire_link":
            resp = smpplib.smpp.make_pdu("enquire_link_resp", client=client)
            resp.sequence = pdu.sequence
            client.send_pdu(resp)
        elif command == "enquire_link_resp":
            self._enquire_sent = None
        elif command == "unbind":
            resp = smpplib.smpp.make_pdu("unbind_resp", client=client)
            resp.sequence = pdu.sequence
            client.send_pdu(resp)
            raise _SessionLost("the SMSC unbound the session")
        else:
            log.warning("unexpected %s from the SMSC (status 0x%08X)", command, int(pdu.status or 0))

    def _keepalive(self, client: smpplib.client.Client, now: float) -> None:
        cfg = self.config
        if self._enquire_sent is not None:
            seq, sent = self._enquire_sent
            if self._last_rx > sent:
                self._enquire_sent = None  # anything heard back proves the link is alive
            elif now - sent > cfg.response_timeout:
                raise _SessionLost("enquire_link unanswered")
            return
        if now - self._last_rx >= cfg.enquire_link_interval:
            pdu = smpplib.smpp.make_pdu("enquire_link", client=client)
            client.send_pdu(pdu)
            self._enquire_sent = (pdu.sequence, now)

    def _expire_inflight(self, now: float) -> None:
        limit = self.config.response_timeout
        with self._lock:
            late = [seq for seq, item in self._inflight.items() if item.sent_at and now - item.sent_at > limit]
        for seq in late:
            self._settle(seq, PartResult(Outcome.UNKNOWN, "", "resp_timeout",
                                         f"no submit_sm_resp within {limit:g}s"))

    def _expire_queue(self, now: float) -> None:
        limit = self.config.queue_timeout
        with self._lock:
            expired = [i for i in self._queue if now - i.enqueued_at > limit]
            for i in expired:
                self._queue.remove(i)
        for item in expired:
            if not item.future.done():
                item.future.set_result(PartResult(Outcome.TEMPORARY, "", "not_bound",
                                                  f"no SMSC session within {limit:g}s: {self.last_error or 'connecting'}"))

    def _give_back_queue(self, reason: str) -> None:
        with self._lock:
            items = list(self._queue)
            self._queue.clear()
        for item in items:
            if not item.future.done():
                item.future.set_result(PartResult(Outcome.TEMPORARY, "", "stopped", reason))

    def _teardown(self) -> None:
        self.bound.clear()
        with self._lock:
            lost = list(self._inflight.values())
            self._inflight.clear()
        for item in lost:
            if not item.future.done():
                # Written to the socket, no answer: it may have reached the SMSC.
                item.future.set_result(PartResult(Outcome.UNKNOWN, "", "connection_lost",
                                                  "connection lost before submit_sm_resp"))
        client, self._client = self._client, None
        if client is not None:
            try:
                client.disconnect()
            except Exception:  # noqa: BLE001
                pass
            client.state = smpplib.consts.SMPP_CLIENT_STATE_CLOSED

    # ------------------------------------------------------------------ deliver_sm

    def _on_deliver_sm(self, pdu, **_: object) -> int:
        raw = pdu.short_message or b""
        data_coding = int(pdu.data_coding or 0)
        esm_class = int(pdu.esm_class or 0)
        if esm_class & 0x40 and raw:  # strip a UDH
            raw = raw[1 + raw[0]:]
        try:
            text = sms_text.decode_payload(raw, data_coding)
        except (UnicodeDecodeError, IndexError):
            text = raw.decode("latin-1")
        message_type = esm_class & 0x3C
        if message_type in (0x04, 0x08, 0x20):  # SMSC delivery receipt / SME ack / intermediate
            receipt = self._receipt_from(pdu, text)
            if receipt is None:
                log.warning("unparseable delivery receipt: %r", text)
                return smpplib.consts.SMPP_ESME_ROK
            return self._call_handler(self._receipt_handler, receipt)
        source = pdu.source_addr.decode() if isinstance(pdu.source_addr, bytes) else str(pdu.source_addr or "")
        return self._call_handler(self._inbound_handler, InboundSms(self.name, source, text))

    def _receipt_from(self, pdu, text: str) -> Receipt | None:
        parsed = parse_receipt_text(text, self.name)
        tlv_id = getattr(pdu, "receipted_message_id", None)
        if isinstance(tlv_id, bytes):
            tlv_id = tlv_id.rstrip(b"\x00").decode(errors="replace")
        state = getattr(pdu, "message_state", None)
        if parsed is None and not tlv_id:
            return None
        status = parsed.status if parsed else MESSAGE_STATES.get(int(state or 7), ReceiptStatus.UNKNOWN.value)
        return Receipt(self.name, tlv_id or parsed.provider_message_id, status,
                       parsed.done_at if parsed else None, parsed.error if parsed else "")

    def _call_handler(self, handler, arg) -> int:
        if handler is None or self._loop is None:
            return smpplib.consts.SMPP_ESME_ROK
        try:
            fut = asyncio.run_coroutine_threadsafe(handler(arg), self._loop)
            fut.result(timeout=self.config.receipt_handler_timeout)
            return smpplib.consts.SMPP_ESME_ROK
        except Exception as exc:  # noqa: BLE001 - the SMSC will redeliver
            log.warning("deliver_sm handler failed (%s); asking the SMSC to redeliver", exc)
            return ESME_RX_T_APPN


class _SessionLost(Exception):
    pass

