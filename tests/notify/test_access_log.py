"""Who looked at whom in notify (issue 20, item 4): a staff read of an SMS text to an applicant
(it names them in full) or of a released notice's link is recorded — who, when, which case,
which fields — and the database refuses to change or delete the log (SQLite and PostgreSQL)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text

from services.notify.app import create_service
from services.runtime.testing import in_memory

from .conftest import Harness, ScriptedProvider, accepted, contact, received, seed_directory
from .test_service import sealed

pytestmark = pytest.mark.timeout(120)


async def test_reads_of_applicant_texts_and_notices_are_logged_and_the_log_is_append_only(
        notify_settings, database_url: str) -> None:
    settings = notify_settings.model_copy(update={"database_url": database_url})
    svc = create_service(settings, ScriptedProvider(), deliver=False, release=True)
    async with in_memory(svc):
        h = Harness(svc, ScriptedProvider(), settings)
        await seed_directory(h)
        await h.publish(received())
        await h.publish(contact())
        await h.publish(accepted())
        from contracts.seal import SealDocument
        [cmd] = await h.events(SealDocument)
        await h.publish(sealed(cmd))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(svc.api), base_url="http://t") as c:
            def auth(sub: str, role: str, unit: str | None) -> dict[str, str]:
                return {"Authorization": f"Bearer {svc.auth.issue(sub, role, unit)}"}
            clerk = auth("S-CLERK", "clerk", cmd.unit_code)
            page = (await c.get("/notify/messages", params={"receipt_no": cmd.receipt_no}, headers=clerk)).json()
            [msg] = page["items"]
            assert "张三" in msg["text"]  # unmasked: the reason for the log
            assert (await c.get(f"/notify/messages/{msg['id']}", headers=clerk)).status_code == 200
            notices = (await c.get("/notify/notices", params={"receipt_no": cmd.receipt_no}, headers=clerk)).json()
            assert notices["items"][0]["short_url"]
            assert (await c.get("/notify/access-log", headers=clerk)).status_code == 403  # not an auditor

            sup = auth("S-SUP", "supervisor", None)
            rows = (await c.get("/notify/access-log", params={"receipt_no": cmd.receipt_no.lower()},
                                headers=sup)).json()
            assert [(r["staff_id"], r["role"], r["staff_unit"], r["receipt_no"], r["fields"], r["action"])
                    for r in rows] == [
                ("S-CLERK", "clerk", cmd.unit_code, cmd.receipt_no, ["notice.document"], "GET /notify/notices"),
                ("S-CLERK", "clerk", cmd.unit_code, cmd.receipt_no, ["message.text"],
                 "GET /notify/messages/{message_id}"),
                ("S-CLERK", "clerk", cmd.unit_code, cmd.receipt_no, ["message.text"], "GET /notify/messages"),
            ]
            assert rows[0]["at"].endswith(("Z", "+00:00"))
            assert (await c.get("/notify/access-log", params={"staff_id": "nobody"}, headers=sup)).json() == []
            bad = await c.get("/notify/access-log", params={"since": "2025-01-01T00:00:00"}, headers=sup)
            assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "since"
        for stmt in ("UPDATE notify_access_log SET staff_id = 'x'", "DELETE FROM notify_access_log"):
            async with svc.uow() as uow:
                with pytest.raises(Exception, match="append-only"):
                    await uow.session.execute(text(stmt))
                    await uow.commit()
        async with svc.uow() as uow:
            assert (await uow.session.execute(text("SELECT count(*) FROM notify_access_log"))).scalar() == 3
