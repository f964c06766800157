"""Each of the six kinds of cases (六件管理) from the window to the sealed notice and the SMS,
with its deadline and a rating, through the five services as separate processes on Kafka.

A clerk of the item's unit works the case through intake's HTTP API (items taken from the demo
catalog's guide). Then, from the outside:

- notify released exactly the notices the kind calls for, each once, each sealed: the PDF behind
  the short link is verified by seal's public /verify API (intact, the unit's No. 2 seal, chained
  to the county root, registered) and, when poppler and NSS are installed, by ``pdfsig``;
- the applicant got exactly one SMS per notice (carrying its short link) and one survey SMS per
  decided case, in notify's message API and in the file provider's outbox;
- the deadline service's clock has the due date the law gives (the N-th working day after the
  day of acceptance) and intake's public status shows that date; the clock ended on time;
- the applicant's rating (public rating API) reached the attendance service's evaluation of the
  unit's window, next to the case the clock ended (ClockEnded).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import holidays
import httpx
import pytest

from contracts.common import Role

from .harness import SHANGHAI, Suite, eventually, guide_items, issue_seals, mandatory_materials, unit_names

pytestmark = pytest.mark.e2e

TIMEOUT = 90  # seconds for the events of one case to cross the five services (usually ~2 s)


@dataclass(frozen=True)
class Kind:
    name: str                 # 即办件 ...
    six_kind: str             # what intake counts the case under at the end
    notices: tuple[str, ...]  # document types notify must release, each once
    sms: tuple[str, ...]      # SMS templates the applicant must get, each once
    clock: bool               # accepted, so the deadline service keeps a clock
    rating: str


KINDS = {
    "immediate": Kind("即办件", "immediate", ("approval",), ("notice_approval", "survey"), True, "very_satisfied"),
    "promised": Kind("承诺件", "promised", ("acceptance", "approval"),
                     ("notice_acceptance", "notice_approval", "survey"), True, "satisfied"),
    "joint": Kind("联办件", "joint", ("acceptance", "joint", "approval"),
                  ("notice_acceptance", "notice_joint", "notice_approval", "survey"), True, "very_satisfied"),
    "reported_up": Kind("上报件", "reported_up", ("acceptance", "forwarded", "approval"),
                        ("notice_acceptance", "notice_forwarded", "notice_approval", "survey"), True, "satisfied"),
    "supplement": Kind("补办件", "supplement", ("supplement", "acceptance", "approval"),
                       ("notice_supplement", "notice_acceptance", "notice_approval", "survey"), True,
                       "basically_satisfied"),
    "returned": Kind("退回件", "returned", ("not_accepted",), ("notice_not_accepted",), False, "dissatisfied"),
}
SCORES = {"very_satisfied": 5, "satisfied": 4, "basically_satisfied": 3, "dissatisfied": 2, "very_dissatisfied": 1}


@dataclass(frozen=True)
class Plan:
    """For each kind, the item and its unit (no two kinds share a unit, so each window's
    evaluation counts one case), the partner unit of the joint item, the applicants."""

    items: dict[str, dict[str, Any]]
    names: dict[str, str]
    window: dict[str, str]        # unit -> window number
    mobile: dict[str, str]        # kind -> applicant's mobile


def clerk_id(unit: str) -> str:
    return f"e2e-{unit.lower()}-a"


@pytest.fixture(scope="module")
def plan(suite: Suite) -> Plan:
    names = unit_names(suite)
    windows = {u["code"]: u["window_numbers"][0] for u in suite.client("intake").get("/intake/guide/units").json()}
    used: set[str] = set()
    items: dict[str, dict[str, Any]] = {}

    def pick(kind: str, pred=lambda i: True) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        for item in guide_items(suite, kind):
            detail = suite.client("intake").get(f"/intake/guide/items/{item['code']}").json()
            units = {detail["unit_code"], *detail["joint_units"]}
            if units & used or not pred(detail):
                continue
            used.update(units)
            return detail
        raise AssertionError(f"the demo catalog has no {kind} item left for this test")

    items["joint"] = pick("joint", lambda d: bool(d["joint_units"]))
    items["reported_up"] = pick("reported_up", lambda d: bool(d["higher_authority"]))
    items["immediate"] = pick("immediate")
    items["promised"] = pick("promised")
    items["supplement"] = pick("promised", lambda d: sum(m["mandatory"] for m in d["materials"]) >= 3)
    items["returned"] = pick("promised")
    issue_seals(suite, sorted(used))
    # Attendance: each lead unit's window with its clerk on the A post, so the evaluation shows
    # the window's ended cases and ratings.
    a = suite.client("attendance")
    for n, (kind, item) in enumerate(sorted(items.items())):
        unit = item["unit_code"]
        r = a.put(f"/attendance/staff/{clerk_id(unit)}", headers=suite.admin(), json={
            "name": f"窗口{n + 1}号", "unit_code": unit, "unit_name": names[unit], "window_no": windows[unit],
            "role": "window_clerk", "pin": f"9{n + 1:03d}", "mobile": f"1370000{n + 1:04d}"})
        assert r.status_code == 200, r.text
        r = a.put(f"/attendance/posts/{windows[unit]}", headers=suite.admin(), json={
            "unit_code": unit, "unit_name": names[unit], "post_a": clerk_id(unit), "weekend_service": False})
        assert r.status_code == 200, r.text
    mobiles = {kind: f"1390000{n + 1:04d}" for n, kind in enumerate(sorted(KINDS))}
    return Plan(items, names, windows, mobiles)


class Window:
    """A clerk at the unit's window (intake's HTTP API with a clerk token of that unit)."""

    def __init__(self, suite: Suite, unit: str) -> None:
        self.suite, self.unit = suite, unit
        self.h = suite.headers(clerk_id(unit), Role.CLERK, unit, "窗口工作人员")
        self.c = suite.client("intake")

    def post(self, path: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
        r = self.c.post(f"/intake{path}", json=body, headers=self.h)
        assert r.status_code == status, (path, r.status_code, r.text)
        return r.json()

    def receive(self, item: str, mobile: str, materials: list[str], accept: bool = True) -> dict[str, Any]:
        return self.post("/applications", {
            "item_code": item, "materials": materials, "accept_if_complete": accept,
            "applicant": {"type": "person", "name": "王小明", "mobile": mobile, "resident_id": "11010519491231002X"},
        }, 201)


def work_the_case(suite: Suite, plan: Plan, kind: str) -> str:
    """Walk one case of ``kind`` through intake as the window would; returns its receipt number."""
    item = plan.items[kind]
    w = Window(suite, item["unit_code"])
    need = mandatory_materials(suite, item["code"])
    mobile = plan.mobile[kind]
    decide = {"outcome": "approved", "decision_text": "经审查，申请材料齐全、符合法定形式，准予行政许可。"}
    if kind == "immediate":
        case = w.receive(item["code"], mobile, need)
        assert case["status"] == "accepted", case
        rn = case["receipt_no"]
        assert w.post(f"/applications/{rn}/decision", decide)["status"] == "decided"
    elif kind == "promised":
        case = w.receive(item["code"], mobile, need, accept=False)
        rn = case["receipt_no"]
        assert case["status"] == "received"
        assert w.post(f"/applications/{rn}/accept", {})["status"] == "accepted"
        assert w.post(f"/applications/{rn}/decision", decide)["status"] == "decided"
    elif kind == "joint":
        case = w.receive(item["code"], mobile, need)
        rn = case["receipt_no"]
        assert case["status"] == "joint_review", case
        for partner in item["joint_units"]:
            pw = Window(suite, partner)
            answered = pw.post(f"/applications/{rn}/joint-answer", {"answer": "approve", "opinion": "经会审，同意。"})
        assert answered["status"] == "accepted", answered
        assert w.post(f"/applications/{rn}/decision", decide)["status"] == "decided"
    elif kind == "reported_up":
        case = w.receive(item["code"], mobile, need)
        rn = case["receipt_no"]
        assert w.post(f"/applications/{rn}/forward", {"note": "请审查。"})["status"] == "forwarded"
        answered = w.post(f"/applications/{rn}/higher-answer",
                          {"approved": True, "answer": "同意。", "document_no": "市审批〔2026〕18号"})
        assert answered["status"] == "accepted"
        assert w.post(f"/applications/{rn}/decision", decide)["status"] == "decided"
    elif kind == "supplement":
        missing = need[-2:]
        case = w.receive(item["code"], mobile, need[:-2])
        rn = case["receipt_no"]
        assert case["status"] == "awaiting_supplement"
        # One-time notice (一次性告知): every missing material is listed at once.
        assert sorted(m["code"] for m in case["outstanding"]) == sorted(missing)
        assert w.post(f"/applications/{rn}/supplements", {"materials": missing})["status"] == "accepted"
        assert w.post(f"/applications/{rn}/decision", decide)["status"] == "decided"
    elif kind == "returned":
        case = w.receive(item["code"], mobile, [], accept=False)
        rn = case["receipt_no"]
        done = w.post(f"/applications/{rn}/not-accepted",
                      {"reason_code": "out_of_scope", "reason": "申请事项不属于本机关职权范围，请向有关行政机关申请。"})
        assert done["status"] == "not_accepted"
    else:  # pragma: no cover
        raise ValueError(kind)
    return rn


def due_date(accepted_on: date, days: int) -> date:
    """The N-th working day after the day of acceptance (the day itself is not counted; N = 0 is
    the same day), on the national calendar: an independent count of what deadline computes."""
    cal = holidays.country_holidays("CN", years=range(accepted_on.year, accepted_on.year + 2))
    d, left = accepted_on, days
    while left:
        d += timedelta(days=1)
        if cal.is_working_day(d):
            left -= 1
    return d


@pytest.fixture(scope="module")
def nss_dir(suite: Suite, tmp_path_factory: pytest.TempPathFactory) -> str | None:
    """An NSS database trusting the county's seal root, for pdfsig (None without the tools)."""
    if not (shutil.which("pdfsig") and shutil.which("certutil")):
        return None
    d = tmp_path_factory.mktemp("nss")
    root = suite.client("seal").get("/seal/root.pem")
    assert root.status_code == 200
    (d / "root.pem").write_bytes(root.content)
    subprocess.run(["certutil", "-N", "-d", f"sql:{d}", "--empty-password"], check=True, capture_output=True)
    subprocess.run(["certutil", "-A", "-d", f"sql:{d}", "-n", "county-seal-root", "-t", "C,C,C", "-i",
                    str(d / "root.pem")], check=True, capture_output=True)
    return f"sql:{d}"


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_case_from_the_window_to_the_sealed_notice_the_sms_the_deadline_and_the_rating(
    suite: Suite, plan: Plan, kind: str, nss_dir: str | None, tmp_path: Path
) -> None:
    spec = KINDS[kind]
    item = plan.items[kind]
    unit = item["unit_code"]
    clerk = suite.headers(clerk_id(unit), Role.CLERK, unit)
    rn = work_the_case(suite, plan, kind)

    case = suite.client("intake").get(f"/intake/applications/{rn}", headers=clerk).json()
    assert case["six_kind"] == spec.six_kind, (kind, case["six_kind"])

    # --- the notices: each released once, sealed with the unit's No. 2 seal ---------------------
    notify = suite.client("notify")

    def released() -> list[dict[str, Any]]:
        r = notify.get("/notify/notices", params={"receipt_no": rn}, headers=clerk)
        assert r.status_code == 200, r.text  # 404 until notify has heard of the case
        items = r.json()["items"]
        assert sorted(n["document_type"] for n in items) == sorted(spec.notices), items
        assert all(n["state"] == "released" for n in items), [(n["document_type"], n["state"]) for n in items]
        return items

    notices = eventually(released, timeout=TIMEOUT, what=f"{kind}: notices {spec.notices} released")
    seal = suite.client("seal")
    for n in notices:
        assert n["document_no"] and n["short_url"]
        link = notify.get(httpx.URL(n["short_url"]).path)
        assert link.status_code == 307, link.text
        pdf = httpx.get(link.headers["location"], timeout=30)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF"), pdf.status_code
        v = seal.post("/seal/verify", content=pdf.content, headers={"content-type": "application/pdf"}).json()
        assert v["ok"] is True, v
        sig = v["signatures"][0]
        assert sig["unit_name"] == plan.names[unit] and sig["seal_name"] == "行政审批专用章", sig
        assert sig["intact"] and sig["covers_whole_file"] and sig["chains_to_county_root"], sig
        assert v["registered_document"]["document_type"] == n["document_type"], v["registered_document"]
        assert v["registered_document"]["unit_code"] == unit
        if nss_dir:
            path = tmp_path / f"{n['document_type']}.pdf"
            path.write_bytes(pdf.content)
            out = subprocess.run(["pdfsig", "-nssdir", nss_dir, str(path)], capture_output=True, text=True,
                                 timeout=60)
            text = out.stdout + out.stderr
            assert "Signature Validation: Signature is Valid." in text, text
            assert "Certificate Validation: Certificate is Trusted." in text, text

    # --- the SMS: one per notice (with its link) and the survey, each exactly once ---------------
    def delivered() -> list[dict[str, Any]]:
        r = notify.get("/notify/messages", params={"receipt_no": rn}, headers=clerk)
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        assert sorted(m["template"] for m in items) == sorted(spec.sms), [m["template"] for m in items]
        assert all(m["state"] == "delivered" for m in items), [(m["template"], m["state"]) for m in items]
        return items

    messages = eventually(delivered, timeout=TIMEOUT, what=f"{kind}: SMS {spec.sms} delivered")
    by_template = {m["template"]: m for m in messages}
    for n in notices:
        sms = by_template[f"notice_{n['document_type']}"]
        assert n["short_url"] in sms["text"] and rn in sms["text"], sms["text"]
        assert sms["mobile"] == plan.mobile[kind][:3] + "****" + plan.mobile[kind][-4:]
    outbox = [line for line in suite.sms_lines() if line["message_id"] in {m["id"] for m in messages}]
    assert sorted(line["message_id"] for line in outbox) == sorted(m["id"] for m in messages), outbox
    assert all(line["mobile"] == plan.mobile[kind] for line in outbox)

    # --- the deadline: the clock's due date, shown on the public status page --------------------
    public = suite.client("intake")
    last4 = plan.mobile[kind][-4:]
    if spec.clock:
        clock = eventually(
            lambda: (c := suite.client("deadline").get(f"/deadline/clocks/{rn}", headers=clerk)).status_code == 200
            and c.json()["state"] == "ended" and c.json(), timeout=TIMEOUT, what=f"{kind}: clock ended")
        accepted_on = datetime.fromisoformat(case["accepted_at"]).astimezone(SHANGHAI).date()
        expected_due = due_date(accepted_on, item["promised_days"])
        assert clock["due_date"] == expected_due.isoformat(), (clock, expected_due)
        assert clock["promised_days"] == item["promised_days"]
        assert clock["on_time"] is True and clock["outcome"] == "approved" and clock["overdue"] is False, clock
        status = public.post("/intake/public/status", json={"receipt_no": rn, "mobile_last4": last4}).json()
        assert status["due_on"] == clock["due_date"], status
        if kind == "reported_up":
            # Waiting for the higher authority stops the clock (a stop closed the same day moves
            # the due date by no working day).
            assert [s["reason"] for s in clock["stops"]] == ["higher_authority"], clock["stops"]
    else:
        # Not accepted: no clock ever started.
        assert suite.client("deadline").get(f"/deadline/clocks/{rn}", headers=clerk).status_code == 404

    # --- the rating: public API -> RatingSubmitted -> attendance's evaluation of the window ----
    rated = public.post("/intake/public/ratings", json={
        "receipt_no": rn, "mobile_last4": last4, "level": spec.rating, "comment": "窗口服务热情。"})
    assert rated.status_code == 201, rated.text
    assert rated.json()["rectification_opened"] is (SCORES[spec.rating] <= 2)
    again = public.post("/intake/public/ratings", json={"receipt_no": rn, "mobile_last4": last4, "level": "satisfied"})
    assert again.status_code == 409, again.text  # once per case
    status = public.post("/intake/public/status", json={"receipt_no": rn, "mobile_last4": last4}).json()
    assert status["rated"] is True

    period = suite.now().astimezone(SHANGHAI).strftime("%Y-%m")
    window = plan.window[unit]

    def evaluated() -> dict[str, Any]:
        r = suite.client("attendance").get(f"/attendance/evaluation/{period}", headers=suite.supervisor())
        assert r.status_code == 200, r.text
        w = next(x for x in r.json()["windows"] if x["window_no"] == window)
        assert w["parts"]["ratings"] == 1, w
        assert w["parts"]["cases"] == (1 if spec.clock else 0), w
        assert w["parts"]["satisfaction_index"] == round((SCORES[spec.rating] - 1) / 4 * 100, 2), w
        if spec.clock:
            assert w["parts"]["cases_on_time"] == 1 and w["parts"]["on_time_rate"] == 1.0, w
        return w

    eventually(evaluated, timeout=TIMEOUT, what=f"{kind}: the rating and the ended case in attendance's evaluation")
