"""领办代办 (a staff member takes charge of a case), consultations followed to closure, and the
county calendar in intake (issue #22, items 1, 4 and 6): the pure rules, then the service on the
in-memory broker (HTTP API, problem+json naming the field, events, reports)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from contracts.common import CaseKind, Channel, Role
from contracts.deadline import CalendarAction, CalendarChanged
from contracts.intake import ConsultationOutcome, JointAnswer, Outcome
from services.intake.domain.consultations import answer_consultation, first_inquiry_counts, record_consultation
from services.intake.domain.leads import LeadReason, count_leads, current_lead, holding_units, release_lead, take_lead
from services.runtime.errors import InvalidInput, InvalidState, NotAllowed

from .helpers import ADMIN, CLERK, HEAD, MONDAY, OTHER_CLERK, SUPERVISOR, ZRJ_CLERK, names, receive
from .service_helpers import clerk, client, file, intake_service, outbox, seed_catalog, types

pytestmark = pytest.mark.timeout(120)


# ------------------------------------------------------------------------------- 领办代办: rules


def test_a_clerk_takes_charge_of_a_case_and_releases_it() -> None:
    app = receive()
    app.pull_events()
    events = take_lead(app, CLERK, MONDAY, lead_id="LB-1", reason=LeadReason.ELDERLY, staff_name="王五",
                       staff_unit_name="青山县林业局")
    assert names(events) == ["CaseLeadTaken"]
    assert events[0].staff_id == "C0001" and "elderly" not in events[0].model_dump_json()  # the reason stays inside
    lead = current_lead(app)
    assert lead is not None and lead.reason is LeadReason.ELDERLY and lead.taken_at == MONDAY
    assert app.timeline[-1].label == "已安排专人领办（青山县林业局）"  # public: the unit, not the person
    view = app.public_view()
    assert view.led_by_unit == "青山县林业局" and "王五" not in view.model_dump_json()
    later = MONDAY + timedelta(hours=3)
    released = release_lead(app, CLERK, later, note="已办结")
    assert names(released) == ["CaseLeadReleased"] and released[0].released_by == "C0001"
    assert current_lead(app) is None and app.leads[0].released_at == later
    assert app.public_view().led_by_unit is None


def test_one_lead_at_a_time_and_who_may_take_or_release() -> None:
    app = receive()
    take_lead(app, CLERK, MONDAY, lead_id="LB-1", reason=LeadReason.DISABLED)
    with pytest.raises(InvalidState) as e:
        take_lead(app, HEAD, MONDAY, lead_id="LB-2", reason=LeadReason.ELDERLY)
    assert e.value.field == "receipt_no"
    with pytest.raises(NotAllowed):  # another unit's clerk: the case is not theirs
        release_lead(app, OTHER_CLERK, MONDAY)
    with pytest.raises(NotAllowed):  # not the person in charge, not the center
        release_lead(app, HEAD, MONDAY)
    release_lead(app, SUPERVISOR, MONDAY)  # the center may end it
    with pytest.raises(InvalidState):
        release_lead(app, CLERK, MONDAY)
    with pytest.raises(NotAllowed):  # a unit that has nothing to do with the case
        take_lead(app, OTHER_CLERK, MONDAY, lead_id="LB-3", reason=LeadReason.ELDERLY)
    with pytest.raises(NotAllowed):  # supervisors inspect, they do not lead cases
        take_lead(app, SUPERVISOR, MONDAY, lead_id="LB-3", reason=LeadReason.ELDERLY)
    take_lead(app, ADMIN, MONDAY, lead_id="LB-3", reason=LeadReason.KEY_PROJECT)
    with pytest.raises(InvalidInput) as bad:
        release_lead(app, ADMIN, MONDAY, note="x" * 501)
    assert bad.value.field == "note" and current_lead(app) is not None  # nothing half-written


def test_other_needs_a_note_and_a_finished_case_needs_no_lead() -> None:
    app = receive()
    with pytest.raises(InvalidInput) as e:
        take_lead(app, CLERK, MONDAY, lead_id="LB-1", reason=LeadReason.OTHER, note="  ")
    assert e.value.field == "note" and app.leads == []
    done = receive(CaseKind.IMMEDIATE)
    done.decide(CLERK, MONDAY, Outcome.APPROVED, "准予")
    with pytest.raises(InvalidState):
        take_lead(done, CLERK, MONDAY, lead_id="LB-1", reason=LeadReason.ELDERLY)


def test_a_joint_case_shows_the_units_that_hold_it_now_and_a_joint_unit_may_lead_it() -> None:
    app = receive(CaseKind.JOINT)
    assert app.status.value == "joint_review"
    assert holding_units(app) == ["青山县自然资源局", "青山县人民防空办公室"]
    app.answer_joint_task(ZRJ_CLERK, MONDAY, JointAnswer.APPROVE, "同意")
    assert holding_units(app) == ["青山县人民防空办公室"]
    assert app.public_view().holding_units == ["青山县人民防空办公室"]
    take_lead(app, ZRJ_CLERK, MONDAY, lead_id="LB-1", reason=LeadReason.KEY_PROJECT,
              staff_unit_name="青山县自然资源局")
    assert app.public_view().led_by_unit == "青山县自然资源局"


def test_leads_are_counted_per_staff_member() -> None:
    a, b = receive(seq=1), receive(seq=2)
    take_lead(a, CLERK, MONDAY, lead_id="LB-1", reason=LeadReason.ELDERLY)
    take_lead(b, CLERK, MONDAY, lead_id="LB-2", reason=LeadReason.DISABLED)
    release_lead(b, CLERK, MONDAY)
    counts = count_leads([*a.leads, *b.leads])
    assert len(counts) == 1
    c = counts[0]
    assert (c.staff_id, c.taken, c.active, c.released) == ("C0001", 2, 1, 1)
    assert c.by_reason == {"elderly": 1, "disabled": 1}


# ------------------------------------------------------------------------ consultations: rules


def _referred():  # type: ignore[no-untyped-def]
    c, _ = record_consultation(CLERK, MONDAY, consultation_id="ZX-1", channel=Channel.PHONE, question="能否代办？",
                               outcome=ConsultationOutcome.REFERRED, referred_to_unit="ZRJ")
    return c


def test_a_referred_consultation_is_answered_by_the_unit_it_went_to_once() -> None:
    c = _referred()
    later = MONDAY + timedelta(hours=26)
    with pytest.raises(NotAllowed):
        answer_consultation(c, OTHER_CLERK, later, answer="可以", already_answered=False)
    with pytest.raises(InvalidInput) as e:
        answer_consultation(c, ZRJ_CLERK, later, answer="  ", already_answered=False)
    assert e.value.field == "answer"
    text, events = answer_consultation(c, ZRJ_CLERK, later, answer=" 可以，带身份证 ", already_answered=False)
    assert text == "可以，带身份证" and names(events) == ["ConsultationAnswered"]
    assert (events[0].answered_by, events[0].staff_id, events[0].answered_at) == ("C0003", "C0001", later)
    with pytest.raises(InvalidState):
        answer_consultation(c, ZRJ_CLERK, later, answer="可以", already_answered=True)
    # the first-inquiry person may record the answer they relayed
    answer_consultation(c, CLERK, later, answer="已转告", already_answered=False)


def test_a_consultation_answered_at_once_is_not_followed_up() -> None:
    c, _ = record_consultation(CLERK, MONDAY, consultation_id="ZX-2", channel=Channel.WINDOW, question="材料？",
                               outcome=ConsultationOutcome.ANSWERED, answer="见指南")
    with pytest.raises(InvalidState) as e:
        answer_consultation(c, CLERK, MONDAY, answer="x", already_answered=False)
    assert e.value.field == "consultation_id"


def test_first_inquiry_counts_per_staff_member() -> None:
    c1 = _referred()
    c2, _ = record_consultation(CLERK, MONDAY, consultation_id="ZX-2", channel=Channel.WINDOW, question="a",
                                outcome=ConsultationOutcome.ANSWERED)
    c3, _ = record_consultation(CLERK, MONDAY, consultation_id="ZX-3", channel=Channel.WINDOW, question="b",
                                outcome=ConsultationOutcome.FOLLOW_UP)
    c4, _ = record_consultation(HEAD, MONDAY, consultation_id="ZX-4", channel=Channel.WINDOW, question="c",
                                outcome=ConsultationOutcome.GUIDE_GIVEN)
    counts = {n.staff_id: n for n in first_inquiry_counts(
        [(c1, MONDAY + timedelta(hours=5)), (c2, None), (c3, None), (c4, None)])}
    n = counts["C0001"]
    assert (n.received, n.answered_at_once, n.referred, n.followed_up, n.closed_later, n.still_open) == (3, 1, 1, 1, 1, 1)
    assert n.average_hours_to_answer == 5.0
    assert counts["H0001"].received == 1 and counts["H0001"].average_hours_to_answer is None


# ------------------------------------------------------------------------------ the service


async def test_lead_handling_through_the_api(tmp_path: Path) -> None:
    async with intake_service(tmp_path) as svc:
        await seed_catalog(svc)
        async with clerk(svc) as c:
            no = (await file(c)).json()["receipt_no"]
            r = await c.post(f"/intake/applications/{no}/lead", json={"reason": "nobody"})
            assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"
            r = await c.post(f"/intake/applications/{no}/lead", json={"reason": "other"})
            assert r.status_code == 422 and r.json()["errors"][0]["field"] == "note", r.text
            r = await c.post(f"/intake/applications/{no}/lead", json={"reason": "elderly", "note": "八十岁独居"})
            assert r.status_code == 201, r.text
            lead = r.json()
            assert lead["current"]["staff_id"] == "C0001" and lead["current"]["reason_label"] == "老年人"
            assert lead["holding_units"] == ["青山县林业局"]
            r = await c.post(f"/intake/applications/{no}/lead", json={"reason": "elderly"})
            assert r.status_code == 409 and "已由您领办" in r.json()["detail"]
            case = (await c.get(f"/intake/applications/{no}")).json()
            assert case["leads"][0]["note"] == "八十岁独居"  # the staff view of the case shows it
        async with client(svc, role=None) as pub:
            status = (await pub.post("/intake/public/status", json={"receipt_no": no, "mobile_last4": "5678"})).json()
            assert status["led_by_unit"] == "青山县林业局"
            assert "八十岁" not in str(status) and "C0001" not in str(status)
        async with clerk(svc, unit="SCJ", sub="C0002") as other:
            r = await other.post(f"/intake/applications/{no}/lead/release", json={})
            assert r.status_code == 403
            assert (await other.get(f"/intake/applications/{no}/leads")).status_code == 403
        async with clerk(svc) as c:
            r = await c.post(f"/intake/applications/{no}/lead/release", json={"note": "已办结"})
            assert r.status_code == 200 and r.json()["current"] is None
            assert r.json()["history"][0]["released_by"] == "C0001"
            report = (await c.get("/intake/reports/leads", params={"period": "2024-06"})).json()
            assert report == [{"staff_id": "C0001", "staff_name": None, "staff_unit": "LYJ", "taken": 1, "active": 0,
                               "released": 1, "by_reason": {"elderly": 1}}]
            r = await c.get("/intake/reports/leads", params={"unit": "SCJ"})
            assert r.status_code == 403
            r = await c.get("/intake/reports/leads", params={"period": "2024-6"})
            assert r.status_code == 422 and r.json()["errors"][0]["field"] == "period"
        assert types(await outbox(svc, "intake.applications"))[-2:] == ["CaseLeadTaken", "CaseLeadReleased"]


async def test_a_referred_consultation_followed_to_closure_through_the_api(tmp_path: Path) -> None:
    async with intake_service(tmp_path) as svc:
        await seed_catalog(svc)
        async with clerk(svc) as c:
            r = await c.post("/intake/consultations", json={"channel": "phone", "question": "人防审批怎么办？",
                                                            "outcome": "referred", "referred_to_unit": "RFB"})
            cid = r.json()["consultation_id"]
            await c.post("/intake/consultations", json={"channel": "window", "question": "材料？",
                                                        "outcome": "answered", "answer": "见指南"})
            assert [x["consultation_id"] for x in (await c.get("/intake/consultations/open")).json()] == [cid]
        async with clerk(svc, unit="RFB", sub="C0004") as rfb:
            assert [x["consultation_id"] for x in (await rfb.get("/intake/consultations/open")).json()] == [cid]
            r = await rfb.post(f"/intake/consultations/{cid}/answer", json={"answer": ""})
            assert r.status_code == 422 and r.json()["errors"][0]["field"] == "answer"
            r = await rfb.post("/intake/consultations/ZX-NOPE/answer", json={"answer": "x"})
            assert r.status_code == 404 and r.json()["errors"][0]["field"] == "consultation_id"
            svc.clock.value = MONDAY + timedelta(hours=4)
            r = await rfb.post(f"/intake/consultations/{cid}/answer", json={"answer": "已电话答复申请人"})
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["open"] is False and body["answered_by"] == "C0004" and body["answered_by_unit"] == "RFB"
            r = await rfb.post(f"/intake/consultations/{cid}/answer", json={"answer": "再次"})
            assert r.status_code == 409
            assert (await rfb.get("/intake/consultations/open")).json() == []
        async with clerk(svc, unit="SCJ", sub="C0002") as scj:
            r = await scj.get("/intake/reports/first-inquiry", params={"period": "2024-06"})
            assert r.status_code == 200 and r.json() == []  # their unit's people only
        async with client(svc, Role.SUPERVISOR, sub="S0001") as sup:
            report = (await sup.get("/intake/reports/first-inquiry", params={"period": "2024-06"})).json()
            assert report == [{"staff_id": "C0001", "unit_code": "LYJ", "received": 2, "answered_at_once": 1,
                               "referred": 1, "followed_up": 0, "closed_later": 1, "still_open": 0,
                               "average_hours_to_answer": 4.0}]
        assert types(await outbox(svc, "intake.consultations")) == [
            "ConsultationRecorded", "ConsultationRecorded", "ConsultationAnswered"]


async def test_a_county_day_off_moves_the_rectification_due_date(tmp_path: Path) -> None:
    """intake counts with the county's calendar as followed from deadline's events (the broker
    part is tests/e2e/test_calendar_everywhere.py): a county day off within the five working
    days pushes the task's due date by one."""
    async with intake_service(tmp_path) as svc:
        await seed_catalog(svc)
        follower = svc.state.calendar_follower
        closed = date(2024, 6, 5)  # the Wednesday after MONDAY (3 June 2024)
        follower.state.apply(CalendarChanged(
            year=2024, calendar_version=1, action=CalendarAction.ADD_HOLIDAY, day=closed, changed_by="中心",
            changed_at=MONDAY, reason="县政府通知", clocks_moved=0))
        async with clerk(svc) as c:
            no = (await file(c, "immediate")).json()["receipt_no"]
            r = await c.post(f"/intake/applications/{no}/decision", json={"outcome": "approved", "decision_text": "准予"})
            assert r.status_code == 200, r.text
        async with client(svc, role=None) as pub:
            r = await pub.post("/intake/public/ratings", json={"receipt_no": no, "mobile_last4": "5678",
                                                               "level": "dissatisfied"})
            assert r.status_code == 201 and r.json()["rectification_opened"], r.text
        async with clerk(svc) as c:
            tasks = (await c.get("/intake/rectifications")).json()
        # 5 working days from Monday 3 June 2024 (Monday the 10th is the Dragon Boat Festival):
        # the 11th on the national calendar; the 12th with Wednesday the 5th closed.
        assert tasks[0]["due_on"] == "2024-06-12"
