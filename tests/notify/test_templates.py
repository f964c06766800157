"""Every notice and SMS template renders; notices cite the law; supplements list everything."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from contracts.common import DocumentType
from services.notify.adapters import rendering
from services.notify.adapters.notice_pdf import SEAL_SIZE, render_pdf
from services.notify.domain import sms_text

from .samples import MATERIALS, SMS_CONTEXT, notice_context

SIGNATURE = "【示范县行政审批服务中心】"

LEGAL_BASIS = {
    DocumentType.ACCEPTANCE: ["第三十二条第一款第（五）项"],
    DocumentType.SUPPLEMENT: ["第三十二条第一款第（四）项", "一次性告知"],
    DocumentType.NOT_ACCEPTED: ["第三十二条第一款第（二）项", "行政复议", "行政诉讼"],
    DocumentType.APPROVAL: ["第三十八条第一款", "第四十四条"],
    DocumentType.DENIAL: ["第三十八条第二款", "行政复议", "行政诉讼"],
    DocumentType.FORWARDED: ["第三十五条"],
    DocumentType.JOINT: ["第二十六条第二款", "第四十二条第二款"],
    DocumentType.EXTENSION: ["第四十二条第一款"],
    DocumentType.SUPERVISION: ["限时办结制"],
}


def test_every_sms_template_has_a_sample_context():
    assert set(rendering.sms_template_names()) == set(SMS_CONTEXT)


@pytest.mark.parametrize("name", sorted(SMS_CONTEXT))
def test_every_sms_template_renders_within_the_cap(name):
    sms = rendering.render_sms(name, SMS_CONTEXT[name], signature=SIGNATURE, max_parts=3)
    assert sms.text.startswith(SIGNATURE)
    assert sms.text == SIGNATURE + sms.body
    assert "\n" not in sms.text and "None" not in sms.text and "{{" not in sms.text
    assert sms.length.alphabet is sms_text.Alphabet.UCS2
    assert 1 <= sms.length.parts <= 3
    for value in SMS_CONTEXT[name].values():
        if isinstance(value, str) and value.startswith("http"):
            assert value in sms.text  # links are never cut by the template


def test_sms_template_missing_variable_is_an_error_not_a_gap():
    with pytest.raises(Exception, match="undefined"):
        rendering.render_sms("notice_acceptance", {"applicant_name": "张三"}, signature=SIGNATURE, max_parts=3)


def test_sms_cap_is_enforced():
    ctx = dict(SMS_CONTEXT["notice_joint"], lead_unit="示范县行政审批服务中心" * 10)
    with pytest.raises(sms_text.MessageTooLong):
        rendering.render_sms("notice_joint", ctx, signature=SIGNATURE, max_parts=2)


def test_sms_params_are_strings_for_cloud_templates():
    sms = rendering.render_sms("notice_extension", SMS_CONTEXT["notice_extension"], signature=SIGNATURE, max_parts=3)
    assert sms.params["new_due_date"] == "4月3日"
    assert all(isinstance(v, str) for v in sms.params.values())


@pytest.mark.parametrize("document_type", list(DocumentType))
def test_every_notice_renders_with_title_number_and_legal_basis(document_type):
    doc = rendering.render_notice(document_type, notice_context(document_type))
    kind = rendering.notice_kind(document_type)
    assert doc.title == kind.title
    assert doc.number == "县市监审受〔2025〕0042号"
    assert doc.date == "2025年3月6日"
    text = doc.plain_text()
    assert "None" not in text and "{{" not in text
    for phrase in LEGAL_BASIS[document_type]:
        assert phrase in text, phrase
    if document_type is not DocumentType.SUPERVISION:
        assert doc.addressee == "张三："
        assert "食品经营许可（新办）" in text
        assert "《中华人民共和国行政许可法》" in text


def test_supplement_notice_lists_every_missing_material_at_once():
    doc = rendering.render_notice(DocumentType.SUPPLEMENT, notice_context(DocumentType.SUPPLEMENT))
    items = [b.text for b in doc.blocks if b.kind == "item"]
    assert items == [f"{i}. {m['name']}：{m['reason']}" for i, m in enumerate(MATERIALS, start=1)]
    assert f"以上共{len(MATERIALS)}项，为需要补正的全部内容" in doc.plain_text()


def test_supplement_without_materials_is_refused():
    ctx = dict(notice_context(DocumentType.SUPPLEMENT), materials=[])
    with pytest.raises(rendering.MissingNoticeFields, match="materials"):
        rendering.render_notice(DocumentType.SUPPLEMENT, ctx)


def test_missing_required_fields_are_named():
    ctx = notice_context(DocumentType.DENIAL)
    del ctx["reason"], ctx["court"]
    with pytest.raises(rendering.MissingNoticeFields) as exc:
        rendering.render_notice(DocumentType.DENIAL, ctx)
    assert exc.value.missing == ["court", "reason"]


def test_immediate_acceptance_promises_a_decision_on_the_spot():
    ctx = dict(notice_context(DocumentType.ACCEPTANCE), case_kind="immediate", promised_days=None, due_date=None)
    text = rendering.render_notice(DocumentType.ACCEPTANCE, ctx).plain_text()
    assert "当场作出书面的行政许可决定" in text and "第三十四条第二款" in text
    assert "个工作日内" not in text


def test_not_accepted_grounds():
    base = notice_context(DocumentType.NOT_ACCEPTED)
    not_required = rendering.render_notice(DocumentType.NOT_ACCEPTED, dict(base, ground="not_required")).plain_text()
    assert "依法不需要取得行政许可" in not_required and "第（一）项" in not_required
    other = rendering.render_notice(DocumentType.NOT_ACCEPTED, dict(base, ground="other", reason="申请人未在规定期限内补正材料")).plain_text()
    assert "申请人未在规定期限内补正材料" in other


def test_user_text_is_escaped_not_interpreted_as_markup():
    ctx = dict(notice_context(DocumentType.DENIAL), applicant_name="A&B <公司>", reason="见附件</p><p>伪造段落")
    doc = rendering.render_notice(DocumentType.DENIAL, ctx)
    assert doc.addressee == "A&B <公司>："
    assert any("</p><p>伪造段落" in b.text for b in doc.blocks)


def test_cn_helpers():
    assert rendering.cn_number(10) == "十" and rendering.cn_number(45) == "四十五" and rendering.cn_number(15) == "十五"
    assert rendering.cn_date("2025-03-05") == "2025年3月5日"


@pytest.mark.parametrize("document_type", [DocumentType.SUPPLEMENT, DocumentType.APPROVAL])
def test_notice_pdf_embeds_the_font_and_places_the_seal_box(document_type):
    doc = rendering.render_notice(document_type, notice_context(document_type))
    out = render_pdf(doc)
    assert out.pdf.startswith(b"%PDF-")
    assert b"/FontFile2" in out.pdf  # the CJK TrueType subset is embedded, not referenced
    box = out.seal_box
    assert box.page == out.pages  # the seal sits with the signature on the last page
    assert box.width == box.height == pytest.approx(SEAL_SIZE, abs=0.01)
    assert 595.27 / 2 < box.x and box.x + box.width < 595.27  # right half of the A4 page
    assert 0 < box.y < 842 / 2                                # lower half


def test_notice_pdf_text_has_every_material():
    assert shutil.which("pdftotext"), "poppler-utils (deploy/apt-packages.txt) is needed"
    doc = rendering.render_notice(DocumentType.SUPPLEMENT, notice_context(DocumentType.SUPPLEMENT))
    out = render_pdf(doc)
    text = subprocess.run(["pdftotext", "-", "-"], input=out.pdf, capture_output=True, check=True).stdout.decode()
    flat = "".join(text.split())
    assert "补正材料通知书" in flat.replace(" ", "")
    for m in MATERIALS:
        assert m["name"] in flat


def test_long_supplement_flows_onto_a_second_page_with_the_seal_on_the_last():
    many = [{"name": f"材料{i}", "reason": "缺少原件，需提交原件及复印件各1份，复印件须加盖公章" * 2} for i in range(1, 16)]
    doc = rendering.render_notice(DocumentType.SUPPLEMENT, dict(notice_context(DocumentType.SUPPLEMENT), materials=many))
    out = render_pdf(doc)
    assert out.pages >= 2
    assert out.seal_box.page == out.pages
