"""intake on the real Kafka broker, through its HTTP API alone: each of the six kinds from
arrival to decision, every step seen as an event on Kafka, then the public lookup."""

from __future__ import annotations

import asyncio
import random
import string
from collections import defaultdict
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from contracts.common import Role
from contracts.envelope import parse
from contracts.topics import get_topic
from services.intake.app import create_service
from services.intake.config import IntakeSettings
from services.runtime.testing import running

pytestmark = pytest.mark.integration

TOPICS = ("intake.applications", "intake.contacts", "intake.ratings", "intake.catalog")


def _code(prefix: str) -> str:
    # Unit codes are part of receipt numbers: unique ones keep this run's events apart from
    # earlier runs' on the same broker.
    return prefix + "".join(random.choices(string.ascii_uppercase, k=6))


class Tap:
    """Reads the intake topics from their current end."""

    def __init__(self, bootstrap: str) -> None:
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self.by_subject: dict[str, list[str]] = defaultdict(list)

    async def start(self) -> None:
        await self.consumer.start()
        # The topics are created from the contracts' catalog (tests/kafka_plugin.py).
        parts = [TopicPartition(t, p) for t in TOPICS for p in range(get_topic(t).partitions)]
        self.consumer.assign(parts)
        await self.consumer.seek_to_end(*parts)
        for tp in parts:
            await self.consumer.position(tp)

    async def until(self, check, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
        end = asyncio.get_running_loop().time() + timeout
        while not check():
            if asyncio.get_running_loop().time() > end:
                raise AssertionError(f"events not seen in time: {dict(self.by_subject)}")
            batch = await self.consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for r in records:
                    env = parse(r.headers, r.value)
                    if env.subject:
                        self.by_subject[env.subject].append(type(env.data).__name__)

    async def stop(self) -> None:
        await self.consumer.stop()


def _client(svc, role: Role | None, unit: str | None = None, sub: str = "staff") -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {svc.auth.issue(sub, role, unit)}"} if role else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.api), base_url="http://intake", headers=headers)


async def _ok(r: httpx.Response, status: int = 200) -> dict:
    assert r.status_code == status, r.text
    return r.json()


def _item(code: str, unit: str, kind: str, **extra) -> dict:  # type: ignore[no-untyped-def]
    return {
        "code": code, "unit_code": unit, "name": f"林木采伐许可证核发（{kind}）", "case_kind": kind,
        "legal_basis": ["《中华人民共和国森林法》第五十六条"], "procedure": ["受理", "审查", "决定"],
        "materials": [
            {"code": "M01", "name": "申请书", "form": "original", "copies": 1, "mandatory": True},
            {"code": "M02", "name": "林木权属证明", "form": "original_and_copy", "copies": 1, "mandatory": True},
        ],
        "statutory_days": 20, "promised_days": 0 if kind == "immediate" else 5,
        "fee": {"free": True, "standard": "不收费"}, "flow": "窗口受理→审查→决定", **extra,
    }


async def test_six_kinds_through_the_api_on_real_kafka(tmp_path: Path, database_url: str,
                                                       kafka_bootstrap: str) -> None:
    lead, p1, p2 = _code("L"), _code("Z"), _code("R")
    svc = create_service(IntakeSettings(
        data_dir=tmp_path, database_url=database_url, kafka_bootstrap_servers=kafka_bootstrap,
        auth_secret="intake-integration-secret-0123456789abcdef", log_json=False, intake_monthly_reports=False,
    ))
    tap = Tap(kafka_bootstrap)
    try:
        await tap.start()
        async with running(svc):
            async with _client(svc, Role.CENTER_ADMIN, sub="admin") as admin:
                for code, name in ((lead, "青山县林业局"), (p1, "青山县自然资源局"), (p2, "青山县人民防空办公室")):
                    await _ok(await admin.post("/intake/catalog/units", json={
                        "code": code, "name": name, "entered": True, "entered_since": "2024-01-01"}), 201)
                kinds = {
                    "immediate": {}, "promised": {}, "joint": {"joint_units": [p1, p2]},
                    "reported_up": {"higher_authority": "省林业和草原局"},
                }
                items = {}
                for n, (kind, extra) in enumerate(kinds.items(), start=1):
                    code = f"{lead}-{n:03d}"
                    await _ok(await admin.post("/intake/catalog/items", json=_item(code, lead, kind, **extra)), 201)
                    await _ok(await admin.post(f"/intake/catalog/items/{code}/publish"))
                    items[kind] = code
            await tap.until(lambda: sum(len(v) for k, v in tap.by_subject.items() if k.startswith(lead)) >= 4)

            person = {"type": "person", "name": "王小明", "resident_id": "11010519491231002X", "mobile": "13812345678"}
            company = {"type": "company", "name": "李四", "mobile": "13900001111",
                       "company_name": "青山县绿源林业专业合作社", "credit_code": "91110000600037341L"}
            complete = ["M01", "M02"]
            expected: dict[str, list[str]] = {}
            async with _client(svc, Role.CLERK, lead, "C0001") as c:
                async def apply(kind: str, applicant=person, materials=complete, **kw):  # type: ignore[no-untyped-def]
                    body = {"item_code": items[kind], "applicant": applicant, "materials": materials, **kw}
                    return await _ok(await c.post("/intake/applications", json=body), 201)

                decision = {"outcome": "approved", "decision_text": "准予许可"}
                # 即办件: accepted and decided at the window the same day
                imm = (await apply("immediate"))["receipt_no"]
                await _ok(await c.post(f"/intake/applications/{imm}/decision", json=decision))
                expected[imm] = ["ApplicationReceived", "ApplicantContactRecorded", "ApplicationAccepted",
                                 "ApplicationDecided"]
                # 承诺件: accepted now, decided later
                pro = (await apply("promised", applicant=company))["receipt_no"]
                await _ok(await c.post(f"/intake/applications/{pro}/decision",
                                       json={"outcome": "denied", "decision_text": "采伐地块位于生态公益林"}))
                expected[pro] = ["ApplicationReceived", "ApplicantContactRecorded", "ApplicationAccepted",
                                 "ApplicationDecided"]
                # 联办件: a task per participating unit, decided when both answered
                joint = (await apply("joint"))["receipt_no"]
                # 上报件: forwarded, resumed by the higher authority's answer
                up = (await apply("reported_up"))["receipt_no"]
                await _ok(await c.post(f"/intake/applications/{up}/forward", json={"note": "请审批"}))
                await _ok(await c.post(f"/intake/applications/{up}/higher-answer",
                                       json={"approved": True, "answer": "同意", "document_no": "林资许准〔2024〕12号"}))
                await _ok(await c.post(f"/intake/applications/{up}/decision", json=decision))
                expected[up] = ["ApplicationReceived", "ApplicantContactRecorded", "ApplicationAccepted",
                                "ApplicationForwarded", "HigherAuthorityAnswered", "ApplicationDecided"]
                # 补办件: one-time notice, materials brought, accepted, decided
                sup = await apply("promised", materials=["M01"])
                assert sup["status"] == "awaiting_supplement"
                sup = sup["receipt_no"]
                await _ok(await c.post(f"/intake/applications/{sup}/supplements", json={"materials": ["M02"]}))
                await _ok(await c.post(f"/intake/applications/{sup}/decision", json=decision))
                expected[sup] = ["ApplicationReceived", "ApplicantContactRecorded", "SupplementRequested",
                                 "SupplementProvided", "ApplicationAccepted", "ApplicationDecided"]
                # 退回件: not the center's business
                ret = (await apply("promised", accept_if_complete=False))["receipt_no"]
                await _ok(await c.post(f"/intake/applications/{ret}/not-accepted", json={
                    "reason_code": "not_center_business", "reason": "该事项不属于本中心受理范围，请到县行政服务大厅办理"}))
                expected[ret] = ["ApplicationReceived", "ApplicantContactRecorded", "ApplicationNotAccepted"]

            for unit, sub in ((p1, "C0101"), (p2, "C0102")):
                async with _client(svc, Role.CLERK, unit, sub) as pc:
                    tasks = await _ok(await pc.get("/intake/joint-tasks"))
                    assert [t["receipt_no"] for t in tasks] == [joint]
                    await _ok(await pc.post(f"/intake/applications/{joint}/joint-answer",
                                            json={"answer": "approve", "opinion": "同意"}))
            async with _client(svc, Role.CLERK, lead, "C0001") as c:
                await _ok(await c.post(f"/intake/applications/{joint}/decision", json=decision))
            expected[joint] = ["ApplicationReceived", "ApplicantContactRecorded", "ApplicationAccepted",
                               "JointTaskOpened", "JointTaskOpened", "JointTaskAnswered", "JointTaskAnswered",
                               "ApplicationDecided"]

            # A low rating, on the public API.
            async with _client(svc, None) as pub:
                await _ok(await pub.post("/intake/public/ratings", json={
                    "receipt_no": pro, "mobile_last4": "1111", "level": "dissatisfied"}), 201)
            expected[pro] += ["RatingSubmitted", "RectificationOpened"]

            await tap.until(lambda: all(len(tap.by_subject.get(no, [])) >= len(ev) for no, ev in expected.items()))
            for no, ev in expected.items():
                seen = tap.by_subject[no]
                # Different topics interleave; within a topic (one partition per key) order holds.
                assert sorted(seen) == sorted(ev), (no, seen)
                case_events = [e for e in seen if e not in ("ApplicantContactRecorded", "RatingSubmitted",
                                                             "RectificationOpened")]
                assert case_events == [e for e in ev if e in case_events], (no, seen)

            async with _client(svc, None) as pub:
                results = {}
                for no in expected:
                    last4 = "1111" if no == pro else "5678"
                    view = await _ok(await pub.post("/intake/public/status",
                                                    json={"receipt_no": no, "mobile_last4": last4}))
                    assert "13812345678" not in str(view) and "王小明" not in str(view)
                    results[no] = (view["status"], (view["result"] or "")[:4])
                assert results[imm] == ("decided", "准予：准") and results[pro] == ("decided", "不予许可")
                assert results[ret][0] == "not_accepted" and results[joint][0] == "decided"
                assert (await pub.post("/intake/public/status",
                                       json={"receipt_no": imm, "mobile_last4": "0000"})).status_code == 404
    finally:
        await tap.stop()
