"""The simulator's plan: seeded, shaped like the source's January to August, and made of steps
intake accepts."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date

import pytest

from tools.simulator.catalog import demo_catalog
from tools.simulator.people import People
from tools.simulator.plan import TZ, YearParameters, build_plan

CATALOG = sorted(demo_catalog(), key=lambda i: i.code)


@pytest.fixture(scope="module")
def year():  # type: ignore[no-untyped-def]
    return build_plan(YearParameters(), CATALOG)


def test_the_demo_catalog_is_the_sources_size() -> None:
    assert len(CATALOG) == 246
    assert len({i.unit_code for i in CATALOG}) == 27
    assert sum(i.kind == "immediate" for i in CATALOG) == 139


def test_the_plan_is_reproducible() -> None:
    small = YearParameters(scale=0.02)
    a, b = build_plan(small, CATALOG), build_plan(small, CATALOG)
    assert [(s.at, s.action, s.case, s.body) for s in a.steps] == [(s.at, s.action, s.case, s.body) for s in b.steps]
    c = build_plan(replace(small, seed=small.seed + 1), CATALOG)
    assert [s.body for s in c.steps] != [s.body for s in a.steps]


def test_the_year_resembles_the_source(year) -> None:  # type: ignore[no-untyped-def]
    i = year.intended()
    assert i["applications_accepted"] == 7133
    assert i["consultations"] == 6530
    assert i["weekend_received"] == 376 and i["weekends_served"] == 12
    assert i["cases_on_time"] / i["cases_decided"] > 0.98
    assert 6.4 < i["average_working_days"] < 7.0
    idle = {m: units for m, units in i["units_without_business"].items()}
    assert all(idle[f"2026-0{m}"] == ["SLJ"] for m in range(1, 7))
    assert idle["2026-07"] == idle["2026-08"] == []
    slj = [c for c in year.cases if c.unit == "SLJ"]
    assert len(slj) == 127 and min(c.received_at.astimezone(TZ).date() for c in slj) >= date(2026, 7, 1)


def test_every_case_goes_in_order_and_weekend_cases_fall_on_weekends(year) -> None:  # type: ignore[no-untyped-def]
    by_case: dict[int, list] = {}
    for s in year.steps:
        if s.case is not None:
            by_case.setdefault(s.case, []).append(s)
    assert len(by_case) == len(year.cases)
    for steps in by_case.values():
        assert steps[0].action == "receive"
        assert steps[-1].action in ("decide", "not_accept")
        assert [s.at for s in steps] == sorted(s.at for s in steps)
    weekend = [c for c in year.cases if c.weekend]
    assert all(c.received_at.astimezone(TZ).weekday() >= 5 for c in weekend)
    assert min(c.received_at.astimezone(TZ).date() for c in weekend) >= date(2026, 6, 13)
    kinds = Counter(s.action for s in year.steps)
    assert kinds["decide"] == 7133 and kinds["not_accept"] > 50 and kinds["joint_answer"] > 0


def test_applicants_pass_intakes_checks() -> None:
    from services.intake.domain import identifiers

    people = People(7)
    for _ in range(300):
        a = people.applicant()
        identifiers.mobile(a["mobile"])
        if a["type"] == "person":
            identifiers.resident_id(a["resident_id"])
        else:
            identifiers.credit_code(a["credit_code"])
