"""Who looked at whom (访问留痕) in notify: a staff answer showing an applicant's unmasked data is
recorded before it leaves. Here that is the text of an SMS to an applicant (it names them in
full) and a released notice's short link (the sealed notice names them and their ID number).
Masked mobiles and staff messages are not logged. Auditors (supervisors, the center admin) read
the log."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from contracts.notify import Recipient
from services.runtime import access_log, clock
from services.runtime.auth import Staff
from services.runtime.errors import NotAllowed

from .. import store
from ..store import MessageRow, NoticeRow

MESSAGE_FIELDS = ("message.text",)
NOTICE_FIELDS = ("notice.document",)


async def record_messages(uow: Any, staff: Staff, rows: Iterable[MessageRow], action: str) -> None:
    # One row per case per answer: a case's several texts in one answer are one read of that case.
    reads = [(no, MESSAGE_FIELDS) for no in dict.fromkeys(
        r.receipt_no for r in rows if r.recipient_kind == Recipient.APPLICANT and r.receipt_no)]
    if await access_log.record(uow.session, store.access_log, staff=staff, at=clock.now(), reads=reads,
                               action=action):
        await uow.commit()


async def record_notices(uow: Any, staff: Staff, rows: Iterable[NoticeRow], action: str) -> None:
    reads = [(no, NOTICE_FIELDS) for no in dict.fromkeys(r.receipt_no for r in rows if r.short_code)]
    if await access_log.record(uow.session, store.access_log, staff=staff, at=clock.now(), reads=reads,
                               action=action):
        await uow.commit()


async def access_log_for(uow: Any, staff: Staff, **q: Any) -> list[access_log.AccessEntry]:
    if not staff.center_wide:
        raise NotAllowed("role", "访问留痕仅限督查人员和中心管理员查看")
    return await access_log.query(uow.session, store.access_log, **q)
