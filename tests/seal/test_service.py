"""The seal service on the in-memory broker: stamp requests, refusals, idempotency, the API."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from contracts.common import DocumentType, Role
from contracts.seal import DocumentSealed, RefusalCode, SealingRefused, SealIssued, SealKind, SealRevoked
from services.runtime.testing import publish
from services.seal.app import create_service
from services.seal.adapters.authority import KeyProtectionError
from services.seal import store
from services.seal.adapters.render import render_notice

from .conftest import pdfsig, sample_notice
from .service_helpers import UNIT_CODE, client, command, issue_no2, outbox, seal_service, settings

PAST = "2024-08-01"


async def test_issue_then_seal_a_rendered_notice(tmp_path: Path) -> None:
    async with seal_service(tmp_path) as svc:
        seal = await issue_no2(svc, PAST)
        assert seal["kind"] == "approval" and seal["in_use"] and seal["unit_name"] == "某某县市场监督管理局"
        env = await publish(svc, command("req-1"))
        events = await outbox(svc, "seal.documents")
        assert len(events) == 1 and isinstance(events[0].data, DocumentSealed)
        sealed: DocumentSealed = events[0].data
        from services.seal.domain import local_date
        assert sealed.request_id == "req-1"
        assert sealed.document_no == f"{UNIT_CODE}-{local_date(datetime.now(UTC)).year}-000001"
        assert sealed.seal_id == seal["seal_id"] and sealed.seal_serial == seal["cert_serial"]
        assert events[0].id != env.id

        issued = [e.data for e in await outbox(svc, "seal.seals")]
        assert isinstance(issued[0], SealIssued) and issued[0].seal_kind == SealKind.APPROVAL

        # the file is downloadable by its reference and verifies as the registered document
        path = sealed.url.removeprefix(svc.settings.public_url)
        async with client(svc, role=None) as c:
            pdf = (await c.get(path)).content
            assert pdf.startswith(b"%PDF-")
            import hashlib
            assert hashlib.sha256(pdf).hexdigest() == sealed.sha256 and len(pdf) == sealed.size_bytes
            r = await c.post("/seal/verify", content=pdf, headers={"Content-Type": "application/pdf"})
            answer = r.json()
            assert r.status_code == 200 and answer["ok"], answer
            assert answer["registered_document"]["document_no"] == sealed.document_no
            assert answer["signatures"][0]["unit_name"] == "某某县市场监督管理局"
            assert answer["conclusion"].startswith("签章有效")
            # public page by document number
            page = await c.get(f"/seal/documents/{sealed.document_no}")
            assert page.status_code == 200 and "签章有效" in page.text and sealed.sha256 in page.text
            status = (await c.get(f"/seal/documents/{sealed.document_no}/status")).json()
            assert status["verification"]["ok"] and status["unit_name"] == "某某县市场监督管理局"
            assert (await c.get("/seal/files/not-a-token.pdf")).status_code == 404
            metrics = (await c.get("/metrics")).text
            assert f'onewindow_seal_documents_sealed_total{{document_type="acceptance",unit="{UNIT_CODE}"}} 1.0' in metrics


async def test_rendered_notice_carries_document_number_and_verify_link(tmp_path: Path) -> None:
    import subprocess

    async with seal_service(tmp_path, seal_public_url="https://seal.example.gov.cn") as svc:
        await issue_no2(svc, PAST)
        await publish(svc, command("req-1"))
        sealed = (await outbox(svc, "seal.documents"))[0].data
        assert sealed.url.startswith("https://seal.example.gov.cn/seal/files/")
        async with svc.uow() as uow:
            doc = await uow.session.get(store.DocumentRow, sealed.document_no)
        f = svc.settings.documents_dir / doc.path
        text = subprocess.run(["pdftotext", str(f), "-"], capture_output=True, text=True, check=True).stdout
        assert sealed.document_no in text and "受理通知书" in text
        assert f"https://seal.example.gov.cn/seal/documents/{sealed.document_no}" in text


async def test_a_given_pdf_is_sealed_and_pdfsig_accepts_it(tmp_path: Path, nss_db_for) -> None:
    pdf, box = render_notice(sample_notice())
    async with seal_service(tmp_path) as svc:
        await issue_no2(svc, PAST)
        await publish(svc, command("req-pdf", pdf=pdf, seal_box={"page": 0, "x1": box.x1, "y1": box.y1,
                                                                 "x2": box.x2, "y2": box.y2}))
        sealed = (await outbox(svc, "seal.documents"))[0].data
        assert isinstance(sealed, DocumentSealed)
        async with client(svc, role=None) as c:
            signed = (await c.get(sealed.url.removeprefix(svc.settings.public_url))).content
            root = (await c.get("/seal/root.pem")).content
        out = pdfsig(signed, tmp_path, nss_db_for(root))
        assert "Signature Validation: Signature is Valid." in out
        assert "Certificate Validation: Certificate is Trusted." in out


async def test_same_request_id_is_answered_again_without_a_second_document(tmp_path: Path, database_url: str) -> None:
    async with seal_service(tmp_path, database_url=database_url) as svc:
        await issue_no2(svc, PAST)
        first = await publish(svc, command("req-1"))
        await publish(svc, command("req-1"), id=first.id)        # redelivery: the inbox drops it
        await publish(svc, command("req-1"))                     # the requester's retry: same answer
        events = [e.data for e in await outbox(svc, "seal.documents")]
        assert len(events) == 2
        assert events[0] == events[1]
        async with svc.uow() as uow:
            from sqlmodel import select
            docs = (await uow.session.exec(select(store.DocumentRow))).all()
        assert len(docs) == 1
        await publish(svc, command("req-2"))
        events = [e.data for e in await outbox(svc, "seal.documents")]
        assert events[-1].document_no.endswith("-000002")


async def test_refusals_are_events_with_reasons_and_logged(tmp_path: Path) -> None:
    async with seal_service(tmp_path) as svc:
        await publish(svc, command("no-seal"))
        future = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
        await issue_no2(svc, future)
        await publish(svc, command("not-started"))
        await publish(svc, command("supervision", document_type=DocumentType.SUPERVISION))
        await publish(svc, command("nothing", content=False))
        events = [e.data for e in await outbox(svc, "seal.documents")]
        assert all(isinstance(e, SealingRefused) for e in events)
        assert [(e.request_id, e.reason_code) for e in events] == [
            ("no-seal", RefusalCode.NO_SEAL),
            ("not-started", RefusalCode.SEAL_NOT_STARTED),
            ("supervision", RefusalCode.SEAL_NOT_STARTED),  # not started is checked before scope
            ("nothing", RefusalCode.SEAL_NOT_STARTED),
        ]
        assert events[0].reason == "该单位没有可用的印章"
        async with client(svc, role=Role.SUPERVISOR) as c:
            refused = (await c.get("/seal/supervision/refusals")).json()
        assert [r["request_id"] for r in refused] == ["no-seal", "not-started", "supervision", "nothing"]
        assert refused[0]["detail"]["reason_code"] == "no_seal"


async def test_scope_and_missing_document_refusals(tmp_path: Path) -> None:
    async with seal_service(tmp_path) as svc:
        await issue_no2(svc, PAST, scope=["acceptance", "supplement"])
        await publish(svc, command("denial", document_type=DocumentType.DENIAL))
        await publish(svc, command("nothing", content=False))
        await publish(svc, command("garbage", pdf=b"%PDF-1.4 this is no pdf"))
        await publish(svc, command("not-base64", content=False, pdf_base64="***"))
        events = [e.data for e in await outbox(svc, "seal.documents")]
        assert [e.reason_code for e in events] == [
            RefusalCode.OUT_OF_SCOPE, RefusalCode.NO_DOCUMENT, RefusalCode.BAD_DOCUMENT, RefusalCode.BAD_DOCUMENT]


async def test_revoked_seal_is_refused_and_crl_reissued(tmp_path: Path, database_url: str) -> None:
    from cryptography import x509

    async with seal_service(tmp_path, database_url=database_url) as svc:
        seal = await issue_no2(svc, PAST)
        await publish(svc, command("before"))
        async with client(svc, role=None) as pub:
            crl1 = x509.load_der_x509_crl((await pub.get("/seal/crl")).content)
        async with client(svc) as admin:
            r = await admin.post(f"/seal/seals/{seal['seal_id']}/revoke", json={"reason": "lost", "note": "印章遗失"})
            assert r.status_code == 200 and r.json()["revoked_at"] and not r.json()["in_use"]
            again = await admin.post(f"/seal/seals/{seal['seal_id']}/revoke", json={"reason": "lost"})
            assert again.status_code == 409
        await publish(svc, command("after"))
        events = [e.data for e in await outbox(svc, "seal.documents")]
        assert isinstance(events[0], DocumentSealed)
        assert isinstance(events[1], SealingRefused) and events[1].reason_code == RefusalCode.SEAL_REVOKED

        revoked = [e.data for e in await outbox(svc, "seal.seals") if isinstance(e.data, SealRevoked)]
        assert revoked[0].reason.value == "lost" and revoked[0].crl_number == 2

        async with client(svc, role=None) as pub:
            r = await pub.get("/seal/crl")
            crl2 = x509.load_der_x509_crl(r.content)
            root = x509.load_der_x509_certificate((await pub.get("/seal/root.crt")).content)
            assert r.headers["content-type"] == "application/pkix-crl"
            # the document sealed before the revocation is still valid; the page says it was revoked since
            status = (await pub.get(f"/seal/documents/{events[0].document_no}/status")).json()
        assert crl2.is_signature_valid(root.public_key())
        assert crl1.get_revoked_certificate_by_serial_number(int(seal["cert_serial"], 16)) is None
        entry = crl2.get_revoked_certificate_by_serial_number(int(seal["cert_serial"], 16))
        assert entry is not None
        assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == x509.ReasonFlags.key_compromise
        sig = status["verification"]["signatures"][0]
        assert status["verification"]["ok"] and sig["revoked_now"] and not sig["revoked_at_signing"]

        # a new seal for the unit may be issued once the old one is revoked
        new = await issue_no2(svc, PAST)
        await publish(svc, command("renewed"))
        last = (await outbox(svc, "seal.documents"))[-1].data
        assert isinstance(last, DocumentSealed) and last.seal_id == new["seal_id"]


async def test_old_seal_is_refused_for_approvals_after_cutover(tmp_path: Path, database_url: str) -> None:
    async with seal_service(tmp_path, database_url=database_url) as svc:
        async with client(svc) as admin:
            r = await admin.post("/seal/old-seals", json={"unit_code": UNIT_CODE, "unit_name": "某某县市场监督管理局"})
            assert r.status_code == 422 and r.json()["errors"][0]["field"] == "approvals_until"
            await issue_no2(svc, PAST)
            r = await admin.post("/seal/old-seals", json={"unit_code": UNIT_CODE, "unit_name": "某某县市场监督管理局"})
            assert r.status_code == 201, r.text
            old = r.json()
        assert old["kind"] == "old" and old["approvals_until"] == "2024-07-31"
        await publish(svc, command("old-approval", seal_kind=SealKind.OLD, document_type=DocumentType.APPROVAL))
        await publish(svc, command("old-supervision", seal_kind=SealKind.OLD, document_type=DocumentType.SUPERVISION))
        events = [e.data for e in await outbox(svc, "seal.documents")]
        assert isinstance(events[0], SealingRefused) and events[0].reason_code == RefusalCode.OLD_SEAL_AFTER_CUTOVER
        assert events[0].reason == "行政审批专用章启用后，原单位印章不得再用于审批文书"
        assert isinstance(events[1], DocumentSealed) and events[1].seal_id == old["seal_id"]


async def test_only_center_admin_issues_and_one_live_seal_per_unit(tmp_path: Path) -> None:
    async with seal_service(tmp_path) as svc:
        body = {"unit_code": UNIT_CODE, "unit_name": "某某县市场监督管理局", "start_date": PAST}
        async with client(svc, role=Role.SUPERVISOR) as c:
            assert (await c.post("/seal/seals", json=body)).status_code == 403
        async with client(svc, role=None) as c:
            assert (await c.post("/seal/seals", json=body)).status_code == 401
        await issue_no2(svc, PAST)
        async with client(svc) as c:
            r = await c.post("/seal/seals", json=body)
            assert r.status_code == 409 and r.json()["errors"][0]["field"] == "unit_code"
            bad = await c.post("/seal/seals", json={**body, "start_date": "yesterday"})
            assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "start_date"
            listed = (await c.get("/seal/seals", params={"unit_code": UNIT_CODE})).json()
            assert len(listed) == 1
            svg = await c.get(f"/seal/seals/{listed[0]['seal_id']}/image.svg")
            assert svg.status_code == 200 and "<svg" in svg.text


async def test_usage_log_chain_and_supervision_queries(tmp_path: Path, database_url: str) -> None:
    async with seal_service(tmp_path, database_url=database_url) as svc:
        await issue_no2(svc, PAST)
        for i in range(3):
            await publish(svc, command(f"req-{i}"))
        await publish(svc, command("refused", document_type=DocumentType.SUPERVISION))
        async with client(svc, role=Role.SUPERVISOR) as c:
            chain = (await c.get("/seal/log/verify")).json()
            assert chain == {**chain, "ok": True, "entries": 5, "first_broken": None}
            usage = (await c.get("/seal/supervision/usage")).json()
            assert usage == [{"unit_code": UNIT_CODE, "month": usage[0]["month"], "sealed": 3, "refused": 1}]
            entries = (await c.get("/seal/log", params={"limit": 10})).json()
            assert [e["action"] for e in entries] == ["issued", "sealed", "sealed", "sealed", "refused"]
            after = (await c.get("/seal/supervision/after-hours")).json()
            assert all(e["action"] == "sealed" for e in after)
        async with client(svc, role=Role.CLERK, unit=UNIT_CODE) as c:
            assert (await c.get("/seal/log/verify")).status_code == 403

        # forge an entry in the database: the chain check names it
        async with svc.uow() as uow:
            row = await uow.session.get(store.UsageLogRow, 3)
            row.detail = {**row.detail, "document_type": "approval"}
            uow.session.add(row)
            await uow.commit()
        async with client(svc, role=Role.SUPERVISOR) as c:
            chain = (await c.get("/seal/log/verify")).json()
        assert chain["ok"] is False and chain["first_broken"] == 3 and chain["entries"] == 2


async def test_after_hours_uses_are_found(tmp_path: Path) -> None:
    from services.seal.usecases.documents import seal_document

    async with seal_service(tmp_path, seal_hours_open="08:30", seal_hours_close="17:30") as svc:
        await issue_no2(svc, PAST)
        from services.runtime.workdays import TZ as CENTER_TZ
        from services.seal.domain import local_date

        tomorrow = local_date(datetime.now(UTC)) + timedelta(days=1)   # after the certificate's start
        night = datetime.combine(tomorrow, time(22, 0), CENTER_TZ)
        day = datetime.combine(tomorrow, time(10, 0), CENTER_TZ)
        async with svc.uow() as uow:
            await seal_document(svc, uow, command("night"), "e-night", now=night)
            await seal_document(svc, uow, command("day"), "e-day", now=day)
            await uow.commit()
        async with client(svc, role=Role.SUPERVISOR) as c:
            after = (await c.get("/seal/supervision/after-hours", params={"from": str(tomorrow), "to": str(tomorrow)})).json()
            usage = (await c.get("/seal/supervision/usage", params={"from": str(tomorrow), "to": str(tomorrow)})).json()
        assert [e["request_id"] for e in after] == ["night"]
        assert usage == [{"unit_code": UNIT_CODE, "month": f"{tomorrow:%Y-%m}", "sealed": 2, "refused": 0}]


async def test_public_endpoints_and_upload_form(tmp_path: Path) -> None:
    async with seal_service(tmp_path) as svc:
        await issue_no2(svc, PAST)
        await publish(svc, command("req-1"))
        sealed = (await outbox(svc, "seal.documents"))[0].data
        async with client(svc, role=None) as c:
            pdf = (await c.get(sealed.url.removeprefix(svc.settings.public_url))).content
            page = await c.get("/seal/verify")
            assert page.status_code == 200 and "电子印章核验" in page.text and 'name="file"' in page.text
            r = await c.post("/seal/verify/result", files={"file": ("n.pdf", pdf, "application/pdf")})
            assert r.status_code == 200 and "签章有效" in r.text
            tampered = bytearray(pdf)
            i = tampered.index(b"ReportLab")
            tampered[i] = ord("X")
            r = await c.post("/seal/verify", files={"file": ("n.pdf", bytes(tampered), "application/pdf")})
            answer = r.json()
            assert not answer["ok"] and answer["conclusion"].startswith("签章无效")
            assert answer["registered_document"] is None
            r = await c.post("/seal/verify", content=b"hello", headers={"Content-Type": "text/plain"})
            assert r.status_code == 415 and r.headers["content-type"] == "application/problem+json"
            r = await c.get("/seal/documents/NOPE-2024-000001")
            assert r.status_code == 404 and r.json()["errors"][0]["field"] == "document_no"
            assert (await c.get("/seal/root.pem")).text.startswith("-----BEGIN CERTIFICATE-----")
            assert (await c.get("/seal/crl.pem")).text.startswith("-----BEGIN X509 CRL-----")
            assert (await c.get("/seal/seals")).status_code == 401


async def test_keys_in_the_database_are_encrypted_and_never_served(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    async with seal_service(tmp_path) as svc:
        seal = await issue_no2(svc, PAST)
        async with svc.uow() as uow:
            row = await uow.session.get(store.SealRow, seal["seal_id"])
            root = await store.authority_row(uow.session)
        for pem in (row.key_pem, root.root_key_pem):
            assert pem.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
            try:
                serialization.load_pem_private_key(pem.encode(), password=None)
                raise AssertionError("an encrypted key loaded without its passphrase")
            except TypeError:
                pass
        async with client(svc) as c:
            listed = (await c.get(f"/seal/seals/{seal['seal_id']}")).text
            cert = (await c.get(f"/seal/seals/{seal['seal_id']}/cert.pem")).text
        assert "PRIVATE KEY" not in listed and "PRIVATE KEY" not in cert
    # a restart without the passphrase (a new local one is generated) cannot open the root
    from services.seal.usecases.root import open_authority

    svc2 = create_service(settings(tmp_path).model_copy(update={"seal_key_passphrase": None,
                                                                  "seal_key_passphrase_file": None}))
    await svc2.db.migrate()
    try:
        with pytest.raises(KeyProtectionError):
            await open_authority(svc2)   # falls back to a freshly generated local passphrase
    finally:
        await svc2.db.dispose()


async def test_every_public_page_is_hardened(tmp_path: Path) -> None:
    """Every route documented as HTML (issue 20, item 5): no script allowed, never framed, no
    referrer, not cached — on the answer and on the verification result alike."""
    async with seal_service(tmp_path) as svc:
        await issue_no2(svc, PAST)
        await publish(svc, command("req-h"))
        sealed = (await outbox(svc, "seal.documents"))[0].data
        html_routes = sorted(
            (method.upper(), path) for path, ops in svc.api.openapi()["paths"].items() for method, op in ops.items()
            if path.startswith("/seal") and any("text/html" in (resp.get("content") or {})
                                                for resp in op.get("responses", {}).values()))
        assert html_routes == [("GET", "/seal/documents/{document_no}"), ("GET", "/seal/verify"),
                               ("POST", "/seal/verify/result")]
        async with client(svc, role=None) as c:
            pdf = (await c.get(sealed.url.removeprefix(svc.settings.public_url))).content
            answers = [await c.get(f"/seal/documents/{sealed.document_no}"), await c.get("/seal/verify"),
                       await c.post("/seal/verify/result", files={"file": ("n.pdf", pdf, "application/pdf")})]
        for r in answers:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), r.text[:200]
            csp = r.headers["content-security-policy"]
            assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script-src" not in csp
            assert r.headers["referrer-policy"] == "no-referrer" and r.headers["x-frame-options"] == "DENY"
            assert r.headers["x-content-type-options"] == "nosniff" and r.headers["cache-control"] == "no-store"
            assert "<script" not in r.text
