"""The six kinds' notices end to end in OFD: a county issuing PDF and OFD (``ONEWINDOW_SEAL_FORMATS
=pdf,ofd``, read by notify and seal alike), the five services as separate processes on a broker of
their own. A clerk works one case of each kind through intake's API (as tests/e2e/test_six_kinds.py
does); then every notice notify released carries both files, and each OFD

- is verified by ofdrw-sign 2.3.3 (tests/peers/ofd; one JVM for all the files), which checks the
  References, Signature.xml against the dataHash and the signer's SM2 signature;
- has its seal maker's signature over the seal, and its signer's certificate, verified by the
  ``openssl`` CLI against the county's SM2 root (what ofdrw does not check);
- is valid by seal's own public verify API, registered as the notice's document;
- is named, like its PDF, after the number printed on the notice (issue 20);

and the applicant's SMS still carries the one short link (to the PDF).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from contracts.common import Role
from services.seal.adapters import gmpki, ofd, ses
from tests.seal.ofdrw import ofdrw_verify, openssl_checks_cert, openssl_checks_seal

from .harness import Suite, eventually, running_suite, suite_broker
from .test_six_kinds import KINDS, clerk_id, plan, work_the_case  # noqa: F401 - plan: the fixture, on this suite

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

TIMEOUT = 120


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    """A suite of its own (its own broker: the services' consumer groups are the production
    names), the county issuing both formats."""
    with suite_broker(tmp_path_factory.mktemp("ofd-kafka")) as bootstrap, \
            running_suite(bootstrap, tmp_path_factory.mktemp("ofd-suite"),
                          env={"ONEWINDOW_SEAL_FORMATS": "pdf,ofd"}) as s:
        yield s


def test_every_notice_of_the_six_kinds_is_an_ofd_that_ofdrw_and_openssl_verify(
    suite: Suite, plan, tmp_path: Path  # noqa: F811 - the imported fixture
) -> None:
    cases = {kind: work_the_case(suite, plan, kind) for kind in KINDS}
    notify, seal = suite.client("notify"), suite.client("seal")

    def released(kind: str, rn: str) -> list[dict[str, Any]]:
        unit = plan.items[kind]["unit_code"]
        r = notify.get("/notify/notices", params={"receipt_no": rn},
                       headers=suite.headers(clerk_id(unit), Role.CLERK, unit))
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        assert sorted(n["document_type"] for n in items) == sorted(KINDS[kind].notices), items
        assert all(n["state"] == "released" for n in items), [(n["document_type"], n["state"]) for n in items]
        return items

    notices = {kind: eventually(lambda k=kind, rn=rn: released(k, rn), timeout=TIMEOUT, what=f"{kind}: notices")
               for kind, rn in cases.items()}
    sm2_root = seal.get("/seal/sm2/root.pem")
    assert sm2_root.status_code == 200
    paths: list[Path] = []
    seals_checked: dict[bytes, str] = {}
    for kind, items in notices.items():
        unit = plan.items[kind]["unit_code"]
        for n in items:
            files = {f["format"]: f for f in n["files"]}
            assert set(files) == {"pdf", "ofd"}, n
            # the short link (the SMS's) still leads to the PDF
            link = notify.get(httpx.URL(n["short_url"]).path)
            assert link.status_code == 307 and link.headers["location"] == files["pdf"]["url"]
            got = httpx.get(files["ofd"]["url"], timeout=30)
            assert got.status_code == 200, got.text
            data = got.content
            assert data[:4] == b"PK\x03\x04"
            # named after the number printed on the notice, e.g. FGJ审准许〔2026〕0001号
            cd = got.headers["content-disposition"]
            assert unquote(cd.split("filename*=UTF-8''", 1)[1]) == f"{n['document_no']}.ofd", cd
            assert f'filename="{unit}-{n["document_type"].replace("_", "-")}-' in cd, cd
            # the notice's own words, in the embedded font
            package = zipfile.ZipFile(io.BytesIO(data))
            pages = "".join(package.read(name).decode() for name in package.namelist() if name.endswith("/Content.xml"))
            assert n["document_no"] in pages and f"Doc_0/Res/{ofd.FONT_FILE}" in package.namelist()
            # seal's own verify API: valid, the unit's seal, the registered notice
            v = seal.post("/seal/verify", content=data, headers={"content-type": "application/ofd"}).json()
            assert v["format"] == "ofd" and v["ok"] is True, v
            assert v["signatures"][0]["unit_name"] == plan.names[unit], v["signatures"]
            assert v["registered_document"]["document_type"] == n["document_type"], v["registered_document"]
            # the seal maker's signature over the seal, and the signer's certificate: openssl
            view = ses.read_signature(package.read(ofd.SIGNED_VALUE))
            if view.seal_der not in seals_checked:
                ok, why = openssl_checks_seal(view.seal_der, sm2_root.content, tmp_path / f"seal-{unit}")
                assert ok, why
                ok, why = openssl_checks_cert(gmpki.cert_pem(view.signer_cert), sm2_root.content,
                                              tmp_path / f"cert-{unit}")
                assert ok, why
                seals_checked[view.seal_der] = unit
            path = tmp_path / f"{kind}-{n['document_type']}.ofd"
            path.write_bytes(data)
            paths.append(path)
    assert len(paths) == sum(len(k.notices) for k in KINDS.values())
    assert sorted(seals_checked.values()) == sorted({plan.items[k]["unit_code"] for k in KINDS})
    verdicts = ofdrw_verify(*paths)  # one JVM for every file
    assert set(verdicts.values()) == {"OK"}, verdicts
