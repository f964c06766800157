"""The report read from the real broker: `onewindow report` over the public topics.

The events are stamped in 2019, a year no other test uses, so the window sees only them even on
a broker other tests share (their events fall outside it)."""

from __future__ import annotations

import asyncio
import json
from datetime import date

from typer.testing import CliRunner

from contracts.common import CaseKind
from tools.reporting import REPORT_TOPICS
from tools.reporting.source import end_offsets, read_topics
from tools.cli import app

from .events import accepted, at, consultation, decided, ended, item, publish, received, retired, unit, wrap

D = date(2019, 6, 15)  # a Saturday


def events():  # type: ignore[no-untyped-def]
    imm = CaseKind.IMMEDIATE
    return wrap(
        unit("QQ", registered=date(2019, 1, 1)), item("QQ-1", "QQ", imm, published=date(2019, 1, 1)),
        received("2019-QQ-00001", "QQ", "QQ-1", at(D), weekend=True),
        accepted("2019-QQ-00001", "QQ", "QQ-1", at(D, 10, 1), imm, weekend=True),
        decided("2019-QQ-00001", "QQ", "QQ-1", at(D, 10, 20), imm),
        ended("2019-QQ-00001", "QQ", "QQ-1", at(D, 10, 20), imm, used=0),
        consultation("ZX-2019-REPORT", "QQ", at(D, 9)),
        # The unit leaves the center at the end of 2019: later windows (other tests') do not see it.
        retired("QQ-1", "QQ", date(2019, 12, 31)), unit("QQ", entered=False, registered=date(2019, 12, 31)),
    )


def test_report_from_the_public_topics(kafka_bootstrap: str) -> None:
    # Not a coroutine: `onewindow report` runs its own event loop.
    envs = events()
    asyncio.run(publish(kafka_bootstrap, envs + envs[:3]))  # three records delivered twice

    read = asyncio.run(read_topics(bootstrap_servers=kafka_bootstrap))
    ids = {e.id for e in read.envelopes}
    assert {e.id for e in envs} <= ids
    assert not read.missing_topics

    result = CliRunner().invoke(app, ["report", "--from", "2019-06-01", "--to", "2019-06-30",
                                      "--bootstrap", kafka_bootstrap, "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["applications_received"] == 1
    assert figures["applications_accepted"] == 1
    assert figures["consultations"] == 1
    assert figures["cases_decided"] == figures["cases_on_time"] == 1
    assert figures["weekend_received"] == 1 and figures["weekends_served"] == 1
    assert figures["duplicates_ignored"] >= 3
    assert figures["months"][0]["units_without_business"] == []
    assert (figures["catalog_items"], figures["immediate_items"], figures["units_known"]) == (1, 1, 1)
    later = json.loads(CliRunner().invoke(app, ["report", "--from", "2020-01-01", "--to", "2020-01-31",
                                                "--bootstrap", kafka_bootstrap, "--json"]).output)
    assert "QQ" not in later["months"][0]["units_without_business"]

    table = CliRunner().invoke(app, ["report", "--from", "2019-06-01", "--to", "2019-06-30",
                                     "--bootstrap", kafka_bootstrap])
    assert table.exit_code == 0
    assert "受理审批服务事项" in table.output and "100.0%" in table.output


def test_reading_only_what_came_after_a_mark(kafka_bootstrap: str) -> None:
    """``start_offsets`` from ``end_offsets``: records published before the mark are not read,
    every record published after it is (what the simulator uses to report on its own run)."""
    imm = CaseKind.IMMEDIATE
    d = date(2019, 7, 6)
    before = wrap(consultation("ZX-2019-BEFORE-MARK", "QQ", at(d, 9)),
                  ended("2019-QQ-00901", "QQ", "QQ-1", at(d, 10), imm, used=0))
    after = wrap(consultation("ZX-2019-AFTER-MARK", "QQ", at(d, 11)),
                 ended("2019-QQ-00902", "QQ", "QQ-1", at(d, 12), imm, used=0))
    asyncio.run(publish(kafka_bootstrap, before))
    mark = asyncio.run(end_offsets(bootstrap_servers=kafka_bootstrap))
    assert {tp.topic for tp in mark} == set(REPORT_TOPICS)
    asyncio.run(publish(kafka_bootstrap, after))

    ids = {e.id for e in asyncio.run(read_topics(bootstrap_servers=kafka_bootstrap, start_offsets=mark)).envelopes}
    assert {e.id for e in after} <= ids
    assert not ids & {e.id for e in before}
    everything = {e.id for e in asyncio.run(read_topics(bootstrap_servers=kafka_bootstrap)).envelopes}
    assert {e.id for e in before + after} <= everything
