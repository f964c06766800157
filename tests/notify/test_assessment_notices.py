"""The year-end assessment notice (issue 22): the center's decision goes to the staff member's unit
as a notice sealed with the center's seal, readable by that unit's head and the center only."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from sqlmodel import select

from contracts.attendance import AssessmentGrade, AssessmentParts, StaffAssessmentDecided
from contracts.common import Role
from contracts.seal import (
    CenterDocumentType, DocumentFormat, DocumentSealed, RefusalCode, SealDocument, SealedFile, SealingRefused,
    SignatureFormat,
)
from services.notify.store import AssessmentNoticeRow, MessageRow
from services.notify.usecases import assessments

from .conftest import Harness

pytestmark = pytest.mark.timeout(120)

UNIT, OTHER = "SCJG", "GAJ"


def decided(**kw) -> StaffAssessmentDecided:
    data = dict(
        assessment_id="2026/S-7001", year=2026, staff_id="S-7001", name="钱多多", unit_code=UNIT,
        unit_name="示范县市场监督管理局", window_no="71", grade=AssessmentGrade.COMPETENT,
        proposed_grade=AssessmentGrade.EXCELLENT, score=91.5, formula="考核得分 = (0.4×全年出勤得分 + …)",
        parts=AssessmentParts(attendance_score=96.0, satisfaction_index=88.0, on_time_rate=0.975, violations=2,
                              awards=1),
        decided_by="admin-1", decided_by_name="中心管理员", decided_at=datetime(2026, 12, 7, 2, 0, tzinfo=UTC),
        note="全年违规违章两次，评为称职。")
    data.update(kw)
    return StaffAssessmentDecided(**data)


def sealed(cmd: SealDocument, url: str = "https://seal.example/seal/files/tok.pdf") -> DocumentSealed:
    return DocumentSealed(
        request_id=cmd.request_id, receipt_no=None, reference=cmd.reference, unit_code=cmd.unit_code,
        document_no="ZX-2026-000001", document_type=cmd.document_type, sha256="a" * 64, size_bytes=1234, url=url,
        seal_id="ZX-approval-1", seal_serial="01", signed_at=datetime(2026, 12, 7, 2, 1, tzinfo=UTC),
        files=[SealedFile(format=DocumentFormat.PDF, signature=SignatureFormat.PADES, sha256="a" * 64,
                          size_bytes=1234, url=url, cert_serial="01")])


def api(h: Harness, role: Role, unit: str | None = None) -> httpx.AsyncClient:
    token = h.service.auth.issue("staff-x", role, unit)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=h.service.api), base_url="http://notify.test",
                             headers={"Authorization": f"Bearer {token}"})


async def rows(h: Harness) -> list[AssessmentNoticeRow]:
    async with h.service.uow() as uow:
        return list((await uow.session.exec(select(AssessmentNoticeRow))).all())


async def test_a_decision_asks_for_the_centers_seal_on_the_units_notice(harness: Harness) -> None:
    h = harness
    await h.publish(decided(), id="ev-decided-1")
    [cmd] = await h.events(SealDocument)
    assert cmd.version == 2 and cmd.receipt_no is None and cmd.reference == "2026/S-7001"
    assert cmd.document_type is CenterDocumentType.ASSESSMENT
    assert cmd.unit_code == "ZX"  # the center's seal (ONEWINDOW_NOTIFY_CENTER_UNIT_CODE), not the unit's
    assert cmd.title == "年终考核结果通知书" and cmd.pdf_base64 and cmd.printed_no == "中心考〔2026〕0001号"
    [row] = await rows(h)
    assert row.state == "requested" and row.unit_code == UNIT

    text = assessments.render(h.settings, row, "2026-12-07").plain_text()
    for words in ("示范县行政审批服务中心", "示范县市场监督管理局：", "71号窗口", "钱多多", "2026年度考核等次为称职",
                  "综合得分91.5分，拟定等次为优秀", "考核公式：考核得分 = (0.4×全年出勤得分", "按时办结率：97.5%",
                  "违规违章：2次", "全年违规违章两次，评为称职。", "可向中心申诉一次", "2026年12月7日"):
        assert words in text, (words, text)
    assert "复核决定" not in text

    # the same event again (past the inbox): no second notice
    await h.publish(decided(), id="ev-decided-1")
    assert len(await h.events(SealDocument)) == 1 and len(await rows(h)) == 1
    # nobody outside is texted; notify publishes nothing else (no public event names anyone)
    async with h.service.uow() as uow:
        assert (await uow.session.exec(select(MessageRow))).all() == []
    assert [type(e).__name__ for e in await h.events()] == ["SealDocument"]


async def test_the_appeal_decision_is_a_final_review_notice(harness: Harness) -> None:
    h = harness
    await h.publish(decided(on_appeal=True, grade=AssessmentGrade.EXCELLENT, previous_grade=AssessmentGrade.COMPETENT,
                            appeal_reason="违规违章一次已撤销", note="复核后改评优秀。"), id="ev-appeal")
    [row] = await rows(h)
    assert row.on_appeal
    text = assessments.render(h.settings, row, "2026-12-08").plain_text()
    for words in ("对2026年度考核结果（称职）提出申诉", "违规违章一次已撤销", "复核决定", "考核等次为优秀",
                  "本复核决定为最终决定", "复核后改评优秀。"):
        assert words in text, (words, text)
    assert "可向中心申诉一次" not in text


async def test_no_data_for_the_year_still_makes_a_notice(harness: Harness) -> None:
    h = harness
    await h.publish(decided(proposed_grade=None, score=None, parts=AssessmentParts(violations=0, awards=0)), id="ev-nodata")
    [row] = await rows(h)
    text = assessments.render(h.settings, row, "2026-12-07").plain_text()
    assert "未计算得分" in text and "全年出勤得分：无数据" in text and "按时办结率：无办结件" in text


async def test_sealed_the_units_head_and_the_center_read_it_others_do_not(harness: Harness) -> None:
    h = harness
    await h.publish(decided(), id="ev-decided-2")
    [cmd] = await h.events(SealDocument)
    await h.publish(sealed(cmd))
    [row] = await rows(h)
    assert row.state == "released" and row.sealed_document_no == "ZX-2026-000001"

    async with api(h, Role.UNIT_HEAD, UNIT) as c:
        page = (await c.get("/notify/assessment-notices")).json()
        assert page["total"] == 1
        item = page["items"][0]
        assert (item["staff_name"], item["grade_label"], item["state"], item["unit_code"]) == ("钱多多", "称职", "released", UNIT)
        assert item["files"][0]["href"] == f"/notify/assessment-notices/{row.id}/file?format=pdf"
        assert (await c.get(f"/notify/assessment-notices/{row.id}")).status_code == 200
        bad = await c.get(f"/notify/assessment-notices/{row.id}/file", params={"format": "docx"})
        assert bad.status_code == 422 and "format" in bad.text
    async with api(h, Role.SUPERVISOR) as c:
        assert (await c.get("/notify/assessment-notices", params={"unit_code": UNIT, "year": 2026})).json()["total"] == 1
        assert (await c.get("/notify/assessment-notices", params={"year": 2025})).json()["total"] == 0
    async with api(h, Role.UNIT_HEAD, OTHER) as c:  # another unit's head
        assert (await c.get("/notify/assessment-notices")).json()["total"] == 0
        r = await c.get("/notify/assessment-notices", params={"unit_code": UNIT})
        assert r.status_code == 403 and "unit_code" in r.text
        assert (await c.get(f"/notify/assessment-notices/{row.id}")).status_code == 403
        assert (await c.get(f"/notify/assessment-notices/{row.id}/file")).status_code == 403
    async with api(h, Role.CLERK, UNIT) as c:  # a clerk, even of the unit: personnel matters are the head's
        assert (await c.get("/notify/assessment-notices")).status_code == 403
        assert (await c.get(f"/notify/assessment-notices/{row.id}")).status_code == 403
    async with api(h, Role.UNIT_HEAD, UNIT) as c:
        assert (await c.get("/notify/assessment-notices/nonexistent")).status_code == 404

    # the answer again changes nothing
    await h.publish(sealed(cmd))
    assert [r.state for r in await rows(h)] == ["released"]


async def test_a_refused_seal_fails_visibly_and_the_center_retries(harness: Harness) -> None:
    h = harness
    await h.publish(decided(), id="ev-decided-3")
    [cmd] = await h.events(SealDocument)
    await h.publish(SealingRefused(request_id=cmd.request_id, receipt_no=None, reference=cmd.reference,
                                   unit_code="ZX", document_type=cmd.document_type,
                                   reason_code=RefusalCode.NO_SEAL, reason="该单位没有可用的印章",
                                   refused_at=datetime(2026, 12, 7, 2, 1, tzinfo=UTC)))
    [row] = await rows(h)
    assert row.state == "failed" and row.failure_reason == "sealing_refused" and "no_seal" in row.failure_detail
    async with api(h, Role.UNIT_HEAD, UNIT) as c:
        item = (await c.get(f"/notify/assessment-notices/{row.id}")).json()
        assert item["state"] == "failed"
        file = await c.get(f"/notify/assessment-notices/{row.id}/file")
        assert file.status_code == 409  # nothing sealed to open
        assert (await c.post(f"/notify/assessment-notices/{row.id}/retry")).status_code == 403  # the center retries
    async with api(h, Role.CENTER_ADMIN) as c:
        r = await c.post(f"/notify/assessment-notices/{row.id}/retry")
        assert r.status_code == 200 and r.json()["state"] == "requested" and r.json()["attempts"] == 2
        again = await c.post(f"/notify/assessment-notices/{row.id}/retry")
        assert again.status_code == 409
    cmds = await h.events(SealDocument)
    assert len(cmds) == 2 and cmds[1].request_id != cmds[0].request_id
    assert cmds[1].printed_no == cmds[0].printed_no  # the same notice, the same number


async def test_a_case_notices_answer_is_not_taken_for_an_assessment(harness: Harness) -> None:
    """An answer of no case for a request notify never made changes nothing (matched by request id)."""
    h = harness
    await h.publish(decided(), id="ev-decided-4")
    [cmd] = await h.events(SealDocument)
    other = sealed(cmd).model_copy(update={"request_id": "someone-elses-1"})
    await h.publish(other)
    assert [r.state for r in await rows(h)] == ["requested"]


async def test_no_answer_from_seal_fails_visibly_and_a_late_one_still_releases(harness: Harness) -> None:
    from datetime import timedelta

    h = harness
    await h.publish(decided(), id="ev-decided-5")
    [cmd] = await h.events(SealDocument)
    [row] = await rows(h)
    assert await assessments.sweep_timeouts(h.service, h.settings, h.state.metrics, row.requested_at) == 0
    later = row.requested_at.replace(tzinfo=UTC) + h.settings.seal_timeout + timedelta(seconds=1)
    assert await assessments.sweep_timeouts(h.service, h.settings, h.state.metrics, later) == 1
    [row] = await rows(h)
    assert row.state == "failed" and row.failure_reason == "sealing_timed_out"
    await h.publish(sealed(cmd))
    assert [r.state for r in await rows(h)] == ["released"]
