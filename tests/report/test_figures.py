"""The year-end figures over a small, hand-built year of events (every figure checked)."""

from __future__ import annotations

from datetime import date

import pytest

from contracts.common import CaseKind
from tools.reporting import compute
from tools.reporting.render import render_zh

from .events import (accepted, at, consultation, decided, ended, flag, item, not_accepted, received, retired,
                     supplement, unit, wrap)

IMM, PRO = CaseKind.IMMEDIATE, CaseKind.PROMISED
START, END = date(2026, 1, 1), date(2026, 3, 31)


def case(no, u, it, day, kind, *, decided_on=None, used=0, on_time=True, weekend=False):  # type: ignore[no-untyped-def]
    out = [received(no, u, it, at(day), weekend=weekend), accepted(no, u, it, at(day, 10, 5), kind, weekend=weekend)]
    if decided_on:
        out += [decided(no, u, it, at(decided_on, 15), kind), ended(no, u, it, at(decided_on, 15), kind, used=used,
                                                                    on_time=on_time)]
    return out


def world():  # type: ignore[no-untyped-def]
    events = [
        unit("AA"), unit("BB"), unit("CC"), unit("DD", entered=False), unit("EE", since=date(2026, 3, 1)),
        item("AA-1", "AA", IMM), item("AA-2", "AA", PRO), item("BB-1", "BB", PRO), item("BB-2", "BB", IMM),
        item("CC-1", "CC", PRO), item("XX-9", "AA", IMM), retired("XX-9", "AA", date(2026, 2, 1)),
        item("AA-3", "AA", IMM, published=date(2026, 4, 5)),  # after the window: not current yet
        *case("RCPT01", "AA", "AA-1", date(2026, 1, 5), IMM, decided_on=date(2026, 1, 5)),
        *case("RCPT02", "AA", "AA-2", date(2026, 1, 6), PRO, decided_on=date(2026, 1, 16), used=8),
        # accepted after a supplement, decided late
        received("RCPT03", "BB", "BB-1", at(date(2026, 2, 2))), supplement("RCPT03", "BB", "BB-1", at(date(2026, 2, 2), 10, 1)),
        accepted("RCPT03", "BB", "BB-1", at(date(2026, 2, 4)), PRO),
        decided("RCPT03", "BB", "BB-1", at(date(2026, 2, 20)), PRO),
        ended("RCPT03", "BB", "BB-1", at(date(2026, 2, 20)), PRO, used=12, on_time=False),
        # Saturday 14 February 2026 is an official make-up working day: not weekend service
        *case("RCPT04", "BB", "BB-2", date(2026, 2, 14), IMM, decided_on=date(2026, 2, 14), weekend=True),
        # weekend service: Saturday 7 and Sunday 8 March (one weekend), Saturday 21 March
        *case("RCPT05", "AA", "AA-1", date(2026, 3, 7), IMM, decided_on=date(2026, 3, 7), weekend=True),
        *case("RCPT06", "AA", "AA-1", date(2026, 3, 8), IMM, decided_on=date(2026, 3, 8), weekend=True),
        *case("RCPT07", "BB", "BB-2", date(2026, 3, 21), IMM, decided_on=date(2026, 3, 21), weekend=True),
        # returned (退回件)
        received("RCPT08", "BB", "BB-1", at(date(2026, 3, 10))), not_accepted("RCPT08", "BB", "BB-1", at(date(2026, 3, 10), 11)),
        # accepted in the window, decided after it
        *case("RCPT09", "AA", "AA-2", date(2026, 3, 30), PRO),
        decided("RCPT09", "AA", "AA-2", at(date(2026, 4, 8)), PRO),
        ended("RCPT09", "AA", "AA-2", at(date(2026, 4, 8)), PRO, used=6),
        # received and accepted before the window, decided in it
        *case("RCPT10", "AA", "AA-2", date(2025, 12, 30), PRO, decided_on=date(2026, 1, 8), used=6),
        consultation("Z1", "AA", at(date(2026, 1, 5))), consultation("Z2", "BB", at(date(2026, 2, 10))),
        consultation("Z3", "AA", at(date(2026, 3, 3))), consultation("Z4", "AA", at(date(2026, 4, 1))),
        flag("CC", "2026-02", 2, at(date(2026, 3, 2), 8)), flag("CC", "2026-03", 3, at(date(2026, 4, 1), 8)),
    ]
    envs = wrap(*events)
    return envs + [envs[14]]  # one record delivered twice


@pytest.fixture(scope="module")
def report():  # type: ignore[no-untyped-def]
    return compute(world(), START, END)


def test_applications_and_consultations_are_counted_in_the_window(report) -> None:  # type: ignore[no-untyped-def]
    assert report.applications_received == 9
    assert report.applications_accepted == 8
    assert report.applications_not_accepted == 1
    assert report.applications_decided == 7 + 1  # R1-R7 and R10; R9 was decided in April
    assert report.consultations == 3
    assert report.duplicates_ignored == 1


def test_six_kinds_count_returned_and_supplement_before_the_item_kind(report) -> None:  # type: ignore[no-untyped-def]
    assert report.by_kind == {"immediate": 5, "promised": 2, "joint": 0, "reported_up": 0, "supplement": 1,
                              "returned": 1}


def test_on_time_rate_and_working_days_come_from_the_deadline_clocks(report) -> None:  # type: ignore[no-untyped-def]
    assert report.cases_decided == 8
    assert report.cases_on_time == 7
    assert report.on_time_rate == pytest.approx(7 / 8)
    assert report.average_working_days == pytest.approx((8 + 12 + 6) / 8)
    assert report.average_working_days_with_limit == pytest.approx((8 + 12 + 6) / 3)


def test_immediate_share_of_the_current_catalog_and_of_the_cases(report) -> None:  # type: ignore[no-untyped-def]
    # AA-1, AA-2, BB-1, BB-2, CC-1 are current on 31 March; XX-9 was retired, AA-3 comes in April.
    assert (report.catalog_items, report.immediate_items, report.catalog_units) == (5, 2, 3)
    assert report.immediate_item_share == pytest.approx(2 / 5)
    assert report.immediate_case_share == pytest.approx(5 / 8)


def test_weekend_service_excludes_make_up_working_days(report) -> None:  # type: ignore[no-untyped-def]
    assert report.weekend_received == 3
    assert report.weekends_served == 2
    assert report.average_per_weekend == pytest.approx(1.5)
    assert report.first_weekend_served == date(2026, 3, 7)


def test_units_without_business_per_month(report) -> None:  # type: ignore[no-untyped-def]
    # DD has not entered the center; EE entered in March.
    assert report.units_known == 4
    assert report.units_without_business_by_month == {"2026-01": ["BB", "CC"], "2026-02": ["AA", "CC"],
                                                      "2026-03": ["CC", "EE"]}
    assert [(f.unit_code, f.period) for f in report.inactivity_flags] == [("CC", "2026-02")]


def test_monthly_rows(report) -> None:  # type: ignore[no-untyped-def]
    jan, feb, mar = report.months
    assert (jan.received, jan.accepted, jan.decided, jan.on_time, jan.consultations) == (2, 2, 3, 3, 1)
    assert (feb.received, feb.accepted, feb.decided, feb.on_time, feb.weekend_received) == (2, 2, 2, 1, 0)
    assert (mar.received, mar.accepted, mar.weekend_received) == (5, 4, 3)


def test_a_window_of_one_day_and_plain_events() -> None:
    envs = world()
    day = compute([e.data for e in envs], date(2026, 3, 7), date(2026, 3, 7))
    assert (day.applications_received, day.weekend_received, day.weekends_served) == (1, 1, 1)
    assert day.duplicates_ignored == 0  # bare events carry no id to recognise a repeat
    with pytest.raises(ValueError):
        compute(envs, END, START)


def test_the_zh_cn_table_shows_the_figures(report) -> None:  # type: ignore[no-untyped-def]
    text = render_zh(report)
    for expected in ("受理审批服务事项", "8 件", "按期办结率", "87.5%", "3.2 个工作日", "2 项，占 40.0%",
                     "双休日收件", "平均每个双休日 1.5 件", "2026-03  ", "CC、EE", "退回件"):
        assert expected in text, expected
    assert report.model_validate_json(report.model_dump_json()) == report
