"""The replay: the clock file is set before each step, steps go in order as their unit's clerk,
later steps use the receipt number intake gave, and a 409 (the case written in between by
intake's own handler) is retried as a clerk would."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx

from services.runtime import clock
from tools.simulator.plan import Plan, Step, YearParameters
from tools.simulator.replay import Replay

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone(timedelta(hours=8)))


class FakeSuite:
    def url(self, service: str) -> str:
        return "http://intake.test"

    def token(self, sub: str, role: str, unit: str | None = None, name: str = "") -> str:
        return f"{role}:{unit}"


def test_replay_sets_the_clock_and_follows_the_case(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "clock"
    monkeypatch.setenv(clock.ENV, f"file:{path}")
    seen: list[tuple[str, str, datetime]] = []
    conflicts = iter([True, False])

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, request.headers["Authorization"], clock.now()))
        if request.url.path.endswith("/decision") and next(conflicts):
            return httpx.Response(409, json={"detail": "该案件刚被其他人更新，请刷新后重试"})
        if request.url.path == "/intake/applications":
            return httpx.Response(201, json={"receipt_no": "2026-FGJ-00007"})
        return httpx.Response(201, json={})

    steps = [
        Step(T0, 1, "receive", 0, "FGJ", {"item_code": "FGJ-001"}),
        Step(T0 + timedelta(hours=1), 2, "consult", None, "GAJ", {"channel": "window"}),
        Step(T0 + timedelta(days=3), 3, "decide", 0, "FGJ", {"outcome": "approved"}),
    ]
    replay = Replay(FakeSuite(), path, Plan(YearParameters(), [], steps))  # type: ignore[arg-type]
    replay.http = httpx.Client(base_url="http://intake.test", transport=httpx.MockTransport(handler))
    result = replay.run()

    assert result.failures == [] and result.retried == 1
    assert result.receipts == {0: "2026-FGJ-00007"}
    assert [(p, a) for p, a, _ in seen] == [
        ("/intake/applications", "Bearer clerk:FGJ"), ("/intake/consultations", "Bearer clerk:GAJ"),
        ("/intake/applications/2026-FGJ-00007/decision", "Bearer clerk:FGJ"),
        ("/intake/applications/2026-FGJ-00007/decision", "Bearer clerk:FGJ"),
    ]
    assert [t for _, _, t in seen] == [T0, T0 + timedelta(hours=1), T0 + timedelta(days=3), T0 + timedelta(days=3)]
    assert path.read_text() == (T0 + timedelta(days=3)).isoformat()
