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
    """Lines are written and fsync'd in groups: the messages handed over while a write is under
    way go together in the next one (one hand-off to a thread and one fsync for the group, not
    for each). A message counts as delivered only once its line is on disk."""

    name = "file"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self.path = Path(path)
        self._waiting: list[tuple[str, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._last_error = ""

    def _append(self, lines: list[str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in lines))
            f.flush()
            os.fsync(f.fileno())  # "delivered" must survive a crash right after

    async def _write(self, line: str) -> None:
        """``line`` on disk (with whatever else is waiting when its group's turn comes)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((line, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        await done  # a cancelled sender does not cut its group's write short

    async def _drain(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting, []
            try:
                await asyncio.to_thread(self._append, [text for text, _ in group])
            except Exception as exc:  # noqa: BLE001 - each sender gets the error (a retry)
                for _, fut in group:
                    if not fut.done():
                        fut.set_exception(exc)
            else:
                for _, fut in group:
                    if not fut.done():
                        fut.set_result(None)

    async def send(self, sms: OutgoingSms) -> SendResult:
        length = sms_text.measure(sms.text)
        ids = {i: f"file-{sms.message_id}-{i}" for i in range(1, length.parts + 1)}
        record = {
            "message_id": sms.message_id, "mobile": sms.mobile, "template": sms.template, "text": sms.text,
            "parts": length.parts, "alphabet": length.alphabet.value, "at": clock.system_now().isoformat(),
        }
        try:
            await self._write(json.dumps(record, ensure_ascii=False))
        except OSError as exc:
            self._last_error = str(exc)
            # Nothing was written (or the write failed midway): a retry is the right answer.
            return SendResult(Outcome.TEMPORARY, self.name, code="io_error", reason=f"outbox write failed: {exc}")
        return SendResult(Outcome.ACCEPTED, self.name, accepted_parts=ids, parts=length.parts, code="OK",
                          reason="written to the local outbox", delivered=True)

    def health(self) -> ProviderHealth:
        ok = not self._last_error
        return ProviderHealth(self.name, ok, self._last_error or f"writing to {self.path}")
