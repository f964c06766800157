"""Putting a seal on a PDF: a PAdES baseline (B-B) signature whose visible field IS the seal.

Where the private key lives is behind :class:`SignerProvider`. :class:`SoftwareSignerProvider` opens
the PKCS#8-encrypted key from the store on a seal's first signing and keeps it, in memory only, in
the seal's :class:`SealSigner` (whose CMS parts that depend on the certificate are encoded once)
for the next ones. A hardware module plugs in
by implementing the same protocol with pyHanko's ``pyhanko.sign.pkcs11.PKCS11Signer`` (open a
session on the token, find the key and certificate by a label derived from the seal id); nothing
else in the service changes.
"""

from __future__ import annotations

import binascii
import hashlib
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from io import BytesIO
from typing import Protocol

from asn1crypto import algos as asn1_algos
from asn1crypto import cms as asn1_cms
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.pdf_utils import content, layout
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import as_signing_certificate_v2, simple_cms_attribute
from pyhanko.sign.signers.pdf_cms import Signer
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator.registry import SimpleCertificateStore

from .authority import KeyProtector, cert_der


@dataclass(frozen=True)
class SealKey:
    """What a provider needs to find or open one seal's key."""

    seal_id: str
    cert: x509.Certificate
    chain: tuple[x509.Certificate, ...]  # issuer(s), root last
    encrypted_key_pem: bytes | None = field(default=None, repr=False)  # None in a hardware module


class SignerProvider(Protocol):
    """Gives a pyHanko :class:`Signer` for a seal; the seam for a PKCS#11 hardware module."""

    def signer_for(self, key: SealKey) -> Signer: ...


def _asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert_der(cert))


def _der(tag: int, body: bytes) -> bytes:
    """One DER TLV (definite length)."""
    n = len(body)
    if n < 0x80:
        return bytes((tag, n)) + body
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(size))) + size + body


_OID_DATA = bytes.fromhex("06092a864886f70d010701")
_OID_SIGNED_DATA = bytes.fromhex("06092a864886f70d010702")
_OID_MESSAGE_DIGEST = bytes.fromhex("06092a864886f70d010904")


class SealSigner(signers.SimpleSigner):
    """A :class:`~pyhanko.sign.signers.SimpleSigner` for one seal, made once and kept: the CMS of
    a PDF signature (PAdES B-B, SHA-256, ECDSA) is assembled from DER parts encoded once — the
    certificates, the signer's identifier, the algorithms, the content-type and
    signing-certificate-v2 attributes — so that only the message digest and the ECDSA value are
    encoded per signature (pyHanko's generic path re-encodes the certificates with asn1crypto
    every time: half the cost of sealing). Anything else (another digest, a timestamp, CAdES
    attributes, a dry run) goes through pyHanko's own path; and the first signature checks that
    the signed attributes are byte for byte those pyHanko would make, or the fast path is off."""

    def __init__(self, signing_cert: asn1_x509.Certificate, private_key: ec.EllipticCurvePrivateKey,
                 cert_registry: SimpleCertificateStore, signing_key: asn1_keys.PrivateKeyInfo) -> None:
        super().__init__(signing_cert=signing_cert, signing_key=signing_key, cert_registry=cert_registry)
        self._key = private_key
        certs = [signing_cert, *(c for c in cert_registry if c.dump() != signing_cert.dump())]
        mech = self.get_signature_mechanism_for_digest("sha256")
        self._fast = mech["algorithm"].native == "sha256_ecdsa"
        sha256 = asn1_algos.DigestAlgorithm({"algorithm": "sha256"}).dump()
        self._sha256_alg = sha256
        self._mech = mech.dump()
        self._certs = _der(0xA0, b"".join(c.dump() for c in certs))
        self._sid = asn1_cms.IssuerAndSerialNumber(
            {"issuer": signing_cert.issuer, "serial_number": signing_cert.serial_number}
        ).dump()
        self._attr_ct = simple_cms_attribute("content_type", "data").dump()
        self._attr_scv2 = simple_cms_attribute("signing_certificate_v2", as_signing_certificate_v2(signing_cert)).dump()
        self._checked: bool | None = None  # the attributes compared with pyHanko's once
        self._lock = threading.Lock()

    def _attrs(self, digest: bytes) -> bytes:
        md = _der(0x30, _OID_MESSAGE_DIGEST + _der(0x31, _der(0x04, digest)))
        return self._attr_ct + md + self._attr_scv2  # DER SET OF order (by encoding), as pyHanko's

    def _content_info(self, digest: bytes) -> bytes:
        attrs = self._attrs(digest)
        signature = self._key.sign(_der(0x31, attrs), ec.ECDSA(hashes.SHA256()))
        signer_info = _der(0x30, b"".join((
            b"\x02\x01\x01", self._sid, self._sha256_alg, _der(0xA0, attrs), self._mech, _der(0x04, signature),
        )))
        signed_data = _der(0x30, b"".join((
            b"\x02\x01\x01", _der(0x31, self._sha256_alg), _der(0x30, _OID_DATA), self._certs,
            _der(0x31, signer_info),
        )))
        return _der(0x30, _OID_SIGNED_DATA + _der(0xA0, signed_data))

    async def async_sign(  # type: ignore[override]
        self, data_digest: bytes, digest_algorithm: str, dry_run: bool = False, use_pades: bool = False,
        timestamper=None, signed_attr_settings=None, is_pdf_sig: bool = True,  # type: ignore[no-untyped-def]
        encap_content_info=None,  # type: ignore[no-untyped-def]
    ) -> asn1_cms.ContentInfo:
        plain = (
            self._fast and not dry_run and use_pades and is_pdf_sig and timestamper is None
            and encap_content_info is None and digest_algorithm == "sha256" and len(data_digest) == 32
            and self.signed_attr_prov_spec is None and self.unsigned_attr_prov_spec is None
            and not self.attribute_certs
            and (signed_attr_settings is None or (
                getattr(signed_attr_settings, "cades_signed_attrs", None) is None
                and getattr(signed_attr_settings, "adobe_revinfo_attr", None) is None))
        )
        if plain and self._checked is None:
            theirs = await self.signed_attrs(
                data_digest, digest_algorithm, attr_settings=signed_attr_settings, use_pades=use_pades,
                timestamper=timestamper, dry_run=dry_run, is_pdf_sig=is_pdf_sig,
            )
            with self._lock:
                self._checked = theirs.dump() == _der(0x31, self._attrs(data_digest))
        if not (plain and self._checked):
            return await super().async_sign(
                data_digest, digest_algorithm, dry_run=dry_run, use_pades=use_pades, timestamper=timestamper,
                signed_attr_settings=signed_attr_settings, is_pdf_sig=is_pdf_sig,
                encap_content_info=encap_content_info,
            )
        # loaded, not built: pyHanko's dump() of it returns these bytes as they are
        return asn1_cms.ContentInfo.load(self._content_info(data_digest))


def make_signer(cert: x509.Certificate, chain: tuple[x509.Certificate, ...], private_key: object) -> Signer:
    """The signer for a seal's certificate, chain and opened key (:class:`SealSigner` for ECDSA)."""
    info = asn1_keys.PrivateKeyInfo.load(
        private_key.private_bytes(  # type: ignore[attr-defined]
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    registry = SimpleCertificateStore.from_certs([_asn1_cert(c) for c in chain])
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        return SealSigner(_asn1_cert(cert), private_key, registry, info)
    return signers.SimpleSigner(signing_cert=_asn1_cert(cert), signing_key=info, cert_registry=registry)


class SoftwareSignerProvider:
    """Keys encrypted at rest in the service's store, opened in memory once per seal and kept
    with the seal's signer (its certificate-dependent CMS parts encoded once) for the next
    signings: at most ``cache_size`` seals (least recently used out), keyed by the seal, its
    certificate and its encrypted key, so a renewed or re-keyed seal gets a new signer."""

    def __init__(self, protector: KeyProtector, *, cache_size: int = 256) -> None:
        self._protector = protector
        self._cache: OrderedDict[tuple[str, bytes, bytes], Signer] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @property
    def protector(self) -> KeyProtector:
        """The key protector (handed to the service's signing processes, which open keys too)."""
        return self._protector

    def signer_for(self, key: SealKey) -> Signer:
        if key.encrypted_key_pem is None:
            raise ValueError(f"seal {key.seal_id} has no software key")
        ident = (
            key.seal_id,
            key.cert.fingerprint(hashes.SHA256()) + b"".join(c.fingerprint(hashes.SHA256()) for c in key.chain),
            hashlib.sha256(key.encrypted_key_pem).digest(),
        )
        with self._lock:
            signer = self._cache.get(ident)
            if signer is not None:
                self._cache.move_to_end(ident)
                return signer
        signer = make_signer(key.cert, key.chain, self._protector.open(key.encrypted_key_pem))
        with self._lock:
            self._cache[ident] = signer
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return signer


@dataclass(frozen=True)
class SealBox:
    """Where the seal goes: a page (0-based; -1 the last) and a rectangle in PDF points."""

    page: int
    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def width(self) -> float:
        return abs(self.x2 - self.x1)

    @property
    def height(self) -> float:
        return abs(self.y2 - self.y1)


_FACES: OrderedDict[bytes, PdfFileReader] = OrderedDict()
_FACE_LOCK = threading.RLock()


def _face_reader(pdf: bytes) -> PdfFileReader:
    """The seal picture's PDF parsed once and kept (the face of a seal does not change): importing
    it into a signature's appearance then copies objects already read. A few hundred seals."""
    digest = hashlib.sha256(pdf).digest()
    with _FACE_LOCK:
        reader = _FACES.get(digest)
        if reader is None:
            reader = _FACES[digest] = PdfFileReader(BytesIO(pdf))
            while len(_FACES) > 256:
                _FACES.popitem(last=False)
        else:
            _FACES.move_to_end(digest)
        return reader


class _PdfBytesPage(content.PdfContent):
    """The first page of a PDF held in memory, imported as a form XObject (pyHanko's own
    ImportedPdfPage only reads files)."""

    def __init__(self, pdf: bytes) -> None:
        super().__init__()
        self._pdf = pdf

    def render(self) -> bytes:
        w = self._ensure_writer
        reader = _face_reader(self._pdf)
        with _FACE_LOCK:  # the reader resolves (and caches) objects as they are read
            xobj = w.import_page_as_xobject(reader, page_ix=0)
        name = b"/Seal" + binascii.hexlify(uuid.uuid4().bytes)
        self.resources.xobject[name.decode("ascii")] = xobj
        x1, y1, x2, y2 = xobj.get_object()["/BBox"]
        self.box = layout.BoxConstraints(width=abs(x2 - x1), height=abs(y2 - y1))
        return name + b" Do"


def _page_count(writer: IncrementalPdfFileWriter) -> int:
    return int(writer.root["/Pages"]["/Count"])


def _page_size(writer: IncrementalPdfFileWriter, page_ix: int) -> tuple[float, float]:
    page = writer.find_page_for_modification(page_ix)[0].get_object()
    box = page.get("/CropBox") or page.get("/MediaBox")
    x1, y1, x2, y2 = (float(v) for v in box)
    return abs(x2 - x1), abs(y2 - y1)


def default_box(page_size: tuple[float, float], seal_size: float, page: int = -1) -> SealBox:
    """Bottom right of the page, where a notice's issuing unit and date stand."""
    w, _h = page_size
    margin = 56.0
    return SealBox(page, w - margin - seal_size, margin + 24, w - margin, margin + 24 + seal_size)


class SealingError(ValueError):
    """The PDF cannot be sealed (unreadable, encrypted, box outside the page)."""


def _unique_field_name(writer: IncrementalPdfFileWriter, base: str) -> str:
    existing = {name for name, _v, _r in fields.enumerate_sig_fields(writer)}
    if base not in existing:
        return base
    n = 2
    while f"{base}{n}" in existing:
        n += 1
    return f"{base}{n}"


async def seal_pdf(
    pdf: bytes,
    signer: Signer,
    seal_face_pdf: bytes,
    *,
    box: SealBox | None = None,
    seal_size: float = 119.06,
    field_name: str = "Seal",
    reason: str | None = None,
    location: str | None = None,
    signer_name: str | None = None,
    opacity: float = 0.88,
    bytes_reserved: int | None = 8192,
) -> bytes:
    """Sign ``pdf`` (PAdES B-B, SHA-256) with a visible signature field whose appearance is the
    seal's picture. Uses pyHanko's async signing API."""
    try:
        writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
    except Exception as exc:  # pyHanko raises several kinds for a broken file
        raise SealingError(f"unreadable PDF: {exc}") from exc
    if writer.prev.encrypted:
        raise SealingError("encrypted PDFs are not sealed")
    pages = _page_count(writer)
    if box is None:
        page_ix = pages - 1
        box = default_box(_page_size(writer, page_ix), seal_size, page_ix)
    page_ix = box.page if box.page >= 0 else pages + box.page
    if not 0 <= page_ix < pages:
        raise SealingError(f"page {box.page} is not in a {pages}-page document")
    pw, ph = _page_size(writer, page_ix)
    if min(box.x1, box.x2) < 0 or min(box.y1, box.y2) < 0 or max(box.x1, box.x2) > pw or max(box.y1, box.y2) > ph:
        raise SealingError("the seal box lies outside the page")

    name = _unique_field_name(writer, field_name)
    spec = fields.SigFieldSpec(
        sig_field_name=name,
        on_page=page_ix,
        box=(int(min(box.x1, box.x2)), int(min(box.y1, box.y2)), int(max(box.x1, box.x2)), int(max(box.y1, box.y2))),
    )
    meta = signers.PdfSignatureMetadata(
        field_name=name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
        name=signer_name,
    )
    style = StaticStampStyle(
        background=_PdfBytesPage(seal_face_pdf),
        background_opacity=opacity,
        border_width=0,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins.uniform(0),
        ),
    )
    pdf_signer = signers.PdfSigner(meta, signer=signer, stamp_style=style, new_field_spec=spec)
    # A fixed reservation spares pyHanko a dry-run signature to estimate the size (half the cost
    # of sealing); a seal's CMS (certificate, root, signed attributes, ECDSA value) is ~2 KB.
    out = await pdf_signer.async_sign_pdf(writer, bytes_reserved=bytes_reserved)
    return out.getvalue()


__all__ = [
    "SealBox", "SealKey", "SealSigner", "SealingError", "SignerProvider", "SoftwareSignerProvider",
    "default_box", "make_signer", "seal_pdf",
]
