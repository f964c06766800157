"""A sealed file is named after the number printed on it (issue 20): ``FGJ审准许〔2026〕0001号``
gives ``FGJ-approval-2026-0001.pdf`` (and .ofd), with the number itself as the UTF-8 file name;
without a printed number, the seal's document number as before."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import pytest

from contracts.common import DocumentType
from contracts.seal import DocumentFormat, DocumentSealed
from services.runtime.testing import publish
from services.seal import domain

from .service_helpers import client, command, issue_no2, outbox, seal_service

pytestmark = pytest.mark.timeout(300)


@pytest.mark.parametrize(("printed", "doc_type", "stem"), [
    ("FGJ审准许〔2026〕0001号", "approval", "FGJ-approval-2026-0001"),
    ("fgj审不予〔2026〕0012号", "denial", "FGJ-denial-2026-0012"),
    ("SJJ审不受〔2025〕0003号", "not_accepted", "SJJ-not-accepted-2025-0003"),
    ("县市监审受〔2025〕0042号", "acceptance", "acceptance-2025-0042"),  # no unit code in the number
    ("审批专用", "acceptance", "SJJ-2025-000007"),                        # nothing ASCII: the seal's number
    (None, "acceptance", "SJJ-2025-000007"),
])
def test_the_file_stem_is_a_stable_ascii_form_of_the_printed_number(printed, doc_type, stem) -> None:
    assert domain.file_stem("SJJ-2025-000007", doc_type, printed) == stem
    assert domain.file_stem("SJJ-2025-000007", doc_type, printed) == stem  # stable
    assert stem.isascii() and "/" not in stem


async def download(svc, url: str):
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]
    async with client(svc, role=None) as c:
        return await c.get(path)


async def test_both_files_are_named_after_the_printed_number(tmp_path: Path) -> None:
    async with seal_service(tmp_path, seal_formats=["pdf", "ofd"]) as svc:
        await issue_no2(svc, "2024-08-01")
        printed = "FGJ审准许〔2026〕0001号"
        await publish(svc, command("named", document_type=DocumentType.APPROVAL, title="准予行政许可决定书",
                                   printed_no=printed))
        await publish(svc, command("unnamed"))
        events = {e.data.request_id: e.data for e in await outbox(svc, "seal.documents")}
        named, unnamed = events["named"], events["unnamed"]
        assert isinstance(named, DocumentSealed) and isinstance(unnamed, DocumentSealed)
        for f in named.files:
            r = await download(svc, f.url)
            assert r.status_code == 200
            cd = r.headers["content-disposition"]
            assert f'filename="FGJ-approval-2026-0001.{f.format.value}"' in cd, cd
            assert unquote(cd.split("filename*=UTF-8''", 1)[1]) == f"{printed}.{f.format.value}"
        assert {f.format for f in named.files} == {DocumentFormat.PDF, DocumentFormat.OFD}
        r = await download(svc, unnamed.url)
        assert r.headers["content-disposition"] == f'inline; filename="{unnamed.document_no}.pdf"'
