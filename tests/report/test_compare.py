"""The report compares periods (issue 22 item 9): immediate items then and now and their share,
average processing time per period in working days, units and items entered over a period,
weekend cases since a date — and the Markdown."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime

import pytest

from contracts.common import CaseKind
from tools.reporting import compare, render_markdown

from .events import accepted, at, decided, ended, item, received, wrap

pytestmark = pytest.mark.timeout(120)

IMM, PRO = CaseKind.IMMEDIATE, CaseKind.PROMISED
BEFORE, AFTER = (date(2025, 1, 1), date(2025, 6, 30)), (date(2025, 7, 1), date(2025, 12, 31))


def case(no, u, it, day, kind, decided_on, used, *, weekend=False):  # type: ignore[no-untyped-def]
    return [received(no, u, it, at(day), weekend=weekend), accepted(no, u, it, at(day, 10, 5), kind, weekend=weekend),
            decided(no, u, it, at(decided_on, 15), kind), ended(no, u, it, at(decided_on, 15), kind, used=used)]


def world():  # type: ignore[no-untyped-def]
    jul = date(2025, 7, 10)
    return wrap(
        item("AA-1", "AA", IMM, published=date(2025, 1, 1)), item("AA-2", "AA", PRO, published=date(2025, 1, 1)),
        item("BB-1", "BB", PRO, published=date(2025, 1, 1)),
        item("CC-1", "CC", IMM, published=jul), item("CC-2", "CC", IMM, published=jul),
        item("BB-2", "BB", IMM, published=jul),
        *case("RCPT01", "AA", "AA-2", date(2025, 3, 3), PRO, date(2025, 3, 31), 19),
        *case("RCPT02", "BB", "BB-1", date(2025, 4, 1), PRO, date(2025, 4, 29), 19),
        # weekend service: Saturday 7 and Sunday 8 June (one weekend), Saturday 5 July
        *case("RCPT03", "AA", "AA-1", date(2025, 6, 7), IMM, date(2025, 6, 7), 0, weekend=True),
        *case("RCPT04", "AA", "AA-1", date(2025, 6, 8), IMM, date(2025, 6, 8), 0, weekend=True),
        *case("RCPT05", "CC", "CC-1", date(2025, 7, 5), IMM, date(2025, 7, 5), 0, weekend=True),
        *case("RCPT06", "BB", "BB-1", date(2025, 8, 4), PRO, date(2025, 8, 13), 7),
        *case("RCPT07", "AA", "AA-2", date(2025, 9, 1), PRO, date(2025, 9, 9), 6),
    )


def test_two_periods_side_by_side():
    c = compare(world(), BEFORE, AFTER, weekend_since=date(2025, 6, 1),
                generated_at=datetime(2026, 1, 5, tzinfo=UTC))
    b, a = c.before, c.after
    assert (b.immediate_items, a.immediate_items) == (1, 4)
    assert (round(b.immediate_item_share, 3), round(a.immediate_item_share, 3)) == (0.333, 0.667)
    assert (c.units_entered, c.items_entered) == (1, 3)
    # before: 19, 19, 0, 0 -> 9.5; after: 0, 7, 6 -> 4.33; with a time limit: 19 -> 6.5
    assert (b.average_working_days, round(a.average_working_days, 2)) == (9.5, 4.33)
    assert (b.average_working_days_with_limit, a.average_working_days_with_limit) == (19, 6.5)
    assert c.weekend is not None and (c.weekend.cases, c.weekend.weekends, c.weekend.average_per_weekend) == (3, 2, 1.5)

    md = render_markdown(c)
    assert md.startswith("## 前后对比")
    assert "| 即办件事项（期末） | 1 项 | 4 项 | +3 项 |" in md
    assert "| 即办件占事项比例 | 33.3% | 66.7% |  |" in md
    assert "| 进驻事项（期末） | 3 项 | 6 项 | +3 项 |" in md
    assert "| 平均办理时间 | 9.5 个工作日 | 4.3 个工作日 | -5.2 个工作日 |" in md
    assert "共受理双休日申请 3 件，2 个双休日，平均每个双休日 1.5 件" in md


def test_bad_periods_are_refused():
    with pytest.raises(ValueError, match="before"):
        compare([], (date(2025, 6, 30), date(2025, 1, 1)), AFTER)
    with pytest.raises(ValueError, match="weekend_since"):
        compare([], BEFORE, AFTER, weekend_since=date(2026, 1, 1))
    c = compare([], BEFORE, AFTER)  # no events: nothing to divide by
    assert c.before.immediate_item_share is None and c.weekend is None
    assert "—" in render_markdown(c)


def test_the_command_refuses_a_half_given_comparison():
    r = subprocess.run([sys.executable, "-m", "tools.cli", "report", "--from", "2025-07-01", "--to", "2025-12-31",
                        "--compare-from", "2025-01-01"], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "--compare-to" in r.stdout + r.stderr
