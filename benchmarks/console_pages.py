"""Console pages under 20 clerks working at once, with the whole suite running (every service
its own process, a broker of its own) on this machine.

    .venv/bin/python -m benchmarks.console_pages [--clerks 20] [--seconds 60] [--think 1.0]

Each clerk signs in (its own account, its own unit) and, with a think time of about ``--think``
seconds between pages (uniform 0.5x..1.5x), opens the desk, a case of its unit, the new
application form, files an application (materials complete: accepted, the acceptance notice
sealed and sent in the background), searches, and looks at an item's guide. Measured per page:
the console's own server time (its ``Server-Timing: app`` header: from request in to response
out, the calls to the services included) and the time the client saw. The target is a p95
server time of 300 ms or less.

After the pages, each service's own figures over the measured part, which depend less on what
else the machine is doing than wall times do: the CPU its process used (per page) and, per route,
the mean time a request spent inside it (its ``/metrics``; the queueing before it is not in it)."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx

from benchmarks.e2e_common import load_average, percentile
from tests.e2e.harness import issue_seals, running_suite, suite_broker
from tools.console_screenshots import resident_id

ENV = {"ONEWINDOW_CONSOLE_DEMO_ACCOUNTS": "1", "ONEWINDOW_LOG_LEVEL": "WARNING"}
PASSWORD = "Bench-clerk-2026"


def server_ms(r: httpx.Response, name: str = "app") -> float:
    m = re.search(rf"(?:^|, ){name};dur=([0-9.]+)", r.headers.get("server-timing", ""))
    return float(m.group(1)) if m else float("nan")


#: The longest wait for each service within a page (Server-Timing), over all pages.
WAITS: dict[str, list[float]] = defaultdict(list)


SERVICES = ("console", "intake", "deadline", "notify", "seal", "attendance")
HTTP_METRIC = re.compile(r'^onewindow_http_request_duration_seconds_(sum|count)\{method="(\w+)",route="([^"]+)"\} (\S+)$', re.M)


def cpu_seconds(pid: int | None) -> float:
    """The CPU time (user + system) a process has used so far, from /proc."""
    if pid is None:
        return float("nan")
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def served(suite: object) -> dict[str, tuple[float, dict[str, tuple[float, float]]]]:
    """Per service: its CPU seconds so far and, per route, the time spent in it and the requests
    served (its own ``/metrics``: request in to response out inside the service, no queueing
    before it) -- to compare runs by work done rather than by wall time on a shared machine."""
    out = {}
    for name in SERVICES:
        routes: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        try:
            text = httpx.get(suite.url(name) + "/metrics", timeout=10).text  # type: ignore[attr-defined]
        except httpx.HTTPError:
            text = ""
        for kind, method, route, value in HTTP_METRIC.findall(text):
            routes[f"{method} {route}"][0 if kind == "sum" else 1] += float(value)
        out[name] = (cpu_seconds(suite.pid(name)), {k: (v[0], v[1]) for k, v in routes.items()})  # type: ignore[attr-defined]
    return out


def report_served(before: dict, after: dict, pages: int) -> None:
    print(f"{'service / route':44} {'requests':>8} {'in-service mean':>16}   (CPU of the process during the run)")
    for name in SERVICES:
        cpu0, r0 = before[name]
        cpu1, r1 = after[name]
        cpu = cpu1 - cpu0
        print(f"{name:44} {'':8} {'':16}   {cpu:6.1f} s CPU, {cpu * 1000 / max(pages, 1):5.1f} ms per page")
        for route in sorted(r1):
            if route.endswith(("/metrics", "/readyz", "/healthz")):
                continue
            secs = r1[route][0] - r0.get(route, (0.0, 0.0))[0]
            n = r1[route][1] - r0.get(route, (0.0, 0.0))[1]
            if n >= 20:
                print(f"  {route[:42]:42} {n:8.0f} {secs * 1000 / n:13.1f} ms")


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    if not m:
        raise RuntimeError("no CSRF token on the page")
    return m.group(1)


async def make_accounts(data_dir: Path, secret: str, units: list[str]) -> list[tuple[str, str]]:
    """Clerk accounts written into the running console's database (as an admin tool would)."""
    from services.console.app import create_service
    from services.console.config import ConsoleSettings
    from services.console.usecases import Accounts

    svc = create_service(ConsoleSettings(data_dir=data_dir, auth_secret=secret))
    accounts = Accounts(svc.db, svc.settings, svc.auth)  # type: ignore[arg-type]
    out = []
    for i, unit in enumerate(units, 1):
        name = f"bench{i:02d}"
        await accounts.create_account(name, PASSWORD, f"测试{i:02d}", "clerk", unit, check_policy=False)
        out.append((name, unit))
    await svc.db.dispose()
    return out


class Clerk:
    def __init__(self, base: str, username: str, unit: str, item: str, seq: int, stats: dict[str, list[tuple[float, float]]]) -> None:
        self.client = httpx.AsyncClient(base_url=base, timeout=30, follow_redirects=False)
        self.username, self.unit, self.item, self.seq = username, unit, item, seq
        self.stats = stats
        self.cases: list[str] = []
        self.errors = 0

    async def get(self, kind: str, path: str) -> httpx.Response:
        t = time.perf_counter()
        r = await self.client.get(path)
        self.record(kind, r, t)
        return r

    def record(self, kind: str, r: httpx.Response, started: float) -> None:
        if r.status_code >= 400:
            self.errors += 1
        self.stats[kind].append((server_ms(r), (time.perf_counter() - started) * 1000))
        for service in ("intake", "deadline", "notify", "seal", "attendance"):
            wait = server_ms(r, service)
            if wait == wait:  # not NaN
                WAITS[service].append(wait)

    async def sign_in(self) -> None:
        page = await self.client.get("/signin")
        r = await self.client.post("/signin", data={"csrf": csrf_of(page.text), "username": self.username,
                                                    "password": PASSWORD, "next": "/desk"})
        if r.status_code != 303:
            raise RuntimeError(f"{self.username} could not sign in: {r.status_code}")

    async def file(self, measure: bool = True) -> None:
        form = await self.client.get(f"/desk/new?item={self.item}")
        self.seq += 1
        data = {"csrf": csrf_of(form.text), "item_code": self.item, "applicant.type": "person",
                "applicant.name": "张测试", "applicant.mobile": f"139{self.seq:08d}"[-11:],
                "applicant.resident_id": resident_id(self.seq), "channel": "window",
                "materials": self._mandatory(form.text)}
        t = time.perf_counter()
        r = await self.client.post("/desk/new", data=data)
        if measure:
            self.record("POST /desk/new", r, t)
        m = re.search(r"/desk/cases/([0-9A-Z-]+)", r.headers.get("location", ""))
        if m:
            self.cases.append(m.group(1))
        else:
            self.errors += 1

    @staticmethod
    def _mandatory(html: str) -> list[str]:
        out = []
        for row in re.findall(r"<tr>(.*?)</tr>", html, re.S):
            m = re.search(r'id="mat-([^"]+)"', row)
            if m and "必交" in row:
                out.append(m.group(1))
        return out

    async def work(self, until: float, think: float) -> None:
        while time.monotonic() < until:
            roll = random.random()
            if roll < 0.30:
                await self.get("GET /desk", "/desk")
            elif roll < 0.60 and self.cases:
                await self.get("GET /desk/cases/{no}", f"/desk/cases/{random.choice(self.cases)}")
            elif roll < 0.72:
                await self.get("GET /desk/new?item=", f"/desk/new?item={self.item}")
            elif roll < 0.82:
                await self.file()
            elif roll < 0.90:
                await self.get("GET /desk/search", f"/desk/search?q={self.item}")
            else:
                await self.get("GET /portal/items/{code}", f"/portal/items/{self.item}")
            await asyncio.sleep(think * random.uniform(0.5, 1.5))


async def run(base: str, accounts: list[tuple[str, str]], items: dict[str, str], seconds: float,
              think: float, mark: Callable[[], None] = lambda: None) -> tuple[dict[str, list[tuple[float, float]]], int]:
    stats: dict[str, list[tuple[float, float]]] = defaultdict(list)
    clerks = [Clerk(base, u, unit, items[unit], i * 1000, stats) for i, (u, unit) in enumerate(accounts)]
    for c in clerks:  # one at a time: 20 password hashes at once time out on a loaded machine; not measured
        await c.sign_in()
    for c in clerks:  # every clerk has a case to open; not measured
        await c.file(measure=False)
    await asyncio.to_thread(mark)
    until = time.monotonic() + seconds
    await asyncio.gather(*(c.work(until, think) for c in clerks))
    await asyncio.gather(*(c.client.aclose() for c in clerks))
    return stats, sum(c.errors for c in clerks)


async def console_only(n: int = 200) -> None:
    """The console's own cost per page: in-process (ASGI), the services replaced by canned answers
    (tests/console/test_console_unit.py's stand-in), one page at a time."""
    from asgi_lifespan import LifespanManager

    from services.console.app import create_service
    from services.console.config import ConsoleSettings
    from tests.console import test_console_unit as t

    stand = t.Stand()
    case = {
        "receipt_no": "2026-FGJ-00001", "unit_name": "青山县发展和改革局", "unit_code": "FGJ",
        "item": {"item_code": "FGJ-001", "version": 1, "unit_code": "FGJ",
                 "content": {"name": "企业投资项目核准", "materials": t.ITEM["materials"], "higher_authority": None}},
        "applicant": {"type": "person", "name": "张三", "mobile": "13812345678", "resident_id": "110101199003071235"},
        "status": "accepted", "status_label": "已受理，审查中", "case_kind": "promised", "case_kind_label": "承诺件",
        "six_kind": "promised", "six_kind_label": "承诺件", "received_at": "2026-12-07T02:00:00Z",
        "accepted_at": "2026-12-07T02:00:00Z", "submitted": ["M01", "M02"], "outstanding": [], "requests": [],
        "joint_tasks": [], "timeline": [{"at": "2026-12-07T02:00:00Z", "code": "received", "label": "已收件"}] * 5}
    rows = [{"receipt_no": f"2026-FGJ-{i:05d}", "item_code": "FGJ-001", "item_name": "企业投资项目核准",
             "unit_code": "FGJ", "applicant": "张三丰", "status": "accepted", "status_label": "已受理，审查中",
             "six_kind": "promised", "received_at": datetime.now(UTC).isoformat(), "weekend": False,
             "due_on": "2026-12-21"} for i in range(30)]
    stand.answers[("GET", "/intake/applications/2026-FGJ-00001")] = lambda r: httpx.Response(200, json=case)
    stand.answers[("GET", "/notify/notices")] = lambda r: httpx.Response(200, json={"total": 0, "items": []})
    stand.answers[("GET", "/notify/messages")] = lambda r: httpx.Response(200, json={"total": 0, "items": []})
    stand.answers[("GET", "/intake/applications")] = lambda r: httpx.Response(200, json=rows)
    with tempfile.TemporaryDirectory() as tmp:
        settings = ConsoleSettings(data_dir=Path(tmp), auth_secret=t.SECRET, console_demo_accounts=True)
        svc = create_service(settings, transport=httpx.MockTransport(stand.handler))
        async with LifespanManager(svc.api):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.api), base_url="http://c") as c:
                await t.sign_in(c)
                print(f"console only, in-process, {n} pages each; load average: {load_average()}")
                for path in ("/desk", "/desk/cases/2026-FGJ-00001", "/desk/new?item=FGJ-001", "/portal/items/FGJ-001"):
                    times = []
                    for i in range(n + 10):
                        t0 = time.perf_counter()
                        r = await c.get(path)
                        if i >= 10:
                            times.append((time.perf_counter() - t0) * 1000)
                        assert r.status_code == 200, (path, r.status_code)
                    print(f"{path:32} p50 {percentile(times, 50):5.1f} ms  p95 {percentile(times, 95):5.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clerks", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--think", type=float, default=1.0)
    ap.add_argument("--console-only", action="store_true", help="the console's own cost per page, services canned")
    args = ap.parse_args()
    if args.console_only:
        asyncio.run(console_only())
        return
    with tempfile.TemporaryDirectory(prefix="console-bench-") as tmp:
        root = Path(tmp)
        with suite_broker(root / "kafka") as bootstrap, running_suite(bootstrap, root / "suite", env=ENV) as suite:
            intake = suite.client("intake")
            units = [u["code"] for u in intake.get("/intake/guide/units").json()]
            items: dict[str, str] = {}
            for unit in units:
                promised = [i for i in intake.get("/intake/guide/items", params={"unit": unit}).json()
                            if i["case_kind"] == "promised"]
                if promised:
                    items[unit] = promised[0]["code"]
            chosen = [u for u in units if u in items][: args.clerks]
            while len(chosen) < args.clerks:
                chosen.append(chosen[len(chosen) % len(items)])
            issue_seals(suite, sorted(set(chosen)))
            accounts = asyncio.run(make_accounts(suite.data_dir, suite.secret, chosen))
            marks: list[dict] = []  # the services' own figures when the measured part starts and ends
            started = time.monotonic()
            stats, errors = asyncio.run(run(suite.url("console"), accounts, items, args.seconds, args.think,
                                            lambda: marks.append(served(suite))))
            wall = time.monotonic() - started
            marks.append(served(suite))
            print(f"{args.clerks} clerks, {args.seconds:.0f} s, think time ~{args.think:.1f} s; "
                  f"{os.cpu_count()} cores; load average after: {load_average()}")
            print(f"{'page':28} {'n':>5} {'server p50':>11} {'server p95':>11} {'server max':>11} {'client p95':>11}")
            everything: list[float] = []
            for kind in sorted(stats):
                srv = [s for s, _ in stats[kind]]
                cli = [c for _, c in stats[kind]]
                everything += srv
                print(f"{kind:28} {len(srv):5d} {percentile(srv, 50):9.0f}ms {percentile(srv, 95):9.0f}ms "
                      f"{max(srv):9.0f}ms {percentile(cli, 95):9.0f}ms")
            total = len(everything)
            print(f"{'all pages':28} {total:5d} {percentile(everything, 50):9.0f}ms {percentile(everything, 95):9.0f}ms "
                  f"{max(everything):9.0f}ms   ({total / wall:.1f} pages/s, {errors} errors)")
            for service, waits in sorted(WAITS.items()):
                print(f"{'  waiting for ' + service:28} {len(waits):5d} {percentile(waits, 50):9.0f}ms "
                      f"{percentile(waits, 95):9.0f}ms {max(waits):9.0f}ms")
            report_served(marks[0], marks[1], total)


if __name__ == "__main__":
    main()
