"""The naive pyHanko peer of the seal service's sign path (issue 19, goal 2).

What a developer writes from pyHanko's and ReportLab's documentation to seal a one-page notice:
the same zh-CN acceptance notice rendered with ReportLab's platypus and the same CJK TrueType font
(embedded as a subset), then ``signers.sign_pdf`` with a :class:`~pyhanko.sign.signers.SimpleSigner`
(ECDSA P-256 key, a bare certificate under a P-384 root, the root in the registry), PAdES B-B,
SHA-256, an invisible signature field, and pyHanko's default sizing (a dry-run signature to
estimate the signature container). The signer is made once, as any sensible caller would.

    .venv/bin/python -m benchmarks.seal_naive --notices 50
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta
from io import BytesIO

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"), x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_signer() -> tuple[signers.SimpleSigner, x509.Certificate]:
    """A bare P-256 signing certificate under a P-384 root; returns the signer and the root."""
    now = datetime.now(UTC)
    root_key = ec.generate_private_key(ec.SECP384R1())
    root = (
        x509.CertificateBuilder().subject_name(_name("naive root")).issuer_name(_name("naive root"))
        .public_key(root_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(root_key, hashes.SHA384())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder().subject_name(_name("naive signer")).issuer_name(root.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=365))
        .sign(root_key, hashes.SHA384())
    )
    der = lambda c: asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))  # noqa: E731
    info = asn1_keys.PrivateKeyInfo.load(key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    signer = signers.SimpleSigner(signing_cert=der(cert), signing_key=info,
                                  cert_registry=SimpleCertificateStore.from_certs([der(root)]))
    return signer, root


def render(title: str, unit: str, paragraphs: list[str], numbers: str, addressee: str, date_text: str) -> bytes:
    """The notice with ReportLab's platypus, the same font and layout as the service's."""
    from reportlab.lib.enums import TA_CENTER, TA_RIGHT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    from services.seal.adapters.fonts import cjk_font

    font = cjk_font()
    body = ParagraphStyle("body", fontName=font, fontSize=15, leading=26, firstLineIndent=30, wordWrap="CJK")
    story = [
        Paragraph(title, ParagraphStyle("t", fontName=font, fontSize=21, leading=34, alignment=TA_CENTER)),
        Paragraph(numbers, ParagraphStyle("n", fontName=font, fontSize=11, leading=18, alignment=TA_CENTER)),
        Spacer(1, 8 * mm), Paragraph(f"{addressee}：", body),
        *(Paragraph(p, body) for p in paragraphs), Spacer(1, 18 * mm),
        Paragraph(f"{unit}<br/>{date_text}", ParagraphStyle("s", parent=body, alignment=TA_RIGHT, firstLineIndent=0)),
    ]
    buf = BytesIO()
    SimpleDocTemplate(buf, pagesize=A4, leftMargin=28 * mm, rightMargin=26 * mm, topMargin=37 * mm,
                      bottomMargin=35 * mm, title=title, author=unit).build(story)
    return buf.getvalue()


def sign(pdf: bytes, signer: signers.SimpleSigner) -> bytes:
    """``signers.sign_pdf`` as documented: a new invisible field, PAdES, default sizing."""
    meta = signers.PdfSignatureMetadata(field_name="Signature1", md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES)
    return signers.sign_pdf(IncrementalPdfFileWriter(BytesIO(pdf)), meta, signer=signer).getvalue()


class NaiveSealer:
    def __init__(self) -> None:
        self.signer, self.root = make_signer()

    def seal(self, i: int) -> bytes:
        from benchmarks.seal_throughput import PARAGRAPHS, UNIT_NAME

        pdf = render("受理通知书", UNIT_NAME, PARAGRAPHS, f"受理编号：SL-2024-{i:06d}", "张三", "2024年8月2日")
        return sign(pdf, self.signer)


def rate(sealer: NaiveSealer, n: int, offset: int = 0) -> float:
    """Notices rendered and signed per second, one at a time (one core)."""
    t = time.thread_time()
    for i in range(n):
        sealer.seal(offset + i)
    return n / (time.thread_time() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notices", type=int, default=50)
    args = ap.parse_args()
    s = NaiveSealer()
    s.seal(0)
    print(f"naive pyHanko: {rate(s, args.notices):.1f} notices per CPU-second (this thread)")


if __name__ == "__main__":
    main()
