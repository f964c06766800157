"""Intake's case events as the deadline service receives them (test factories)."""

from __future__ import annotations

from datetime import datetime

from contracts.common import ApplicantType, CaseKind
from contracts.intake import (
    ApplicantPublic,
    ApplicationAccepted,
    ApplicationDecided,
    ApplicationForwarded,
    ApplicationNotAccepted,
    HigherAuthorityAnswered,
    NotAcceptedReason,
    Outcome,
    SupplementProvided,
    SupplementRequested,
    SupplementStage,
)

UNIT = "SCJG"
UNIT_NAME = "县市场监督管理局"
ITEM = "SCJG-001"

APPLICANT = ApplicantPublic(
    type=ApplicantType.PERSON, masked_name="张*", masked_resident_id="110***********123X", masked_mobile="138****5678"
)


def _common(receipt_no: str, unit: str = UNIT) -> dict[str, object]:
    return {"receipt_no": receipt_no, "unit_code": unit, "item_code": ITEM, "item_version": 2, "staff_id": "clerk-1"}


def accepted(
    receipt_no: str, at: datetime, *, promised: int = 10, statutory: int = 20, kind: CaseKind = CaseKind.PROMISED,
    unit: str = UNIT,
) -> ApplicationAccepted:
    return ApplicationAccepted(
        **_common(receipt_no, unit),
        accepted_at=at, received_at=at, item_name="食品经营许可", unit_name=UNIT_NAME if unit == UNIT else f"{unit}局",
        case_kind=kind, promised_days=promised, statutory_days=statutory, weekend=at.weekday() >= 5,
        applicant_type=ApplicantType.PERSON, applicant=APPLICANT, after_supplement=False,
    )


def supplement_requested(receipt_no: str, at: datetime, *, stage: SupplementStage = SupplementStage.IN_REVIEW,
                         request_no: int = 1) -> SupplementRequested:
    return SupplementRequested(
        **_common(receipt_no), requested_at=at, stage=stage, stops_clock=stage is SupplementStage.IN_REVIEW,
        # A plain mapping: valid for the material model whichever intake names (MissingMaterial, MaterialRef).
        missing=[{"code": "M03", "name": "经营场所证明"}], request_no=request_no,  # type: ignore[list-item]
        item_name="食品经营许可", unit_name=UNIT_NAME,
    )


def supplement_provided(receipt_no: str, at: datetime, *, complete: bool = True) -> SupplementProvided:
    return SupplementProvided(
        **_common(receipt_no), provided_at=at, stage=SupplementStage.IN_REVIEW, materials=["M03"], complete=complete
    )


def forwarded(receipt_no: str, at: datetime) -> ApplicationForwarded:
    return ApplicationForwarded(
        **_common(receipt_no), authority="市市场监督管理局", forwarded_at=at, item_name="食品经营许可", unit_name=UNIT_NAME
    )


def answered(receipt_no: str, at: datetime) -> HigherAuthorityAnswered:
    return HigherAuthorityAnswered(
        **_common(receipt_no), authority="市市场监督管理局", approved=True, answer="同意", answered_at=at
    )


def decided(receipt_no: str, at: datetime, *, kind: CaseKind = CaseKind.PROMISED, unit: str = UNIT) -> ApplicationDecided:
    return ApplicationDecided(
        **_common(receipt_no, unit), outcome=Outcome.APPROVED, decision_text="准予行政许可", decided_at=at, case_kind=kind,
        on_the_spot=kind is CaseKind.IMMEDIATE, item_name="食品经营许可", unit_name=UNIT_NAME,
        applicant_type=ApplicantType.PERSON,
    )


def not_accepted(receipt_no: str, at: datetime) -> ApplicationNotAccepted:
    return ApplicationNotAccepted(
        **_common(receipt_no), reason_code=NotAcceptedReason.OUT_OF_SCOPE, reason="不属于本机关职权范围", decided_at=at,
        item_name="食品经营许可", unit_name=UNIT_NAME, applicant_type=ApplicantType.PERSON,
    )
