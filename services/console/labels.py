"""The words the pages use for the services' codes (zh-CN)."""

from __future__ import annotations

from contracts.common import CASE_KIND_LABELS
from contracts.intake import ConsultationOutcome, NotAcceptedReason, RatingLevel

CASE_KINDS = {k.value: v for k, v in CASE_KIND_LABELS.items()}

STATUS = {
    "received": "已收件",
    "awaiting_supplement": "待补正材料",
    "not_accepted": "不予受理（退回）",
    "accepted": "已受理，审查中",
    "supplement_in_review": "审查中补正材料（暂停计时）",
    "joint_review": "联办单位会签中",
    "forwarded": "已上报上级机关",
    "decided": "已办结",
}
FINAL = frozenset({"not_accepted", "decided"})

NOT_ACCEPTED_REASONS = {r.value: r.label for r in NotAcceptedReason}

CONSULTATION_OUTCOMES = {
    ConsultationOutcome.ANSWERED.value: "当场答复",
    ConsultationOutcome.GUIDE_GIVEN.value: "发放办事指南（一次性告知）",
    ConsultationOutcome.REFERRED.value: "转交其他单位（首问负责人跟踪）",
    ConsultationOutcome.FOLLOW_UP.value: "需回复，跟进中",
    ConsultationOutcome.APPLICATION_FILED.value: "当场提交申请",
}

CHANNELS = {"window": "窗口", "phone": "电话", "website": "网站"}

RATING_LEVELS = {r.value: r.label for r in RatingLevel}

DOCUMENTS = {
    "acceptance": "受理通知书",
    "supplement": "补正材料通知书（一次性告知书）",
    "not_accepted": "不予受理通知书",
    "approval": "准予行政许可决定书",
    "denial": "不予行政许可决定书",
    "forwarded": "上报转送告知书",
    "joint": "联办告知书",
    "extension": "延长审批期限告知书",
    "supervision": "业务督办通知书",
}

NOTICE_STATES = {
    "awaiting_contact": "等待申请人联系方式",
    "rendering": "正在生成文书",
    "requested": "正在盖章",
    "sealed": "已盖章",
    "released": "已盖章并送达",
    "failed": "盖章失败",
}

SMS_STATES = {
    "queued": "排队待发",
    "deferred": "夜间暂缓，次日发送",
    "sending": "发送中",
    "sent": "已发送",
    "delivered": "已送达手机",
    "failed": "发送失败",
    "unknown": "结果未知（待核实）",
    "suppressed": "未发送（已退订）",
}

CLOCK_STATES = {"running": "计时中", "stopped": "暂停计时", "ended": "已结束"}
