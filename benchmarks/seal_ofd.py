"""OFD sealing (GB/T 33190 + GB/T 38540 v4, SM2/SM3) beside PAdES PDF sealing, on this machine.

    .venv/bin/python -m benchmarks.seal_ofd [--notices 100]

For the same one-page zh-CN acceptance notice, one at a time, in process:

- ``pdf``: render with ReportLab + seal with pyHanko (PAdES B-B, ECDSA P-256) — what
  ``benchmarks.seal_throughput``'s first row measures;
- ``ofd``: lay out the OFD package + seal it: SM3 of every file, Signature.xml, the SES_Signature
  v4 (pure-Python SM2 signature, the encrypted SM2 key opened per seal as the service does);
- ``font``: the CJK font's subset the OFD embeds (part of ``ofd``);
- ``ofd verify``: the service's own OFD check (SM3 references, signer's and seal maker's SM2
  signatures, both certificates against the SM2 root, the CRL);
- ``sm2 sign`` / ``sm2 verify``: one SM2 signature of 1 KB, alone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import time
from datetime import UTC, date, datetime, timedelta

from services.seal.adapters import gmpki, image, ofd, ses, sm2
from services.seal.adapters.fonts import subset_ttf
from services.seal.adapters.authority import KeyProtector, SealAuthority, SealSubject
from services.seal.adapters.image import SealFace, seal_pdf as face_pdf
from services.seal.adapters.render import Notice, render_notice
from services.seal.adapters.signing import SealKey, SoftwareSignerProvider, seal_pdf
from services.seal.adapters.verify import verify_ofd

from .seal_throughput import PARAGRAPHS, PASSPHRASE, UNIT_NAME, pct


def row(name: str, times: list[float]) -> str:
    ms = [t * 1000 for t in times]
    per_s = len(times) / sum(times)
    return (f"| {name} | {len(times)} | {per_s:.1f} | {statistics.median(ms):.0f} | {pct(ms, 90):.0f} | "
            f"{pct(ms, 99):.0f} |")


async def main(n: int) -> None:
    prot = KeyProtector(PASSPHRASE)
    now = datetime.now(UTC)
    subject = SealSubject("SCJG", UNIT_NAME)
    # PAdES side
    root, root_key = SealAuthority.create_root(authority_name="某某县电子印章根证书", organization="某某县行政审批服务中心")
    ca = SealAuthority(root, root_key, crl_url="http://127.0.0.1/seal/crl")
    issued = ca.issue(subject, prot, not_before=now - timedelta(days=1))
    key = SealKey("bench", issued.cert, (root,), issued.encrypted_key_pem)
    face = face_pdf(SealFace(UNIT_NAME))
    # SM2 side
    sm2_root, sm2_root_key = gmpki.Sm2Authority.create_root(authority_name="某某县电子印章根证书（SM2）",
                                                            organization="某某县行政审批服务中心")
    sm2_ca = gmpki.Sm2Authority(sm2_root, sm2_root_key, crl_url="http://127.0.0.1/seal/sm2/crl")
    maker_key = sm2.PrivateKey.generate()
    from cryptography import x509
    from cryptography.x509.oid import NameOID
    maker = sm2_ca.issue(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "制章者")]), prot, key=maker_key,
                         not_before=now - timedelta(days=1))
    twin = sm2_ca.issue_seal(subject, prot, not_before=now - timedelta(days=1))
    seal_der = ses.make_seal(
        name=f"{UNIT_NAME}行政审批专用章", es_id="bench", signer_cert=twin.cert, maker_cert=maker.cert,
        maker_key=maker_key, picture_png=image.seal_png(SealFace(UNIT_NAME)), width_mm=42, height_mm=42,
        valid_start=now - timedelta(days=1), valid_end=now + timedelta(days=365), created=now)
    crl = sm2_ca.crl([], number=1)

    notice = Notice(title="受理通知书", unit_name=UNIT_NAME, addressee="张三", paragraphs=PARAGRAPHS,
                    issued_on=date(2024, 8, 2), numbers=[("受理编号", "SL-2024-000123")])
    ofd_notice = ofd.OfdNotice(title="受理通知书", unit_name=UNIT_NAME, addressee="张三", paragraphs=PARAGRAPHS,
                               issued_on=date(2024, 8, 2), numbers=[("受理编号", "SL-2024-000123")])
    provider = SoftwareSignerProvider(prot)

    async def one_pdf() -> bytes:
        pdf, box = render_notice(notice)
        return await seal_pdf(pdf, provider.signer_for(key), face, box=box, reason="行政审批专用章")

    def one_ofd() -> bytes:
        signer_key = prot.open_sm2(twin.encrypted_key_pem)
        pkg, place = ofd.render_notice(ofd_notice)
        at = datetime.now(UTC)
        return ofd.seal_ofd(pkg, place, lambda x, p: ses.make_signature(
            seal_der=seal_der, signer_cert=twin.cert, signer_key=signer_key, data=x, property_info=p, at=at),
            at=at, provider="OneWindow seal", company="某某县行政审批服务中心")

    await one_pdf(), one_ofd()  # warm-up (fonts, imports)
    pdf_t, ofd_t, ver_t = [], [], []
    sizes = {"pdf": 0, "ofd": 0}
    for _ in range(n):
        t = time.perf_counter()
        sizes["pdf"] = len(await one_pdf())
        pdf_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        data = one_ofd()
        ofd_t.append(time.perf_counter() - t)
        sizes["ofd"] = len(data)
        t = time.perf_counter()
        v = verify_ofd(data, sm2_root, crl)
        ver_t.append(time.perf_counter() - t)
        assert v.ok, v
    # the embedded font alone: the notice's glyphs taken from the CJK font read once (part of the OFD row)
    text = "".join(PARAGRAPHS) + UNIT_NAME + "受理通知书张三"
    font_t = []
    for _ in range(n):
        t = time.perf_counter()
        subset_ttf(text)
        font_t.append(time.perf_counter() - t)
    k = sm2.PrivateKey.generate()
    msg = os.urandom(1024)
    sign_t, vfy_t = [], []
    for _ in range(n):
        t = time.perf_counter()
        s = k.sign(msg)
        sign_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        assert k.public_key().verify(msg, s)
        vfy_t.append(time.perf_counter() - t)

    print(f"{platform.machine()}, Python {platform.python_version()}, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f}; PDF {sizes['pdf']:,} bytes, OFD {sizes['ofd']:,} bytes")
    print("| case | notices | per second | p50 ms | p90 ms | p99 ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    print(row("PDF: render + PAdES seal (ECDSA P-256)", pdf_t))
    print(row("OFD: lay out + GB/T 38540 v4 seal (SM2)", ofd_t))
    print(row("OFD: verify (references, 2 SM2 signatures, chain, CRL)", ver_t))
    print(row("OFD: the font subset alone (in the row above)", font_t))
    print(row("SM2 sign, 1 KB", sign_t))
    print(row("SM2 verify, 1 KB", vfy_t))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notices", type=int, default=100)
    asyncio.run(main(ap.parse_args().notices))
