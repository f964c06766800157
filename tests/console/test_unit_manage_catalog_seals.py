"""Units, catalog and seals pages (/manage/units, /manage/catalog, /manage/seals) against stand-in
services: the version diff, intake's refusals next to the form's fields with what was typed kept,
the dormant units flagged, the CRL read, a service away named, a role refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.console.routers.manage import catalog, seals, units
from tests.console.test_console_unit import console, csrf_of, sign_in  # noqa: F401 (fixture)

ADMIN = ("admin", "Guanli2026")
SUPERVISOR = ("supervisor", "Ducha2026")

CONTENT = {
    "name": "林木采伐许可证核发", "case_kind": "promised", "joint_units": [], "higher_authority": None,
    "legal_basis": ["《中华人民共和国森林法》第五十六条"], "procedure": ["受理", "审查", "决定"],
    "materials": [{"code": "M01", "name": "申请书", "form": "original", "copies": 1, "mandatory": True, "condition": None},
                  {"code": "M02", "name": "授权委托书", "form": "original", "copies": 1, "mandatory": False,
                   "condition": "委托办理的"}],
    "statutory_days": 20, "promised_days": 5, "fee": {"free": True, "standard": None, "amount_yuan": None, "basis": None},
    "flow": "窗口受理→审查→决定",
}
V2 = {**CONTENT, "promised_days": 3, "legal_basis": [*CONTENT["legal_basis"], "《森林法实施条例》第三十条"]}
ITEM = {"code": "LYJ-002", "unit_code": "LYJ", "current": 2, "retired": False, "draft_version": None, "draft": None,
        "versions": [{"item_code": "LYJ-002", "unit_code": "LYJ", "version": 1, "content": CONTENT,
                      "published_at": "2026-01-05T02:00:00Z", "published_by": "A0001"},
                     {"item_code": "LYJ-002", "unit_code": "LYJ", "version": 2, "content": V2,
                      "published_at": "2026-06-05T02:00:00Z", "published_by": "A0001"}]}
UNITS = [{"code": "LYJ", "name": "青山县林业局", "window_numbers": ["12"], "entered": True, "entered_since": "2012-03-01",
          "registered_on": "2026-01-01"},
         {"code": "MZZ", "name": "青山县民族宗教事务局", "window_numbers": [], "entered": True,
          "entered_since": "2024-06-01", "registered_on": "2026-01-01"}]


def ok(body: object) -> httpx.Response:
    return httpx.Response(200, json=body)


# ------------------------------------------------------------------------------ pure parts


@pytest.mark.timeout(10)
def test_the_diff_names_each_changed_field_with_lines_out_and_in() -> None:
    changes = {c["field"]: c for c in catalog.diff_contents(CONTENT, V2)}
    assert set(changes) == {"legal_basis", "promised_days"}
    assert changes["legal_basis"]["removed"] == [] and changes["legal_basis"]["added"] == ["《森林法实施条例》第三十条"]
    assert changes["promised_days"]["removed"] == ["5个工作日"] and changes["promised_days"]["added"] == ["3个工作日"]
    newest, first = catalog.versions_with_changes(ITEM)
    assert newest["version"] == 2 and newest["changes"] and first["first"] and first["changes"] == []
    fee = catalog.diff_contents(CONTENT, {**CONTENT, "fee": {"free": False, "standard": "每证10元", "basis": "财税〔2026〕1号"}})
    assert fee[0]["label"] == "收费标准及依据" and "每证10元" in fee[0]["added"][0]


@pytest.mark.timeout(10)
def test_a_refusal_about_a_material_lands_on_the_form_row_it_came_from() -> None:
    # Row 0 was left blank (not sent): intake's materials[1] is the form's row 2.
    problem = {"status": 422, "detail": "x", "errors": [
        {"field": "materials[1].condition", "reason": "请写明在什么情况下需要"},
        {"field": "promised_days", "reason": "承诺时限不能超过法定时限"},
        {"field": "fee.basis", "reason": "收费事项请填写收费依据"}]}
    e = catalog.problem_errors(problem, [1, 2], rows=4)
    assert e.fields == {"materials.2.condition": "请写明在什么情况下需要", "promised_days": "承诺时限不能超过法定时限",
                        "fee.basis": "收费事项请填写收费依据"}


@pytest.mark.timeout(10)
def test_volume_table_and_months() -> None:
    assert units.months_up_to("2026-02", 3) == ["2025-12", "2026-01", "2026-02"]
    table = units.volume_table(["2026-01", "2026-02"], [
        [{"unit_code": "LYJ", "unit_name": "青山县林业局", "received": 3}],
        None])  # February could not be read
    assert table == [{"unit_code": "LYJ", "unit_name": "青山县林业局", "months": [3, None], "total": 3}]


# ------------------------------------------------------------------------------ pages


def intake_answers(stand, captured: dict) -> None:  # type: ignore[no-untyped-def]
    stand.answers[("GET", "/intake/catalog/units")] = lambda r: ok(UNITS)
    stand.answers[("GET", "/intake/catalog/items")] = lambda r: ok([ITEM])
    stand.answers[("GET", "/intake/catalog/items/LYJ-002")] = lambda r: ok(ITEM)

    def put_draft(r: httpx.Request) -> httpx.Response:
        captured["body"] = json.loads(r.content)
        return httpx.Response(422, json={"status": 422, "detail": "承诺时限有误", "errors": [
            {"field": "promised_days", "reason": "承诺时限（30个工作日）不能超过法定时限（20个工作日）"},
            {"field": "materials[1].condition", "reason": "“授权委托书”为视情况提交的材料，请写明在什么情况下需要"}]})

    stand.answers[("PUT", "/intake/catalog/items/LYJ-002/draft")] = put_draft


@pytest.mark.timeout(60)
async def test_catalog_item_shows_versions_with_changes(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    intake_answers(stand, {})
    await sign_in(client, *ADMIN, "/manage/catalog")
    page = await client.get("/manage/catalog")
    assert page.status_code == 200 and "LYJ-002" in page.text and "林木采伐许可证核发" in page.text
    item = await client.get("/manage/catalog/items/LYJ-002")
    assert item.status_code == 200
    assert "第2版与上一版相比的变化" in item.text and "《森林法实施条例》第三十条" in item.text
    assert "<del><span class=\"visually-hidden\">删去：</span>5个工作日</del>" in item.text


@pytest.mark.timeout(60)
async def test_catalog_form_shows_intakes_refusal_next_to_the_field_and_keeps_the_input(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    captured: dict = {}
    intake_answers(stand, captured)
    await sign_in(client, *ADMIN, "/manage/catalog")
    form = await client.get("/manage/catalog/items/LYJ-002/edit")
    assert form.status_code == 200 and 'value="3"' in form.text
    data = {"csrf": csrf_of(form.text), "name": "林木采伐许可证核发（修订）", "case_kind": "promised", "joint_units": "",
            "higher_authority": "", "legal_basis": "《森林法》第五十六条", "procedure": "受理\n决定", "flow": "受理→决定",
            "statutory_days": "20", "promised_days": "30", "fee.free": "1", "fee.standard": "", "fee.amount_yuan": "",
            "fee.basis": ""}
    rows = [("M01", "申请书", "1", ""), ("", "", "1", ""), ("M02", "授权委托书", "0", "")]
    for i, (code, name, mandatory, cond) in enumerate(rows):
        data |= {f"materials.{i}.code": code, f"materials.{i}.name": name, f"materials.{i}.form": "original",
                 f"materials.{i}.copies": "1", f"materials.{i}.mandatory": mandatory, f"materials.{i}.condition": cond}
    r = await client.post("/manage/catalog/items/LYJ-002/edit", data=data)
    assert r.status_code == 422
    assert [m["code"] for m in captured["body"]["materials"]] == ["M01", "M02"]  # the blank row is not sent
    assert captured["body"]["promised_days"] == 30 and captured["body"]["legal_basis"] == ["《森林法》第五十六条"]
    html = r.text
    assert 'id="f-promised_days-error"' in html and "不能超过法定时限（20个工作日）" in html
    assert 'id="f-promised_days" name="promised_days" value="30"' in html  # what was typed is kept
    # The material's refusal sits on form row 2 (the blank row 1 was not sent).
    assert 'id="f-materials-2-condition-error"' in html and "请写明在什么情况下需要" in html
    assert 'value="林木采伐许可证核发（修订）"' in html and "Traceback" not in html
    # A number that is no number is refused by the form itself, nothing sent.
    captured.clear()
    r = await client.post("/manage/catalog/items/LYJ-002/edit", data={**data, "statutory_days": "二十"})
    assert r.status_code == 422 and "请填写工作日天数" in r.text and not captured


@pytest.mark.timeout(60)
async def test_catalog_is_for_the_center_admin_only(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    await sign_in(client, *SUPERVISOR, "/manage/catalog")
    r = await client.get("/manage/catalog")
    assert r.status_code == 403 and "此页面仅供" in r.text


@pytest.mark.timeout(60)
async def test_units_page_flags_dormant_units_with_a_chart_and_a_table(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console

    def volume(r: httpx.Request) -> httpx.Response:
        p = r.url.params["period"]
        return ok([{"unit_code": "LYJ", "unit_name": "青山县林业局", "period": p, "received": 4, "accepted": 4,
                    "not_accepted": 0, "decided": 3, "weekend_received": 0, "by_kind": {}, "consultations": 0,
                    "reported_at": "2026-12-01T00:00:00Z"}])

    stand.answers[("GET", "/intake/reports/volume")] = volume
    stand.answers[("GET", "/intake/reports/inactivity")] = lambda r: ok([
        {"unit_code": "LYJ", "unit_name": "青山县林业局", "entered": True, "entered_since": "2012-03-01",
         "last_business_on": "2026-12-01", "months_without_business": 0, "threshold": 3, "flagged": False},
        {"unit_code": "MZZ", "unit_name": "青山县民族宗教事务局", "entered": True, "entered_since": "2024-06-01",
         "last_business_on": None, "months_without_business": 31, "threshold": 3, "flagged": True}])
    stand.answers[("GET", "/intake/reports/ratings")] = lambda r: ok([])
    stand.answers[("GET", "/intake/rectifications")] = lambda r: ok([
        {"rectification_id": "R1", "receipt_no": "2026-LYJ-00001", "unit_code": "LYJ", "level": "dissatisfied",
         "comment": "等太久", "opened_at": "2026-11-02T00:00:00Z", "due_on": "2026-11-09", "accepted_by": None,
         "status": "open", "response": None, "closed_at": None, "closed_by": None, "level_label": "不满意"}])
    await sign_in(client, *SUPERVISOR, "/manage/units")
    r = await client.get("/manage/units")
    assert r.status_code == 200
    row = r.text.split("青山县民族宗教事务局", 1)[1].split("</tr>", 1)[0]
    assert "应进不进" in row and "31个月" in row
    assert '<svg role="img"' in r.text and "各单位月度收件量" in r.text
    assert r.text.count("<td data-label=\"合计\"><strong>24</strong></td>") == 1  # 4 a month for 6 months
    assert "2026年11月9日" in r.text and "已逾期" in r.text  # the rectification's due date, passed


@pytest.mark.timeout(60)
async def test_units_page_refuses_a_unit_head(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    await sign_in(client, "head", "Fuzeren2026", "/manage/units")
    r = await client.get("/manage/units")
    assert r.status_code == 403 and "此页面仅供" in r.text and not [c for c in stand.calls if "reports" in c[1]]


def _crl_pem(serial: int) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "青山县电子印章根证书")])
    now = datetime.now(UTC)
    revoked = (x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now)
               .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False).build())
    crl = (x509.CertificateRevocationListBuilder().issuer_name(name).last_update(now)
           .next_update(now + timedelta(days=7)).add_revoked_certificate(revoked)
           .add_extension(x509.CRLNumber(5), critical=False).sign(key, hashes.SHA256()))
    from cryptography.hazmat.primitives import serialization
    return crl.public_bytes(serialization.Encoding.PEM).decode()


SEAL = {"seal_id": "s-lyj", "unit_code": "LYJ", "unit_name": "青山县林业局", "seal_name": "行政审批专用章", "seal_no": "2",
        "kind": "approval", "start_date": "2026-11-01", "scope": ["acceptance"], "cert_serial": "abc123",
        "cert_sha256": "f" * 64, "valid_from": "2026-11-01T00:00:00Z", "valid_until": "2031-11-01T00:00:00Z",
        "approvals_until": None, "revoked_at": "2026-12-01T02:00:00Z", "revocation_reason": "lost", "in_use": False}


@pytest.mark.timeout(60)
async def test_seals_page_reads_the_crl_and_shows_the_chain_check(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    stand.answers[("GET", "/seal/seals")] = lambda r: ok([SEAL])
    stand.answers[("GET", "/intake/catalog/units")] = lambda r: ok(UNITS)
    stand.answers[("GET", "/seal/crl.pem")] = lambda r: httpx.Response(200, text=_crl_pem(0xABC123))
    stand.answers[("GET", "/seal/log/verify")] = lambda r: ok({"ok": True, "entries": 2, "first_broken": None,
                                                               "problem": None, "head": "9" * 64})
    stand.answers[("GET", "/seal/log/checkpoints/verify")] = lambda r: ok({
        "ok": True, "chain": {"ok": True, "entries": 2, "first_broken": None, "problem": None, "head": "9" * 64},
        "checkpoints": 1, "matched": 1, "first_mismatch": None, "problem": None, "latest": 1, "unanchored": 1,
        "missing": [], "refused": []})
    stand.answers[("GET", "/seal/log")] = lambda r: ok([
        {"seq": 1, "at": "2026-11-01T01:00:00Z", "action": "issued", "unit_code": "LYJ", "seal_id": "s-lyj",
         "document_no": None, "request_id": None, "detail": {"cert_serial": "abc123"}, "prev_hash": "0" * 64, "hash": "1" * 64},
        {"seq": 2, "at": "2026-12-01T03:00:00Z", "action": "refused", "unit_code": "LYJ", "seal_id": "s-lyj",
         "document_no": None, "request_id": "q", "detail": {"document_type": "acceptance", "reason_code": "seal_revoked"},
         "prev_hash": "1" * 64, "hash": "2" * 64}])
    await sign_in(client, *SUPERVISOR, "/manage/seals")
    r = await client.get("/manage/seals")
    assert r.status_code == 200
    crl = r.text.split('id="crl"', 1)[1].split("</table>", 1)[0]
    assert "青山县林业局 行政审批专用章" in crl and "印章遗失" in crl  # the CRL entry matched to its seal
    assert "第5号" in r.text
    assert "哈希链完整" in r.text and "与已签名公布的 1 个检查点一致" in r.text
    assert "受理通知书：印章已注销，不得使用" in r.text
    assert "发放二号章" not in r.text  # a supervisor sees, the center admin issues
    stand.answers[("GET", "/seal/log/verify")] = lambda r: ok({"ok": False, "entries": 1, "first_broken": 2,
                                                               "problem": "hash mismatch", "head": "1" * 64})
    r = await client.get("/manage/seals")
    assert "哈希链断裂" in r.text and "第 2 条记录" in r.text


@pytest.mark.timeout(60)
async def test_seals_page_names_the_seal_service_when_it_is_away(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    stand.down.add("seal")
    await sign_in(client, *ADMIN, "/manage/seals")
    r = await client.get("/manage/seals")
    assert r.status_code == 503 and "暂时无法访问" in r.text and "Traceback" not in r.text


@pytest.mark.timeout(60)
async def test_revoke_form_keeps_the_note_when_the_seal_service_refuses(console) -> None:  # type: ignore[no-untyped-def]
    client, stand = console
    live = {**SEAL, "revoked_at": None, "revocation_reason": None, "in_use": True}
    stand.answers[("GET", "/seal/seals/s-lyj")] = lambda r: ok(live)
    stand.answers[("GET", "/seal/seals/s-lyj/cert.pem")] = lambda r: httpx.Response(404, json={"detail": "无"})
    stand.answers[("POST", "/seal/seals/s-lyj/revoke")] = lambda r: httpx.Response(422, json={
        "status": 422, "detail": "说明有误", "errors": [{"field": "note", "reason": "说明不能含有控制字符"}]})
    await sign_in(client, *ADMIN, "/manage/seals")
    page = await client.get("/manage/seals/s-lyj")
    assert page.status_code == 200 and "注销该印章" in page.text
    r = await client.post("/manage/seals/s-lyj/revoke", data={"csrf": csrf_of(page.text), "reason": "lost",
                                                               "note": "遗失于办公室"})
    assert r.status_code == 422 and 'id="f-note-error"' in r.text and "说明不能含有控制字符" in r.text
    assert "遗失于办公室</textarea>" in r.text
    entry = {"action": "revoked", "detail": {"reason": "misuse", "crl_number": 7}}
    assert seals.entry_text(entry) == "原因：违规使用；吊销列表第7号"
