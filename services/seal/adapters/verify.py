"""Checking a sealed PDF: is it intact, whose seal is it, does the seal chain to the county root,
was the seal revoked when it was used (and is it revoked now).

pyHanko validates each signature against a validation context whose only trust anchor is the
county root, with the current CRL given to it and no fetching. The context's time is the signing
time the signature reports, with the CRL allowed to speak about that past moment
(``retroactive_revinfo``): a seal revoked after a notice was sealed leaves that notice valid, a
seal revoked before makes it invalid. The signing time is the signer's claim (PAdES B-B carries no
timestamp token); for documents the service sealed itself, its registry's record is the authority.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from services.runtime import clock

from .authority import cert_der, crl_der, identity_of, serial_hex

log = logging.getLogger(__name__)

#: CRL reason flag value -> the contracts' revocation reason (see authority.CRL_REASONS).
_REASON_BACK = {
    x509.ReasonFlags.key_compromise: "lost",
    x509.ReasonFlags.affiliation_changed: "unit_renamed",
    x509.ReasonFlags.privilege_withdrawn: "misuse",
    x509.ReasonFlags.superseded: "superseded",
    x509.ReasonFlags.cessation_of_operation: "unit_dissolved",
}


@dataclass(frozen=True)
class SignatureCheck:
    field_name: str
    intact: bool                 # the signed bytes hash to the signed digest
    valid: bool                  # the cryptographic signature over them is good
    covers_whole_file: bool      # nothing was appended after signing
    chains_to_root: bool         # the seal's certificate chains to the county root (and is usable)
    unit_name: str | None
    seal_name: str | None
    seal_code: str | None
    common_name: str | None
    cert_serial: str | None
    signed_at: datetime | None   # as the signature reports it
    revoked_at_signing: bool
    revoked_now: bool
    revoked_on: datetime | None = None
    revocation_reason: str | None = None
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return (
            self.intact and self.valid and self.covers_whole_file and self.chains_to_root
            and not self.revoked_at_signing
        )


@dataclass(frozen=True)
class Verification:
    sha256: str
    readable: bool
    signatures: tuple[SignatureCheck, ...] = ()
    problems: tuple[str, ...] = field(default=())
    format: str = "pdf"  # or "ofd"

    @property
    def signed(self) -> bool:
        return bool(self.signatures)

    @property
    def ok(self) -> bool:
        return self.readable and self.signed and all(s.ok for s in self.signatures)


def _revocation(
    crl: x509.CertificateRevocationList | None, root: x509.Certificate, cert: x509.Certificate
) -> tuple[datetime | None, str | None]:
    if crl is None or cert.issuer != root.subject or not crl.is_signature_valid(root.public_key()):
        return None, None
    entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
    if entry is None:
        return None, None
    try:
        flag = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    except x509.ExtensionNotFound:
        flag = x509.ReasonFlags.unspecified
    return entry.revocation_date_utc, _REASON_BACK.get(flag, "unspecified")


async def verify_pdf(
    pdf: bytes,
    root: x509.Certificate,
    crl: x509.CertificateRevocationList | None,
    *,
    now: datetime | None = None,
) -> Verification:
    digest = hashlib.sha256(pdf).hexdigest()
    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        embedded = list(reader.embedded_signatures)
    except Exception as exc:  # a broken file can fail in many ways inside the parser
        log.info("unreadable PDF submitted for verification: %s", type(exc).__name__)
        return Verification(sha256=digest, readable=False, problems=("无法读取该PDF文件",))
    if not embedded:
        return Verification(sha256=digest, readable=True, problems=("该文件没有电子签章",))

    now = now or clock.now()
    root_asn1 = asn1_x509.Certificate.load(cert_der(root))
    crls = [crl_der(crl)] if crl is not None else []
    checks = []
    for sig in embedded:
        checks.append(await _check_one(sig, root, root_asn1, crl, crls, now))
    return Verification(sha256=digest, readable=True, signatures=tuple(checks))


async def _check_one(sig, root, root_asn1, crl, crls, now) -> SignatureCheck:
    problems: list[str] = []
    try:
        cert = x509.load_der_x509_certificate(sig.signer_cert.dump())
    except Exception:
        cert = None
    ident = identity_of(cert) if cert is not None else None
    try:
        signed_at = sig.self_reported_timestamp
    except Exception:
        signed_at = None
    moment = signed_at if signed_at is not None and signed_at <= now else now
    vc = ValidationContext(
        trust_roots=[root_asn1],
        crls=crls,
        moment=moment,
        retroactive_revinfo=True,
        revocation_mode="hard-fail",
        allow_fetching=False,
    )
    intact = valid = trusted = whole = False
    revoked_at_signing = False
    try:
        status = await async_validate_pdf_signature(sig, signer_validation_context=vc)
        intact, valid, trusted = status.intact, status.valid, status.trusted
        whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
        revoked_at_signing = status.revoked
    except Exception as exc:  # e.g. a mangled signature container
        log.info("signature %s failed validation: %s", sig.field_name, type(exc).__name__)
        problems.append("签章数据已损坏")
    revoked_on, reason = (None, None)
    if cert is not None:
        revoked_on, reason = _revocation(crl, root, cert)
    revoked_now = revoked_on is not None and revoked_on <= now
    if not intact:
        problems.append("文件内容在签章后被改动")
    elif not valid:
        problems.append("签名值无效")
    if intact and not whole:
        problems.append("签章后文件被追加了内容")
    if revoked_at_signing:
        problems.append("签章时印章已被注销")
    elif not trusted and intact and valid:
        problems.append("印章证书不是本县印章根证书签发的，或已失效")
    return SignatureCheck(
        field_name=str(sig.field_name),
        intact=intact,
        valid=valid,
        covers_whole_file=whole,
        chains_to_root=trusted,
        unit_name=ident.unit_name if ident else None,
        seal_name=ident.seal_name if ident else None,
        seal_code=ident.seal_code if ident else None,
        common_name=ident.common_name if ident else None,
        cert_serial=serial_hex(cert.serial_number) if cert is not None else None,
        signed_at=signed_at,
        revoked_at_signing=revoked_at_signing,
        revoked_now=revoked_now,
        revoked_on=revoked_on,
        revocation_reason=reason,
        problems=tuple(problems),
    )


# -- OFD (GB/T 33190) with GB/T 38540 v4 seals ------------------------------------------------------

def verify_ofd(data: bytes, root: "asn1_x509.Certificate", crl=None, *, now: datetime | None = None) -> Verification:
    """Check every SES v4 signature of an OFD against the county's SM2 root and its CRL.

    Per signature: the References' SM3 digests (nothing changed), every file of the package outside
    the signatures referenced (nothing added), Signature.xml's SM3 equal to the dataHash, the
    signer's SM2 signature over TBS_Sign, the signer's certificate named by the seal, the seal
    maker's signature over the seal (a forged seal fails here), both certificates issued by the
    SM2 root, the seal and the signer's certificate valid at the signing time, and the CRL at that
    time and now. Raises :class:`ofd.OfdError` (zh-CN) when the file is no OFD."""
    from . import gmpki, ofd, ses

    digest = hashlib.sha256(data).hexdigest()
    package = ofd.read_ofd(data)
    if not package.signatures:
        return Verification(sha256=digest, readable=True, problems=("该文件没有电子签章",), format="ofd")
    now = now or clock.now()
    checks = [_check_ofd_signature(e, root, crl, now, gmpki, ses) for e in package.signatures]
    return Verification(sha256=digest, readable=True, signatures=tuple(checks), format="ofd")


def _check_ofd_signature(entry, root, crl, now, gmpki, ses) -> SignatureCheck:
    from . import sm2

    problems: list[str] = []
    intact = not entry.mismatched
    whole = not entry.unreferenced
    view = None
    if entry.signed_value is None:
        problems.append("签章数据（SignedValue.dat）缺失")
    else:
        try:
            view = ses.read_signature(entry.signed_value)
        except Exception:  # a mangled DER can fail in many ways inside the parser
            problems.append("签章数据已损坏")
    if view is not None and view.data_hash != sm2.sm3(entry.signature_xml):
        intact = False
    if not intact:
        problems.append("文件内容在签章后被改动")
    if intact and not whole:
        problems.append("签章后文件被追加了内容")
    valid = chains = revoked_at_signing = revoked_now = False
    revoked_on = reason = None
    ident = None
    serial = None
    signed_at = None
    if view is not None:
        signed_at = view.signed_at
        seal = view.seal
        ident = _sm2_identity(view.signer_cert)
        serial = format(view.signer_cert.serial_number, "x")
        valid = view.signature_ok and view.version == 4
        if not view.signature_ok:
            problems.append("签名值无效")
        if not seal.maker_signature_ok:
            valid = False
            problems.append("电子印章的制章者签名无效，印章可能被伪造")
        if not view.signer_in_seal:
            valid = False
            problems.append("签章者证书与电子印章不匹配")
        maker_ok = gmpki.signed_by(seal.maker_cert, root)
        signer_ok = gmpki.signed_by(view.signer_cert, root)
        chains = maker_ok and signer_ok
        if not chains:
            problems.append("印章证书或制章者证书不是本县印章根证书（SM2）签发的")
        else:
            nb, na = gmpki.validity(view.signer_cert)
            if not (seal.valid_start <= signed_at <= seal.valid_end) or not (nb <= signed_at <= na):
                chains = False
                problems.append("签章时印章不在有效期内（印章已过期或尚未启用）")
            mnb, mna = gmpki.validity(seal.maker_cert)
            if not (mnb <= seal.created <= mna):
                chains = False
                problems.append("制章时制章者证书不在有效期内")
            moment = signed_at if signed_at <= now else now
            revoked_on, reason = gmpki.revocation_of(crl, root, view.signer_cert)
            maker_revoked, _ = gmpki.revocation_of(crl, root, seal.maker_cert)
            if maker_revoked is not None and maker_revoked <= seal.created:
                chains = False
                problems.append("制章时制章者证书已被吊销")
            if crl is None:
                chains = False
                problems.append("没有可用的吊销列表，无法确认印章状态")
            revoked_at_signing = revoked_on is not None and revoked_on <= moment
            revoked_now = revoked_on is not None and revoked_on <= now
            if revoked_at_signing:
                problems.append("签章时印章已被注销")
    return SignatureCheck(
        field_name=entry.location,
        intact=intact,
        valid=valid,
        covers_whole_file=whole,
        chains_to_root=chains,
        unit_name=ident.unit_name if ident else None,
        seal_name=ident.seal_name if ident else None,
        seal_code=ident.seal_code if ident else None,
        common_name=ident.common_name if ident else None,
        cert_serial=serial,
        signed_at=signed_at,
        revoked_at_signing=revoked_at_signing,
        revoked_now=revoked_now,
        revoked_on=revoked_on,
        revocation_reason=reason,
        problems=tuple(problems),
    )


def _sm2_identity(cert: "asn1_x509.Certificate"):
    from .authority import SealIdentity

    subject = cert.subject.native
    return SealIdentity(
        unit_name=subject.get("organization_name"), seal_name=subject.get("title"),
        seal_code=subject.get("serial_number"), common_name=subject.get("common_name"),
        serial_hex=format(cert.serial_number, "x"),
    )
