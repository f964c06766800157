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
import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from io import BytesIO
from typing import Protocol

import tzlocal

from asn1crypto import algos as asn1_algos
from asn1crypto import cms as asn1_cms
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.pdf_utils import content, generic, layout
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import as_signing_certificate_v2, simple_cms_attribute
from pyhanko.sign.signers.pdf_byterange import BYTE_RANGE_ARR_PLACE_HOLDER_LENGTH
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes, Signer
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator.registry import SimpleCertificateStore

from services.runtime import clock as suite_clock

from .authority import KeyProtector, cert_der

log = logging.getLogger(__name__)


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
        # named after the picture (not at random): the appearance of one seal on one template's
        # notices is then the same bytes each time (see _SealUpdate)
        name = b"/Seal" + binascii.hexlify(hashlib.sha256(self._pdf).digest()[:16])
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
    kept: "MutableMapping[tuple, object] | None" = None,
) -> bytes:
    """Sign ``pdf`` (PAdES B-B, SHA-256) with a visible signature field whose appearance is the
    seal's picture. Uses pyHanko's async signing API.

    ``kept``: a mapping kept with the template ``pdf`` was made from (the caller's promise: PDFs
    given with the same mapping are one PDF plus an incremental update whose objects are the same
    ones, e.g. a notice template's page plus its variable fields). The incremental update pyHanko
    writes to seal such a PDF is then the same bytes but for the times, the byte range, the
    signature, the offsets and the document id: once pyHanko has sealed two of them at different
    seconds and the first's update, replayed on the second, gave exactly the second's
    (:func:`_learn`, :class:`_SealUpdate`), the next ones are sealed by replaying it — the
    document hashed and signed, with no PDF parsed or written (~10× less CPU)."""
    key: tuple | None = None
    if kept is not None and bytes_reserved:
        key = (signer, seal_face_pdf, box, round(seal_size, 3), field_name, reason, location, signer_name,
               opacity, bytes_reserved)
        update = kept.get(key)
        if isinstance(update, _SealUpdate):
            sealed = await update.seal(pdf, signer)
            if sealed is not None:
                return sealed
    out = await _seal_pdf(pdf, signer, seal_face_pdf, box=box, seal_size=seal_size, field_name=field_name,
                          reason=reason, location=location, signer_name=signer_name, opacity=opacity,
                          bytes_reserved=bytes_reserved)
    if key is not None and kept is not None:
        _learn(kept, key, pdf, out)
    return out


async def _seal_pdf(
    pdf: bytes,
    signer: Signer,
    seal_face_pdf: bytes,
    *,
    box: SealBox | None,
    seal_size: float,
    field_name: str,
    reason: str | None,
    location: str | None,
    signer_name: str | None,
    opacity: float,
    bytes_reserved: int | None,
) -> bytes:
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


# -- the update of a template's notices, replayed --------------------------------------------------

_KEPT_PER_TEMPLATE = 8  # kinds (seal, box, reason, ...) per template: ~35 KB each once learned
_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*$")
_XREF_ENTRY = re.compile(rb"(\d{10}) (\d{5}) n")
_BYTE_RANGE = re.compile(rb"\[0 (\d+) (\d+) (\d+)\] *")
_TRAILER_ID = re.compile(rb"/ID\s*\[\s*<[0-9A-Fa-f]*>\s*<([0-9A-Fa-f]+)>\s*\]")
_TRAILER_PREV = re.compile(rb"/Prev (\d+)")


def _startxref(pdf: bytes | bytearray) -> int | None:
    m = _STARTXREF.search(pdf, max(0, len(pdf) - 64))
    return int(m.group(1)) if m else None


@dataclass
class _FirstSealed:
    """The first PDF of a template sealed by pyHanko, waiting for a second to check against."""

    base: bytes
    out: bytes


class _SealUpdate:
    """The incremental update pyHanko wrote to seal a PDF of a template, with its holes: the
    times (the signature's ``/M``, the info dictionary's ``/ModDate``, the XMP ``ModifyDate``),
    the ``/ByteRange``, the ``/Contents`` (the CMS), the xref offsets, the trailer's ``/Prev``
    and the document id's second half. Everything else — the signature dictionary, the field and
    widget, the appearance with the seal's picture, the page, catalog and info updates — is the
    same bytes for every PDF of the template."""

    _PDF_DATES = re.compile(rb"/(M|ModDate) (\(D\\072\d{14}[^)]*\))")
    _XMP_DATE = re.compile(rb'xmp:ModifyDate="(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[^"]*)"')

    def __init__(self, base: bytes, out: bytes) -> None:
        n = len(base)
        if not out.startswith(base):
            raise ValueError("the sealed PDF does not extend the one given")
        xref = _startxref(out)
        if xref is None or xref <= n or out[xref:xref + 5] != b"xref\n":
            raise ValueError("no classic xref table at the end")
        body = out[n:xref]
        width = 2 + BYTE_RANGE_ARR_PLACE_HOLDER_LENGTH
        at = body.find(b"/ByteRange ") + len(b"/ByteRange ")
        br = _BYTE_RANGE.fullmatch(body[at:at + width]) if body.count(b"/ByteRange ") == 1 else None
        if br is None:
            raise ValueError("no /ByteRange of pyHanko's shape")
        self.br_at = at
        sig_start, sig_end = int(br.group(1)), int(br.group(2))
        self.contents_at, self.contents_len = sig_start - n, sig_end - sig_start
        if not (0 < self.contents_at and self.contents_at + self.contents_len <= len(body)) \
                or body[self.contents_at:self.contents_at + 1] != b"<" or body[sig_end - n - 1:sig_end - n] != b">":
            raise ValueError("the byte range's gap is not the /Contents string")
        # the times: (offset, length, kind) — kind 0 a PDF date string, 1 an XMP date
        self.times: list[tuple[int, int, int]] = []
        for m in self._PDF_DATES.finditer(body):
            self.times.append((m.start(2), m.end(2) - m.start(2), 0))
        for m in self._XMP_DATE.finditer(body):
            self.times.append((m.start(1), m.end(1) - m.start(1), 1))
        if sum(1 for m in self._PDF_DATES.finditer(body) if m.group(1) == b"M") != 1:
            raise ValueError("not one signing time")
        self.times.sort()
        zeroed = bytearray(body)
        zeroed[self.contents_at + 1:self.contents_at + self.contents_len - 1] = b"0" * (self.contents_len - 2)
        self.body = bytes(zeroed)
        trailer_at = out.find(b"trailer", xref)
        if trailer_at < 0:
            raise ValueError("no trailer")
        tail = out[trailer_at:]
        end = tail.rfind(b"startxref")
        if end < 0:
            raise ValueError("no startxref")
        self.xref: list[bytes | int] = []  # literal bytes, or an offset relative to the update
        pos = xref
        for m in _XREF_ENTRY.finditer(out, xref, trailer_at):
            self.xref.append(out[pos:m.start()])
            offset = int(m.group(1)) - n
            if offset < 0:
                raise ValueError("an xref entry before the update")
            self.xref.append(offset)
            pos = m.start() + 10
        self.xref.append(out[pos:trailer_at])
        trailer = tail[:end]
        prev = _TRAILER_PREV.search(trailer)
        ident = _TRAILER_ID.search(trailer)
        if prev is None or ident is None or prev.start() < ident.start() or int(prev.group(1)) != _startxref(base):
            raise ValueError("no /ID then /Prev of the expected shape in the trailer")
        self.trailer = (trailer[:ident.start(1)], trailer[ident.end(1):prev.start(1)], trailer[prev.end(1):])
        self.id_len = ident.end(1) - ident.start(1)
        self.id_lower = ident.group(1) == ident.group(1).lower()
        if tail[end:] != b"startxref\n%d\n%%%%EOF\n" % xref:
            raise ValueError("an unexpected end of file")

    def build(self, base: bytes, times: list[bytes], id2: bytes) -> tuple[bytearray, int, int] | None:
        """The PDF ``base`` with the update replayed, its times ``times`` (one per hole, in
        order), its ``/Contents`` zeros: the bytes and the gap (start, end) the byte range leaves
        out; None when ``base`` or the values do not fit it."""
        prev = _startxref(base)
        if prev is None or len(id2) != self.id_len or len(times) != len(self.times):
            return None
        n = len(base)
        out = bytearray(base)
        out += self.body
        for (off, length, _kind), value in zip(self.times, times):
            if len(value) != length:
                return None
            out[n + off:n + off + length] = value
        xref = len(out)
        for part in self.xref:
            out += b"%010d" % (part + n) if isinstance(part, int) else part
        out += self.trailer[0] + id2 + self.trailer[1] + b"%d" % prev + self.trailer[2]
        out += b"startxref\n%d\n%%%%EOF\n" % xref
        start, end = n + self.contents_at, n + self.contents_at + self.contents_len
        br = b"[0 %d %d %d]" % (start, end, len(out) - end)
        width = 2 + BYTE_RANGE_ARR_PLACE_HOLDER_LENGTH
        if len(br) > width:
            return None
        out[n + self.br_at:n + self.br_at + width] = br.ljust(width)
        return out, start, end

    def holes_of(self, base: bytes, out: bytes) -> tuple[list[bytes], bytes]:
        """The times and document id a PDF sealed by pyHanko from ``base`` has."""
        n = len(base)
        xref = _startxref(out)
        ident = _TRAILER_ID.search(out, out.find(b"trailer", xref)) if xref is not None and xref > n else None
        if ident is None:
            raise ValueError("no document id")
        return [out[n + off:n + off + length] for off, length, _kind in self.times], ident.group(1)

    def matches(self, base: bytes, out: bytes) -> bool:
        """Whether replaying on ``base`` gives ``out`` (pyHanko's sealing of it) but for the CMS."""
        try:
            times, id2 = self.holes_of(base, out)
        except ValueError:
            return False
        made = self.build(base, times, id2)
        if made is None or len(made[0]) != len(out):
            return False
        theirs, start, end = bytearray(out), made[1], made[2]
        theirs[start + 1:end - 1] = b"0" * (end - start - 2)
        return made[0] == theirs

    async def seal(self, base: bytes, signer: Signer) -> bytes | None:
        """``base`` sealed by replaying the update: hashed, signed (the same CMS as pyHanko's
        path asks of the signer) and the signature put in; None when it does not fit."""
        # pyHanko's own signing time: the wall clock in the local zone (bookkeeping, not domain time)
        now = suite_clock.system_now().astimezone(tzlocal.get_localzone())
        when = BytesIO()
        generic.pdf_date(now).write_to_stream(when)
        forms = (when.getvalue(), now.replace(microsecond=0).isoformat().encode())
        id2 = binascii.hexlify(os.urandom(self.id_len // 2))
        made = self.build(base, [forms[kind] for _off, _len, kind in self.times],
                          id2 if self.id_lower else id2.upper())
        if made is None:
            return None
        out, start, end = made
        md = hashlib.sha256()
        view = memoryview(out)
        md.update(view[:start])
        md.update(view[end:])
        view.release()
        cms = await signer.async_sign(md.digest(), "sha256", use_pades=True, timestamper=None,
                                      signed_attr_settings=PdfCMSSignedAttributes(signing_time=now))
        contents = binascii.hexlify(cms.dump()).upper()
        if len(contents) > end - start - 2:
            return None
        out[start + 1:start + 1 + len(contents)] = contents
        return bytes(out)


def _learn(kept: "MutableMapping[tuple, object]", key: tuple, base: bytes, out: bytes) -> None:
    """After pyHanko sealed ``base`` as ``out``: the first of a kind is kept; with a later one
    sealed at another second (in each of its times), the first's update is made and checked
    against it: kept if, replayed on the later one's PDF with its times and id, it gives exactly
    pyHanko's bytes but for the CMS (so nothing else in it depends on the time or the notice);
    else never tried again for this kind. A later one sealed in the same second as the first
    proves nothing about the time: the next is waited for."""
    state = kept.get(key)
    if state is None:
        kept[key] = _FirstSealed(base, out)
    elif isinstance(state, _FirstSealed):
        update: _SealUpdate | None = None
        try:
            update = _SealUpdate(state.base, state.out)
            if not (update.matches(base, out) and update.matches(state.base, state.out)):
                raise ValueError("replayed, it is not what pyHanko wrote")
            first, later = update.holes_of(state.base, state.out)[0], update.holes_of(base, out)[0]
            if any(a == b for a, b in zip(first, later)):
                return  # the same second: wait for another
        except ValueError as exc:
            log.warning("a template's seal update is not replayed (its notices go through pyHanko): %s", exc)
            update = None
        kept[key] = update or False
    else:
        return
    while len(kept) > _KEPT_PER_TEMPLATE:
        kept.pop(next(iter(kept)))


__all__ = [
    "SealBox", "SealKey", "SealSigner", "SealingError", "SignerProvider", "SoftwareSignerProvider",
    "default_box", "make_signer", "seal_pdf",
]
