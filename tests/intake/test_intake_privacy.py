"""Issue 20 in intake: no clerk-typed text on public topics, a lookup that cannot be guessed,
who looked at whom, retention of personal data, and the pages' hardening."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text

from contracts.common import Role
from contracts.topics import get_topic
from services.intake import workers
from services.intake.store import CaseRow
from services.intake.usecases import erase_expired
from services.runtime.testing import drain

from .privacy_flow import APPLICANT_ID, APPLICANT_MOBILE, EVIL, drive, leaks
from .service_helpers import KIND_ITEMS, client, clerk, file, intake_service, page_client, seed_catalog

pytestmark = pytest.mark.timeout(300)


async def _raw_outbox(svc) -> list[tuple[str, list[tuple[str, bytes]], bytes]]:  # type: ignore[no-untyped-def]
    ob = svc.db.tables.outbox
    async with svc.uow() as uow:
        rows = (await uow.session.execute(select(ob.c.topic, ob.c.headers, ob.c.payload).order_by(ob.c.id))).all()
    out = []
    for r in rows:
        headers = [(k, v if isinstance(v, bytes) else str(v).encode()) for k, v in (
            r.headers.items() if isinstance(r.headers, dict) else r.headers)]
        payload = r.payload if isinstance(r.payload, bytes) else str(r.payload).encode()
        out.append((r.topic, headers, payload))
    return out


def _clients(svc):  # type: ignore[no-untyped-def]
    return lambda role, unit, sub: client(svc, role, unit, sub)


async def test_adversarial_free_text_reaches_no_public_topic(tmp_path: Path) -> None:
    async with intake_service(tmp_path) as svc:
        await seed_catalog(svc)
        await drive(_clients(svc), "LYJ", ("ZRJ", "RFB"), KIND_ITEMS)
        records = await _raw_outbox(svc)
    public = [r for r in records if get_topic(r[0]).public]
    assert len(public) > 30
    assert leaks(records) == []
    # The texts went somewhere: to the internal topic notify reads, whole.
    internal = [r[2].decode() for r in records if r[0] == "intake.case-texts"]
    assert sum(EVIL in t for t in internal) >= 10  # decision x2, reason, note, answer, opinions x2, supplements x3, override
    # ... and the applicant's full identifiers only to the internal contacts topic.
    assert any(APPLICANT_MOBILE in r[2].decode() for r in records if r[0] == "intake.contacts")


async def test_a_receipt_number_locks_after_a_few_wrong_phone_tails(tmp_path: Path) -> None:
    async with intake_service(tmp_path, intake_lookup_max_failures=3, intake_lookup_lock_minutes=10) as svc:
        await seed_catalog(svc)
        async with clerk(svc) as c:
            no = (await file(c)).json()["receipt_no"]
        assert re.fullmatch(r"2024-LYJ-[2-9A-HJKMNP-Z]{8}", no)
        right = {"receipt_no": no, "mobile_last4": "5678"}
        async with client(svc, role=None, ip="10.9.0.1") as a, client(svc, role=None, ip="10.9.0.2") as b:
            assert (await a.post("/intake/public/status", json=right)).status_code == 200
            for who in (a, b, a):  # from different clients: the lock is the number's
                r = await who.post("/intake/public/status", json={**right, "mobile_last4": "0000"})
                assert r.status_code == 404 and r.json()["detail"] == "未查询到该办件，请核对受理编号和手机号码后四位"
            locked = await b.post("/intake/public/status", json=right)  # even the right pair
            assert locked.status_code == 429 and 0 < int(locked.headers["retry-after"]) <= 600
            assert "锁定" in locked.json()["detail"]
            rating = await a.post("/intake/public/ratings", json={**right, "level": "satisfied"})
            assert rating.status_code == 429
            # An unknown number locks alike: a lock tells nothing about whether a number exists.
            ghost = {"receipt_no": "2024-LYJ-ABCDEFGH", "mobile_last4": "0000"}
            assert [(await a.post("/intake/public/status", json=ghost)).status_code for _ in range(4)] == [
                404, 404, 404, 429]
            svc.clock.value += timedelta(minutes=10, seconds=1)
            assert (await b.post("/intake/public/status", json=right)).status_code == 200
            # Old numbers (sequential, before the change) stay valid in form.
            old = await a.post("/intake/public/status", json={"receipt_no": "2024-LYJ-00042", "mobile_last4": "1"})
            assert old.status_code == 404


async def test_reads_of_unmasked_data_are_logged_for_the_auditor_and_the_log_is_append_only(
        tmp_path: Path, database_url: str) -> None:
    async with intake_service(tmp_path, database_url=database_url) as svc:
        await seed_catalog(svc)
        async with clerk(svc) as c:
            no = (await file(c)).json()["receipt_no"]
            assert (await c.get(f"/intake/applications/{no}")).json()["applicant"]["mobile"] == APPLICANT_MOBILE
            assert len((await c.get("/intake/applications")).json()) == 1
            assert (await c.get("/intake/access-log")).status_code == 403  # clerks are not auditors
        async with client(svc, Role.SUPERVISOR, None, "S0001") as auditor:
            rows = (await auditor.get("/intake/access-log", params={"receipt_no": no.lower()})).json()
            assert [(r["staff_id"], r["action"]) for r in rows] == [
                ("C0001", "GET /applications"), ("C0001", "GET /applications/{receipt_no}"),
                ("C0001", "POST /applications")]
            assert rows[1]["fields"] == ["applicant.name", "applicant.mobile", "applicant.resident_id"]
            assert rows[1]["role"] == "clerk" and rows[1]["staff_unit"] == "LYJ" and rows[1]["at"].startswith("2024-06-03")
            assert rows[0]["fields"] == ["applicant.name"]
            assert (await auditor.get("/intake/access-log", params={"staff_id": "nobody"})).json() == []
            bad = await auditor.get("/intake/access-log", params={"since": "2024-06-03T00:00:00"})
            assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "since"
        # The database itself refuses to change or delete the log.
        for stmt in ("UPDATE intake_access_log SET staff_id = 'x'", "DELETE FROM intake_access_log"):
            async with svc.uow() as uow:
                with pytest.raises(Exception, match="append-only"):
                    await uow.session.execute(text(stmt))
                    await uow.commit()
        async with client(svc, Role.CENTER_ADMIN, None, "A0001") as admin:
            assert len((await admin.get("/intake/access-log")).json()) == 3


async def test_personal_data_of_archived_cases_is_pseudonymised_after_the_retention_period(tmp_path: Path) -> None:
    async with intake_service(tmp_path, intake_retention_days=30) as svc:
        await seed_catalog(svc)
        async with clerk(svc) as c:
            old = (await file(c)).json()["receipt_no"]
            await c.post(f"/intake/applications/{old}/decision", json={"outcome": "approved", "decision_text": EVIL})
            running = (await file(c)).json()["receipt_no"]
        async with client(svc, role=None) as pub:
            r = await pub.post("/intake/public/ratings", json={"receipt_no": old, "mobile_last4": "5678",
                                                               "level": "dissatisfied", "comment": EVIL})
            assert r.status_code == 201
        svc.clock.value += timedelta(days=29)
        assert await workers.erase_expired(svc) == []  # not yet
        svc.clock.value += timedelta(days=2)
        recent = None
        async with clerk(svc) as c:
            recent = (await file(c)).json()["receipt_no"]
            await c.post(f"/intake/applications/{recent}/decision", json={"outcome": "approved", "decision_text": EVIL})
        assert await workers.erase_expired(svc) == [old]
        async with svc.uow() as uow:  # idempotent: once erased, never again
            assert await erase_expired(uow, svc.state.intake, svc.clock.value) == []
        async with clerk(svc) as c:
            view = (await c.get(f"/intake/applications/{old}")).json()
            assert view["applicant"]["name"] == "张**" and view["applicant"]["mobile"] == "138****5678"
            assert view["applicant"]["resident_id"] == "110***********002X" and view["erased"] is True
            assert "银行卡" not in str(view) and view["decision_text"] == "（已按保存期限删除）"
            assert (await c.get(f"/intake/applications/{recent}")).json()["applicant"]["mobile"] == APPLICANT_MOBILE
            assert (await c.get(f"/intake/applications/{running}")).json()["applicant"]["resident_id"] == APPLICANT_ID
            rects = (await c.get("/intake/rectifications")).json()
            assert rects[0]["comment"] == "（已按保存期限删除）"
        async with svc.uow() as uow:
            row = await uow.session.get(CaseRow, old)
            assert row.erased_at is not None and "13812345678" not in str(row.data)
        # The public lookup still answers (masked); nothing unmasked was shown, so nothing logged.
        async with client(svc, role=None) as pub:
            assert (await pub.post("/intake/public/status", json={"receipt_no": old, "mobile_last4": "5678"})
                    ).status_code == 200
        async with client(svc, Role.SUPERVISOR, None, "S0001") as auditor:
            rows = (await auditor.get("/intake/access-log", params={"receipt_no": old})).json()
            assert all(r["action"] != "GET /applications/{receipt_no}" for r in rows)
        # Published outbox rows (full contacts and texts of the internal topics among them) go too,
        # once older than the retention period (by the outbox's own wall-clock stamp).
        ob = svc.db.tables.outbox
        await drain(svc)
        async with svc.uow() as uow:
            before = (await uow.session.execute(select(func.count()).select_from(ob))).scalar_one()
        svc.clock.value = datetime.now(UTC) + timedelta(days=31)
        await workers.erase_expired(svc)
        async with svc.uow() as uow:
            after = (await uow.session.execute(select(func.count()).select_from(ob))).scalar_one()
        assert before > 0 and after == 0


def _html_routes(svc) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Every intake route documented as answering HTML (the runtime's /docs and /redoc are not
    intake's pages)."""
    out = []
    for path, ops in svc.api.openapi()["paths"].items():
        for method, op in ops.items():
            html = any("text/html" in (resp.get("content") or {}) for resp in op.get("responses", {}).values())
            if path.startswith("/intake") and html:
                out.append((method.upper(), path))
    return out


def _check_headers(r: httpx.Response) -> None:
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script-src" not in csp
    assert "'unsafe-inline'" not in csp.split("style-src")[0]  # inline allowed for the stylesheet only
    assert r.headers["referrer-policy"] == "no-referrer" and r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["cache-control"] == "no-store"
    assert "<script" not in r.text and "javascript:" not in r.text
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", r.text)  # no inline event handlers


@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_every_html_route_is_hardened_and_every_form_needs_its_csrf_token(tmp_path: Path, scheme: str) -> None:
    async with intake_service(tmp_path) as svc:
        await seed_catalog(svc)
        async with clerk(svc) as c:
            no = (await file(c)).json()["receipt_no"]
        routes = _html_routes(svc)
        assert routes == [("GET", "/intake/public/status"), ("POST", "/intake/public/status/page"),
                          ("GET", "/intake/public/ratings/{receipt_no}"), ("POST", "/intake/public/ratings/{receipt_no}")]
        forms = {"/intake/public/status/page": {"receipt_no": no, "mobile_last4": "5678"},
                 "/intake/public/ratings/{receipt_no}": {"level": "satisfied", "mobile_last4": "0000"}}
        transport = httpx.ASGITransport(app=svc.api, client=("10.3.0.1", 40000))
        token = ""
        async with httpx.AsyncClient(transport=transport, base_url=f"{scheme}://intake.test") as browser:
            for method, path in routes:
                url = path.replace("{receipt_no}", no)
                if method == "GET":
                    r = await browser.get(url)
                    assert r.status_code == 200, (path, r.status_code)
                    _check_headers(r)
                    if "set-cookie" not in r.headers:  # the browser has its token already: kept
                        assert browser.cookies and token in r.text
                        continue
                    cookie = r.headers["set-cookie"]
                    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
                    if scheme == "https":
                        assert cookie.startswith("__Host-intake_csrf=") and "Secure" in cookie and "Path=/;" in cookie
                    else:
                        assert cookie.startswith("intake_csrf=") and "Secure" not in cookie
                    token = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)  # type: ignore[union-attr]
                    assert token in cookie
                    continue
                # No token, a wrong token, a cross-site post: refused, nothing done.
                for data, headers in ((forms[path], {}), ({**forms[path], "csrf_token": "x" * 43}, {}),
                                      ({**forms[path], "csrf_token": token}, {"sec-fetch-site": "cross-site"})):
                    r = await browser.post(url, data=data, headers=headers)
                    assert r.status_code == 403 and "页面已过期" in r.text, (path, r.status_code)
                    _check_headers(r)
                ok = await browser.post(url, data={**forms[path], "csrf_token": token})
                assert ok.status_code in (200, 404, 409), (path, ok.status_code, ok.text)
                _check_headers(ok)
        # A post from a page without its cookie (another browser) is refused too.
        async with page_client(svc) as other:
            token = await other.csrf_token()
        transport = httpx.ASGITransport(app=svc.api, client=("10.3.0.2", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://intake.test") as stranger:
            r = await stranger.post("/intake/public/status/page", data={"receipt_no": no, "mobile_last4": "5678",
                                                                        "csrf_token": token})
            assert r.status_code == 403
