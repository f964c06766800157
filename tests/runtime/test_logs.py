"""Every log line written while an event is handled carries its event id and receipt number."""

from __future__ import annotations

import json
import logging

from services.runtime import logs


def test_json_lines_carry_the_event_context(capsys) -> None:  # type: ignore[no-untyped-def]
    logs.configure("intake", "INFO", json=True)
    try:
        log = logging.getLogger("services.intake.handlers")
        with logs.log_context("ev-1", "2026-LYJ-00001"):
            log.info("accepted")
        log.info("idle")
        lines = [json.loads(x) for x in capsys.readouterr().err.splitlines() if x.startswith("{")]
    finally:
        logging.getLogger().handlers.clear()
    handled = next(x for x in lines if x["message"] == "accepted")
    idle = next(x for x in lines if x["message"] == "idle")
    assert handled["event_id"] == "ev-1" and handled["receipt_no"] == "2026-LYJ-00001"
    assert handled["service"] == "intake" and handled["level"] == "INFO" and "time" in handled
    assert idle["event_id"] is None


def test_a_retry_storm_is_one_line_per_window_with_the_count(capsys) -> None:  # type: ignore[no-untyped-def]
    logs.configure("intake", "INFO", json=True)
    try:
        kafka = logging.getLogger("aiokafka.conn")
        ours = logging.getLogger("services.intake.handlers")
        for _ in range(500):  # a broker away: aiokafka retries and says so every time
            kafka.error("Unable connect to node with id %s: %s", 1, "Connect call failed")
        for n in range(3):  # our own errors are never held back unless they ask
            ours.error("dead-lettered record %s", n)
        lines = [json.loads(x) for x in capsys.readouterr().err.splitlines() if x.startswith("{")]
        assert [x["message"] for x in lines if x["logger"] == "aiokafka.conn"] == [
            "Unable connect to node with id 1: Connect call failed"
        ]
        assert len([x for x in lines if x["logger"] == "services.intake.handlers"]) == 3
        # The window over, the next one goes out and says how many were not logged.
        throttle = next(f for f in logging.getLogger().handlers[0].filters if isinstance(f, logs._Throttle))
        throttle.window = 0.0
        kafka.error("Unable connect to node with id %s: %s", 1, "Connect call failed")
        last = json.loads(capsys.readouterr().err.splitlines()[-1])
        assert last["message"].endswith("[499 more like this in the last 0s not logged]")
    finally:
        logging.getLogger().handlers.clear()
