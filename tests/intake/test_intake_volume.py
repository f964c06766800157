from datetime import date

import pytest

from contracts.common import CaseKind
from services.intake.domain.catalog import Unit
from services.intake.domain.volume import CaseFacts, inactive_units, monthly_volume, months_without_business

from .helpers import MONDAY

UNIT = Unit(code="LYJ", name="青山县林业局", entered=True, entered_since=date(2024, 1, 15))


def test_monthly_volume_counts_by_kind_status_and_weekend():
    cases = [
        CaseFacts("LYJ", CaseKind.IMMEDIATE, True, False, True, True),
        CaseFacts("LYJ", CaseKind.PROMISED, True, False, False, False),
        CaseFacts("LYJ", CaseKind.RETURNED, False, True, False, True),
        CaseFacts("SCJ", CaseKind.IMMEDIATE, True, False, True, False),
    ]
    e = monthly_volume(UNIT, "2024-06", cases, consultations=7, at=MONDAY)
    assert (e.received, e.accepted, e.not_accepted, e.decided, e.weekend_received, e.consultations) == (3, 2, 1, 1, 2, 7)
    assert e.by_kind[CaseKind.IMMEDIATE] == 1 and e.by_kind[CaseKind.RETURNED] == 1 and e.by_kind[CaseKind.JOINT] == 0
    assert e.key() == "LYJ"


@pytest.mark.parametrize("last, period, months", [
    (date(2024, 6, 30), "2024-06", 0),
    (date(2024, 3, 2), "2024-06", 3),
    (None, "2024-06", 6),   # never any business since entering in January
    (None, "2023-12", 0),   # not entered yet
])
def test_months_without_business(last, period, months):
    assert months_without_business(UNIT, last, period) == months


def test_months_count_from_when_the_unit_was_recorded_here():
    recorded = UNIT.model_copy(update={"registered_on": date(2024, 5, 20)})
    assert months_without_business(recorded, None, "2024-06") == 2
    assert months_without_business(recorded, date(2024, 5, 25), "2024-06") == 1


def test_units_idle_for_the_threshold_are_flagged():
    idle = Unit(code="MZZ", name="青山县民族宗教事务局", entered=True, entered_since=date(2024, 1, 1))
    not_in = Unit(code="YCJ", name="青山县烟草专卖局", entered=False)
    flags = inactive_units([UNIT, idle, not_in], {"LYJ": date(2024, 6, 3), "MZZ": date(2024, 2, 10)}, "2024-06",
                           threshold=3, at=MONDAY)
    assert [(f.unit_code, f.months_without_business, f.last_business_on) for f in flags] == \
        [("MZZ", 4, date(2024, 2, 10))]
    assert inactive_units([idle], {"MZZ": date(2024, 2, 10)}, "2024-06", threshold=5, at=MONDAY) == []
    with pytest.raises(ValueError):
        inactive_units([idle], {}, "2024-06", threshold=0, at=MONDAY)
