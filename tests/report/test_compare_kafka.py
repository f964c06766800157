"""`onewindow report --compare-from/--compare-to` read from the real broker (issue 22 item 9).

The events are stamped in 2016, a year no other test uses, and the items are retired at the
start of 2017, so other tests' windows do not see them."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from typer.testing import CliRunner

from contracts.common import CaseKind
from tools.cli import app

from .events import accepted, at, decided, ended, item, publish, received, retired, wrap

pytestmark = pytest.mark.timeout(300)

IMM, PRO = CaseKind.IMMEDIATE, CaseKind.PROMISED


def case(no, it, day, kind, used, *, weekend=False):  # type: ignore[no-untyped-def]
    return [received(no, "PP", it, at(day), weekend=weekend), accepted(no, "PP", it, at(day, 10, 5), kind, weekend=weekend),
            decided(no, "PP", it, at(day, 15), kind), ended(no, "PP", it, at(day, 15), kind, used=used)]


def test_the_report_compares_two_periods_from_the_topics(kafka_bootstrap: str) -> None:
    gone = date(2017, 1, 2)
    envs = wrap(
        item("PP-1", "PP", IMM, published=date(2016, 1, 1)), item("PP-2", "PP", PRO, published=date(2016, 1, 1)),
        item("PQ-1", "PQ", IMM, published=date(2016, 8, 1)),
        *case("2016-PP-00001", "PP-2", date(2016, 3, 1), PRO, 12),
        *case("2016-PP-00002", "PP-1", date(2016, 7, 2), IMM, 0, weekend=True),   # a Saturday
        *case("2016-PP-00003", "PP-2", date(2016, 9, 1), PRO, 4),
        retired("PP-1", "PP", gone), retired("PP-2", "PP", gone), retired("PQ-1", "PQ", gone),
    )
    asyncio.run(publish(kafka_bootstrap, envs + envs[:2]))  # two records delivered twice
    result = CliRunner().invoke(app, ["report", "--from", "2016-07-01", "--to", "2016-12-31",
                                      "--compare-from", "2016-01-01", "--compare-to", "2016-06-30",
                                      "--weekend-since", "2016-07-01", "--bootstrap", kafka_bootstrap])
    assert result.exit_code == 0, result.output
    md = result.output
    assert "| 即办件事项（期末） | 1 项 | 2 项 | +1 项 |" in md
    assert "| 即办件占事项比例 | 50.0% | 66.7% |  |" in md
    assert "| 进驻单位（期末） | 1 个 | 2 个 | +1 个 |" in md
    assert "| 平均办理时间 | 12.0 个工作日 | 2.0 个工作日 | -10.0 个工作日 |" in md
    assert "共受理双休日申请 1 件，1 个双休日" in md
