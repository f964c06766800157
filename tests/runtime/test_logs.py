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
