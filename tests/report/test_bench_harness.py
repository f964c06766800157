"""The end-to-end benchmarks' own arithmetic and probes (no timing asserted)."""

from __future__ import annotations

import json
import os

import pytest

from benchmarks.e2e_common import SmsWatch, percentile, rss_kib


def test_percentiles_interpolate() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile([7.0], 95) == 7.0


def test_rss_of_this_process() -> None:
    assert (rss_kib(os.getpid()) or 0) > 1000
    assert rss_kib(2**22 + 12345) is None  # no such process


def test_sms_watch_reads_whole_lines_only(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "sms-outbox.jsonl"
    path.write_text(json.dumps({"mobile": "13800000001", "at": "2026-11-27T10:00:00+00:00"}) + "\n")
    watch = SmsWatch(path)  # what was there before the run is not this run's
    with path.open("a") as f:
        f.write(json.dumps({"mobile": "13800000002", "at": "2026-11-27T10:00:01+00:00"}) + "\n")
        f.write('{"mobile": "13800000003", "at": "2026-11-2')  # the writer is mid-line
    watch.poll()
    assert set(watch.first) == {"13800000002"}
    with path.open("a") as f:
        f.write('7T10:00:02+00:00"}\n')
        f.write(json.dumps({"mobile": "13800000002", "at": "2026-11-27T10:00:09+00:00"}) + "\n")
    watch.poll()
    assert set(watch.first) == {"13800000002", "13800000003"}
    assert watch.first["13800000002"] < watch.first["13800000003"]  # the first SMS counts
