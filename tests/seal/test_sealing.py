"""A sealed notice validates with pyHanko against the county root and with poppler's pdfsig (an
external verifier this project did not write); tampering, revocation and foreign roots are caught."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from services.seal.adapters.authority import KeyProtectionError, KeyProtector, SealAuthority, SealSubject
from services.seal.adapters.image import SealFace, seal_pdf as face_pdf
from services.seal.adapters.signing import SealBox, SealingError, SoftwareSignerProvider, seal_pdf
from services.seal.adapters.verify import verify_pdf
from services.seal.adapters.render import render_notice

from .conftest import UNIT, County, pdfsig, revoked_crl, sample_notice, seal_notice


def _flip_signed_byte(pdf: bytes) -> bytes:
    """Change one byte inside the signed range (in the document info, so the file still parses)."""
    data = bytearray(pdf)
    i = data.index(b"ReportLab")
    first_range_end = int(PdfFileReader(BytesIO(pdf)).embedded_signatures[0].sig_object["/ByteRange"][1])
    assert i < first_range_end
    data[i] = ord("X")
    return bytes(data)


async def test_sealed_notice_validates_against_the_county_root(county: County, sealed_notice: bytes) -> None:
    crl = county.authority.crl([], number=1)
    v = await verify_pdf(sealed_notice, county.authority.root_cert, crl)
    assert v.ok and len(v.signatures) == 1
    s = v.signatures[0]
    assert s.intact and s.valid and s.covers_whole_file and s.chains_to_root
    assert (s.unit_name, s.seal_name, s.seal_code) == ("某某县市场监督管理局", "行政审批专用章", "SCJG-2")
    assert not s.revoked_at_signing and not s.revoked_now and s.problems == ()
    assert s.signed_at is not None and abs(datetime.now(UTC) - s.signed_at) < timedelta(hours=1)


async def test_pdfsig_says_signature_valid_and_certificate_trusted(sealed_notice: bytes, nss_db: str, tmp_path: Path) -> None:
    out = pdfsig(sealed_notice, tmp_path, nss_db)
    assert "Signature Validation: Signature is Valid." in out
    assert "Certificate Validation: Certificate is Trusted." in out
    assert "Signer Certificate Common Name: 某某县市场监督管理局行政审批专用章(2)" in out
    assert "Signature Type: ETSI.CAdES.detached" in out  # PAdES
    assert "Total document signed" in out
    # without the county root in its trust store pdfsig still checks the signature itself
    untrusted = pdfsig(sealed_notice, tmp_path)
    assert "Signature Validation: Signature is Valid." in untrusted
    assert "Certificate is Trusted." not in untrusted


async def test_one_changed_byte_fails_pyhanko_and_pdfsig(county: County, sealed_notice: bytes, nss_db: str, tmp_path: Path) -> None:
    tampered = _flip_signed_byte(sealed_notice)
    v = await verify_pdf(tampered, county.authority.root_cert, county.authority.crl([], number=1))
    assert not v.ok and not v.signatures[0].intact
    assert "文件内容在签章后被改动" in v.signatures[0].problems
    out = pdfsig(tampered, tmp_path, nss_db)
    assert "Signature is Valid." not in out
    assert "Digest Mismatch." in out


async def test_seal_is_a_visible_field_whose_appearance_is_the_seal(sealed_notice: bytes) -> None:
    _, box = render_notice(sample_notice())
    r = PdfFileReader(BytesIO(sealed_notice))
    sig = r.embedded_signatures[0]
    field = sig.sig_field
    rect = [float(v) for v in field["/Rect"]]
    assert rect == [float(int(box.x1)), float(int(box.y1)), float(int(box.x2)), float(int(box.y2))]
    appearance = field["/AP"]["/N"]
    xobjects = appearance["/Resources"]["/XObject"]
    assert any(k.startswith("/Seal") for k in xobjects.keys())  # the imported seal picture
    assert field.get("/P") is not None and sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"


async def test_revoked_after_signing_still_valid_but_reported(county: County, sealed_notice: bytes) -> None:
    signed_at = (await verify_pdf(sealed_notice, county.authority.root_cert, None)).signatures[0].signed_at
    crl = revoked_crl(county, county.seal.cert, signed_at + timedelta(seconds=30), "lost")
    v = await verify_pdf(sealed_notice, county.authority.root_cert, crl, now=signed_at + timedelta(minutes=5))
    s = v.signatures[0]
    assert v.ok and not s.revoked_at_signing
    assert s.revoked_now and s.revocation_reason == "lost" and s.revoked_on == signed_at + timedelta(seconds=30)


async def test_revoked_before_signing_is_invalid(county: County) -> None:
    issued = county.authority.issue(UNIT, county.protector, not_before=datetime.now(UTC) - timedelta(days=2))
    pdf = await seal_notice(county, issued)
    crl = revoked_crl(county, issued.cert, datetime.now(UTC) - timedelta(hours=1), "misuse")
    v = await verify_pdf(pdf, county.authority.root_cert, crl)
    s = v.signatures[0]
    assert not v.ok and s.revoked_at_signing and s.revocation_reason == "misuse"
    assert "签章时印章已被注销" in s.problems


async def test_seal_from_another_root_does_not_chain(county: County) -> None:
    root, key = SealAuthority.create_root(authority_name="伪造的根", organization="某某县行政审批服务中心")
    forger = SealAuthority(root, key, crl_url="http://127.0.0.1/crl")
    fake = forger.issue(UNIT, county.protector, not_before=datetime.now(UTC) - timedelta(days=1))
    pdf = await seal_notice(County(county.protector, forger, fake))
    v = await verify_pdf(pdf, county.authority.root_cert, county.authority.crl([], number=1))
    s = v.signatures[0]
    assert s.intact and s.valid and not s.chains_to_root and not v.ok


async def test_unsigned_and_broken_files_are_answered_not_crashed(county: County) -> None:
    pdf, _ = render_notice(sample_notice())
    v = await verify_pdf(pdf, county.authority.root_cert, None)
    assert v.readable and not v.signed and not v.ok
    v = await verify_pdf(b"not a pdf at all", county.authority.root_cert, None)
    assert not v.readable and not v.ok


async def test_default_box_is_bottom_right_of_the_last_page(county: County) -> None:
    pdf, _ = render_notice(sample_notice())
    signer = SoftwareSignerProvider(county.protector).signer_for(county.key())
    out = await seal_pdf(pdf, signer, face_pdf(SealFace(UNIT.unit_name)))
    rect = [float(v) for v in PdfFileReader(BytesIO(out)).embedded_signatures[0].sig_field["/Rect"]]
    assert rect[0] > 595 / 2 and rect[1] < 842 / 3
    v = await verify_pdf(out, county.authority.root_cert, county.authority.crl([], number=1))
    assert v.signatures[0].intact and v.signatures[0].chains_to_root
    # revocation status is required: without a CRL the chain is not accepted
    v = await verify_pdf(out, county.authority.root_cert, None)
    assert v.signatures[0].intact and not v.signatures[0].chains_to_root


async def test_bad_inputs_are_sealing_errors(county: County) -> None:
    signer = SoftwareSignerProvider(county.protector).signer_for(county.key())
    face = face_pdf(SealFace(UNIT.unit_name))
    with pytest.raises(SealingError):
        await seal_pdf(b"%PDF-1.4 garbage", signer, face)
    pdf, _ = render_notice(sample_notice())
    with pytest.raises(SealingError):
        await seal_pdf(pdf, signer, face, box=SealBox(5, 10, 10, 100, 100))
    with pytest.raises(SealingError):
        await seal_pdf(pdf, signer, face, box=SealBox(0, 500, 10, 700, 200))


def test_software_provider_needs_the_right_passphrase(county: County) -> None:
    with pytest.raises(KeyProtectionError):
        SoftwareSignerProvider(KeyProtector("not-the-right-passphrase")).signer_for(county.key())


async def test_a_second_seal_gets_its_own_field_and_both_validate(county: County, sealed_notice: bytes) -> None:
    other = county.authority.issue(SealSubject("MZJ", "某某县民政局"), county.protector,
                                   not_before=datetime.now(UTC) - timedelta(days=1))
    signer = SoftwareSignerProvider(county.protector).signer_for(county.key(other))
    twice = await seal_pdf(sealed_notice, signer, face_pdf(SealFace("某某县民政局")), box=SealBox(-1, 100, 100, 219, 219))
    v = await verify_pdf(twice, county.authority.root_cert, None)
    names = [s.field_name for s in v.signatures]
    assert names == ["Seal", "Seal2"]
    assert v.signatures[1].intact and v.signatures[1].covers_whole_file and v.signatures[1].unit_name == "某某县民政局"
    # the first seal still covers its own revision, and nothing beyond a new signature was added
    assert v.signatures[0].intact and not v.signatures[0].covers_whole_file
