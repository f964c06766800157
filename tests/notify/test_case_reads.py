"""The case page's reads of notify (issue 17, speed): a case's SMS list answers with the right
total whether or not the count query is skipped (a first page that is not full), pages past the
first still count, and an answer naming the applicant in several texts is one access-log row for
that case, not one per text."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import event, text

from services.notify.store import MessageRow

from .conftest import RN, Harness, accepted, contact, received, seed_directory

pytestmark = pytest.mark.timeout(120)


async def _extra_texts(h: Harness, n: int) -> None:
    """``n`` more texts to the applicant about the case (as notify's templates would queue)."""
    async with h.service.uow() as uow:
        for i in range(n):
            uow.session.add(MessageRow(id=f"extra{i:02d}", idempotency_key=f"extra-{i}", template="accepted",
                                       category="service", recipient_kind="applicant", mobile="13800138000",
                                       receipt_no=RN, text=f"张三您好，第{i}条", body="b", state="sent"))
        await uow.commit()


async def test_case_sms_list_totals_and_one_log_row_per_case_per_answer(harness: Harness) -> None:
    h = harness
    await seed_directory(h)
    for e in (received(), contact(), accepted()):
        await h.publish(e)
    await _extra_texts(h, 4)
    svc = h.service
    statements: list[str] = []
    event.listen(svc.db.engine.sync_engine, "before_cursor_execute",  # type: ignore[attr-defined]
                 lambda conn, cur, stmt, params, ctx, many: statements.append(stmt))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(svc.api), base_url="http://t") as c:  # type: ignore[attr-defined]
        clerk = {"Authorization": f"Bearer {svc.auth.issue('S-CLERK', 'clerk', 'SJJ')}"}  # type: ignore[attr-defined]
        page = (await c.get("/notify/messages", params={"receipt_no": RN}, headers=clerk)).json()
        every = page["total"]
        assert every == len(page["items"]) >= 4
        assert not any(_counts_a_page(s) for s in statements)  # a first page not full: nothing to count

        statements.clear()
        first = (await c.get("/notify/messages", params={"receipt_no": RN, "limit": 2}, headers=clerk)).json()
        assert first["total"] == every and len(first["items"]) == 2
        assert any(_counts_a_page(s) for s in statements)  # a full page: the total is counted
        last = (await c.get("/notify/messages", params={"receipt_no": RN, "limit": 2, "offset": every - 1},
                            headers=clerk)).json()
        assert last["total"] == every and len(last["items"]) == 1
        past = (await c.get("/notify/messages", params={"receipt_no": RN, "offset": every + 5}, headers=clerk)).json()
        assert past == {"total": every, "items": []}
        notices = (await c.get("/notify/notices", params={"receipt_no": RN}, headers=clerk)).json()
        assert notices["total"] == len(notices["items"])

    async with svc.uow() as uow:  # type: ignore[attr-defined]
        rows = (await uow.session.execute(text(
            "SELECT receipt_no, fields, action FROM notify_access_log ORDER BY id"))).all()
    # Three answers showed texts (the last page past the end showed none): one row each.
    assert [tuple(r) for r in rows] == [(RN, "message.text", "GET /notify/messages")] * 3


def _counts_a_page(statement: str) -> bool:
    """The list's total (a count over the page's query as a subquery) — not the gauges the
    service's workers compute meanwhile (counts by state, duty gaps)."""
    s = statement.lower()
    return "count(" in s and "from (select" in s
