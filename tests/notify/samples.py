"""Sample contexts for every notice and SMS template (realistic values, one case)."""

from __future__ import annotations

from datetime import date

from contracts.common import DocumentType

COMMON = dict(
    unit_name="示范县市场监督管理局", applicant_name="张三", item_name="食品经营许可（新办）",
    receipt_no="2025-SJJ-00042", submitted_on=date(2025, 3, 5), issued_on=date(2025, 3, 6),
    document_no="县市监审受〔2025〕0042号", center_name="示范县行政审批服务中心", center_phone="0310-1234567",
    center_address="示范县人民路88号政务服务大厦一楼",
)

MATERIALS = [
    {"name": "营业执照复印件", "reason": "未加盖申请单位公章"},
    {"name": "食品安全管理制度", "reason": "缺少，需提交原件1份"},
    {"name": "经营场所平面图", "reason": "未标明设备布局和操作流程，请按比例重新绘制"},
    {"name": "法定代表人身份证明", "reason": "身份证复印件已过有效期"},
]

EXTRA = {
    DocumentType.ACCEPTANCE: dict(promised_days=10, due_date=date(2025, 3, 20), case_kind="promised"),
    DocumentType.SUPPLEMENT: dict(materials=MATERIALS, supplement_days=5),
    DocumentType.NOT_ACCEPTED: dict(ground="not_competent", competent_authority="示范县卫生健康局",
                                    reason="公共场所卫生许可不属于市场监督管理部门的审批事项",
                                    reconsideration_body="示范县人民政府", court="示范县人民法院"),
    DocumentType.APPROVAL: dict(accepted_on=date(2025, 3, 6), pickup_place="中心一楼综合出件窗口",
                                licence_name="食品经营许可证", licence_no="JY13301230004567", valid_until=date(2030, 3, 5)),
    DocumentType.DENIAL: dict(accepted_on=date(2025, 3, 6), reason="经现场核查，经营场所距离公共厕所不足25米，不符合食品经营许可审查要求",
                              reconsideration_body="示范县人民政府", court="示范县人民法院"),
    DocumentType.FORWARDED: dict(accepted_on=date(2025, 3, 6), higher_authority="市行政审批局", forwarded_on=date(2025, 3, 8)),
    DocumentType.JOINT: dict(lead_unit="示范县行政审批服务中心",
                             partner_units=["示范县市场监督管理局", "示范县消防救援大队", "示范县生态环境分局"],
                             promised_days=15, due_date=date(2025, 3, 27)),
    DocumentType.EXTENSION: dict(accepted_on=date(2025, 3, 6), reason="需组织专家对工艺流程进行论证",
                                 extension_days=10, new_due_date=date(2025, 4, 3)),
    DocumentType.SUPERVISION: dict(problem="超过承诺时限3个工作日未办结", reply_due=date(2025, 3, 28)),
}


def notice_context(document_type: DocumentType) -> dict:
    return {**COMMON, **EXTRA[document_type]}


URL = "https://zw.example.gov.cn/s/Ab3dEf7h"

SMS_CONTEXT = {
    "notice_acceptance": dict(applicant_name="张三", item_name="食品经营许可（新办）", receipt_no="2025-SJJ-00042",
                              promised_days=10, url=URL),
    "notice_supplement": dict(applicant_name="张三", item_name="食品经营许可（新办）", receipt_no="2025-SJJ-00042",
                              material_count=4, supplement_days=5, url=URL),
    "notice_not_accepted": dict(applicant_name="张三", item_name="食品经营许可（新办）", receipt_no="2025-SJJ-00042", url=URL),
    "notice_approval": dict(applicant_name="张三", item_name="食品经营许可（新办）", receipt_no="2025-SJJ-00042",
                            pickup_place="中心一楼综合出件窗口", url=URL),
    "notice_denial": dict(applicant_name="张三", item_name="食品经营许可（新办）", receipt_no="2025-SJJ-00042", url=URL),
    "notice_forwarded": dict(applicant_name="张三", item_name="食品经营许可（新办）", receipt_no="2025-SJJ-00042",
                             higher_authority="市行政审批局", url=URL),
    "notice_joint": dict(applicant_name="张三", item_name="食品经营许可（新办）", receipt_no="2025-SJJ-00042",
                         lead_unit="示范县行政审批服务中心", url=URL),
    "notice_extension": dict(applicant_name="张三", item_name="食品经营许可（新办）", receipt_no="2025-SJJ-00042",
                             new_due_date=date(2025, 4, 3), url=URL),
    "survey": dict(item_name="食品经营许可（新办）", rating_url="https://zw.example.gov.cn/r/Xy7k"),
    "staff_deadline_warned": dict(receipt_no="2025-SJJ-00042", item_name="食品经营许可（新办）", due_date=date(2025, 3, 20), days_left=2),
    "staff_deadline_overdue": dict(receipt_no="2025-SJJ-00042", item_name="食品经营许可（新办）", unit_name="县市场监管局",
                                   days_overdue=3, clerk_name="李四"),
    "staff_supervision": dict(unit_name="县市场监管局", notice_no="县审服督〔2025〕0007号", summary="超期未办结",
                              reply_due=date(2025, 3, 28)),
    "staff_duty_gap": dict(window_no="12", unit_name="县市场监管局", post="A", since="09:15"),
    "staff_notice_failed": dict(receipt_no="2025-SJJ-00042", title="受理通知书", reason="2号章已注销"),
}
