"""Inputs the API fuzzer found answered with 500 (issue 6's fuzz findings): far-away start dates,
unit codes outside X.509 PrintableString, unusual unit names, huge numbers and odd path ids. Each
is now refused with a 422 (or a 404) naming the field, in Chinese, and what passes the checks can
be certified and drawn."""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from reportlab.pdfbase import pdfmetrics

from contracts.common import Role
from contracts.intake import UnitRegistered
from services.runtime.testing import publish
from services.seal import domain, store
from services.seal.adapters.authority import CN_MAX_BYTES, KeyProtector, SealAuthority, SealSubject, identity_of
from services.seal.adapters.image import SealFace, drawing, seal_svg, undrawable
from services.seal.adapters.verify import verify_pdf

from .conftest import PASSPHRASE, County
from .service_helpers import UNIT_CODE, UNIT_NAME, client, issue_no2, seal_service

LONG_NAME = "某某自治县人力资源和社会保障局劳动保障监察大队第一中队综合执法办公室第一业务股室"  # 40 characters


def _today() -> date:
    return domain.local_date(datetime.now(UTC))


def _problem(r, field: str) -> str:  # type: ignore[no-untyped-def]
    """The reason the problem+json answer gives for ``field`` (asserting the answer's shape)."""
    assert r.headers["content-type"].startswith("application/problem+json"), r.text
    body = r.json()
    assert body["status"] == r.status_code and body["detail"]
    reasons = [e["reason"] for e in body.get("errors", []) if e["field"] == field]
    assert reasons, body
    return reasons[0]


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in text)


# -- start date (启用日期) ------------------------------------------------------------------------

async def test_start_date_far_ahead_or_before_the_licensing_law_is_refused(tmp_path: Path) -> None:
    async with seal_service(tmp_path) as svc:
        async with client(svc) as c:
            body = {"unit_code": UNIT_CODE, "unit_name": UNIT_NAME}
            for start in ("7233-01-01", "9999-12-31", (_today() + timedelta(days=366)).isoformat()):
                r = await c.post("/seal/seals", json={**body, "start_date": start})
                assert r.status_code == 422, (start, r.text)
                assert "启用日期" in _problem(r, "start_date")
            for start in ("0001-01-01", "2004-06-30"):
                r = await c.post("/seal/seals", json={**body, "start_date": start})
                assert r.status_code == 422 and "2004年7月1日" in _problem(r, "start_date"), r.text
            assert (await c.get("/seal/seals")).json() == []  # nothing half-issued
        # the bounds themselves are fine: a year ahead, and the law's first day
        ahead = await issue_no2(svc, (_today() + timedelta(days=365)).isoformat())
        assert not ahead["in_use"]
        assert (await issue_no2(svc, "2004-07-01", unit_code="LYJ"))["in_use"]


async def test_how_far_ahead_is_a_setting(tmp_path: Path) -> None:
    async with seal_service(tmp_path, seal_start_max_days_ahead=30) as svc:
        async with client(svc) as c:
            r = await c.post("/seal/seals", json={"unit_code": UNIT_CODE, "unit_name": UNIT_NAME,
                                                  "start_date": (_today() + timedelta(days=31)).isoformat()})
        assert r.status_code == 422 and "30天" in _problem(r, "start_date")
        await issue_no2(svc, (_today() + timedelta(days=30)).isoformat())


def test_start_date_must_leave_the_root_a_day() -> None:
    now = datetime(2030, 6, 1, 4, tzinfo=UTC)
    root_end = datetime(2030, 9, 1, 4, tzinfo=UTC)
    domain.check_start_date(date(2030, 8, 31), now, max_days_ahead=365, root_not_after=root_end)
    with pytest.raises(domain.InvalidInput) as exc:
        domain.check_start_date(date(2030, 9, 1), now, max_days_ahead=365, root_not_after=root_end)
    assert exc.value.field == "start_date" and "根证书" in exc.value.reason
    # a root at its end issues nothing, whatever the date: a conflict, not a bad input
    with pytest.raises(domain.RuleViolation) as exc:
        domain.check_start_date(date(2030, 6, 1), root_end, max_days_ahead=365, root_not_after=root_end)
    assert not isinstance(exc.value, domain.InvalidInput) and "根证书" in exc.value.reason


def test_a_seal_certificate_never_outlives_its_root() -> None:
    protector = KeyProtector(PASSPHRASE)
    now = datetime.now(UTC)
    root, key = SealAuthority.create_root(authority_name="某某县电子印章根证书", organization="某某县行政审批服务中心",
                                          now=now, years=2)
    ca = SealAuthority(root, key, crl_url="http://seal.test/seal/crl")
    cert = ca.issue(SealSubject("LYJ", "某某县林业局"), protector, not_before=now + timedelta(days=400), years=5).cert
    assert cert.not_valid_after_utc == root.not_valid_after_utc
    assert cert.not_valid_before_utc < cert.not_valid_after_utc
    with pytest.raises(ValueError, match="after the county root expires"):
        ca.issue(SealSubject("LYJ", "某某县林业局"), protector, not_before=datetime(7233, 1, 1, tzinfo=UTC))


async def test_old_seal_cannot_outlast_the_cutover(tmp_path: Path) -> None:
    async with seal_service(tmp_path) as svc:
        await issue_no2(svc, "2024-08-01")
        async with client(svc) as c:
            body = {"unit_code": UNIT_CODE, "unit_name": UNIT_NAME}
            for until in ("2024-08-01", "9999-12-31"):
                r = await c.post("/seal/old-seals", json={**body, "approvals_until": until})
                assert r.status_code == 422 and "2024-07-31" in _problem(r, "approvals_until"), r.text
            r = await c.post("/seal/old-seals", json={**body, "approvals_until": "2024-07-15"})
            assert r.status_code == 201 and r.json()["approvals_until"] == "2024-07-15", r.text


# -- unit codes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("code", ["A_B", "LYJ-1", "1LYJ", "L", "ABCDEFGHIJKLM", "某某", "LY J"])
async def test_unit_codes_follow_intakes_rule(tmp_path: Path, code: str) -> None:
    async with seal_service(tmp_path) as svc:
        async with client(svc) as c:
            for route, extra in (("/seal/seals", {"start_date": "2024-08-01"}), ("/seal/old-seals",
                                                                                 {"approvals_until": "2024-07-31"})):
                r = await c.post(route, json={"unit_code": code, "unit_name": UNIT_NAME, **extra})
                assert r.status_code == 422, (route, r.text)
                assert "大写字母" in _problem(r, "unit_code")


async def test_a_lower_case_unit_code_is_upper_cased_as_intake_does(tmp_path: Path) -> None:
    async with seal_service(tmp_path) as svc:
        seal = await issue_no2(svc, "2024-08-01", unit_code=" lyj ")
        assert seal["unit_code"] == "LYJ" and seal["seal_id"].startswith("LYJ-approval-")
        async with client(svc) as c:
            listed = (await c.get("/seal/seals", params={"unit_code": "lyj"})).json()
            assert [s["seal_id"] for s in listed] == [seal["seal_id"]]
            r = await c.get("/seal/seals", params={"unit_code": "A_B"})
            assert r.status_code == 422 and _problem(r, "unit_code")


def test_a_seal_code_outside_printable_string_is_refused_before_certifying() -> None:
    with pytest.raises(ValueError, match="PrintableString"):
        SealSubject("A_B", "某某县林业局")


# -- unit and seal names ------------------------------------------------------------------------

@pytest.mark.parametrize(("field", "value", "words"), [
    ("unit_name", "   ", "请填写"),
    ("unit_name", "　　", "请填写"),                     # ideographic spaces only
    ("unit_name", "某\x00县林业局", "控制字符"),
    ("unit_name", "某某县\n林业局", "换行"),
    ("unit_name", "某某县\u200b林业局", "不可见"),        # zero-width space
    ("unit_name", "某某县 林业局", "空格"),
    ("unit_name", "某", "太短"),
    ("unit_name", "某" * 41, "太长"),
    ("unit_name", "😀😀", "字体"),                     # no glyph in the seal's font
    ("unit_name", "某某县\U0002a6a5局", "字体"),
    ("seal_name", "\x01\x02", "控制字符"),
    ("seal_name", "行政审批专用章专用章专用章", "太长"),
])
async def test_unusual_names_are_refused_with_the_field_and_a_reason(
    tmp_path: Path, field: str, value: str, words: str,
) -> None:
    async with seal_service(tmp_path) as svc:
        async with client(svc) as c:
            body = {"unit_code": UNIT_CODE, "unit_name": UNIT_NAME, "start_date": "2024-08-01", field: value}
            r = await c.post("/seal/seals", json=body)
            assert r.status_code == 422, r.text
            reason = _problem(r, field)
            assert words in reason and _has_cjk(reason), reason
            if field == "unit_name":
                r = await c.post("/seal/old-seals", json={"unit_code": UNIT_CODE, "unit_name": value,
                                                          "approvals_until": "2024-07-31"})
                assert r.status_code == 422 and words in _problem(r, field), r.text


async def test_the_longest_name_is_certified_whole_and_drawn(tmp_path: Path) -> None:
    assert len(LONG_NAME) == domain.UNIT_NAME_MAX
    async with seal_service(tmp_path) as svc:
        seal = await issue_no2(svc, "2024-08-01", unit_name=f"  {LONG_NAME} ", seal_name="行政审批专用章专用")
        assert seal["unit_name"] == LONG_NAME
        async with client(svc) as c:
            pem = (await c.get(f"/seal/seals/{seal['seal_id']}/cert.pem")).content
            svg = await c.get(f"/seal/seals/{seal['seal_id']}/image.svg")
            pdf = await c.get(f"/seal/seals/{seal['seal_id']}/image.pdf")
        assert svg.status_code == 200 and "<svg" in svg.text
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    cert = x509.load_pem_x509_certificate(pem)
    ident = identity_of(cert)
    assert ident.unit_name == LONG_NAME and ident.seal_code == f"{UNIT_CODE}-2"
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert len(cn.encode()) <= CN_MAX_BYTES and cn.startswith("某某自治县") and cn.endswith("…行政审批专用章专用(2)")


def test_common_name_is_whole_when_it_fits() -> None:
    assert SealSubject("SCJG", "某某县市场监督管理局").common_name == "某某县市场监督管理局行政审批专用章(2)"
    assert SealSubject("SCJG", "某某县市场监督管理局", "公章", "").common_name == "某某县市场监督管理局公章"
    for n in range(2, 41):
        cn = SealSubject("SCJG", "局" * n, "行政审批专用章专用章专用", "99").common_name
        assert len(cn.encode()) <= CN_MAX_BYTES and cn.startswith("局局") and cn.endswith("(99)")


async def test_an_auto_issue_for_a_name_that_cannot_be_carved_is_skipped(tmp_path: Path) -> None:
    async with seal_service(tmp_path, seal_auto_issue=True) as svc:
        for code, name in (("LYJ", "某" * 60), ("SWJ", "某某县\x07税务局"), ("A_B", "某某县林业局")):
            await publish(svc, UnitRegistered(unit_code=code, unit_name=name, window_numbers=["1"], entered=True,
                                              registered_at=datetime.now(UTC)))
        await publish(svc, UnitRegistered(unit_code="SCJG", unit_name=UNIT_NAME, window_numbers=["2"], entered=True,
                                          registered_at=datetime.now(UTC)))
        async with svc.uow() as uow:
            seals = await store.all_seals(uow.session)
        # the units' seals (the demo run also issues the center's own seal at start, in a worker)
        assert [s.unit_code for s in seals if s.unit_code != svc.settings.seal_center_unit_code] == ["SCJG"]


def test_every_character_of_a_name_has_a_glyph_check() -> None:
    assert undrawable(UNIT_NAME) == "" and undrawable(LONG_NAME) == ""
    assert undrawable("某😀县😀") == "😀"


@pytest.mark.parametrize("n", [2, 6, 10, 12, 16, 20, 25, 30, 40])
def test_the_name_along_the_ring_never_overlaps_and_stays_inside(n: int) -> None:
    face = SealFace(("某某县行政审批服务局" * 4)[:n])
    d = face.diameter
    arc = drawing(face).contents[2]
    centres, size = [], 0.0
    for outer in arc.contents:
        centres.append((outer.transform[4] - d / 2, outer.transform[5] - d / 2))
        glyph = outer.contents[0]
        size = glyph.contents[0].fontSize
        width = pdfmetrics.stringWidth("某", glyph.contents[0].fontName, size) * glyph.transform[0]
    assert len(centres) == n
    radius = math.hypot(*centres[0])
    assert radius + 0.85 * size <= d / 2 - d * 0.035 + 1e-6  # the tops stay inside the ring
    for (x1, y1), (x2, y2) in zip(centres, centres[1:]):
        assert math.hypot(x2 - x1, y2 - y1) >= width, (n, size)
    assert seal_svg(face).count("某") >= 1


# -- other routes: huge numbers, odd ids, far dates, garbage files ------------------------------

async def test_odd_ids_and_huge_numbers_are_not_found_or_refused(tmp_path: Path, database_url: str) -> None:
    async with seal_service(tmp_path, database_url=database_url) as svc:
        async with client(svc, role=Role.SUPERVISOR) as c:
            for path in ("/seal/seals/" + "9" * 400, "/seal/seals/%00", "/seal/seals/a%00b/image.svg",
                         "/seal/seals/%01/cert.pem", "/seal/documents/" + "9" * 400, "/seal/documents/%00/status",
                         "/seal/files/%00.pdf", "/seal/files/" + "x" * 300 + ".pdf"):
                r = await c.get(path)
                assert r.status_code == 404, (path, r.text)
                assert r.headers["content-type"].startswith("application/problem+json")
            r = await c.get("/seal/log", params={"after": str(2 ** 70)})
            assert r.status_code == 422 and _problem(r, "after")
            assert (await c.get("/seal/log", params={"after": str(store.MAX_SEQ)})).json() == []
            r = await c.get("/seal/log", params={"after": str(store.MAX_SEQ + 1)})
            assert r.status_code == 422 and _problem(r, "after")
            for route in ("usage", "after-hours", "refusals"):
                r = await c.get(f"/seal/supervision/{route}", params={"from": "0001-01-01", "to": "9999-12-31"})
                assert r.status_code == 200 and r.json() == [], r.text
                r = await c.get(f"/seal/supervision/{route}", params={"from": "9999-12-31", "to": "9999-12-31"})
                assert r.status_code == 200 and r.json() == [], r.text
                r = await c.get(f"/seal/supervision/{route}", params={"from": "2024-02-01", "to": "2024-01-31"})
                assert r.status_code == 422 and "早于" in _problem(r, "to")
            r = await c.get("/seal/supervision/refusals", params={"unit_code": "A\x00B"})
            assert r.status_code == 422 and _problem(r, "unit_code")
        async with client(svc) as admin:
            r = await admin.post("/seal/seals/%00/revoke", json={"reason": "lost"})
            assert r.status_code == 404 and _problem(r, "seal_id")
            seal = await issue_no2(svc, "2024-08-01")
            r = await admin.post(f"/seal/seals/{seal['seal_id']}/revoke", json={"reason": "lost", "note": "遗失\x00"})
            assert r.status_code == 422 and "控制字符" in _problem(r, "note")
            r = await admin.post(f"/seal/seals/{seal['seal_id']}/revoke", json={"reason": "lost", "note": "遗失\n已登报"})
            assert r.status_code == 200 and r.json()["revoked_at"], r.text


def test_the_supervision_window_holds_the_days_asked_for_within_the_calendar() -> None:
    lo, hi = domain.query_window(date(2024, 8, 1), date(2024, 8, 31))
    assert (lo, hi) == (datetime(2024, 7, 31, 16, tzinfo=UTC), datetime(2024, 8, 31, 16, tzinfo=UTC))
    lo, hi = domain.query_window(date(1, 1, 1), date(9999, 12, 31))
    assert lo == domain.local_midnight(domain.EARLIEST_START) and hi == domain.local_midnight(date(9999, 12, 31))
    lo, hi = domain.query_window(date(1, 1, 1), date(2000, 1, 1))
    assert lo == hi


async def test_garbage_uploads_get_an_answer_not_an_error(tmp_path: Path) -> None:
    async with seal_service(tmp_path) as svc:
        async with client(svc, role=None) as c:
            for content in (b"\x00\xff" * 50, b"%PDF-1.7\n" + bytes(range(256)), b"%PDF-1.4\n%%EOF"):
                r = await c.post("/seal/verify", content=content, headers={"Content-Type": "application/pdf"})
                assert r.status_code == 200 and not r.json()["ok"], r.text
                r = await c.post("/seal/verify", files={"file": ("x.pdf", content, "application/pdf")})
                assert r.status_code == 200 and r.json()["conclusion"], r.text
            r = await c.post("/seal/verify", content=b"", headers={"Content-Type": "application/pdf"})
            assert r.status_code == 422 and _problem(r, "file")


async def test_a_mangled_sealed_pdf_is_judged_not_crashed_on(county: County, sealed_notice: bytes) -> None:
    rnd = random.Random(6)
    crl = county.authority.crl([], number=1)
    marks = [sealed_notice.rfind(m) for m in (b"/ByteRange", b"/Contents", b"xref", b"startxref")]
    for i in range(60):
        b = bytearray(sealed_notice)
        if i % 3 == 0:
            del b[rnd.randrange(len(b)):]
        else:
            at = marks[i % len(marks)] + rnd.randrange(0, 80)
            for _ in range(rnd.randrange(1, 6)):
                b[min(at + rnd.randrange(0, 40), len(b) - 1)] = rnd.choice(b"0123456789 []/<>()")
        v = await verify_pdf(bytes(b), county.authority.root_cert, crl)
        assert not v.ok or bytes(b) == sealed_notice
