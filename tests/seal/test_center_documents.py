"""Documents of no case (issue 22): SealDocument v2 seals the center's year-end assessment notice
with the center's own seal; v1 keeps working; every answer is a v2 event."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from contracts.common import DocumentType
from contracts.envelope import Envelope
from contracts.seal import (
    CenterDocumentType, DocumentSealed, DocumentSealedV1, RefusalCode, SealDocument, SealDocumentV1, SealingRefused,
    SealKind,
)
from services.runtime.testing import publish
from services.seal import store
from services.seal.domain import Seal, check_use

from .service_helpers import UNIT_CODE, client, command, issue_no2, outbox, seal_service

pytestmark = pytest.mark.timeout(120)

CENTER, CENTER_NAME = "ZX", "某某县行政审批服务中心"


def assessment(request_id: str = "kh-1", **kw) -> SealDocument:
    data = dict(request_id=request_id, receipt_no=None, reference="2026/E2E7001", unit_code=CENTER,
                document_type=CenterDocumentType.ASSESSMENT, title="年终考核结果通知书", requested_by="notify",
                content={"addressee": "某某县市场监督管理局", "paragraphs": ["经中心评定，考核等次为称职。"]})
    data.update(kw)
    return SealDocument(**data)


# -- the contract ----------------------------------------------------------------------------------


def test_v2_is_a_new_version_and_v1_still_reads_its_messages() -> None:
    assert SealDocument.ce_type() == "onewindow.seal.SealDocument.v2"
    assert SealDocumentV1.ce_type() == "onewindow.seal.SealDocument.v1"
    assert DocumentSealed.ce_type() == "onewindow.seal.DocumentSealed.v2"
    v1 = command("old")
    assert isinstance(v1, SealDocument)  # the helper builds the current version
    old = SealDocumentV1(**v1.model_dump(exclude={"reference"}))
    assert Envelope.wrap(old).type.endswith("SealDocument.v1")
    with pytest.raises(ValidationError):  # v1 never took a document of no case
        SealDocumentV1(request_id="x", receipt_no=None, unit_code=CENTER, document_type="assessment",
                       title="t", requested_by="n")


def test_a_document_of_no_case_is_keyed_by_its_reference() -> None:
    cmd = assessment()
    assert cmd.receipt_no is None and cmd.key() == "2026/E2E7001"
    assert command().key() == "SL-2024-000123"


@pytest.mark.parametrize("change, field", [
    ({"reference": None}, "reference"),                                   # no case, no reference
    ({"receipt_no": "SL-2024-000123"}, "receipt_no"),                     # an assessment belongs to no case
    ({"document_type": DocumentType.ACCEPTANCE}, "receipt_no"),           # a case notice needs its receipt
    ({"reference": "2026 E2E7001 空格"}, "reference"),                     # not a reference
    ({"document_type": "appraisal"}, "document_type"),                    # no such type
])
def test_bad_v2_requests_are_refused_naming_the_field(change: dict, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        assessment(**change)
    text = str(caught.value)
    assert field in text, text


# -- the rule --------------------------------------------------------------------------------------


def _seal(unit: str, **kw) -> Seal:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    return Seal(seal_id=f"{unit}-1", unit_code=unit, unit_name="x", kind=SealKind.APPROVAL, seal_no="2",
                start_date=date(2024, 1, 1), valid_from=start, valid_until=start + timedelta(days=3650), **kw)


def test_only_the_centers_seal_seals_an_assessment() -> None:
    at = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
    a = CenterDocumentType.ASSESSMENT
    assert check_use(_seal(CENTER), CENTER, a, at, center_unit_code=CENTER) is None
    assert check_use(_seal(UNIT_CODE), UNIT_CODE, a, at, center_unit_code=CENTER).code == RefusalCode.OUT_OF_SCOPE
    assert check_use(_seal(CENTER), CENTER, a, at).code == RefusalCode.OUT_OF_SCOPE  # no center named: nobody
    revoked = _seal(CENTER, revoked_at=at - timedelta(days=1))
    assert check_use(revoked, CENTER, a, at, center_unit_code=CENTER).code == RefusalCode.SEAL_REVOKED
    # the case documents' rules are unchanged by the center's code
    assert check_use(_seal(UNIT_CODE), UNIT_CODE, DocumentType.ACCEPTANCE, at, center_unit_code=CENTER) is None


# -- the service -----------------------------------------------------------------------------------


async def test_the_center_seals_an_assessment_and_the_pdf_verifies(tmp_path: Path) -> None:
    async with seal_service(tmp_path) as svc:
        await issue_no2(svc, "2024-08-01", unit_code=CENTER, unit_name=CENTER_NAME, seal_name="业务专用章",
                        scope=["supervision"])
        await publish(svc, assessment())
        [event] = [e.data for e in await outbox(svc, "seal.documents")]
        assert type(event) is DocumentSealed
        assert event.receipt_no is None and event.reference == "2026/E2E7001"
        assert event.document_type is CenterDocumentType.ASSESSMENT and event.unit_code == CENTER
        async with svc.uow() as uow:
            doc = await uow.session.get(store.DocumentRow, event.document_no)
            assert doc.receipt_no is None and doc.reference == "2026/E2E7001"
            entries = await store.log_entries(uow.session)
        sealed = [e for e in entries if e.action == "sealed"][-1]
        assert sealed.detail["reference"] == "2026/E2E7001" and "receipt_no" not in sealed.detail
        async with client(svc, role=None) as c:
            pdf = (await c.get("/" + event.url.split("/", 3)[3])).content  # the capability URL's path
            answer = (await c.post("/seal/verify", content=pdf, headers={"Content-Type": "application/pdf"})).json()
        assert answer["ok"] is True, answer
        assert answer["registered_document"]["document_type"] == "assessment"
        assert answer["registered_document"]["unit_code"] == CENTER
        async with client(svc, role=None) as c:  # its public page: the type, no content
            page = await c.get(f"/seal/documents/{event.document_no}")
        assert page.status_code == 200 and "年终考核结果通知书" in page.text

        # the same request again: the first answer, no second document
        await publish(svc, assessment())
        events = [e.data for e in await outbox(svc, "seal.documents")]
        assert len(events) == 2 and events[1].document_no == event.document_no


async def test_a_units_seal_may_not_seal_an_assessment(tmp_path: Path) -> None:
    async with seal_service(tmp_path) as svc:
        await issue_no2(svc, "2024-08-01")
        await publish(svc, assessment("kh-unit", unit_code=UNIT_CODE))
        [event] = [e.data for e in await outbox(svc, "seal.documents")]
        assert type(event) is SealingRefused
        assert event.reason_code == RefusalCode.OUT_OF_SCOPE and event.reference == "2026/E2E7001"
        assert event.receipt_no is None


async def test_a_v1_request_is_still_sealed_and_answered_in_v2(tmp_path: Path) -> None:
    async with seal_service(tmp_path) as svc:
        await issue_no2(svc, "2024-08-01")
        v1 = SealDocumentV1(**command("v1-req").model_dump(exclude={"reference"}))
        await publish(svc, v1)
        [event] = [e.data for e in await outbox(svc, "seal.documents")]
        assert type(event) is DocumentSealed and isinstance(event, DocumentSealedV1)
        assert event.receipt_no == "SL-2024-000123" and event.reference is None


async def test_the_demo_run_issues_the_centers_own_seal_once(tmp_path: Path) -> None:
    from services.seal.usecases import seals

    async with seal_service(tmp_path, seal_auto_issue=True, seal_county_name="青山县") as svc:
        async with svc.uow() as uow:
            for _ in range(100):  # the start-up worker runs beside the test
                rows = await store.seals_of(uow.session, CENTER)
                if rows:
                    break
                await asyncio.sleep(0.05)
        assert [r.unit_name for r in rows] == ["青山县行政审批服务中心"]
        assert rows[0].scope == ["supervision"]
        assert await seals.auto_issue_center(svc) is None  # a live one: none again
        await publish(svc, assessment("kh-demo"))
        [event] = [e.data for e in await outbox(svc, "seal.documents") if isinstance(e.data, DocumentSealed)]
        assert event.seal_id == rows[0].seal_id
