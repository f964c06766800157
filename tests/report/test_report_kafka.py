"""The report read from the real broker: `onewindow report` over the public topics.

The events are stamped in 2019, a year no other test uses, so the window sees only them even on
a broker other tests share (their events fall outside it)."""

from __future__ import annotations

import asyncio
import json
from datetime import date

from aiokafka import AIOKafkaProducer
from typer.testing import CliRunner

from contracts.common import CaseKind
from services.reporting.source import read_topics
from services.runtime.cli import app

from .events import accepted, at, consultation, decided, ended, item, received, retired, unit, wrap

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


async def publish(bootstrap: str, envs) -> None:  # type: ignore[no-untyped-def]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for e in envs:
            await producer.send_and_wait(e.topic, e.body(), key=e.key, headers=e.kafka_headers())
    finally:
        await producer.stop()


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
