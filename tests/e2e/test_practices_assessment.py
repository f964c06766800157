"""Issue 22 item 3, through the real broker (the five services as separate processes): the center
decides a staff member's year-end assessment in attendance; notify renders the 年终考核结果通知书
to the staff member's unit and seal seals it with the CENTER's seal (SealDocument v2, a document
of no case); the unit's head opens the sealed PDF through notify's API, and it verifies — seal's
verify endpoint and pyHanko both name the center as signer. The appeal's decision is a second,
final notice. Other units' heads and clerks cannot read them; nobody is texted.

Its own staff member and unit (KGJ, which the other practices tests leave alone).
"""

from __future__ import annotations

import io
from datetime import datetime

import pytest

from contracts.common import Role

from .harness import SHANGHAI, Suite, eventually

pytestmark = pytest.mark.timeout(600)

UNIT, UNIT_NAME, CENTER = "KGJ", "青山县科技和工业信息化局", "ZX"
STAFF_ID, STAFF_NAME = "E2E7101", "周考核"


def _center_seal(suite: Suite) -> dict:
    """The center's own seal: the demo run issues it at seal's start; a suite without it gets it
    from the center admin, as in production."""
    seal = suite.client("seal")
    live = [s for s in seal.get("/seal/seals", params={"unit_code": CENTER}, headers=suite.admin()).json()
            if s["kind"] == "approval" and s["in_use"]]
    if live:
        return live[0]
    start = datetime.now(SHANGHAI).date().isoformat()
    r = seal.post("/seal/seals", headers=suite.admin(), json={
        "unit_code": CENTER, "unit_name": "青山县行政审批服务中心", "seal_name": "业务专用章", "start_date": start,
        "scope": ["supervision"]})
    assert r.status_code == 201, r.text
    return r.json()


def _notices(suite: Suite, headers: dict, year: int) -> list[dict]:
    r = suite.client("notify").get("/notify/assessment-notices", params={"year": year, "staff_id": STAFF_ID},
                                   headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_the_decision_reaches_the_unit_as_a_notice_sealed_by_the_center(suite: Suite) -> None:
    from pyhanko.pdf_utils.reader import PdfFileReader

    year = datetime.now(SHANGHAI).year
    seal = _center_seal(suite)
    att, notify = suite.client("attendance"), suite.client("notify")
    r = att.put(f"/attendance/staff/{STAFF_ID}", headers=suite.admin(), json={
        "name": STAFF_NAME, "unit_code": UNIT, "unit_name": UNIT_NAME, "window_no": "06", "pin": "7101",
        "mobile": "13800007101", "active_from": f"{year}-01-01"})
    assert r.status_code == 200, r.text
    r = att.post(f"/attendance/assessments/{year}/{STAFF_ID}/decision", headers=suite.admin(),
                 json={"grade": "competent", "note": "全年表现良好，评为称职。"})
    assert r.status_code in (200, 201), r.text

    head = suite.headers("e2e-head-kgj", Role.UNIT_HEAD, UNIT, name="科工局负责人")

    def released(n: int) -> list[dict] | None:
        items = _notices(suite, head, year)
        done = [i for i in items if i["state"] == "released"]
        failed = [i for i in items if i["state"] == "failed"]
        assert not failed, failed  # a refusal fails at once, visibly
        return done if len(done) >= n else None

    [notice] = eventually(lambda: released(1), timeout=120, what="the unit's sealed assessment notice")
    assert (notice["staff_name"], notice["grade_label"], notice["unit_code"]) == (STAFF_NAME, "称职", UNIT)
    assert notice["on_appeal"] is False and notice["document_no"].startswith(f"中心考〔{year}〕")

    pdf = notify.get(notice["files"][0]["href"], headers=head)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf", pdf.text[:300]
    answer = suite.client("seal").post("/seal/verify", content=pdf.content,
                                       headers={"Content-Type": "application/pdf"}).json()
    assert answer["ok"] is True, answer
    registered = answer["registered_document"]
    assert registered["unit_code"] == CENTER and registered["document_type"] == "assessment"
    assert registered["document_no"] == notice["sealed_document_no"]
    # pyHanko, independently: one signature, by the center's seal certificate
    [sig] = PdfFileReader(io.BytesIO(pdf.content)).embedded_signatures
    subject = sig.signer_cert.subject.human_friendly
    assert "青山县行政审批服务中心" in subject, subject
    assert format(sig.signer_cert.serial_number, "x").lstrip("0") == seal["cert_serial"].lower().lstrip("0")

    # the public page of the sealed document names no one
    page = suite.client("seal").get(f"/seal/documents/{notice['sealed_document_no']}")
    assert page.status_code == 200 and STAFF_NAME not in page.text

    # not for another unit's head, nor for a clerk
    other = suite.headers("e2e-head-gaj", Role.UNIT_HEAD, "GAJ")
    assert _notices(suite, other, year) == []
    assert notify.get(f"/notify/assessment-notices/{notice['id']}", headers=other).status_code == 403
    assert notify.get(notice["files"][0]["href"], headers=other).status_code == 403
    clerk = suite.headers("e2e-clerk-kgj", Role.CLERK, UNIT)
    assert notify.get(f"/notify/assessment-notices/{notice['id']}", headers=clerk).status_code == 403

    # the staff member appeals once; the center's decision on it is a second, final notice
    me = suite.headers(STAFF_ID, Role.CLERK, UNIT, name=STAFF_NAME)
    r = att.post(f"/attendance/assessments/{year}/{STAFF_ID}/appeal", headers=me, json={"reason": "全年无投诉，申请复核。"})
    assert r.status_code in (200, 201), r.text
    r = att.post(f"/attendance/assessments/{year}/{STAFF_ID}/decision", headers=suite.admin(),
                 json={"grade": "excellent", "note": "复核后改评优秀。"})
    assert r.status_code in (200, 201), r.text
    both = eventually(lambda: released(2), timeout=120, what="the appeal's sealed notice")
    final = next(n for n in both if n["on_appeal"])
    assert final["grade_label"] == "优秀" and final["document_no"] != notice["document_no"]
    again = notify.get(final["files"][0]["href"], headers=suite.supervisor())
    assert again.status_code == 200
    assert suite.client("seal").post("/seal/verify", content=again.content,
                                     headers={"Content-Type": "application/pdf"}).json()["ok"] is True

    # nobody outside was texted about it
    msgs = notify.get("/notify/messages", params={"limit": 200}, headers=suite.supervisor()).json()["items"]
    assert not [m for m in msgs if STAFF_NAME in m["text"] or "考核" in m["text"]]
