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
