"""The attendance contracts: topics, keys, and nothing personal beyond names on public topics."""

from datetime import UTC, datetime

import pytest
from pydantic import BaseModel, ValidationError

import contracts
from contracts import attendance as a
from contracts.topics import Audience, get_topic

FORBIDDEN_ON_PUBLIC = {"mobile", "phone", "id_number", "resident_id", "id_card", "pin"}


def _field_names(model: type[BaseModel]) -> set[str]:
    names = set()
    for name, f in model.model_fields.items():
        names.add(name)
        ann = f.annotation
        for arg in getattr(ann, "__args__", ()) + (ann,):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                names |= _field_names(arg)
    return names


def test_topics_and_audiences():
    assert get_topic("attendance.staff").audience is Audience.INTERNAL
    assert get_topic("attendance.punches").audience is Audience.INTERNAL
    assert get_topic("attendance.duty").key == "window_no"
    assert get_topic("attendance.evaluation").audience is Audience.PUBLIC


def test_public_events_carry_no_mobile_or_identity_numbers():
    public = [t for t in contracts.event_types().values()
              if t.source == "attendance" and get_topic(t.topic).public]
    assert {t.__name__ for t in public} == {"MonthlyAttendanceReported", "RankingPublished"}
    for t in public:
        assert not (_field_names(t) & FORBIDDEN_ON_PUBLIC), t.__name__


def test_staff_event_validates_the_mobile_and_keys_by_staff_id():
    e = a.StaffRegistered(staff_id="S01", name="张伟", unit_code="FGJ", unit_name="发展和改革局",
                          window_no="01", role=a.StaffRole.DUTY_MANAGER, mobile="13800000001", pin="1001")
    assert e.key() == "S01" and e.role.label == "值班负责人"
    with pytest.raises(ValidationError):
        a.StaffRegistered(staff_id="S01", name="张伟", unit_code="FGJ", unit_name="x", role="window_clerk",
                          mobile="12345")


def test_periods():
    kw = dict(formula="f", weights=a.ScoreWeights(on_time=0.4, satisfaction=0.3, attendance=0.3,
                                                  supervision_penalty=5), red_flag_windows=[], service_stars=[])
    assert a.RankingPublished(period="2025", **kw).key() == "2025"
    assert a.RankingPublished(period="2025-12", **kw).key() == "2025-12"
    with pytest.raises(ValidationError):
        a.RankingPublished(period="2025-13", **kw)


def test_punch_recorded_round_trip():
    e = a.PunchRecorded(staff_id="S01", device_sn="CQZ7232460012", pin="1001",
                        local_time=datetime(2025, 6, 3, 8, 25, 11), time_zone="Asia/Shanghai",
                        punched_at=datetime(2025, 6, 3, 0, 25, 11, tzinfo=UTC), punch_kind=a.PunchKind.CHECK_IN,
                        status_code=0, verify=a.VerifyMethod.FINGERPRINT, verify_code=1)
    env = contracts.Envelope.wrap(e)
    assert contracts.parse(env.kafka_headers(), env.body()).data == e


def test_violation_and_assessment_topics_are_internal_and_keyed_by_staff():
    for name in ("attendance.violations", "attendance.assessments"):
        t = get_topic(name)
        assert t.audience is Audience.INTERNAL and t.key == "staff_id" and not t.compacted
    e = a.StaffViolationRecorded(
        violation_id="v1", staff_id="S01", unit_code="FGJ", violation_kind=a.ViolationKind.LATE,
        origin=a.ViolationOrigin.ATTENDANCE, occurred_on=datetime(2025, 6, 3).date(), period="2025-06",
        evidence="迟到12分钟", recorded_by="system", recorded_at=datetime(2025, 6, 4, 1, tzinfo=UTC))
    env = contracts.Envelope.wrap(e)
    assert env.topic == "attendance.violations" and env.key == b"S01" and env.subject == "S01"
    assert contracts.parse(env.kafka_headers(), env.body()).data == e
    assert a.ViolationKind.LEFT_POST.label == "早退/脱岗" and a.AssessmentGrade.BASICALLY_COMPETENT.label == "基本称职"
    with pytest.raises(ValidationError):
        a.StaffViolationWithdrawn(violation_id="v1", staff_id="S01", unit_code="FGJ", violation_kind="late",
                                  occurred_on="2025-06-03", period="2025-06", reason="", withdrawn_by="x",
                                  withdrawn_at=datetime(2025, 6, 4, tzinfo=UTC))
    d = a.StaffAssessmentDecided(
        assessment_id="2025/S01", year=2025, staff_id="S01", name="张伟", unit_code="FGJ", unit_name="发展和改革局",
        grade=a.AssessmentGrade.EXCELLENT, formula="f", parts=a.AssessmentParts(violations=0, awards=0),
        decided_by="admin01", decided_at=datetime(2026, 1, 10, tzinfo=UTC))
    assert d.key() == "S01" and d.proposed_grade is None and not d.on_appeal
