"""The case page's sealed notice in OFD (a county issuing PDF and OFD): the console fetches the
file whose URL notify keeps for the notice from seal, with the signed-in person's token for notify;
a notice without an OFD is a clear 404 page, never a stack trace."""

from __future__ import annotations

import httpx
import pytest

from .test_console_unit import console, sign_in  # noqa: F401 - console: the fixture

RN = "2026-FGJ-00007"
NOTICE = {"id": "n1", "receipt_no": RN, "document_type": "approval", "document_no": "FGJ审准许〔2026〕0001号",
          "state": "released", "short_url": "http://127.0.0.1:8104/s/abc",
          "files": [{"format": "pdf", "url": "http://127.0.0.1:8102/seal/files/tokp.pdf", "sha256": "1" * 64,
                     "size_bytes": 9},
                    {"format": "ofd", "url": "http://127.0.0.1:8102/seal/files/toko.ofd", "sha256": "2" * 64,
                     "size_bytes": 9}]}


@pytest.mark.timeout(30)
async def test_the_notice_opens_as_ofd_through_notify_and_seal(console) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    client, stand = console
    notices = {"items": [NOTICE, {**NOTICE, "id": "n2", "files": NOTICE["files"][:1]}], "total": 2}
    for path in ("/notify/notices", "/notices"):
        stand.answers[("GET", path)] = lambda req: httpx.Response(200, json=notices)
    stand.answers[("GET", "/seal/files/toko.ofd")] = lambda req: httpx.Response(
        200, content=b"PK\x03\x04ofd", headers={"content-type": "application/ofd"})
    await sign_in(client)
    r = await client.get(f"/desk/cases/{RN}/documents/n1?format=ofd")
    assert r.status_code == 200, r.text
    assert r.content == b"PK\x03\x04ofd" and r.headers["content-type"] == "application/ofd"
    assert r.headers["content-disposition"].startswith("attachment;") and ".ofd" in r.headers["content-disposition"]
    asked = [(p, c) for m, p, c in stand.calls if p.endswith("/notices")]
    assert asked and asked[-1][1].get("sub")  # the person's token, not the console's
    missing = await client.get(f"/desk/cases/{RN}/documents/n2?format=ofd")
    assert missing.status_code == 404 and "该文书没有OFD版式文件" in missing.text and "Traceback" not in missing.text
