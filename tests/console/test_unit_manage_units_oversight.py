"""Issue 22 on the management pages, against stand-in services (httpx.MockTransport), no browser:

- /manage/units shows the decisions each unit reported making outside the center and those
  flagged 两头受理 (intake's ``/intake/outside-decisions/summary`` for the month), next to the
  rectification tasks with the overdue ones marked; intake's summary away names it and the rest
  of the page stays;
- /manage/oversight marks the supervision notices whose reply is overdue and shows the bulletin's
  staff violations (违规违章) per unit."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.console.test_console_unit import console, sign_in  # noqa: F401 (fixture)
from tests.console.test_unit_manage_deadlines import BULLETIN, NOTICE, SAMPLE

SUPERVISOR = ("supervisor", "Ducha2026")
OUTSIDE = [{"unit_code": "MZZ", "unit_name": "青山县民族宗教事务局", "reported": 5, "flagged": 3},
           {"unit_code": "LYJ", "unit_name": "青山县林业局", "reported": 2, "flagged": 0}]


def ok(body: Any) -> Any:
    return lambda req: httpx.Response(200, json=body)


def _units_answers(stand: Any, *, outside: Any) -> None:
    stand.answers[("GET", "/intake/reports/volume")] = ok([])
    stand.answers[("GET", "/intake/reports/inactivity")] = ok([
        {"unit_code": "LYJ", "unit_name": "青山县林业局", "entered": True, "entered_since": "2012-03-01",
         "last_business_on": "2026-12-01", "months_without_business": 0, "threshold": 3, "flagged": False}])
    stand.answers[("GET", "/intake/reports/ratings")] = ok([])
    stand.answers[("GET", "/intake/rectifications")] = ok([
        {"rectification_id": "R1", "receipt_no": "2026-LYJ-00001", "unit_code": "LYJ", "level": "dissatisfied",
         "comment": "等太久", "opened_at": "2026-11-02T00:00:00Z", "due_on": "2026-11-09", "accepted_by": None,
         "status": "open", "response": None, "closed_at": None, "closed_by": None, "level_label": "不满意"},
        {"rectification_id": "R2", "receipt_no": "2026-LYJ-00002", "unit_code": "LYJ", "level": "dissatisfied",
         "comment": None, "opened_at": "2026-11-02T00:00:00Z", "due_on": "2099-01-09", "accepted_by": None,
         "status": "open", "response": None, "closed_at": None, "closed_by": None, "level_label": "不满意"}])
    stand.answers[("GET", "/intake/outside-decisions/summary")] = outside


def _row(html: str, marker: str) -> str:
    return html.split(marker, 1)[1].split("</tr>", 1)[0]


@pytest.mark.timeout(60)
async def test_units_page_counts_two_ends_per_unit_and_marks_overdue_rectifications(console) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    client, stand = console
    _units_answers(stand, outside=ok(OUTSIDE))
    await sign_in(client, *SUPERVISOR, "/manage/units")
    r = await client.get("/manage/units?period=2026-11")
    assert r.status_code == 200
    html = r.text
    # asked for the month shown, with the signed-in person's token
    call = next(c for c in stand.calls if c[1] == "/intake/outside-decisions/summary")
    assert call[2]["role"] == "supervisor"
    table = html.split('id="outside"', 1)[1].split("</table>", 1)[0]
    flagged = _row(table, "青山县民族宗教事务局")
    assert '<td data-label="报送的中心外决定">5</td>' in flagged and "两头受理 3" in flagged
    clean = _row(table, "青山县林业局")
    assert '<td data-label="其中两头受理">0</td>' in clean and "badge" not in clean
    assert '<span class="n">3</span><span class="badge red">两头受理</span>' in html  # the month's total
    # overdue rectification marked, the one not yet due not
    assert "已逾期" in _row(html, "2026-LYJ-00001") and "已逾期" not in _row(html, "2026-LYJ-00002")
    assert '<span class="n">1</span>整改已逾期' in html


@pytest.mark.timeout(60)
async def test_units_page_names_intake_when_the_summary_cannot_be_read(console) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    client, stand = console

    def refused(req: httpx.Request) -> httpx.Response:
        return httpx.Response(403, headers={"content-type": "application/problem+json"},
                              json={"status": 403, "title": "无权操作", "detail": "两头受理统计仅限中心督查人员和管理员查看"})

    _units_answers(stand, outside=refused)
    await sign_in(client, *SUPERVISOR, "/manage/units")
    r = await client.get("/manage/units?period=2026-11")
    assert r.status_code == 200 and "Traceback" not in r.text
    assert "两头受理统计未能取得：两头受理统计仅限中心督查人员和管理员查看" in r.text
    assert 'id="outside"' not in r.text and "2026-LYJ-00001" in r.text  # the rest of the page is there


@pytest.mark.timeout(60)
async def test_oversight_marks_overdue_replies_and_counts_staff_violations(console) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    client, stand = console
    late = {**NOTICE, "notice_no": "DB-2026-0002", "reply_due": "2026-11-20", "status": "reply_overdue"}
    bulletin = {**BULLETIN, "staff_violations": [{"unit_code": "FGJ", "total": 4, "by_kind": {"late": 3, "absent": 1}}]}
    stand.answers[("GET", "/deadline/bulletins/2026-11")] = ok(bulletin)
    stand.answers[("GET", "/deadline/notices")] = ok([NOTICE, late])
    stand.answers[("GET", "/deadline/inspections")] = ok([SAMPLE])
    await sign_in(client, *SUPERVISOR, "/manage/oversight")
    r = await client.get("/manage/oversight?period=2026-11")
    assert r.status_code == 200
    html = r.text
    warn = html.split('id="reply-overdue"', 1)[1].split("</p>", 1)[0]
    assert "1 份督办通知书已过回复期限仍未回复" in warn and "DB-2026-0002" in warn and "DB-2026-0001" not in warn
    notices = html.split('id="notices"', 1)[1].split("</table>", 1)[0]
    overdue_row = _row(notices, "DB-2026-0002</a>")
    assert "已逾期" in overdue_row and "逾期未回复" in overdue_row
    assert "已逾期" not in _row(notices, "DB-2026-0001</a>")
    units = html.split('id="bulletin-units"', 1)[1].split("</table>", 1)[0]
    assert "<th scope=\"col\">人员违规违章</th>" in units and '<td data-label="人员违规违章">4</td>' in units
    assert "工作人员违规违章 4 起（已撤销的不计）" in html


@pytest.mark.timeout(60)
async def test_oversight_without_overdue_replies_has_no_warning(console) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    client, stand = console
    stand.answers[("GET", "/deadline/bulletins/2026-11")] = ok(BULLETIN)  # from before staff violations: none
    stand.answers[("GET", "/deadline/notices")] = ok([NOTICE])
    stand.answers[("GET", "/deadline/inspections")] = ok([SAMPLE])
    await sign_in(client, *SUPERVISOR, "/manage/oversight")
    r = await client.get("/manage/oversight?period=2026-11")
    assert r.status_code == 200
    assert 'id="reply-overdue"' not in r.text and '<td data-label="人员违规违章">0</td>' in r.text
    assert "工作人员违规违章" not in r.text.split('id="bulletin-units"', 1)[0]
