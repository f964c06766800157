"""notify as a service on the in-memory broker: events in, sealed notices and SMS out, each once."""

from __future__ import annotations

import base64
import subprocess
from datetime import UTC, date, datetime, timedelta

import httpx
from sqlalchemy import select

from contracts.common import CaseKind, DocumentType
from contracts.deadline import DeadlineMissed, DeadlineWarned, ExtensionGranted, SupervisionNoticeIssued, NoticeSource
from contracts.attendance import DutyGapDetected, DutyPerson
from contracts.intake import DecisionTextRecorded as ApplicationDecided, MissingMaterial, NotAcceptedReason
from contracts.intake import NotAcceptedTextRecorded as ApplicationNotAccepted
from contracts.intake import Outcome as Decision
from contracts.intake import SupplementStage, SupplementTextRecorded as SupplementRequested
from contracts.notify import (
    NoticeFailed, NoticeReleased, NoticeRequested, SmsDelivered, SmsFailed, SmsUnconfirmed, SmsSent,
)
from contracts.common import ApplicantType
from contracts.seal import DocumentSealed, RefusalCode, SealDocument, SealingRefused
from services.notify.app import create_service
from services.notify.usecases.notices import sweep_timeouts
from services.notify.domain import Outcome, Receipt, SendResult
from services.notify.store import MessageRow, NoticeRow
from services.runtime.testing import in_memory

from .conftest import (
    APPLICANT_MOBILE, CLERK_MOBILE, DUTY_MOBILE, HEAD_MOBILE, RN, UNIT, Harness, ScriptedProvider, accepted, contact,
    received, seed_directory,
)


def sealed(cmd: SealDocument, url: str = "https://seal.example/doc/abc.pdf") -> DocumentSealed:
    return DocumentSealed(request_id=cmd.request_id, receipt_no=cmd.receipt_no, unit_code=cmd.unit_code,
                          document_no="SEAL-1", document_type=cmd.document_type, sha256="0" * 64, size_bytes=1000,
                          url=url, seal_id="seal-1", seal_serial="ab", signed_at=datetime.now(UTC))


async def messages(h: Harness) -> list[MessageRow]:
    async with h.service.uow() as uow:
        return list((await uow.session.execute(select(MessageRow).order_by(MessageRow.created_at))).scalars())


async def notices(h: Harness) -> list[NoticeRow]:
    async with h.service.uow() as uow:
        return list((await uow.session.execute(select(NoticeRow).order_by(NoticeRow.created_at))).scalars())


async def test_accepted_case_gets_a_sealed_acceptance_notice_and_one_sms(harness: Harness):
    h = harness
    await seed_directory(h)
    await h.publish(received())
    await h.publish(contact())
    env = await h.publish(accepted())
    [cmd] = await h.events(SealDocument)
    assert (cmd.receipt_no, cmd.unit_code, cmd.document_type, cmd.requested_by) == (RN, UNIT, DocumentType.ACCEPTANCE, "notify")
    pdf = base64.b64decode(cmd.pdf_base64)
    assert pdf.startswith(b"%PDF-")
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert "受理通知书" in "".join(text.split()) and "张三" in text
    assert cmd.seal_box is not None and cmd.seal_box.page == 0 and cmd.seal_box.x2 - cmd.seal_box.x1 > 100
    [requested] = await h.events(NoticeRequested)
    assert requested.cause_event_id == env.id and requested.document_no.startswith(f"{UNIT}审受〔")

    await h.publish(env.data, id=env.id)  # redelivery of the same event: skipped
    assert len(await h.events(SealDocument)) == 1

    await h.publish(sealed(cmd))
    [released] = await h.events(NoticeReleased)
    assert released.url.startswith("https://zw.example.gov.cn/s/")
    [msg] = await messages(h)
    assert msg.template == "notice_acceptance" and msg.mobile == APPLICANT_MOBILE and msg.state == "queued"
    assert msg.text.startswith("【示范县行政审批服务中心】张三您好") and released.url in msg.text

    assert await h.deliver() == 1
    assert [s.mobile for s in h.provider.sent] == [APPLICANT_MOBILE]
    [sent] = await h.events(SmsSent)
    assert sent.mobile == "138****8000" and sent.provider_message_ids == ["P1"]
    assert await h.deliver() == 0  # nothing sent twice

    await h.state.worker.on_receipt(Receipt("scripted", "P1", "DELIVRD", datetime.now(UTC)))
    [delivered] = await h.events(SmsDelivered)
    assert delivered.message_id == msg.id
    assert (await messages(h))[0].state == "delivered"

    # The short link redirects to the sealed PDF.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(h.service.api), base_url="http://t") as client:
        code = released.url.rsplit("/", 1)[1]
        r = await client.get(f"/s/{code}")
        assert r.status_code == 307 and r.headers["location"] == "https://seal.example/doc/abc.pdf"
        assert (await client.get("/s/nope")).status_code == 404


async def test_notice_waits_for_the_contact_when_it_comes_second(harness: Harness):
    h = harness
    await h.publish(received())
    await h.publish(accepted())
    assert await h.events(SealDocument) == []
    assert [n.state for n in await notices(h)] == ["awaiting_contact"]
    await h.publish(contact())
    assert len(await h.events(SealDocument)) == 1
    assert [n.state for n in await notices(h)] == ["requested"]


async def test_supplement_notice_lists_every_missing_material(harness: Harness):
    h = harness
    await h.publish(contact())
    missing = [MissingMaterial(code="M01", name="营业执照复印件", reason="未加盖公章"),
               MissingMaterial(code="M03", name="食品安全管理制度", reason=None),
               MissingMaterial(code="X01", name="经营场所平面图", reason="未标明设备布局")]
    await h.publish(SupplementRequested(receipt_no=RN, unit_code=UNIT, item_code="SJJ-001", item_version=1,
                                        requested_at=datetime.now(UTC), stage=SupplementStage.AT_WINDOW,
                                        stops_clock=False, missing=missing, request_no=1,
                                        item_name="食品经营许可（新办）", unit_name="示范县市场监督管理局"))
    [cmd] = await h.events(SealDocument)
    assert cmd.document_type is DocumentType.SUPPLEMENT
    text = "".join(subprocess.run(["pdftotext", "-", "-"], input=base64.b64decode(cmd.pdf_base64),
                                  capture_output=True, check=True).stdout.decode().split())
    for m in missing:
        assert m.name in text
    assert "以上共3项" in text
    await h.publish(sealed(cmd))
    [msg] = await messages(h)
    assert msg.template == "notice_supplement" and "需补正材料3项" in msg.text


async def test_refused_seal_fails_visibly_and_alerts_the_clerk(harness: Harness):
    h = harness
    await seed_directory(h)
    await h.publish(contact())
    await h.publish(accepted())
    [cmd] = await h.events(SealDocument)
    await h.publish(SealingRefused(request_id=cmd.request_id, receipt_no=RN, unit_code=UNIT,
                                   document_type=cmd.document_type, reason_code=RefusalCode.SEAL_REVOKED,
                                   reason="印章已注销，不得使用", refused_at=datetime.now(UTC)))
    [failed] = await h.events(NoticeFailed)
    assert failed.reason.value == "sealing_refused" and "印章已注销" in failed.detail
    [alert] = await messages(h)
    assert (alert.mobile, alert.template, alert.category) == (CLERK_MOBILE, "staff_notice_failed", "staff_alert")
    # A seal arriving for a refused request does not release it...
    await h.publish(sealed(cmd))
    assert await h.events(NoticeReleased) == []
    # ...a staff retry sends it again under a new request id.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(h.service.api), base_url="http://t") as client:
        token = h.service.auth.issue("S-CLERK", "clerk", UNIT)
        r = await client.post(f"/notify/notices/{failed.notice_id}/retry", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        # the retry keeps its number and is laid out again after the request's transaction
        assert r.json()["state"] == "rendering" and r.json()["attempts"] == 1
        await h.render()
        r = await client.get(f"/notify/notices?receipt_no={RN}", headers={"Authorization": f"Bearer {token}"})
        [again] = r.json()["items"]
        assert (again["state"], again["attempts"]) == ("requested", 2)
        other = h.service.auth.issue("S-X", "clerk", "OTHER")
        r = await client.post(f"/notify/notices/{failed.notice_id}/retry", headers={"Authorization": f"Bearer {other}"})
        assert r.status_code == 403
    cmds = await h.events(SealDocument)
    assert len(cmds) == 2 and cmds[1].request_id != cmds[0].request_id


async def test_seal_timeout_fails_the_notice_and_a_late_seal_still_releases_it(harness: Harness):
    h = harness
    await h.publish(contact())
    await h.publish(accepted())
    [cmd] = await h.events(SealDocument)
    later = datetime.now(UTC) + h.settings.seal_timeout + timedelta(seconds=1)
    assert await sweep_timeouts(h.service, h.state.notices, later) == 1
    [failed] = await h.events(NoticeFailed)
    assert failed.reason.value == "sealing_timed_out"
    await h.publish(sealed(cmd))
    assert len(await h.events(NoticeReleased)) == 1


async def test_decision_gives_the_decision_notice_and_a_survey_that_honours_opt_out(harness: Harness):
    h = harness
    await h.publish(contact())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(h.service.api), base_url="http://t") as client:
        r = await client.post("/notify/opt-outs", json={"mobile": APPLICANT_MOBILE})
        assert r.status_code == 201 and r.json()["mobile"] == "138****8000"
        assert (await client.post("/notify/opt-outs", json={"mobile": "123"})).json()["errors"][0]["field"] == "mobile"
    await h.publish(ApplicationDecided(receipt_no=RN, unit_code=UNIT, item_code="SJJ-001", item_version=1,
                                       outcome=Decision.DENIED, decision_text="经现场核查，经营场所不符合要求。",
                                       decided_at=datetime.now(UTC), case_kind=CaseKind.PROMISED, on_the_spot=False,
                                       item_name="食品经营许可（新办）", unit_name="示范县市场监督管理局",
                                       applicant_type=ApplicantType.PERSON))
    [cmd] = await h.events(SealDocument)
    assert cmd.document_type is DocumentType.DENIAL
    [survey] = await messages(h)
    assert survey.template == "survey" and survey.state == "suppressed"
    await h.publish(sealed(cmd))
    legal = [m for m in await messages(h) if m.template == "notice_denial"]
    assert len(legal) == 1 and legal[0].state == "queued"  # legal notices ignore the opt-out
    await h.deliver()
    assert [s.template for s in h.provider.sent] == ["notice_denial"]


async def test_survey_waits_for_a_late_contact(harness: Harness):
    h = harness
    await h.publish(ApplicationDecided(receipt_no=RN, unit_code=UNIT, item_code="SJJ-001", item_version=1,
                                       outcome=Decision.APPROVED, decision_text="准予许可。", decided_at=datetime.now(UTC),
                                       case_kind=CaseKind.IMMEDIATE, on_the_spot=True, item_name="食品经营许可（新办）",
                                       unit_name="示范县市场监督管理局", applicant_type=ApplicantType.PERSON))
    assert await messages(h) == []
    await h.publish(contact())
    [survey] = await messages(h)
    assert survey.template == "survey" and f"/ratings/{RN}" in survey.text
    assert len(await h.events(SealDocument)) == 1  # the approval notice, once the contact is known


async def test_staff_alerts_go_to_the_right_people(harness: Harness):
    h = harness
    await seed_directory(h)
    await h.publish(accepted())
    await h.publish(DeadlineWarned(receipt_no=RN, unit_code=UNIT, item_code="SJJ-001", threshold_days=2, days_left=2,
                                   due_date=date(2025, 3, 20), warned_at=datetime.now(UTC)))
    await h.publish(DeadlineMissed(receipt_no=RN, unit_code=UNIT, item_code="SJJ-001", due_date=date(2025, 3, 20),
                                   statutory_due_date=date(2025, 4, 3), overdue_at=datetime.now(UTC)))
    await h.publish(SupervisionNoticeIssued(notice_no="督〔2025〕7号", unit_code=UNIT, receipt_no=RN, raised_by="sup",
                                            raised_at=datetime.now(UTC), reason="超期未办结", reply_due=date(2025, 3, 28),
                                            origin=NoticeSource.OVERDUE))
    await h.publish(DutyGapDetected(window_no="12", unit_code=UNIT, unit_name="示范县市场监督管理局", day=date(2025, 3, 8),
                                    opening_time=datetime(2025, 3, 8, 9, 0).time(), closing_time=datetime(2025, 3, 8, 17, 0).time(),
                                    time_zone="Asia/Shanghai", grace_minutes=15,
                                    post_a=DutyPerson(staff_id="S-CLERK", name="李四"), post_b=None,
                                    detected_at=datetime.now(UTC)))
    got = {(m.template, m.mobile) for m in await messages(h)}
    assert got == {("staff_deadline_warned", CLERK_MOBILE), ("staff_deadline_overdue", HEAD_MOBILE),
                   ("staff_supervision", HEAD_MOBILE), ("staff_duty_gap", DUTY_MOBILE)}
    assert all(m.category == "staff_alert" and m.state == "queued" for m in await messages(h))


async def test_throttled_send_is_retried_later_and_permanent_error_fails(harness: Harness):
    h = harness
    await seed_directory(h)
    await h.publish(DutyGapDetected(window_no="12", unit_code=UNIT, unit_name="示范县市场监督管理局", day=date(2025, 3, 8),
                                    opening_time=datetime(2025, 3, 8, 9, 0).time(), closing_time=datetime(2025, 3, 8, 17, 0).time(),
                                    time_zone="Asia/Shanghai", grace_minutes=15, detected_at=datetime.now(UTC)))
    h.provider.script = [SendResult(Outcome.TEMPORARY, "scripted", code="0x00000058", reason="throttled")]
    t0 = datetime.now(UTC)
    assert await h.deliver() == 1
    [msg] = await messages(h)
    assert msg.state == "queued" and msg.attempts == 1 and msg.code == "0x00000058"
    assert msg.not_before.replace(tzinfo=UTC) >= t0 + timedelta(seconds=20)  # backoff 30 s +/- jitter
    assert await h.deliver() == 0  # not due yet
    assert await h.state.worker.run_once(t0 + timedelta(minutes=5)) == 1
    assert (await messages(h))[0].state == "sent" and len(h.provider.sent) == 2

    await h.publish(SupervisionNoticeIssued(notice_no="督〔2025〕8号", unit_code=UNIT, raised_by="sup",
                                            raised_at=datetime.now(UTC), reason="窗口无人", reply_due=date(2025, 3, 28),
                                            origin=NoticeSource.MANUAL))
    h.provider.script = [SendResult(Outcome.PERMANENT, "scripted", code="0x0000000B", reason="invalid destination")]
    await h.deliver()
    [failed] = await h.events(SmsFailed)
    assert failed.permanent and failed.code == "0x0000000B" and failed.stage.value == "submit"


async def test_restart_mid_send_leaves_the_message_unknown_not_resent(notify_settings):
    provider = ScriptedProvider()
    svc = create_service(notify_settings, provider, deliver=False)
    async with in_memory(svc):
        h = Harness(svc, provider, notify_settings)
        await seed_directory(h)
        await h.publish(DutyGapDetected(window_no="12", unit_code=UNIT, unit_name="示范县市场监督管理局", day=date(2025, 3, 8),
                                        opening_time=datetime(2025, 3, 8, 9, 0).time(), closing_time=datetime(2025, 3, 8, 17, 0).time(),
                                        time_zone="Asia/Shanghai", grace_minutes=15, detected_at=datetime.now(UTC)),
                        id="gap-1")
        [msg] = await messages(h)
        # The worker claimed it and the process died before the provider's answer was stored.
        from services.notify import store
        async with svc.uow() as uow:
            assert await store.claim(uow.session, msg.id, datetime.now(UTC))
            await uow.commit()
    provider2 = ScriptedProvider()
    svc2 = create_service(notify_settings, provider2, deliver=False)  # same database: a restart
    async with in_memory(svc2):
        h2 = Harness(svc2, provider2, notify_settings)
        assert await h2.state.worker.recover() == 1
        assert await h2.deliver() == 0
        assert provider2.sent == []
        [unknown] = await h2.events(SmsUnconfirmed)
        assert unknown.message_id == msg.id
        # The same event delivered again after the restart: the inbox remembers it.
        await h2.publish(DutyGapDetected(window_no="12", unit_code=UNIT, unit_name="示范县市场监督管理局",
                                         day=date(2025, 3, 8), opening_time=datetime(2025, 3, 8, 9, 0).time(),
                                         closing_time=datetime(2025, 3, 8, 17, 0).time(), time_zone="Asia/Shanghai",
                                         grace_minutes=15, detected_at=datetime.now(UTC)), id="gap-1")
        assert len(await messages(h2)) == 1
        # A supervisor settles it: resend on purpose.
        async with httpx.AsyncClient(transport=httpx.ASGITransport(svc2.api), base_url="http://t") as client:
            clerk = svc2.auth.issue("c", "clerk", UNIT)
            r = await client.post(f"/notify/messages/{msg.id}/resolve", json={"action": "resend"},
                                  headers={"Authorization": f"Bearer {clerk}"})
            assert r.status_code == 403
            sup = svc2.auth.issue("s", "supervisor", None, name="督查员")
            r = await client.post(f"/notify/messages/{msg.id}/resolve", json={"action": "resend", "note": "电话确认未收到"},
                                  headers={"Authorization": f"Bearer {sup}"})
            assert r.status_code == 200 and r.json()["state"] == "queued"
            page = (await client.get("/notify/messages", headers={"Authorization": f"Bearer {sup}"})).json()
            assert page["total"] == 1 and page["items"][0]["mobile"] == "139****9003"
            health = (await client.get("/notify/providers/health", headers={"Authorization": f"Bearer {sup}"})).json()
            assert health["ok"] and health["messages"] == {"queued": 1}
        assert await h2.deliver() == 1 and len(provider2.sent) == 1


async def test_extension_and_not_accepted_notices(harness: Harness):
    h = harness
    await h.publish(contact())
    await h.publish(accepted())
    await h.publish(ExtensionGranted(receipt_no=RN, unit_code=UNIT, extension_id="e1", days=10, approved_by="局长",
                                     reason="需组织专家论证", granted_at=datetime.now(UTC), old_due_date=date(2025, 3, 20),
                                     new_due_date=date(2025, 4, 3), new_statutory_due_date=date(2025, 4, 17)))
    await h.publish(ApplicationNotAccepted(receipt_no="2025-SJJ-00043", unit_code=UNIT, item_code="SJJ-001", item_version=1,
                                           reason_code=NotAcceptedReason.NOT_ELIGIBLE, reason="申请人不具备申请资格",
                                           decided_at=datetime.now(UTC), item_name="食品经营许可（新办）",
                                           unit_name="示范县市场监督管理局", applicant_type=ApplicantType.PERSON))
    await h.publish(contact("2025-SJJ-00043", "13700137000"))
    types = [c.document_type for c in await h.events(SealDocument)]
    assert types == [DocumentType.ACCEPTANCE, DocumentType.EXTENSION, DocumentType.NOT_ACCEPTED]


async def test_metrics_count_sms_by_provider_and_outcome(harness: Harness):
    h = harness
    await seed_directory(h)
    await h.publish(DutyGapDetected(window_no="12", unit_code=UNIT, unit_name="示范县市场监督管理局", day=date(2025, 3, 8),
                                    opening_time=datetime(2025, 3, 8, 9, 0).time(), closing_time=datetime(2025, 3, 8, 17, 0).time(),
                                    time_zone="Asia/Shanghai", grace_minutes=15, detected_at=datetime.now(UTC)))
    await h.deliver()
    body, _ = h.service.metrics.render()
    assert b'onewindow_notify_sms_events_total{code="OK",outcome="sent",provider="scripted"} 1.0' in body

