"""Putting a seal on a PDF: a PAdES baseline (B-B) signature whose visible field IS the seal.

Where the private key lives is behind :class:`SignerProvider`. :class:`SoftwareSignerProvider` opens
the PKCS#8-encrypted key from the store for the one signing operation. A hardware module plugs in
by implementing the same protocol with pyHanko's ``pyhanko.sign.pkcs11.PKCS11Signer`` (open a
session on the token, find the key and certificate by a label derived from the seal id); nothing
else in the service changes.
"""

from __future__ import annotations

import binascii
import uuid
from dataclasses import dataclass, field
from io import BytesIO
from typing import Protocol

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils import content, layout
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
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


class SoftwareSignerProvider:
    """Keys encrypted at rest in the service's store, opened in memory per signing."""

    def __init__(self, protector: KeyProtector) -> None:
        self._protector = protector

    def signer_for(self, key: SealKey) -> Signer:
        if key.encrypted_key_pem is None:
            raise ValueError(f"seal {key.seal_id} has no software key")
        private = self._protector.open(key.encrypted_key_pem)
        info = asn1_keys.PrivateKeyInfo.load(
            private.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return signers.SimpleSigner(
            signing_cert=_asn1_cert(key.cert),
            signing_key=info,
            cert_registry=SimpleCertificateStore.from_certs([_asn1_cert(c) for c in key.chain]),
        )


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


class _PdfBytesPage(content.PdfContent):
    """The first page of a PDF held in memory, imported as a form XObject (pyHanko's own
    ImportedPdfPage only reads files)."""

    def __init__(self, pdf: bytes) -> None:
        super().__init__()
        self._pdf = pdf

    def render(self) -> bytes:
        w = self._ensure_writer
        xobj = w.import_page_as_xobject(PdfFileReader(BytesIO(self._pdf)), page_ix=0)
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
    "SealBox", "SealKey", "SealingError", "SignerProvider", "SoftwareSignerProvider",
    "default_box", "seal_pdf",
]
