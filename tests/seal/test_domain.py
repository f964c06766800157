from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from contracts.common import DocumentType
from contracts.seal import REFUSAL_TEXT, RefusalCode, SealKind
from services.seal.domain import (
    APPROVAL_DOCUMENTS, Seal, RuleViolation, WorkingHours, check_issue, check_use, cutover_day, local_date,
    document_number, pick_seal,
)
from services.runtime.workdays import period_of as month_of

START = date(2024, 8, 1)
T0 = datetime(2024, 7, 1, tzinfo=UTC)


def seal(**kw) -> Seal:
    base = dict(
        seal_id="s2", unit_code="SCJG", unit_name="某某县市场监督管理局", kind=SealKind.APPROVAL, seal_no="2",
        start_date=START, valid_from=T0, valid_until=T0 + timedelta(days=5 * 365),
    )
    base.update(kw)
    return Seal(**base)


def at_local(d: date, hour: int = 10) -> datetime:
    # 10:00 Beijing time is 02:00 UTC
    return datetime(d.year, d.month, d.day, hour - 8, tzinfo=UTC)


def test_valid_use_passes() -> None:
    assert check_use(seal(), "SCJG", DocumentType.ACCEPTANCE, at_local(date(2024, 8, 5))) is None


@pytest.mark.parametrize(
    ("the_seal", "unit", "doc", "when", "code"),
    [
        (None, "SCJG", DocumentType.ACCEPTANCE, date(2024, 8, 5), RefusalCode.NO_SEAL),
        (seal(), "MZJ", DocumentType.ACCEPTANCE, date(2024, 8, 5), RefusalCode.SEAL_OF_OTHER_UNIT),
        (seal(), "SCJG", DocumentType.ACCEPTANCE, date(2024, 7, 31), RefusalCode.SEAL_NOT_STARTED),
        (seal(revoked_at=at_local(date(2024, 8, 3))), "SCJG", DocumentType.APPROVAL, date(2024, 8, 5), RefusalCode.SEAL_REVOKED),
        (seal(valid_until=at_local(date(2024, 8, 4))), "SCJG", DocumentType.APPROVAL, date(2024, 8, 5), RefusalCode.SEAL_EXPIRED),
        (seal(), "SCJG", DocumentType.SUPERVISION, date(2024, 8, 5), RefusalCode.OUT_OF_SCOPE),
        (seal(scope=frozenset({DocumentType.ACCEPTANCE})), "SCJG", DocumentType.DENIAL, date(2024, 8, 5), RefusalCode.OUT_OF_SCOPE),
    ],
)
def test_refusals(the_seal, unit, doc, when, code) -> None:
    refusal = check_use(the_seal, unit, doc, at_local(when))
    assert refusal is not None and refusal.code == code
    assert refusal.text == REFUSAL_TEXT[code] and refusal.text


def test_start_date_is_the_local_day() -> None:
    # 31 July 23:30 UTC is already 1 August in Beijing: the seal has started
    assert check_use(seal(), "SCJG", DocumentType.ACCEPTANCE, datetime(2024, 7, 31, 16, 30, tzinfo=UTC)) is None
    assert check_use(seal(), "SCJG", DocumentType.ACCEPTANCE, datetime(2024, 7, 31, 15, 59, tzinfo=UTC)) is not None


def test_revoked_seal_is_refused_from_the_moment_of_revocation() -> None:
    revoked_at = datetime(2024, 8, 10, 3, 0, tzinfo=UTC)
    s = seal(revoked_at=revoked_at)
    assert check_use(s, "SCJG", DocumentType.APPROVAL, revoked_at - timedelta(seconds=1)) is None
    assert check_use(s, "SCJG", DocumentType.APPROVAL, revoked_at).code == RefusalCode.SEAL_REVOKED


def test_old_seal_is_refused_for_approvals_after_cutover_only() -> None:
    old = seal(seal_id="old", kind=SealKind.OLD, seal_no="1", start_date=date(2010, 1, 1),
               approvals_until=cutover_day(START), scope=APPROVAL_DOCUMENTS | {DocumentType.SUPERVISION})
    assert cutover_day(START) == date(2024, 7, 31)
    assert check_use(old, "SCJG", DocumentType.APPROVAL, at_local(date(2024, 7, 31))) is None
    for doc in APPROVAL_DOCUMENTS:
        assert check_use(old, "SCJG", doc, at_local(date(2024, 8, 1))).code == RefusalCode.OLD_SEAL_AFTER_CUTOVER
    # the old seal remains the unit's seal for documents outside the approval process
    assert check_use(old, "SCJG", DocumentType.SUPERVISION, at_local(date(2024, 8, 1))) is None


def test_pick_seal_prefers_the_usable_newest_and_else_names_the_real_problem() -> None:
    revoked = seal(seal_id="a", revoked_at=at_local(date(2024, 9, 1)))
    renewed = seal(seal_id="b", start_date=date(2024, 9, 2), valid_from=at_local(date(2024, 9, 1)))
    old = seal(seal_id="o", kind=SealKind.OLD)
    seals = [revoked, renewed, old]
    assert pick_seal(seals, "SCJG", SealKind.APPROVAL, at_local(date(2024, 8, 15))).seal_id == "a"
    assert pick_seal(seals, "SCJG", SealKind.APPROVAL, at_local(date(2024, 9, 5))).seal_id == "b"
    assert pick_seal(seals, "SCJG", SealKind.OLD, at_local(date(2024, 9, 5))).seal_id == "o"
    assert pick_seal(seals, "MZJ", SealKind.APPROVAL, at_local(date(2024, 9, 5))) is None
    # only a revoked seal: it is picked, and the refusal says revoked
    only = pick_seal([revoked], "SCJG", SealKind.APPROVAL, at_local(date(2024, 9, 5)))
    assert check_use(only, "SCJG", DocumentType.APPROVAL, at_local(date(2024, 9, 5))).code == RefusalCode.SEAL_REVOKED


def test_one_live_seal_of_a_kind_per_unit() -> None:
    with pytest.raises(RuleViolation) as e:
        check_issue([seal()], "SCJG", SealKind.APPROVAL, date(2024, 9, 1), at_local(date(2024, 8, 20)))
    assert e.value.field == "unit_code"
    check_issue([seal(revoked_at=T0)], "SCJG", SealKind.APPROVAL, date(2024, 9, 1), at_local(date(2024, 8, 20)))
    check_issue([seal()], "SCJG", SealKind.OLD, date(2024, 9, 1), at_local(date(2024, 8, 20)))
    check_issue([seal()], "MZJ", SealKind.APPROVAL, date(2024, 9, 1), at_local(date(2024, 8, 20)))


def test_working_hours_are_local_and_include_weekends() -> None:
    wh = WorkingHours()
    saturday = date(2024, 8, 3)
    assert not wh.outside(at_local(saturday, 10))
    assert wh.outside(datetime(2024, 8, 3, 12, 0, tzinfo=UTC))  # 20:00 in Beijing
    assert wh.outside(datetime(2024, 8, 2, 23, 0, tzinfo=UTC))  # 07:00 next morning
    weekdays_only = WorkingHours(opens=time(9), closes=time(17), days=frozenset(range(5)))
    assert weekdays_only.outside(at_local(saturday, 10))


def test_numbers_and_months() -> None:
    assert document_number("SCJG", 2024, 12) == "SCJG-2024-000012"
    assert month_of(datetime(2024, 7, 31, 17, 0, tzinfo=UTC)) == "2024-08"
    assert local_date(datetime(2024, 7, 31, 17, 0, tzinfo=UTC)) == date(2024, 8, 1)
