"""Adversarial free text (issue 20): a resident ID number, two mobiles, a bank card number, two
names and a street address typed into every free-text field of intake that feeds a public event,
driven through the HTTP API — shared by the in-memory test and the real-broker test."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import httpx

from contracts.common import Role
from contracts.topics import get_topic

APPLICANT_ID = "11010519491231002X"
APPLICANT_MOBILE = "13812345678"
EVIL = ("王小明（身份证11010519491231002X，手机13812345678、13900001111，银行卡6222021234567890123）"
        "住青山县青山路88号3单元501室，联系人李秀英")
ADHOC = "王小明13812345678名下房产证"
#: What no public topic may carry, in any event, header or field.
SENSITIVE = (APPLICANT_ID, APPLICANT_MOBILE, "13900001111", "6222021234567890123", "王小明", "李秀英", "青山路88号",
             "3单元501室")

PERSON = {"type": "person", "name": "王小明", "resident_id": APPLICANT_ID, "mobile": APPLICANT_MOBILE}

Clients = Callable[[Role | None, str | None, str], httpx.AsyncClient]


async def _ok(r: httpx.Response, status: int = 200) -> dict:
    assert r.status_code == status, r.text
    return r.json()


async def drive(clients: Clients, lead: str, partners: tuple[str, str], items: dict[str, str]) -> dict[str, str]:
    """Every case step with clerk-typed text, the text adversarial; returns the receipt numbers."""
    cases: dict[str, str] = {}
    async with clients(Role.CLERK, lead, "C0001") as c, clients(Role.SUPERVISOR, None, "S0001") as sup:
        async def apply(kind: str, materials=("M01", "M02", "M03"), **kw: Any) -> dict:
            return await _ok(await c.post("/intake/applications", json={
                "item_code": items[kind], "applicant": PERSON, "materials": list(materials), **kw}), 201)

        # A company's name is published in full: it may not smuggle a number in.
        r = await c.post("/intake/applications", json={
            "item_code": items["promised"], "materials": ["M01", "M02", "M03"],
            "applicant": {"type": "company", "name": "李秀英", "mobile": "13900001111", "credit_code": "91110000600037341L",
                          "company_name": "青山县13812345678林业有限公司"}})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "applicant.company_name", r.text

        # Decided (承诺件) with the text; then rated low with the text, the unit answers with it.
        no = cases["decided"] = (await apply("promised"))["receipt_no"]
        await _ok(await c.post(f"/intake/applications/{no}/decision", json={"outcome": "approved", "decision_text": EVIL}))

        # Not accepted (退回件), the reason in words.
        no = cases["returned"] = (await apply("promised", accept_if_complete=False))["receipt_no"]
        await _ok(await c.post(f"/intake/applications/{no}/not-accepted", json={"reason_code": "other", "reason": EVIL}))

        # Reported up (上报件): an authority that is not an organ's name is refused; the note, the
        # answer, its document number and the decision carry the text.
        no = cases["reported_up"] = (await apply("reported_up"))["receipt_no"]
        r = await c.post(f"/intake/applications/{no}/forward", json={"authority": EVIL[:50], "note": EVIL})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "authority", r.text
        await _ok(await c.post(f"/intake/applications/{no}/forward", json={"note": EVIL}))
        await _ok(await c.post(f"/intake/applications/{no}/higher-answer", json={
            "approved": False, "answer": EVIL, "document_no": "王小明13812345678号"}))
        await _ok(await c.post(f"/intake/applications/{no}/decision", json={"outcome": "denied", "decision_text": EVIL}))

        # Joint (联办件): both partners' opinions carry the text.
        no = cases["joint"] = (await apply("joint"))["receipt_no"]
        for unit, sub in zip(partners, ("C0101", "C0102")):
            async with clients(Role.CLERK, unit, sub) as pc:
                await _ok(await pc.post(f"/intake/applications/{no}/joint-answer",
                                        json={"answer": "approve", "opinion": EVIL}))

        # Supplements: at the window with a reason and an ad-hoc material named with the text;
        # in review; a supervisor's override with the text, used by a further request.
        no = cases["supplement"] = (await apply("promised", accept_if_complete=False))["receipt_no"]
        await _ok(await c.post(f"/intake/applications/{no}/supplement-requests", json={"materials": [
            {"code": "M03", "reason": EVIL}, {"name": ADHOC, "reason": EVIL}]}))
        no = cases["override"] = (await apply("promised", materials=("M01", "M02")))["receipt_no"]
        await _ok(await c.post(f"/intake/applications/{no}/supplements", json={"materials": ["M03"]}))
        await _ok(await c.post(f"/intake/applications/{no}/supplement-requests",
                               json={"materials": [{"code": "M03", "reason": EVIL}]}))
        await _ok(await c.post(f"/intake/applications/{no}/supplements", json={"materials": ["M03"]}))
        await _ok(await sup.post(f"/intake/applications/{no}/supplement-overrides", json={
            "materials": [{"name": ADHOC, "reason": EVIL}], "reason": EVIL}))
        await _ok(await c.post(f"/intake/applications/{no}/supplement-requests",
                               json={"materials": [{"name": ADHOC, "reason": EVIL}]}))

        # A consultation (首问负责) with the text in the question and the answer.
        await _ok(await c.post("/intake/consultations", json={
            "channel": "phone", "question": EVIL, "outcome": "answered", "answer": EVIL}), 201)

    async with clients(None, None, "public") as pub:
        await _ok(await pub.post("/intake/public/ratings", json={
            "receipt_no": cases["decided"], "mobile_last4": APPLICANT_MOBILE[-4:], "level": "very_dissatisfied",
            "comment": EVIL}), 201)
    async with clients(Role.CLERK, lead, "C0001") as c:
        rects = await _ok(await c.get("/intake/rectifications"))
        rect = next(r for r in rects if r["receipt_no"] == cases["decided"])
        await _ok(await c.post(f"/intake/rectifications/{rect['rectification_id']}/close", json={"response": EVIL}))
    return cases


def leaks(records: Iterable[tuple[str, list[tuple[str, bytes]], bytes | None]]) -> list[tuple[str, str]]:
    """(topic, what) for every sensitive string found on a public topic, in the body or a header
    (the body as sent, and decoded: JSON may escape non-ASCII)."""
    import json

    found = []
    for topic, headers, value in records:
        if not get_topic(topic).public:
            continue
        texts = [(value or b"").decode("utf-8", "replace")]
        try:
            texts.append(json.dumps(json.loads(value or b"null"), ensure_ascii=False))
        except ValueError:
            pass
        texts += [v.decode("utf-8", "replace") for _, v in headers]
        for s in SENSITIVE:
            if any(s in t for t in texts):
                found.append((topic, s))
    return found
