"""Business volume per unit and month, and the "should enter but don't" (应进不进) flag: a unit
that has entered the center but routes no business through it for a set number of months."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable

from contracts.common import CaseKind
from contracts.intake import UnitInactivityFlagged, UnitVolumeReported

from .catalog import Unit


@dataclass(frozen=True)
class CaseFacts:
    """What the monthly report needs to know of one case received in the month."""

    unit_code: str
    kind: CaseKind       # the kind it is counted under (Application.six_kind)
    accepted: bool
    not_accepted: bool
    decided: bool
    weekend: bool


def parse_period(period: str) -> tuple[int, int]:
    """'YYYY-MM' -> (year, month); raises ValueError unless it names a real month (year 1..9999)."""
    m = re.fullmatch(r"([0-9]{4})-([0-9]{2})", period)
    if m is None:
        raise ValueError(f"period must be YYYY-MM, got {period!r}")
    year, month = int(m.group(1)), int(m.group(2))
    if year < 1 or not 1 <= month <= 12:
        raise ValueError(f"period must be YYYY-MM, got {period!r}")
    return year, month


def months_between(earlier: tuple[int, int], later: tuple[int, int]) -> int:
    return (later[0] - earlier[0]) * 12 + (later[1] - earlier[1])


def monthly_volume(unit: Unit, period: str, cases: Iterable[CaseFacts], consultations: int,
                   at: datetime) -> UnitVolumeReported:
    parse_period(period)
    mine = [c for c in cases if c.unit_code == unit.code]
    kinds = Counter(c.kind for c in mine)
    return UnitVolumeReported(
        unit_code=unit.code, unit_name=unit.name, period=period, received=len(mine),
        accepted=sum(c.accepted for c in mine), not_accepted=sum(c.not_accepted for c in mine),
        decided=sum(c.decided for c in mine), weekend_received=sum(c.weekend for c in mine),
        by_kind={k: kinds.get(k, 0) for k in CaseKind}, consultations=consultations, reported_at=at,
    )


def months_without_business(unit: Unit, last_business_on: date | None, period: str) -> int:
    """Whole months up to and including `period` with no case received.

    A unit with no case at all counts from the month it entered the center, or from the month it
    was recorded in this system if that is later (no business can be known before)."""
    p = parse_period(period)
    if last_business_on is not None:
        return max(0, months_between((last_business_on.year, last_business_on.month), p))
    starts = [d for d in (unit.entered_since, unit.registered_on) if d is not None]
    if unit.entered_since is None or not starts:
        return 0
    start = max(starts)
    return max(0, months_between((start.year, start.month), p) + 1)


def inactive_units(units: Iterable[Unit], last_business: dict[str, date | None], period: str, threshold: int,
                   at: datetime) -> list[UnitInactivityFlagged]:
    """Flag every entered unit with no business for `threshold` months or more."""
    if threshold < 1:
        raise ValueError("threshold must be at least one month")
    out = []
    for unit in units:
        if not unit.entered:
            continue
        last = last_business.get(unit.code)
        months = months_without_business(unit, last, period)
        if months >= threshold:
            out.append(UnitInactivityFlagged(unit_code=unit.code, unit_name=unit.name,
                                             months_without_business=months, last_business_on=last,
                                             period=period, flagged_at=at))
    return out
