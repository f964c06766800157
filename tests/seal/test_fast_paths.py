"""Sealing's fast paths (issue 19): a notice drawn from its template's page, the seal's signer kept
with its CMS parts encoded once, and a batch signed in the service's signing processes — each
still what pdfsig and pyHanko accept, the usage log still one chain."""

from __future__ import annotations

import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from contracts.seal import DocumentSealed, RefusalCode, SealingRefused
from services.seal import store
from services.seal.adapters import render
from services.seal.adapters.image import SealFace, seal_pdf as face_pdf
from services.seal.adapters.render import Notice, render_notice, render_notice_full
from services.seal.adapters.signing import SealSigner, SoftwareSignerProvider, seal_pdf
from services.seal.adapters.verify import verify_pdf
from services.seal.usecases import documents, log, root

from .conftest import UNIT, County, pdfsig, sample_notice
from .service_helpers import command, issue_no2, seal_service


def _text(pdf: bytes, tmp: Path) -> str:
    path = tmp / "t.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, timeout=60).stdout


def _notice(receipt: str, **kw) -> Notice:  # type: ignore[no-untyped-def]
    n = sample_notice()
    return Notice(n.title, n.unit_name, n.paragraphs, kw.get("issued_on", n.issued_on), addressee=n.addressee,
                  numbers=[("受理编号", receipt), ("文书编号", f"SCJG-2024-{receipt[-6:]}")],
                  footer=f"本文书加盖电子印章，可在 http://seal.test/seal/documents/SCJG-2024-{receipt[-6:]} 核验。")


@pytest.mark.timeout(120)
def test_a_notice_from_its_template_reads_as_the_full_layout(tmp_path: Path) -> None:
    first = _notice("SL-2024-000001")
    render_notice(first)  # makes the template
    other = _notice("SL-2024-987654", issued_on=date(2024, 12, 31))
    fast, box = render_notice(other)
    full, full_box = render_notice_full(other)
    template = next(t for t in render._TEMPLATES.values() if t.usable and fast.startswith(t.pdf))
    assert len(fast) - len(template.pdf) < 4000  # the fields only
    assert box == full_box
    assert _text(fast, tmp_path).split() == _text(full, tmp_path).split()


@pytest.mark.timeout(120)
def test_a_field_the_template_cannot_draw_is_laid_out_in_full(tmp_path: Path) -> None:
    render_notice(_notice("SL-2024-000001"))
    odd = _notice("SL-2024-000002")
    odd = Notice(odd.title, odd.unit_name, odd.paragraphs, odd.issued_on, addressee=odd.addressee,
                 numbers=[("受理编号", "鑫淼-000002"), odd.numbers[1]], footer=odd.footer)
    pdf, box = render_notice(odd)
    assert not any(pdf.startswith(t.pdf) for t in render._TEMPLATES.values() if t.usable)
    assert "鑫淼-000002" in _text(pdf, tmp_path)
    assert box == render_notice_full(odd)[1]


@pytest.mark.timeout(300)
async def test_the_kept_signer_makes_signatures_pdfsig_and_pyhanko_accept(
    county: County, nss_db: str, tmp_path: Path,
) -> None:
    provider = SoftwareSignerProvider(county.protector)
    signer = provider.signer_for(county.key())
    assert isinstance(signer, SealSigner) and provider.signer_for(county.key()) is signer
    face = face_pdf(SealFace(UNIT.unit_name))
    sealed = []
    for i in range(3):  # the first checks its attributes against pyHanko's, the others take the fast path
        pdf, box = render_notice(_notice(f"SL-2024-{i + 10:06d}"))
        sealed.append(await seal_pdf(pdf, signer, face, box=box, reason="行政审批专用章"))
    assert signer._checked is True
    crl = county.authority.crl([], number=1, this_update=datetime.now(UTC) - timedelta(minutes=1))
    for pdf in sealed:
        v = await verify_pdf(pdf, county.authority.root_cert, crl)
        assert v.signatures and all(s.intact and s.valid and s.chains_to_root for s in v.signatures), v
        out = pdfsig(pdf, tmp_path, nss_db)
        assert "Signature Validation: Signature is Valid." in out and "Certificate is Trusted." in out
        assert "Total document signed" in out


@pytest.mark.timeout(600)
async def test_a_batch_signed_in_the_signing_processes(tmp_path: Path) -> None:
    async with seal_service(tmp_path, seal_sign_workers=2) as svc:
        await issue_no2(svc, "2024-08-01")
        items = [(command(f"b-{i}"), f"e-{i}") for i in range(5)] + [(command("b-1"), "e-again")]
        # a PDF that passes the checks here but that a signing process cannot seal: refused, alone
        items.insert(3, (command("b-bad", pdf=b"%PDF-1.7\nnot a PDF at all\n%%EOF\n"), "e-bad"))
        async with svc.uow() as uow:
            events = await documents.seal_documents(svc, uow, items)
            await uow.commit()
        assert svc.state.sign_pool is not None
        bad = events.pop(3)
        assert isinstance(bad, SealingRefused) and bad.reason_code == RefusalCode.BAD_DOCUMENT
        assert all(isinstance(e, DocumentSealed) for e in events)
        numbers = [e.document_no for e in events]
        assert len(set(numbers[:5])) == 5 and numbers[5] == numbers[1]  # the repeated request: its first answer
        async with svc.uow() as uow:
            report = await log.verify_log(uow)
            sealed = [e for e in await log.all_entries(uow.session) if e.action == "sealed"]
            current = await root.current_crl(uow.session)
            rows = [await uow.session.get(store.DocumentRow, n) for n in numbers[:5]]
        assert report.ok and [e.document_no for e in sealed] == numbers[:5]
        ca = root.authority(svc)
        for row in rows:
            assert row is not None
            pdf = (root.settings_of(svc).documents_dir / row.path).read_bytes()
            v = await verify_pdf(pdf, ca.root_cert, current.crl if current else None)
            assert v.signatures and all(s.intact and s.valid and s.chains_to_root for s in v.signatures), v


@pytest.mark.timeout(300)
async def test_a_batch_written_at_once_keeps_one_chain_across_commits_and_rollbacks(
    tmp_path: Path, database_url: str
) -> None:
    """A wave's rows and log entries go in with one INSERT per table, and the log's head is kept
    in the session between appends: sealed and refused entries chain in order, a second
    transaction on the same session chains on, and one rolled back leaves no head behind."""
    import hashlib

    from contracts.seal import SealingRefused

    async with seal_service(tmp_path, database_url=database_url) as svc:
        await issue_no2(svc, "2024-08-01")
        async with svc.uow() as uow:
            first = await documents.seal_documents(svc, uow, [
                (command("w-0"), "e-0"), (command("w-1", unit_code="NOSUCH"), "e-1"), (command("w-2"), "e-2")])
            await uow.commit()
            # the same session, a rolled-back transaction: its entries and the head it kept are gone
            await documents.seal_documents(svc, uow, [(command("w-gone"), "e-gone")])
            await uow.rollback()
            second = await documents.seal_documents(svc, uow, [(command("w-3"), "e-3"), (command("w-0"), "e-0b")])
            await uow.commit()
        assert [type(e) for e in first] == [DocumentSealed, SealingRefused, DocumentSealed]
        assert isinstance(second[0], DocumentSealed) and second[1] == first[0]  # a repeat: its first answer
        async with svc.uow() as uow:
            report = await log.verify_log(uow)
            entries = [e for e in await log.all_entries(uow.session) if e.action in ("sealed", "refused")]
            rows = [await uow.session.get(store.DocumentRow, e.document_no) for e in (first[0], first[2], second[0])]
            gone = await uow.session.get(store.RequestRow, "w-gone")
        assert report.ok, report
        assert [(e.action, e.request_id) for e in entries] == [
            ("refused", "w-1"), ("sealed", "w-0"), ("sealed", "w-2"), ("sealed", "w-3")]
        assert gone is None
        assert [r.seq for r in rows if r] == [1, 2, 3]
        for row in rows:
            assert row is not None
            data = (root.settings_of(svc).documents_dir / row.path).read_bytes()
            assert hashlib.sha256(data).hexdigest() == row.sha256 and len(data) == row.size_bytes


def _sans_holes(pdf: bytes) -> bytes:
    """A sealed PDF with what differs between two sealings of one document blanked: the CMS, the
    signing time, the document id's second half."""
    import re

    m = re.search(rb"/ByteRange \[0 (\d+) (\d+) \d+\]", pdf)
    assert m is not None
    start, end = int(m.group(1)), int(m.group(2))
    out = pdf[:start + 1] + b"0" * (end - start - 2) + pdf[end - 1:]
    out = re.sub(rb"\(D\\072\d{14}[^)]*\)", b"(D:)", out)  # /M, /ModDate
    out = re.sub(rb'xmp:ModifyDate="[^"]*"', b'xmp:ModifyDate=""', out)
    return re.sub(rb"(/ID\s*\[\s*<[0-9A-Fa-f]*>\s*<)[0-9A-Fa-f]+>", rb"\1>", out)


@pytest.mark.timeout(300)
async def test_a_templates_notices_are_sealed_by_replaying_the_seals_update(
    county: County, nss_db: str, tmp_path: Path,
) -> None:
    """After pyHanko has sealed two of a template's notices at different seconds (the first's
    update checked against the later one's), the next are sealed by replaying the update: the
    same bytes as pyHanko would write but for the CMS, the times and the id; pdfsig and pyHanko
    accept each."""
    import asyncio

    from services.seal.adapters import signing
    from services.seal.adapters.render import render_notice_kept

    signer = SoftwareSignerProvider(county.protector).signer_for(county.key())
    face = face_pdf(SealFace(UNIT.unit_name))
    kw = dict(reason="行政审批专用章：受理通知书", location="某某县", signer_name=UNIT.unit_name)
    sealed, replayed, i = [], 0, 0
    while replayed < 3:
        i += 1
        assert i < 100
        pdf, box, kept = render_notice_kept(_notice(f"SL-2024-{i + 500:06d}", issued_on=date(2024, 9, 1)))
        assert kept is not None
        learned = [u for u in kept.values() if isinstance(u, signing._SealUpdate)]
        out = await seal_pdf(pdf, signer, face, box=box, kept=kept, **kw)
        # pyHanko's own sealing of the same notice: the same bytes but for the holes
        theirs = await seal_pdf(pdf, signer, face, box=box, **kw)
        assert len(out) == len(theirs) and _sans_holes(out) == _sans_holes(theirs)
        if learned:
            assert learned[0].matches(pdf, theirs) and not learned[0].matches(pdf, out[:-1] + b" ")
            replayed += 1
        else:
            await asyncio.sleep(0.3)  # learned from two notices sealed at different seconds
        sealed.append(out)
    assert i >= 3
    crl = county.authority.crl([], number=1, this_update=datetime.now(UTC) - timedelta(minutes=1))
    for pdf in sealed[-4:]:
        v = await verify_pdf(pdf, county.authority.root_cert, crl)
        assert v.signatures and all(s.intact and s.valid and s.chains_to_root for s in v.signatures), v
        out = pdfsig(pdf, tmp_path, nss_db)
        assert "Signature Validation: Signature is Valid." in out and "Certificate is Trusted." in out
        assert "Total document signed" in out
    # the signature covers the whole notice: one byte changed in the template's part breaks it
    assert sealed[-1].find(b"OneWindow seal") < len(render._TEMPLATES[render._template_key(
        _notice("SL-2024-000504", issued_on=date(2024, 9, 1)), render.DEFAULT_DIAMETER)].pdf)
    assert (await verify_pdf(sealed[-1], county.authority.root_cert, crl)).signatures[0].intact
    tampered = sealed[-1].replace(b"OneWindow seal", b"OneWindow seaL", 1)
    v = await verify_pdf(tampered, county.authority.root_cert, crl)
    assert not all(s.intact for s in v.signatures)


@pytest.mark.timeout(300)
async def test_an_update_that_does_not_replay_as_pyhanko_writes_it_is_never_used(county: County) -> None:
    import asyncio

    from services.seal.adapters import signing
    from services.seal.adapters.render import render_notice_kept

    signer = SoftwareSignerProvider(county.protector).signer_for(county.key())
    face = face_pdf(SealFace(UNIT.unit_name))
    kept: dict = {}
    made = []
    for i in range(2):
        pdf, box, _k = render_notice_kept(_notice(f"SL-2024-{i + 700:06d}"))
        made.append((pdf, await seal_pdf(pdf, signer, face, box=box)))
        await asyncio.sleep(1.1)  # another second
    signing._learn(kept, ("k",), *made[0])
    signing._learn(kept, ("k",), *made[0])  # the same second: proves nothing about the times
    assert isinstance(kept[("k",)], signing._FirstSealed)
    base, out = made[1]
    i = out.find(b"/Annots")
    signing._learn(kept, ("k",), base, out[:i] + b"/Annotz" + out[i + 7:])  # one byte pyHanko did not write
    assert kept[("k",)] is False
    signing._learn(kept, ("k",), *made[1])  # and it stays so
    assert kept[("k",)] is False


@pytest.mark.timeout(300)
def test_a_signing_process_gets_a_seals_material_once(county: County, monkeypatch: pytest.MonkeyPatch) -> None:
    """A job names its seal; a process that lacks the seal answers None, and keeps it when the
    job comes again with it; later jobs carry only its name."""
    from collections import OrderedDict

    from cryptography.hazmat.primitives import serialization

    monkeypatch.setattr(documents, "_WORKER", {})
    monkeypatch.setattr(documents, "_SEALS", OrderedDict())
    documents._worker_start(county.protector)
    pem = lambda c: c.public_bytes(serialization.Encoding.PEM)  # noqa: E731
    face = face_pdf(SealFace(UNIT.unit_name))
    material = documents.SealMaterial.of("seal-1", pem(county.seal.cert), (pem(county.authority.root_cert),),
                                         county.seal.encrypted_key_pem, face)
    other = documents.SealMaterial.of("seal-1", pem(county.seal.cert), (pem(county.authority.root_cert),),
                                      county.seal.encrypted_key_pem, face + b"\n")
    assert other.ident != material.ident  # another picture: another seal to the processes

    def job(i: int, with_material: bool = False) -> documents.PdfJob:
        return documents.PdfJob(seal=material.ident, reason="行政审批专用章", location="某某县",
                                signer_name=UNIT.unit_name, notice=_notice(f"SL-2024-{i + 800:06d}"),
                                material=material if with_material else None)

    try:
        assert documents.run_pdf_job(job(0)) is None
        assert documents.run_pdf_job(job(0, True)).startswith(b"%PDF-")
        for i in range(1, 4):
            assert documents.run_pdf_job(job(i)).startswith(b"%PDF-")
        assert list(documents._SEALS) == [material.ident]
        wrong = documents.PdfJob(seal=other.ident, reason="r", location="l", signer_name="s",
                                 notice=_notice("SL-2024-000900"), material=material)
        assert documents.run_pdf_job(wrong) is None  # material that is not the named seal's
    finally:
        loop = documents._WORKER.get("loop")
        if loop is not None:
            loop.close()
