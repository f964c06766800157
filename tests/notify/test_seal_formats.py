"""notify asks the seal for the formats the county issues (ONEWINDOW_SEAL_FORMATS, the seal's own
setting): the PDF it renders, and for an OFD the same words as content the seal lays out; it names
the number printed on the notice (the files are named after it), keeps every sealed file, and the
applicant's SMS does not change."""

from __future__ import annotations

import base64
import subprocess
from datetime import UTC, datetime

import pytest

from contracts.notify import NoticeReleased, NoticeRequested
from contracts.seal import DocumentFormat, DocumentSealed, SealDocument, SealedFile, SignatureFormat
from services.notify.app import create_service
from services.notify.config import NotifySettings
from services.notify.schemas import NoticeOut
from services.runtime.testing import in_memory

from .conftest import Harness, ScriptedProvider, accepted, contact, received, seed_directory
from .test_service import messages, notices

pytestmark = pytest.mark.timeout(120)


def sealed_both(cmd: SealDocument) -> DocumentSealed:
    files = [SealedFile(format=DocumentFormat.PDF, signature=SignatureFormat.PADES, sha256="1" * 64, size_bytes=10,
                        url="https://seal.example/seal/files/p.pdf", cert_serial="ab"),
             SealedFile(format=DocumentFormat.OFD, signature=SignatureFormat.SES_V4, sha256="2" * 64, size_bytes=20,
                        url="https://seal.example/seal/files/o.ofd", cert_serial="cd")]
    return DocumentSealed(request_id=cmd.request_id, receipt_no=cmd.receipt_no, unit_code=cmd.unit_code,
                          document_no="SJJ-2025-000001", document_type=cmd.document_type, sha256="1" * 64,
                          size_bytes=10, url=files[0].url, seal_id="seal-1", seal_serial="ab",
                          signed_at=datetime.now(UTC), files=files)


async def accepted_notice(h: Harness) -> tuple[SealDocument, str]:
    """An accepted case's notice through the seal; the SMS text the applicant gets."""
    await seed_directory(h)
    await h.publish(received())
    await h.publish(contact())
    await h.publish(accepted())
    [cmd] = await h.events(SealDocument)
    await h.publish(sealed_both(cmd))
    [msg] = await messages(h)
    return cmd, msg.text


async def test_a_pdf_county_asks_for_the_pdf_alone(harness: Harness):
    cmd, _text = await accepted_notice(harness)
    assert cmd.formats == [DocumentFormat.PDF] and cmd.content is None and cmd.pdf_base64
    [requested] = await harness.events(NoticeRequested)
    assert cmd.printed_no == requested.document_no and cmd.printed_no.startswith("SJJ审受〔")


async def test_a_county_issuing_ofd_gets_both_files_and_the_same_sms(harness: Harness, notify_settings: NotifySettings):
    _cmd, pdf_only_sms = await accepted_notice(harness)

    settings = notify_settings.model_copy(update={"seal_formats": ["pdf", "ofd"],
                                                  "data_dir": notify_settings.data_dir / "both"})
    settings.data_dir.mkdir()
    svc = create_service(settings, ScriptedProvider(), deliver=False)
    async with in_memory(svc):
        h = Harness(svc, ScriptedProvider(), settings)
        cmd, sms = await accepted_notice(h)
        assert cmd.formats == [DocumentFormat.PDF, DocumentFormat.OFD]
        [requested] = await h.events(NoticeRequested)
        assert cmd.printed_no == requested.document_no
        # the OFD's content carries the PDF's words: number, addressee, body, notes
        content = cmd.content
        assert content is not None and content.addressee == "张三"
        assert content.numbers == {"文号": requested.document_no}
        pdf_text = "".join(subprocess.run(["pdftotext", "-", "-"], input=base64.b64decode(cmd.pdf_base64 or ""),
                                          capture_output=True, check=True).stdout.decode().split())
        assert len(content.paragraphs) >= 3
        for p in content.paragraphs:
            assert "".join(p.split())[:12] in pdf_text, p
        assert content.issued_on is not None
        # both files kept, served with the notice; the SMS names the one short link as before
        [row] = await notices(h)
        assert [f["format"] for f in row.sealed_files] == ["pdf", "ofd"]
        out = NoticeOut.of(row, "https://zw.example.gov.cn")
        assert {f.format: f.url for f in out.files} == {"pdf": "https://seal.example/seal/files/p.pdf",
                                                         "ofd": "https://seal.example/seal/files/o.ofd"}
        [released] = await h.events(NoticeReleased)
        assert released.url in sms

        def without_code(text: str) -> str:  # the short link's code differs from run to run
            head, tail = text.split("/s/", 1)
            return head + "/s/<code>" + tail.lstrip("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-")

        assert without_code(sms) == without_code(pdf_only_sms)


async def test_an_ofd_only_county_sends_content_without_a_pdf(notify_settings: NotifySettings):
    settings = notify_settings.model_copy(update={"seal_formats": ["ofd"]})
    svc = create_service(settings, ScriptedProvider(), deliver=False)
    async with in_memory(svc):
        h = Harness(svc, ScriptedProvider(), settings)
        await seed_directory(h)
        await h.publish(received())
        await h.publish(contact())
        await h.publish(accepted())
        [cmd] = await h.events(SealDocument)
        assert cmd.formats == [DocumentFormat.OFD] and cmd.pdf_base64 is None and cmd.content is not None
