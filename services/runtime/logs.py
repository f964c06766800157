"""Structured JSON logs. Every line written while an event is handled carries its event id and
receipt number (context variables set by the consumer)."""

from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

from pythonjsonlogger.json import JsonFormatter

event_id_var: ContextVar[str | None] = ContextVar("event_id", default=None)
receipt_no_var: ContextVar[str | None] = ContextVar("receipt_no", default=None)
service_var: ContextVar[str | None] = ContextVar("service", default=None)


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.service = service_var.get()
        record.event_id = event_id_var.get()
        record.receipt_no = receipt_no_var.get()
        return True


class _Throttle(logging.Filter):
    """Lets one line of a kind through per ``window`` seconds and counts the rest.

    While the broker or the database is away, aiokafka retries every connection (and our
    consumers pause) several times a second per client: tens of thousands of identical lines in a
    few minutes, burying everything else. A kind is the logger and the message's template; the
    next line let through says how many were held back. Records of other loggers pass unless they
    ask for it (``extra={"throttle": True}``)."""

    def __init__(self, window: float = 30.0, loggers: tuple[str, ...] = ("aiokafka", "faststream")) -> None:
        super().__init__()
        self.window = window
        self.loggers = loggers
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        if not (getattr(record, "throttle", False) or record.name.startswith(self.loggers)):
            return True
        key = (record.name, str(record.msg))
        now = record.created
        first, held = self._seen.get(key, (float("-inf"), 0))
        if now - first < self.window:
            self._seen[key] = (first, held + 1)
            return False
        self._seen[key] = (now, 0)
        if held:
            record.msg = f"{record.msg} [{held} more like this in the last {self.window:.0f}s not logged]"
        return True


def configure(service: str, level: str = "INFO", json: bool = True) -> None:
    service_var.set(service)
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_ContextFilter())
    handler.addFilter(_Throttle())
    if json:
        handler.setFormatter(
            JsonFormatter(
                "%(levelname)s %(name)s %(message)s %(service)s %(event_id)s %(receipt_no)s",
                rename_fields={"levelname": "level", "name": "logger"},
                timestamp="time",  # ISO 8601, UTC
            )
        )
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(event_id)s %(receipt_no)s] %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiokafka is chatty at INFO about every (re)join; keep it to warnings.
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))


@contextmanager
def log_context(event_id: str | None = None, receipt_no: str | None = None) -> Iterator[None]:
    t1 = event_id_var.set(event_id)
    t2 = receipt_no_var.set(receipt_no)
    try:
        yield
    finally:
        event_id_var.reset(t1)
        receipt_no_var.reset(t2)
