"""The year-end assessment tab (/manage/attendance/assessments) against stand-ins for attendance and
notify: grades with the formula and decisions, and a link to each decision's sealed notice, whose
PDF comes through notify with the signed-in person's token."""

from __future__ import annotations

import httpx
import pytest

from tests.console.test_console_unit import console, sign_in  # noqa: F401 (fixture)

pytestmark = pytest.mark.timeout(60)

NOTICE_ID = "0123456789abcdef0123456789abcdef"
ROW = {"year": 2026, "staff_id": "s1", "name": "王小丽", "unit_code": "FGJ", "unit_name": "发改局", "window_no": "01",
       "parts": {"attendance_score": 96.0, "satisfaction_index": 88.0, "on_time_rate": 0.97, "violations": 0,
                 "awards": 1},
       "score": 93.4, "proposed_grade": "excellent", "proposed_grade_label": "优秀",
       "formula": "考核得分 = (0.4×全年出勤得分 + …)",
       "decision": {"grade": "competent", "grade_label": "称职", "decided_by": "admin", "decided_by_name": "中心管理员"}}
UNDECIDED = {**ROW, "staff_id": "s2", "name": "李大明", "decision": None}
NOTICE = {"id": NOTICE_ID, "assessment_id": "2026/s1", "year": 2026, "staff_id": "s1", "staff_name": "王小丽",
          "unit_code": "FGJ", "unit_name": "发改局", "window_no": "01", "grade": "competent", "grade_label": "称职",
          "on_appeal": False, "document_no": "中心考〔2026〕0001号", "state": "released", "attempts": 1,
          "requested_at": None, "sealed_at": None, "sealed_document_no": "ZX-2026-000001", "failure_reason": None,
          "failure_detail": None, "created_at": "2026-12-07T02:00:00Z", "files": []}


def _stands(stand, notify_status: int = 200) -> None:  # type: ignore[no-untyped-def]
    stand.answers[("GET", "/attendance/assessments/2026")] = lambda req: httpx.Response(200, json=[ROW, UNDECIDED])
    stand.answers[("GET", "/notify/assessment-notices")] = lambda req: (
        httpx.Response(200, json={"total": 1, "items": [NOTICE]}) if notify_status == 200
        else httpx.Response(notify_status, json={"title": "x", "status": notify_status}))
    stand.answers[("GET", f"/notify/assessment-notices/{NOTICE_ID}/file")] = lambda req: httpx.Response(
        200, content=b"%PDF-1.7 sealed", headers={"content-type": "application/pdf"})


async def test_the_tab_links_each_decision_to_its_sealed_notice(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    _stands(stand)
    await sign_in(client, "supervisor", "Ducha2026")
    r = await client.get("/manage/attendance/assessments?year=2026")
    assert r.status_code == 200, r.text
    assert ROW["formula"] in r.text and "王小丽" in r.text and "优秀" in r.text and "称职" in r.text
    assert f'href="/manage/attendance/assessments/notices/{NOTICE_ID}.pdf"' in r.text
    assert "中心考〔2026〕0001号" in r.text and "未评定" in r.text  # 李大明: no decision, no notice
    asked = [c for _, p, c in stand.calls if p == "/notify/assessment-notices"]
    assert asked and asked[-1]["role"] == "supervisor"  # notify decides with the signed-in person's token

    pdf = await client.get(f"/manage/attendance/assessments/notices/{NOTICE_ID}.pdf")
    assert pdf.status_code == 200 and pdf.content == b"%PDF-1.7 sealed"
    assert pdf.headers["content-type"] == "application/pdf"
    assert (await client.get("/manage/attendance/assessments/notices/nope.pdf")).status_code == 404


async def test_the_grades_show_when_notify_is_away_and_clerks_are_refused(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    _stands(stand, notify_status=503)
    await sign_in(client, "admin", "Guanli2026")
    r = await client.get("/manage/attendance/assessments?year=2026")
    assert r.status_code == 200 and "王小丽" in r.text and "通知书服务暂时无法访问" in r.text

    client.cookies.clear()
    await sign_in(client, "clerk", "Chuangkou2026")
    r = await client.get("/manage/attendance/assessments?year=2026")
    assert r.status_code == 403
    assert (await client.get(f"/manage/attendance/assessments/notices/{NOTICE_ID}.pdf")).status_code == 403
