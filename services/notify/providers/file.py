"""The embedded default provider (``onewindow up``): each message is appended to a JSON-lines file
under the data directory and counts as delivered at once. Nothing leaves the machine."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from services.runtime import clock

from ..domain import Outcome, SendResult, sms_text
from .base import OutgoingSms, ProviderHealth, SmsProvider


class FileProvider(SmsProvider):
    name = "file"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self.path = Path(path)
        self._lock = asyncio.Lock()
        self._last_error = ""

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())  # "delivered" must survive a crash right after

    async def send(self, sms: OutgoingSms) -> SendResult:
        length = sms_text.measure(sms.text)
        ids = {i: f"file-{sms.message_id}-{i}" for i in range(1, length.parts + 1)}
        record = {
            "message_id": sms.message_id, "mobile": sms.mobile, "template": sms.template, "text": sms.text,
            "parts": length.parts, "alphabet": length.alphabet.value, "at": clock.system_now().isoformat(),
        }
        try:
            async with self._lock:
                await asyncio.to_thread(self._append, json.dumps(record, ensure_ascii=False))
        except OSError as exc:
            self._last_error = str(exc)
            # Nothing was written (or the write failed midway): a retry is the right answer.
            return SendResult(Outcome.TEMPORARY, self.name, code="io_error", reason=f"outbox write failed: {exc}")
        return SendResult(Outcome.ACCEPTED, self.name, accepted_parts=ids, parts=length.parts, code="OK",
                          reason="written to the local outbox", delivered=True)

    def health(self) -> ProviderHealth:
        ok = not self._last_error
        return ProviderHealth(self.name, ok, self._last_error or f"writing to {self.path}")
