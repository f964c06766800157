"""The fault tests' workload and their check that nothing was lost or done twice.

The workload is N applications of the demo catalog walked through intake's HTTP API by window
clerks, as many at a time as ``concurrency``: immediate items decided on the spot, promised items
accepted and decided, incomplete applications completed after the one-time notice (补正), joint
items answered by the partner unit, reported-up items forwarded and answered, and applications
not accepted (退回). Every fourth finished case is rated on the public rating API.

The driver survives the faults it is run under: a request that fails (connection refused or
reset, 5xx) is retried; a step whose answer was lost is recognised from the case's state (the
case is read back before the next step); an application whose creation answer was lost is found
by its applicant's name (unique per application) before it is filed again. So each application
exists once and ends in the state its kind calls for, whatever was killed when.

:func:`check_outcome` then reads every service's state through its API (and notify's SMS outbox
file) and asserts, for every application: its final state in intake, its clock in deadline, the
notices notify released and seal sealed (each exactly once), the SMS (each exactly once; an SMS
whose sending was cut by a kill is 'unknown' and never resent), and the facts attendance took in.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx

from contracts.common import Role
from tests.e2e.harness import Suite, guide_items, issue_seals, unit_names

log = logging.getLogger(__name__)

#: Share of each kind in the workload (by position: application i gets MIX[i % len(MIX)]).
MIX = (["immediate"] * 9 + ["promised"] * 4 + ["supplement"] * 3 + ["returned"] * 2 + ["joint", "reported_up"])

NOTICES = {
    "immediate": ("approval",),
    "promised": ("acceptance", "approval"),
    "supplement": ("supplement", "acceptance", "approval"),
    "returned": ("not_accepted",),
    "joint": ("acceptance", "joint", "approval"),
    "reported_up": ("acceptance", "forwarded", "approval"),
}
FINAL = {k: ("not_accepted" if k == "returned" else "decided") for k in NOTICES}


def sms_templates(kind: str) -> tuple[str, ...]:
    return tuple(f"notice_{d}" for d in NOTICES[kind]) + (() if kind == "returned" else ("survey",))


class Retry(Exception):
    """The service did not answer (down, restarting, database away): try again later."""


@dataclass
class App:
    i: int
    kind: str
    item: dict[str, Any]
    mandatory: list[str]
    rate: bool
    receipt_no: str | None = None
    maybe_filed: bool = False
    rated: bool = False
    done: bool = False
    retries: int = 0

    @property
    def name(self) -> str:
        return f"故障测试{self.i:05d}"

    @property
    def mobile(self) -> str:
        return f"139{self.i:08d}"

    @property
    def unit(self) -> str:
        return self.item["unit_code"]


@dataclass
class Workload:
    apps: list[App]
    units: set[str]
    windows: dict[str, str]

    @property
    def expected_notices(self) -> int:
        return sum(len(NOTICES[a.kind]) for a in self.apps)


def clerk_id(unit: str) -> str:
    return f"flt-{unit.lower()}"


def prepare(suite: Suite, n: int, seed: int) -> Workload:
    """Pick items of each kind from the demo catalog, issue the seals of every unit involved,
    put one clerk per unit on the unit's window (attendance), and plan ``n`` applications."""
    rng = random.Random(seed)
    intake = suite.client("intake")
    pools: dict[str, list[dict[str, Any]]] = {}
    for kind, guide_kind in (("immediate", "immediate"), ("promised", "promised"), ("joint", "joint"),
                             ("reported_up", "reported_up")):
        pools[kind] = [intake.get(f"/intake/guide/items/{i['code']}").json() for i in guide_items(suite, guide_kind)]
    pools["supplement"] = [d for d in pools["promised"] if sum(m["mandatory"] for m in d["materials"]) >= 3]
    pools["returned"] = pools["promised"]
    pools["joint"] = [d for d in pools["joint"] if d["joint_units"]]
    pools["reported_up"] = [d for d in pools["reported_up"] if d["higher_authority"]]
    apps = []
    for i in range(n):
        kind = MIX[i % len(MIX)]
        item = rng.choice(pools[kind])
        apps.append(App(i, kind, item, [m["code"] for m in item["materials"] if m["mandatory"]], rate=i % 4 == 0))
    units = {a.unit for a in apps} | {u for a in apps for u in a.item["joint_units"]}
    issue_seals(suite, sorted(units))
    names = unit_names(suite)
    windows = {u["code"]: u["window_numbers"][0] for u in intake.get("/intake/guide/units").json()}
    att = suite.client("attendance")
    for n_, unit in enumerate(sorted(units)):
        r = att.put(f"/attendance/staff/{clerk_id(unit)}", headers=suite.admin(), json={
            "name": f"窗口{unit}", "unit_code": unit, "unit_name": names[unit], "window_no": windows[unit],
            "role": "window_clerk", "pin": f"7{n_ + 1:03d}", "mobile": f"1360000{n_ + 1:04d}"})
        assert r.status_code == 200, r.text
        r = att.put(f"/attendance/posts/{windows[unit]}", headers=suite.admin(), json={
            "unit_code": unit, "unit_name": names[unit], "post_a": clerk_id(unit), "weekend_service": False})
        assert r.status_code == 200, r.text
    rng.shuffle(apps)  # the kinds and units interleave in time
    return Workload(apps, units, {u: windows[u] for u in units})


# ------------------------------------------------------------------------------- the driver


@dataclass
class Driver:
    suite: Suite
    work: Workload
    concurrency: int = 8
    progress: int = 0                         # applications filed (receipt number known)
    finished: int = 0
    milestones: list[tuple[int, asyncio.Event]] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.http = httpx.AsyncClient(base_url=self.suite.url("intake"), timeout=30)
        self.tokens: dict[str, dict[str, str]] = {}

    def at(self, filed: int) -> asyncio.Event:
        """An event set once ``filed`` applications have been filed (for the fault schedule)."""
        ev = asyncio.Event()
        self.milestones.append((filed, ev))
        if self.progress >= filed:
            ev.set()
        return ev

    def _filed(self) -> None:
        self.progress += 1
        for threshold, ev in self.milestones:
            if self.progress >= threshold:
                ev.set()

    def clerk(self, unit: str) -> dict[str, str]:
        if unit not in self.tokens:
            self.tokens[unit] = self.suite.headers(clerk_id(unit), Role.CLERK, unit, f"窗口{unit}")
        return self.tokens[unit]

    async def call(self, method: str, path: str, *, headers: dict[str, str] | None = None,
                   json: Any = None, params: dict[str, Any] | None = None) -> httpx.Response:
        try:
            r = await self.http.request(method, path, headers=headers, json=json, params=params)
        except httpx.TransportError as exc:
            self.errors[type(exc).__name__] += 1
            raise Retry(type(exc).__name__) from None
        if r.status_code >= 500 or r.status_code == 429:
            self.errors[f"HTTP {r.status_code}"] += 1
            raise Retry(f"HTTP {r.status_code}")
        return r

    async def run(self) -> None:
        queue: asyncio.Queue[App] = asyncio.Queue()
        for a in self.work.apps:
            queue.put_nowait(a)

        async def worker() -> None:
            while True:
                try:
                    app = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                await self.drive(app)
                self.finished += 1

        try:
            await asyncio.gather(*(worker() for _ in range(self.concurrency)))
        finally:
            for _, ev in self.milestones:
                ev.set()
            await self.http.aclose()

    async def drive(self, app: App) -> None:
        delay = 0.2
        while not app.done:
            try:
                await self.step(app)
                delay = 0.2
            except Retry:
                app.retries += 1
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def find(self, app: App) -> str | None:
        """The receipt number of ``app`` if an earlier attempt filed it (its answer was lost)."""
        offset = 0
        while True:
            r = await self.call("GET", "/intake/applications", headers=self.clerk(app.unit),
                                params={"unit": app.unit, "limit": 200, "offset": offset})
            assert r.status_code == 200, r.text
            page = r.json()
            for c in page:
                if c["applicant"] == app.name:
                    return c["receipt_no"]
            if len(page) < 200:
                return None
            offset += 200

    async def step(self, app: App) -> None:
        h = self.clerk(app.unit)
        if app.receipt_no is None:
            if app.maybe_filed:
                app.receipt_no = await self.find(app)
                app.maybe_filed = False
                if app.receipt_no is not None:
                    self._filed()
                    return
            complete = app.kind != "supplement"
            materials = app.mandatory if complete else app.mandatory[:-2]
            body = {"item_code": app.item["code"], "materials": [] if app.kind == "returned" else materials,
                    "accept_if_complete": app.kind != "returned",
                    "applicant": {"type": "person", "name": app.name, "mobile": app.mobile,
                                  "resident_id": "11010519491231002X"}}
            app.maybe_filed = True
            r = await self.call("POST", "/intake/applications", headers=h, json=body)
            assert r.status_code == 201, (app.kind, r.status_code, r.text)
            app.receipt_no, app.maybe_filed = r.json()["receipt_no"], False
            self._filed()
            return
        rn = app.receipt_no
        r = await self.call("GET", f"/intake/applications/{rn}", headers=h)
        assert r.status_code == 200, r.text
        case = r.json()
        status = case["status"]
        if status == FINAL[app.kind]:
            if app.rate and not app.rated:
                last4 = app.mobile[-4:]
                r = await self.call("POST", "/intake/public/ratings",
                                    json={"receipt_no": rn, "mobile_last4": last4, "level": "very_satisfied"})
                assert r.status_code in (201, 409), r.text  # 409: an earlier attempt counted
            app.rated = True
            app.done = True
            return
        decide = {"outcome": "approved", "decision_text": "经审查，准予行政许可。"}
        if status == "awaiting_supplement":
            action = ("supplements", {"materials": app.mandatory[-2:]}, h)
        elif status == "received":
            action = ("not-accepted", {"reason_code": "out_of_scope", "reason": "不属于本机关职权范围。"}, h)
        elif status == "joint_review":
            partner = next(t["unit_code"] for t in case["joint_tasks"] if t["answer"] is None)
            action = ("joint-answer", {"answer": "approve", "opinion": "同意。"}, self.clerk(partner))
        elif status == "accepted" and app.kind == "reported_up" and case["higher_approved"] is None:
            action = ("forward", {"note": "请审查。"}, h)
        elif status == "forwarded":
            action = ("higher-answer", {"approved": True, "answer": "同意。"}, h)
        elif status == "accepted":
            action = ("decision", decide, h)
        else:
            raise AssertionError(f"{rn} ({app.kind}) is {status}: the driver does not know what to do")
        r = await self.call("POST", f"/intake/applications/{rn}/{action[0]}", headers=action[2], json=action[1])
        # 409: the step was taken by an attempt whose answer was lost; the next read shows it.
        assert r.status_code in (200, 409), (rn, action[0], r.status_code, r.text)


# ------------------------------------------------------------------------------- the check


def _pages(suite: Suite, service: str, path: str, headers: dict[str, str], *, key: str | None = "items",
           limit: int = 200) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    offset = 0
    while True:
        r = suite.client(service).get(path, params={"limit": limit, "offset": offset}, headers=headers)
        assert r.status_code == 200, (service, path, r.status_code, r.text)
        page = r.json()[key] if key else r.json()
        out += page
        if len(page) < limit:
            return out
        offset += limit


def _clocks(suite: Suite) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    after = None
    while True:
        params: dict[str, Any] = {"limit": 1000}
        if after:
            params["after"] = after
        r = suite.client("deadline").get("/deadline/clocks", params=params, headers=suite.supervisor())
        assert r.status_code == 200, r.text
        page = r.json()
        out.update({c["receipt_no"]: c for c in page})
        if len(page) < 1000:
            return out
        after = page[-1]["receipt_no"]


def _seal_log(suite: Suite) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    after = 0
    while True:
        r = suite.client("seal").get("/seal/log", params={"after": after, "limit": 500}, headers=suite.supervisor())
        assert r.status_code == 200, r.text
        page = r.json()
        out += page
        if not page:
            return out
        after = page[-1]["seq"]


def idempotency_keys(suite: Suite, notify_db: str | None = None) -> dict[str, str]:
    """message id -> idempotency key, read from notify's own database (read-only; the key is not
    part of its API): its SQLite file, or ``notify_db`` (a PostgreSQL URL)."""
    from services.notify.store import MessageRow

    query = f"SELECT id, idempotency_key FROM {MessageRow.__tablename__}"
    if notify_db:
        import psycopg
        from sqlalchemy.engine import make_url

        dsn = make_url(notify_db).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(dsn) as conn:
            return dict(conn.execute(query).fetchall())
    with sqlite3.connect(f"file:{suite.data_dir / 'notify.db'}?mode=ro", uri=True) as db:
        return dict(db.execute(query).fetchall())


@dataclass
class Outcome:
    unknown_sms: list[str]


def check_outcome(suite: Suite, work: Workload, *, notify_db: str | None = None) -> Outcome:
    """Assert that every application ended as its kind calls for, in every service, with each
    notice and each SMS exactly once (see the module's docstring). Raises AssertionError."""
    sup = suite.supervisor()
    apps = {a.receipt_no: a for a in work.apps}
    assert all(a.done and a.receipt_no for a in work.apps), [a.i for a in work.apps if not a.done]
    assert len(apps) == len(work.apps), "two applications share a receipt number"

    # intake: each application exactly once, in its final state.
    cases = _pages(suite, "intake", "/intake/applications", sup, key=None)
    by_name = Counter(c["applicant"] for c in cases)
    twice = [n for n, k in by_name.items() if k > 1]
    assert not twice, f"applications filed twice: {twice[:10]}"
    assert len(cases) == len(work.apps), (len(cases), len(work.apps))
    wrong = [(c["receipt_no"], c["status"]) for c in cases if c["status"] != FINAL[apps[c["receipt_no"]].kind]]
    assert not wrong, f"cases not in their final state: {wrong[:10]}"

    # deadline: a clock for every accepted case, ended on time; none for the not accepted.
    clocks = _clocks(suite)
    accepted = {rn for rn, a in apps.items() if a.kind != "returned"}
    assert set(clocks) == accepted, (f"missing clocks: {sorted(accepted - set(clocks))[:10]}, "
                                     f"unexpected: {sorted(set(clocks) - accepted)[:10]}")
    not_ended = [(rn, c["state"]) for rn, c in clocks.items() if c["state"] != "ended" or not c["on_time"]]
    assert not not_ended, f"clocks not ended on time: {not_ended[:10]}"

    # notify: exactly the notices each kind calls for, each once, all released.
    notices = _pages(suite, "notify", "/notify/notices", sup)
    per_case: dict[str, list[str]] = defaultdict(list)
    for n in notices:
        per_case[n["receipt_no"]].append(n["document_type"])
    bad = {rn: sorted(per_case.get(rn, [])) for rn, a in apps.items() if sorted(per_case.get(rn, [])) != sorted(NOTICES[a.kind])}
    assert not bad, f"notices wrong for {len(bad)} cases, e.g. {list(bad.items())[:5]}"
    unreleased = [(n["receipt_no"], n["document_type"], n["state"], n["failure_detail"]) for n in notices
                  if n["state"] != "released"]
    assert not unreleased, f"notices not released: {unreleased[:10]}"

    # seal: each notice sealed exactly once, the usage log's chain intact.
    log_entries = _seal_log(suite)
    sealed = Counter((e["detail"].get("receipt_no"), e["detail"].get("document_type"))
                     for e in log_entries if e["action"] == "sealed")
    twice_sealed = [k for k, v in sealed.items() if v > 1]
    assert not twice_sealed, f"documents sealed twice: {twice_sealed[:10]}"
    assert set(sealed) == {(n["receipt_no"], n["document_type"]) for n in notices}, "seal's register differs from the notices"
    chain = suite.client("seal").get("/seal/log/verify", headers=sup).json()
    assert chain["ok"] is True, chain

    # notify's SMS: per case exactly the templates its kind calls for, each once; each handed to
    # the provider (the outbox file) at most once, and exactly once unless the outcome is unknown.
    messages = [m for m in _pages(suite, "notify", "/notify/messages", sup) if m["receipt_no"] in apps]
    per_case_sms: dict[str, list[str]] = defaultdict(list)
    for m in messages:
        per_case_sms[m["receipt_no"]].append(m["template"])
    bad = {rn: sorted(per_case_sms.get(rn, [])) for rn, a in apps.items()
           if sorted(per_case_sms.get(rn, [])) != sorted(sms_templates(a.kind))}
    assert not bad, f"SMS wrong for {len(bad)} cases, e.g. {list(bad.items())[:5]}"
    states = Counter(m["state"] for m in messages)
    assert set(states) <= {"delivered", "unknown"}, states
    lines = suite.sms_lines()
    sent = Counter(line["message_id"] for line in lines)
    resent = [k for k, v in sent.items() if v > 1]
    assert not resent, f"SMS handed to the provider twice: {resent[:10]}"
    by_id = {m["id"]: m for m in messages}
    for m in messages:
        if m["state"] == "delivered":
            assert sent[m["id"]] == 1, f"delivered SMS {m['id']} ({m['receipt_no']}, {m['template']}) not in the outbox"
    pairs = Counter((by_id[line["message_id"]]["receipt_no"], line["template"]) for line in lines
                    if line["message_id"] in by_id)
    twice_pair = [k for k, v in pairs.items() if v > 1]
    assert not twice_pair, f"two SMS for the same (receipt_no, template): {twice_pair[:10]}"
    keys = idempotency_keys(suite, notify_db)
    key_count = Counter(keys[line["message_id"]] for line in lines if line["message_id"] in keys)
    assert not [k for k, v in key_count.items() if v > 1], "two SMS with one idempotency key"
    assert all(line["message_id"] in keys for line in lines), "an SMS in the outbox that notify does not know"

    # attendance: every ended clock and every rating reached the windows' evaluation.
    from datetime import datetime

    from tests.e2e.harness import SHANGHAI

    period = datetime.now(SHANGHAI).strftime("%Y-%m")
    r = suite.client("attendance").get(f"/attendance/evaluation/{period}", headers=sup)
    assert r.status_code == 200, r.text
    windows = {w["window_no"]: w["parts"] for w in r.json()["windows"]}
    cases_by_window: Counter[str] = Counter()
    ratings_by_window: Counter[str] = Counter()
    for a in work.apps:
        if a.kind != "returned":
            cases_by_window[work.windows[a.unit]] += 1
        if a.rate:
            ratings_by_window[work.windows[a.unit]] += 1
    got_cases = {w: windows.get(w, {}).get("cases", 0) for w in cases_by_window}
    got_ratings = {w: windows.get(w, {}).get("ratings", 0) for w in ratings_by_window}
    assert got_cases == dict(cases_by_window), ("ended cases per window", got_cases, dict(cases_by_window))
    assert got_ratings == dict(ratings_by_window), ("ratings per window", got_ratings, dict(ratings_by_window))
    return Outcome(unknown_sms=[m["id"] for m in messages if m["state"] == "unknown"])


def dead_letter_counts(bootstrap: str) -> dict[str, int]:
    """Records in each catalog topic's dead-letter twin (their end offsets)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from contracts.topics import all_topics
    from tools import kafka_local

    async def counts() -> dict[str, int]:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
        await consumer.start()
        try:
            meta = await consumer._client.fetch_all_metadata()  # noqa: SLF001 - one metadata request
            tps = [TopicPartition(t.dlq, p) for t in all_topics() for p in meta.partitions_for_topic(t.dlq) or ()]
            ends = await consumer.end_offsets(tps)
            out: dict[str, int] = defaultdict(int)
            for tp, end in ends.items():
                out[tp.topic.removesuffix(".dlq")] += end
            return dict(out)
        finally:
            await consumer.stop()

    return kafka_local.run_sync(counts)
