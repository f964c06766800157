"""OFD notices sealed with GB/T 38540 v4 seals, end to end through the service: every sealed OFD is
checked by ofdrw-sign (built from Maven Central) and its seal by the ``openssl`` CLI; a changed
page, a changed signature, a forged seal and a revoked seal are refused by them and by the
service's own verify API; bad input is refused with the reason in Chinese."""

from __future__ import annotations

import hashlib
import io
import subprocess
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from contracts.common import Role
from contracts.seal import DocumentFormat, DocumentSealed, RefusalCode, SealingRefused, SignatureFormat
from services.runtime.testing import publish
from services.seal import store
from services.seal.adapters import gmpki, ofd, ses, sm2
from services.seal.usecases import root

from .ofdrw import ofdrw_verify, openssl_checks_cert, openssl_checks_seal, openssl_revoked
from .service_helpers import client, command, issue_no2, outbox, seal_service

pytestmark = pytest.mark.timeout(900)

PAST = "2024-08-01"
BOTH = ["pdf", "ofd"]


def rezip(data: bytes, changes: dict[str, bytes]) -> bytes:
    """The package with some files replaced (or added)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            z.writestr(info, changes.get(info.filename, src.read(info)))
        for name, value in changes.items():
            if name not in src.namelist():
                z.writestr(name, value)
    return out.getvalue()


def member(data: bytes, name: str) -> bytes:
    return zipfile.ZipFile(io.BytesIO(data)).read(name)


async def fetch(svc, url: str) -> bytes:
    """A capability URL of DocumentSealed, fetched from the service's own API."""
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]
    async with client(svc, role=None) as c:
        r = await c.get(path)
    assert r.status_code == 200, r.text
    return r.content


async def verify_api(svc, data: bytes, ctype: str = "application/ofd"):
    async with client(svc, role=None) as c:
        return await c.post("/seal/verify", content=data, headers={"Content-Type": ctype})


async def sealed_ofd(svc, request_id: str = "req-ofd", **kw) -> tuple[DocumentSealed, bytes]:
    await publish(svc, command(request_id, formats=[DocumentFormat.PDF, DocumentFormat.OFD], **kw))
    event = [e.data for e in await outbox(svc, "seal.documents") if e.data.request_id == request_id][-1]
    assert isinstance(event, DocumentSealed), event
    ofd_file = next(f for f in event.files if f.format == DocumentFormat.OFD)
    return event, await fetch(svc, ofd_file.url)


async def test_both_formats_sealed_and_checked_by_ofdrw_and_openssl(tmp_path: Path) -> None:
    async with seal_service(tmp_path / "svc", seal_formats=BOTH) as svc:
        seal = await issue_no2(svc, PAST)
        event, data = await sealed_ofd(svc)
        # the event: the PDF first (what notify reads), each format with its digest and URL
        assert [f.format for f in event.files] == [DocumentFormat.PDF, DocumentFormat.OFD]
        pdf_file, ofd_file = event.files
        assert event.sha256 == pdf_file.sha256 and event.url == pdf_file.url and event.url.endswith(".pdf")
        assert pdf_file.signature == SignatureFormat.PADES and ofd_file.signature == SignatureFormat.SES_V4
        assert event.seal_serial == seal["cert_serial"] == pdf_file.cert_serial
        assert hashlib.sha256(data).hexdigest() == ofd_file.sha256

        # the package: GB/T 33190's namespace, the signature files where OFD.xml says
        assert ofd.NS.encode() in member(data, "OFD.xml")
        sig_xml = member(data, ofd.SIGNATURE)
        assert b'CheckMethod="1.2.156.10197.1.401"' in sig_xml and b"StampAnnot" in sig_xml
        assert "受理通知书".encode() in member(data, "Doc_0/Pages/Page_0/Content.xml")
        view = ses.read_signature(member(data, ofd.SIGNED_VALUE))
        assert view.version == 4 and view.seal.name == "某某县市场监督管理局行政审批专用章"
        assert view.signature_ok and view.signer_in_seal and view.seal.maker_signature_ok
        assert view.seal.picture_type == "png" and view.seal.picture[:8] == b"\x89PNG\r\n\x1a\n"

        # the independent checks
        (tmp_path / "good.ofd").write_bytes(data)
        assert ofdrw_verify(tmp_path / "good.ofd") == {str(tmp_path / "good.ofd"): "OK"}
        parts = root.sm2(svc)
        ok, why = openssl_checks_seal(view.seal_der, parts.authority.root_pem, tmp_path / "openssl")
        assert ok, why
        ok, why = openssl_checks_cert(gmpki.cert_pem(view.signer_cert), parts.authority.root_pem, tmp_path / "cert")
        assert ok, why

        # our own verify API: valid, and the register knows it
        r = await verify_api(svc, data)
        assert r.status_code == 200, r.text
        answer = r.json()
        assert answer["format"] == "ofd" and answer["ok"], answer
        assert answer["signatures"][0]["unit_name"] == "某某县市场监督管理局"
        assert answer["registered_document"]["document_no"] == event.document_no
        assert "SM2" in answer["conclusion"]
        # the PDF of the same document is still a PAdES one
        assert (await verify_api(svc, await fetch(svc, pdf_file.url), "application/pdf")).json()["ok"]

        # the usage log records both files, and the chain holds
        async with svc.uow() as uow:
            entries = [e for e in await store.log_entries(uow.session) if e.action == "sealed"]
        assert set(entries[-1].detail["files"]) == {"pdf", "ofd"}
        assert entries[-1].detail["files"]["ofd"]["sha256"] == ofd_file.sha256
        async with client(svc, Role.SUPERVISOR) as c:
            assert (await c.get("/seal/log/verify")).json()["ok"]
            seal_page = await c.get(f"/seal/documents/{event.document_no}/status")
        assert seal_page.json()["formats"] == ["ofd", "pdf"]


async def test_tampering_forgery_and_revocation_are_refused(tmp_path: Path) -> None:
    async with seal_service(tmp_path / "svc", seal_formats=BOTH) as svc:
        seal = await issue_no2(svc, PAST)
        _event, data = await sealed_ofd(svc)
        parts = root.sm2(svc)
        root_pem = parts.authority.root_pem
        files: dict[str, bytes] = {}

        # 1. a changed page
        page = member(data, "Doc_0/Pages/Page_0/Content.xml").replace("予以受理".encode(), "不予受理".encode())
        files["page"] = rezip(data, {"Doc_0/Pages/Page_0/Content.xml": page})
        # 2. a changed signature (one bit of the signer's signature value)
        sv = bytearray(member(data, ofd.SIGNED_VALUE))
        sv[-5] ^= 0x01
        files["signature"] = rezip(data, {ofd.SIGNED_VALUE: bytes(sv)})
        # 3. a changed reference list (a reference dropped from Signature.xml)
        sig_xml = member(data, ofd.SIGNATURE)
        start = sig_xml.index(b"<ofd:Reference ")
        end = sig_xml.index(b"</ofd:Reference>", start) + len(b"</ofd:Reference>")
        files["references"] = rezip(data, {ofd.SIGNATURE: sig_xml[:start] + sig_xml[end:]})
        # 4a. a forged seal: the seal's validity stretched, the maker's signature kept
        view = ses.read_signature(member(data, ofd.SIGNED_VALUE))
        seal_obj = ses.SESeal.load(view.seal_der)
        seal_obj["e_seal_info"]["property"]["valid_end"] = ses._gt(datetime(2099, 1, 1, tzinfo=UTC))
        forged_seal = seal_obj.dump(force=True)
        async with svc.uow() as uow:
            row = await uow.session.get(store.SealRow, seal["seal_id"])
        signer_key = root.protector(svc).open_sm2(row.sm2_key_pem.encode())
        signer_cert = gmpki.load_cert(row.sm2_cert_pem.encode())
        # ... and re-signed by the insider who holds the seal's key: ofdrw cannot tell, openssl and we can
        resigned = ses.make_signature(seal_der=forged_seal, signer_cert=signer_cert, signer_key=signer_key,
                                      data=sig_xml, property_info="/" + ofd.SIGNATURE, at=datetime.now(UTC))
        files["forged-seal"] = rezip(data, {ofd.SIGNED_VALUE: resigned})
        # 4b. a seal made by a seal maker of the forger's own, same names
        fake_root, fake_root_key = gmpki.Sm2Authority.create_root(authority_name="某某县电子印章根证书（SM2）",
                                                                  organization="某某县行政审批服务中心")
        fake_ca = gmpki.Sm2Authority(fake_root, fake_root_key, crl_url="http://forger/crl")
        fake_maker_key = sm2.PrivateKey.generate()
        fake_maker = fake_ca.issue(root._maker_name(root.settings_of(svc)), root.protector(svc), key=fake_maker_key)
        now = datetime.now(UTC)
        fake_seal = ses.make_seal(
            name=view.seal.name, es_id=view.seal.es_id, signer_cert=signer_cert, maker_cert=fake_maker.cert,
            maker_key=fake_maker_key, picture_png=view.seal.picture, width_mm=42, height_mm=42,
            valid_start=now - timedelta(days=1), valid_end=now + timedelta(days=3650), created=now)
        files["fake-maker"] = rezip(data, {ofd.SIGNED_VALUE: ses.make_signature(
            seal_der=fake_seal, signer_cert=signer_cert, signer_key=signer_key, data=sig_xml,
            property_info="/" + ofd.SIGNATURE, at=now)})

        paths = {}
        for name, blob in files.items():
            paths[name] = tmp_path / f"{name}.ofd"
            paths[name].write_bytes(blob)
        verdicts = ofdrw_verify(*paths.values())
        for name in ("page", "signature", "references"):
            assert verdicts[str(paths[name])].startswith("FAIL"), (name, verdicts)
        # ofdrw does not look into the seal: the forged seals are openssl's and ours to refuse
        ok, why = openssl_checks_seal(forged_seal, root_pem, tmp_path / "o1")
        assert not ok and "seal signature" in why
        ok, why = openssl_checks_seal(fake_seal, root_pem, tmp_path / "o2")
        assert not ok and "chain" in why

        expected = {
            "page": "文件内容在签章后被改动",
            "signature": "签名值无效",
            "references": "文件内容在签章后被改动",  # Signature.xml no longer hashes to the dataHash
            "forged-seal": "印章可能被伪造",
            "fake-maker": "不是本县印章根证书（SM2）签发的",
        }
        for name, blob in files.items():
            r = await verify_api(svc, blob)
            assert r.status_code == 200, r.text
            answer = r.json()
            assert not answer["ok"], (name, answer)
            assert expected[name] in answer["conclusion"], (name, answer["conclusion"])

        # 5. a revoked seal: the SM2 CRL lists it (checked by openssl), a notice it signs after the
        # revocation is refused by us; one it sealed before stays valid ("revoked since")
        async with client(svc) as c:
            r = await c.post(f"/seal/seals/{seal['seal_id']}/revoke", json={"reason": "lost"})
        assert r.status_code == 200, r.text
        async with client(svc, role=None) as c:
            crl = (await c.get("/seal/sm2/crl")).content
        revoked, text = openssl_revoked(crl, root_pem, row.sm2_cert_serial, tmp_path / "crl")
        assert revoked, text
        before = (await verify_api(svc, data)).json()
        assert before["ok"] and before["signatures"][0]["revoked_now"], before
        later = datetime.now(UTC) + timedelta(minutes=5)
        after_sig = ses.make_signature(seal_der=view.seal_der, signer_cert=signer_cert, signer_key=signer_key,
                                       data=sig_xml, property_info="/" + ofd.SIGNATURE, at=later)
        r = (await verify_api(svc, rezip(data, {ofd.SIGNED_VALUE: after_sig}))).json()
        assert not r["ok"] and "签章时印章已被注销" in r["conclusion"], r
        # and the service refuses to seal with it in either format
        await publish(svc, command("after-revocation", formats=[DocumentFormat.OFD]))
        refused = [e.data for e in await outbox(svc, "seal.documents") if e.data.request_id == "after-revocation"]
        assert isinstance(refused[0], SealingRefused) and refused[0].reason_code == RefusalCode.SEAL_REVOKED


async def test_bad_input_is_refused_with_the_reason_in_chinese(tmp_path: Path) -> None:
    async with seal_service(tmp_path / "a", seal_formats=BOTH) as svc, \
            seal_service(tmp_path / "b", seal_formats=BOTH) as other:
        seal = await issue_no2(svc, PAST)
        await issue_no2(other, PAST)
        # an OFD that is not one: problem+json naming the field, the reason in Chinese
        for body, ctype in ((b"%PDF-1.4 not a zip", "application/ofd"),
                            (rezip_empty(), "application/ofd"),
                            (b"PK\x03\x04 broken zip", "application/octet-stream")):
            r = await verify_api(svc, body, ctype)
            assert r.status_code == 422, r.text
            problem = r.json()
            assert r.headers["content-type"].startswith("application/problem+json")
            assert "file" in str(problem) and "OFD" in str(problem), problem
        # a seal from another county's root
        _e, foreign = await sealed_ofd(other, "foreign")
        answer = (await verify_api(svc, foreign)).json()
        assert not answer["ok"] and "不是本县印章根证书（SM2）签发的" in answer["conclusion"], answer
        # an expired seal: a seal whose validity ended before it signed
        async with svc.uow() as uow:
            row = await uow.session.get(store.SealRow, seal["seal_id"])
        parts = root.sm2(svc)
        prot = root.protector(svc)
        signer_cert = gmpki.load_cert(row.sm2_cert_pem.encode())
        now = datetime.now(UTC)
        view_start = now - timedelta(days=400)
        expired_seal = ses.make_seal(
            name="某某县市场监督管理局行政审批专用章", es_id="expired", signer_cert=signer_cert,
            maker_cert=parts.maker_cert, maker_key=prot.open_sm2(parts.maker_key_pem), picture_png=b"\x89PNG",
            width_mm=42, height_mm=42, valid_start=view_start, valid_end=now - timedelta(days=30), created=view_start)
        _e, mine = await sealed_ofd(svc, "mine")
        sig_xml = member(mine, ofd.SIGNATURE)
        expired = rezip(mine, {ofd.SIGNED_VALUE: ses.make_signature(
            seal_der=expired_seal, signer_cert=signer_cert, signer_key=prot.open_sm2(row.sm2_key_pem.encode()),
            data=sig_xml, property_info="/" + ofd.SIGNATURE, at=now)})
        answer = (await verify_api(svc, expired)).json()
        assert not answer["ok"] and "印章已过期" in answer["conclusion"], answer
        # the public page's upload form takes an OFD too
        async with client(svc, role=None) as c:
            page = await c.post("/seal/verify/result", files={"file": ("notice.ofd", mine, "application/ofd")})
        assert page.status_code == 200 and "签章有效" in page.text


def rezip_empty() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("readme.txt", "not an OFD")
    return out.getvalue()


async def test_formats_follow_the_county_setting_and_the_request(tmp_path: Path) -> None:
    async with seal_service(tmp_path / "pdf-only") as svc:  # the default: PDF only
        await issue_no2(svc, PAST)
        await publish(svc, command("plain"))
        await publish(svc, command("wants-ofd", formats=[DocumentFormat.OFD]))
        events = {e.data.request_id: e.data for e in await outbox(svc, "seal.documents")}
        assert [f.format for f in events["plain"].files] == [DocumentFormat.PDF]
        assert isinstance(events["wants-ofd"], SealingRefused)
        assert events["wants-ofd"].reason_code == RefusalCode.BAD_DOCUMENT
    async with seal_service(tmp_path / "ofd-only", seal_formats=["ofd"]) as svc:
        await issue_no2(svc, PAST)
        await publish(svc, command("content"))                       # rendered: OFD only
        await publish(svc, command("given-pdf", pdf=await _a_pdf()))  # notify's PDF: never lost, sealed as PDF
        await publish(svc, command("pdf-no-content", pdf=await _a_pdf(), formats=[DocumentFormat.OFD]))
        events = {e.data.request_id: e.data for e in await outbox(svc, "seal.documents")}
        only = events["content"]
        assert [f.format for f in only.files] == [DocumentFormat.OFD]
        assert only.url.endswith(".ofd") and only.sha256 == only.files[0].sha256
        assert [f.format for f in events["given-pdf"].files] == [DocumentFormat.PDF]
        assert events["pdf-no-content"].reason_code == RefusalCode.NO_DOCUMENT
        # a repeated request gets the same files again
        await publish(svc, command("content"))
        again = [e.data for e in await outbox(svc, "seal.documents") if e.data.request_id == "content"]
        assert again[-1].files == only.files
        # the public page verifies the stored OFD
        async with client(svc, role=None) as c:
            status = (await c.get(f"/seal/documents/{only.document_no}/status")).json()
            assert status["verification"]["format"] == "ofd" and status["verification"]["ok"], status
            esl = await c.get(f"/seal/seals/{only.seal_id}/seal.esl")
            assert ses.read_seal(esl.content).maker_signature_ok


async def _a_pdf() -> bytes:
    from services.seal.adapters.render import render_notice

    from .conftest import sample_notice

    return render_notice(sample_notice())[0]


def test_openssl_sees_the_standard_id_matters(tmp_path: Path) -> None:
    """Certificates and CRLs of the SM2 root are SM3withSM2 with the ID 1234567812345678: openssl
    accepts them only with that ID given (its 3.0 default differs)."""
    from services.seal.adapters.authority import KeyProtector, SealSubject

    prot = KeyProtector("passphrase-for-this-test")
    cert, key = gmpki.Sm2Authority.create_root(authority_name="测试根", organization="测试")
    ca = gmpki.Sm2Authority(cert, key, crl_url="http://x/crl")
    seal = ca.issue_seal(SealSubject("LYJ", "某某县林业局"), prot)
    assert openssl_checks_cert(seal.pem, ca.root_pem, tmp_path / "a")[0]
    (tmp_path / "root.pem").write_bytes(ca.root_pem)
    (tmp_path / "seal.pem").write_bytes(seal.pem)
    plain = subprocess.run(["openssl", "verify", "-CAfile", str(tmp_path / "root.pem"), str(tmp_path / "seal.pem")],
                           capture_output=True)
    assert plain.returncode != 0


async def test_every_approval_notice_type_in_ofd_verified_by_ofdrw(tmp_path: Path) -> None:
    """The six kinds of cases' notices (and the decisions) as OFD, one long enough for two pages;
    ofdrw checks them all in one run, our API too."""
    from contracts.common import DocumentType
    from contracts.seal import NoticeContent
    from services.seal import domain

    async with seal_service(tmp_path / "svc", seal_formats=["ofd"]) as svc:
        await issue_no2(svc, PAST)
        paths = []
        for i, dt in enumerate(sorted(domain.DEFAULT_SCOPE)):
            paragraphs = ["经审查，你（单位）提交的申请材料情况如下，特此告知。（一次性告知）"]
            if dt == DocumentType.SUPPLEMENT:
                paragraphs += [f"{n}. 缺少《营业执照》副本复印件第{n}页，须加盖单位公章（Seal No.{n}）。" for n in range(1, 40)]
            content = NoticeContent(addressee="某某食品有限公司", paragraphs=paragraphs,
                                    numbers={"受理编号": f"SL-2024-{i:06d}"})
            cmd = command(f"kind-{dt.value}", document_type=dt, title=domain.DOCUMENT_TITLES[dt])
            await publish(svc, cmd.model_copy(update={"content": content}))
            event = [e.data for e in await outbox(svc, "seal.documents") if e.data.request_id == f"kind-{dt.value}"][0]
            assert isinstance(event, DocumentSealed), event
            data = await fetch(svc, event.url)
            if dt == DocumentType.SUPPLEMENT:
                assert "Doc_0/Pages/Page_1/Content.xml" in zipfile.ZipFile(io.BytesIO(data)).namelist()
            answer = (await verify_api(svc, data)).json()
            assert answer["ok"], (dt, answer)
            paths.append(tmp_path / f"{dt.value}.ofd")
            paths[-1].write_bytes(data)
        pages: dict[str, int] = {}
        verdicts = ofdrw_verify(*paths, pages=pages)
        assert set(verdicts.values()) == {"OK"}, verdicts
        for path in paths:  # ofdrw's reader finds the pages the package holds
            names = zipfile.ZipFile(path).namelist()
            assert pages[str(path)] == sum(n.endswith("/Content.xml") for n in names)
        assert pages[str(tmp_path / "supplement.ofd")] > 1 and pages[str(tmp_path / "acceptance.ofd")] == 1
        assert len(paths) == len(domain.DEFAULT_SCOPE) == 8
