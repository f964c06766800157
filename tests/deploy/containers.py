"""What the tests that run the suite from containers share (test_image_run.py: `podman run` per
service; test_compose_up.py: the Compose file with podman-compose): podman with a clear failure,
a wait that shows the containers' warnings when it runs out, and one application walked from
the window to the sealed notice and its SMS through the containers' ports."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from contracts.common import Role
from tests.e2e.harness import Suite, eventually, guide_items, issue_seals, mandatory_materials
from tools import image
from tools.registry import BUS_SERVICES


def podman(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    try:
        return image.podman(*args, check=check, timeout=timeout)
    except image.ImageError as exc:
        pytest.fail(str(exc))


def built_image() -> str:
    """The suite's image, built by `onewindow image build` (cached: a no-op when nothing changed)."""
    try:
        result = image.build(log=lambda m: print(f"[image] {m}", flush=True))
    except image.ImageError as exc:
        pytest.fail(f"the image did not build: {exc}")
    print(f"[image] {result.summary()}", flush=True)
    return result.ref


def explained(suite: Any, check, what: str, timeout: float = 120):  # type: ignore[no-untyped-def]
    """``eventually`` that, when time runs out, adds the containers' warnings and errors
    (``suite.log(name)``: a container's log)."""
    try:
        return eventually(check, timeout=timeout, what=what)
    except AssertionError as exc:
        notes = []
        for name in BUS_SERVICES:
            lines = [line for line in suite.log(name).splitlines()
                     if any(level in line for level in ('"WARNING"', '"ERROR"', '"CRITICAL"', "Traceback"))]
            notes.append(f"--- {name}: {len(lines)} warnings/errors\n" + "\n".join(lines[-8:]))
        raise AssertionError(f"{exc}\n" + "\n".join(notes)) from None


@dataclass
class Walked:
    item: dict[str, Any]    # the item's guide
    receipt_no: str
    notice: dict[str, Any]  # the approval notice, released
    sms: dict[str, Any]     # its SMS, delivered


def approve_one_application(suite: Suite, who: str, mobile: str, applicant_name: str) -> Walked:
    """The demo catalog loaded, an immediate item's unit given its seal, one application filed and
    approved at the window; then the approval notice sealed (its PDF verified by seal), its SMS
    delivered and written to the file provider's outbox (``suite.sms_lines()``)."""
    from tools.demo import loader

    loader.load_into(suite.url("intake"), suite.token(f"{who}-demo", Role.CENTER_ADMIN, name="演示事项目录"))
    item = next(i for i in guide_items(suite, "immediate"))
    detail = suite.client("intake").get(f"/intake/guide/items/{item['code']}").json()
    issue_seals(suite, [detail["unit_code"]])
    clerk = suite.headers(f"{who}-clerk", Role.CLERK, detail["unit_code"], "窗口工作人员")
    r = suite.client("intake").post("/intake/applications", headers=clerk, json={
        "item_code": detail["code"], "materials": mandatory_materials(suite, detail["code"]), "accept_if_complete": True,
        "applicant": {"type": "person", "name": applicant_name, "mobile": mobile, "resident_id": "11010519491231002X"}})
    assert r.status_code == 201, r.text
    rn = r.json()["receipt_no"]
    r = suite.client("intake").post(f"/intake/applications/{rn}/decision", headers=clerk, json={
        "outcome": "approved", "decision_text": "经审查，申请材料齐全、符合法定形式，准予行政许可。"})
    assert r.status_code == 200 and r.json()["status"] == "decided", r.text

    notify = suite.client("notify")

    def released() -> list[dict[str, Any]]:
        r = notify.get("/notify/notices", params={"receipt_no": rn}, headers=clerk)
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        assert [n["document_type"] for n in items] == ["approval"] and items[0]["state"] == "released", items
        return items

    (notice,) = explained(suite, released, "the approval notice released (sealed)")
    link = notify.get(httpx.URL(notice["short_url"]).path)
    assert link.status_code == 307, link.text
    pdf = httpx.get(link.headers["location"], timeout=30)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    verdict = suite.client("seal").post("/seal/verify", content=pdf.content,
                                        headers={"content-type": "application/pdf"}).json()
    assert verdict["ok"] is True, verdict
    sig = verdict["signatures"][0]
    assert sig["intact"] and sig["chains_to_county_root"] and sig["seal_name"] == "行政审批专用章", sig

    def delivered() -> list[dict[str, Any]]:
        r = notify.get("/notify/messages", params={"receipt_no": rn}, headers=clerk)
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        assert {m["template"] for m in items} >= {"notice_approval"}, items
        assert all(m["state"] == "delivered" for m in items), items
        return items

    messages = explained(suite, delivered, "the notice's SMS delivered")
    sms = next(m for m in messages if m["template"] == "notice_approval")
    assert notice["short_url"] in sms["text"] and rn in sms["text"]
    # The file provider's outbox, written by the notify container into its volume.
    lines = eventually(lambda: [x for x in suite.sms_lines() if x["message_id"] == sms["id"]], timeout=30,
                       what="the SMS in the outbox file")
    assert lines[0]["mobile"] == mobile
    return Walked(detail, rn, notice, sms)
