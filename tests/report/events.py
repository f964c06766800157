"""Builders of the events the report reads, from the contracts (as the services emit them)."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from aiokafka import AIOKafkaProducer

from contracts.common import ApplicantType, CaseKind, Channel
from contracts.deadline import ClockEnded
from contracts.envelope import Envelope
from contracts.intake import (
    ApplicantPublic,
    ApplicationAccepted,
    ApplicationDecided,
    ApplicationNotAccepted,
    ApplicationReceived,
    ConsultationOutcome,
    ConsultationRecorded,
    Fee,
    ItemPublished,
    ItemRetired,
    MissingMaterial,
    NotAcceptedReason,
    Outcome,
    SupplementRequested,
    SupplementStage,
    UnitInactivityFlagged,
    UnitRegistered,
)

TZ = ZoneInfo("Asia/Shanghai")
APPLICANT = ApplicantPublic(type=ApplicantType.PERSON, masked_name="张*", masked_resident_id="110***********002X",
                            masked_mobile="138****5678")


async def publish(bootstrap: str, envs: list[Envelope]) -> None:
    """Onto the real broker, as a service's relay would (acks=all, idempotent)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for e in envs:
            await producer.send_and_wait(e.topic, e.body(), key=e.key, headers=e.kafka_headers())
    finally:
        await producer.stop()


def at(d: date, hh: int = 10, mm: int = 0) -> datetime:
    return datetime.combine(d, time(hh, mm), TZ)


def wrap(*events) -> list[Envelope]:  # type: ignore[no-untyped-def]
    return [Envelope.wrap(e) for e in events]


def unit(code: str, *, since: date | None = date(2012, 3, 1), entered: bool = True,
         registered: date = date(2026, 1, 1)) -> UnitRegistered:
    return UnitRegistered(unit_code=code, unit_name=f"{code}局", window_numbers=["01"], entered=entered,
                          entered_since=since, registered_at=at(registered, 0, 0))


def item(code: str, unit_code: str, kind: CaseKind, *, published: date = date(2026, 1, 1),
         version: int = 1) -> ItemPublished:
    return ItemPublished(
        item_code=code, item_version=version, name=f"事项{code}", unit_code=unit_code, unit_name=f"{unit_code}局",
        case_kind=kind, legal_basis=["某法第一条"], procedure=["受理", "决定"], materials=[],
        statutory_days=20, promised_days=0 if kind is CaseKind.IMMEDIATE else 10, fee=Fee(free=True),
        flow="受理→决定", published_at=at(published, 0, 0),
    )


def retired(code: str, unit_code: str, on: date) -> ItemRetired:
    return ItemRetired(item_code=code, item_version=1, unit_code=unit_code, retired_at=at(on))


def _case(no: str, unit_code: str, item_code: str) -> dict:
    return {"receipt_no": no, "unit_code": unit_code, "item_code": item_code, "item_version": 1}


def received(no: str, unit_code: str, item_code: str, when: datetime, *, weekend: bool = False) -> ApplicationReceived:
    return ApplicationReceived(**_case(no, unit_code, item_code), received_at=when, weekend=weekend,
                               channel=Channel.WINDOW, applicant=APPLICANT, materials_submitted=["M01"])


def accepted(no: str, unit_code: str, item_code: str, when: datetime, kind: CaseKind, *,
             weekend: bool = False) -> ApplicationAccepted:
    return ApplicationAccepted(
        **_case(no, unit_code, item_code), accepted_at=when, received_at=when, item_name="事项", unit_name="局",
        case_kind=kind, promised_days=0 if kind is CaseKind.IMMEDIATE else 10, statutory_days=20, weekend=weekend,
        applicant_type=ApplicantType.PERSON, applicant=APPLICANT, after_supplement=False,
    )


def supplement(no: str, unit_code: str, item_code: str, when: datetime) -> SupplementRequested:
    return SupplementRequested(
        **_case(no, unit_code, item_code), requested_at=when, stage=SupplementStage.AT_WINDOW, stops_clock=False,
        missing=[{"code": "M02", "name": "身份证明"}], request_no=1, item_name="事项", unit_name="局",
    )


def not_accepted(no: str, unit_code: str, item_code: str, when: datetime) -> ApplicationNotAccepted:
    return ApplicationNotAccepted(**_case(no, unit_code, item_code), reason_code=NotAcceptedReason.OUT_OF_SCOPE,
                                  reason="不属于本机关职权范围", decided_at=when, item_name="事项", unit_name="局",
                                  applicant_type=ApplicantType.PERSON)


def decided(no: str, unit_code: str, item_code: str, when: datetime, kind: CaseKind) -> ApplicationDecided:
    return ApplicationDecided(**_case(no, unit_code, item_code), outcome=Outcome.APPROVED, decision_text="准予",
                              decided_at=when, case_kind=kind, on_the_spot=kind is CaseKind.IMMEDIATE,
                              item_name="事项", unit_name="局", applicant_type=ApplicantType.PERSON)


def ended(no: str, unit_code: str, item_code: str, when: datetime, kind: CaseKind, *, used: int,
          on_time: bool = True) -> ClockEnded:
    return ClockEnded(receipt_no=no, unit_code=unit_code, item_code=item_code, case_kind=kind, decided_at=when,
                      outcome="approved", due_date=when.date(), on_time=on_time, within_statutory=True,
                      working_days_used=used, working_days_stopped=0, late_working_days=0 if on_time else 1)


def consultation(cid: str, unit_code: str, when: datetime) -> ConsultationRecorded:
    return ConsultationRecorded(consultation_id=cid, unit_code=unit_code, staff_id="s1", channel=Channel.WINDOW,
                                outcome=ConsultationOutcome.ANSWERED, recorded_at=when)


def flag(unit_code: str, period: str, months: int, when: datetime) -> UnitInactivityFlagged:
    return UnitInactivityFlagged(unit_code=unit_code, unit_name=f"{unit_code}局", months_without_business=months,
                                 period=period, flagged_at=when)
