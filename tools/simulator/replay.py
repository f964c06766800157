"""Replay a plan through intake's HTTP API on the compressed clock.

Before each step the simulated instant is written to the clock file the services read
(``ONEWINDOW_CLOCK=file:…``, see ``services/runtime/clock.py``); the step is then sent as the
clerk of its unit (a local staff token), so intake stamps it with that instant. Steps go one at a
time in the plan's order: a case's steps keep their order, and every request sees the time set
for it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from services.runtime.clock import write_clock_file

from .plan import Plan, Step
from .suite import Suite

PATHS = {
    "provide": "supplements",
    "request_review": "supplement-requests",
    "not_accept": "not-accepted",
    "forward": "forward",
    "higher_answer": "higher-answer",
    "joint_answer": "joint-answer",
    "decide": "decision",
}


@dataclass
class ReplayResult:
    sent: Counter[str] = field(default_factory=Counter)
    failures: list[dict] = field(default_factory=list)
    skipped: int = 0
    retried: int = 0
    seconds: float = 0.0
    receipts: dict[int, str] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return sum(self.sent.values())


class Replay:
    def __init__(self, suite: Suite, clock_file: Path, plan: Plan) -> None:
        self.suite, self.clock_file, self.plan = suite, clock_file, plan
        self.http = httpx.Client(base_url=suite.url("intake"), timeout=60)
        self._tokens: dict[str, dict[str, str]] = {}

    def headers(self, actor: str) -> dict[str, str]:
        if actor not in self._tokens:
            if actor == "SUPERVISOR":
                token = self.suite.token("sim-supervisor", "supervisor", None, "督查员")
            else:
                token = self.suite.token(f"sim-{actor.lower()}-a", "clerk", actor, f"{actor}窗口A岗")
            self._tokens[actor] = {"Authorization": f"Bearer {token}"}
        return self._tokens[actor]

    def send(self, step: Step, result: ReplayResult) -> httpx.Response | None:
        h = self.headers(step.actor)
        if step.action == "consult":
            return self.http.post("/intake/consultations", json=step.body, headers=h)
        if step.action == "monthly_report":
            return self.http.post("/intake/reports/monthly", json=step.body, headers=h)
        if step.action == "receive":
            return self.http.post("/intake/applications", json=step.body, headers=h)
        receipt = result.receipts.get(step.case)  # type: ignore[arg-type]
        if receipt is None:  # the case's reception failed: its later steps cannot happen
            result.skipped += 1
            return None
        return self.http.post(f"/intake/applications/{receipt}/{PATHS[step.action]}", json=step.body, headers=h)

    def run(self, progress: Callable[[int, int, Step], None] | None = None) -> ReplayResult:
        result = ReplayResult()
        began = time.perf_counter()
        last = None
        total = len(self.plan.steps)
        for n, step in enumerate(self.plan.steps, 1):
            if step.at != last:
                write_clock_file(self.clock_file, step.at)
                last = step.at
            r = self.send(step, result)
            for _ in range(3):
                # 409: intake's own handler (the due date from deadline) wrote the case in between;
                # the clerk refreshes and tries again, as the problem's detail says.
                if r is None or r.status_code != 409:
                    break
                result.retried += 1
                time.sleep(0.05)
                r = self.send(step, result)
            if r is None:
                continue
            if r.status_code >= 300:
                result.failures.append({"action": step.action, "case": step.case, "at": step.at.isoformat(),
                                        "status": r.status_code, "detail": r.text[:500]})
            else:
                result.sent[step.action] += 1
                if step.action == "receive":
                    result.receipts[step.case] = r.json()["receipt_no"]  # type: ignore[index]
            if progress and (n % 500 == 0 or n == total):
                progress(n, total, step)
        result.seconds = time.perf_counter() - began
        return result

    def close(self) -> None:
        self.http.close()
