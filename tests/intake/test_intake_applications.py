"""Every transition and every refusal of a case through the six kinds."""

from datetime import timedelta

import pytest

from contracts.common import ApplicantType, CaseKind
from contracts.intake import (
    APPLICATIONS, CASE_TEXTS, CONTACTS, ApplicantContactRecorded, JointAnswer, NotAcceptedReason, Outcome, SupplementStage,
)
from services.intake.domain.cases import Application, RequestedMaterial, Status, normalize_receipt_no, receipt_number
from services.runtime.errors import InvalidInput, InvalidState, NotAllowed

from .helpers import (
    CLERK, HEAD, MONDAY, OTHER_CLERK, RFB_CLERK, SATURDAY, SUPERVISOR, UNIT_NAMES, ZRJ_CLERK, company, names,
    person, receive, version,
)

LATER = MONDAY + timedelta(days=2)


class TestReceiptNumbers:
    def test_format(self):
        assert receipt_number(2024, "LYJ", 42) == "2024-LYJ-00042"
        assert receipt_number(2024, "LYJ", 123456) == "2024-LYJ-123456"

    def test_normalize_what_the_public_types(self):
        assert normalize_receipt_no(" 2024-lyj-00042 ") == "2024-LYJ-00042"
        assert normalize_receipt_no("2024LYJ42") is None
        assert normalize_receipt_no("") is None


class TestArrival:
    def test_complete_materials_are_accepted_at_once(self):
        app = receive(CaseKind.PROMISED)
        events = app.pull_events()
        assert names(events) == ["ApplicationReceived", "ApplicantContactRecorded", "ApplicationAccepted"]
        assert app.status is Status.ACCEPTED
        acc = events[2]
        assert (acc.promised_days, acc.statutory_days, acc.case_kind, acc.item_version) == (5, 20, CaseKind.PROMISED, 1)
        assert acc.unit_name == UNIT_NAMES["LYJ"] and acc.item_name == "林木采伐许可证核发"
        assert acc.applicant.masked_name == "张**" and acc.applicant_type is ApplicantType.PERSON
        assert acc.after_supplement is False and acc.weekend is False
        assert app.due_on.isoformat() == "2024-06-11"  # 5 working days after Monday 3 June (10 June is a holiday)

    def test_every_case_event_is_keyed_by_the_receipt_number(self):
        app = receive(CaseKind.PROMISED)
        for e in app.pull_events():
            assert e.key() == "2024-LYJ-00001"
            assert e.topic in (APPLICATIONS.name, CONTACTS.name)

    def test_full_contact_goes_only_to_the_internal_topic(self):
        events = receive(CaseKind.PROMISED).pull_events()
        contact = next(e for e in events if isinstance(e, ApplicantContactRecorded))
        assert contact.topic == CONTACTS.name and contact.mobile == "13812345678" and contact.name == "张三丰"
        public = [e for e in events if e.topic == APPLICATIONS.name]
        for e in public:
            body = e.model_dump_json()
            assert "13812345678" not in body and "张三丰" not in body and "11010519491231002X" not in body

    def test_company_applicant_is_public_in_full_but_the_contact_person_masked(self):
        app = receive(CaseKind.PROMISED, applicant=company())
        received = app.pull_events()[0]
        assert received.applicant.company_name == "青山县绿源林业专业合作社"
        assert received.applicant.credit_code == "91110000600037341L"
        assert received.applicant.masked_name == "李*" and received.applicant.masked_mobile == "139****1111"

    def test_weekend_applications_are_marked(self):
        app = receive(CaseKind.IMMEDIATE, at=SATURDAY)
        events = app.pull_events()
        assert app.weekend and events[0].weekend and events[2].weekend
        assert not receive(CaseKind.IMMEDIATE).weekend

    def test_unknown_material_codes_are_refused(self):
        with pytest.raises(InvalidInput) as exc:
            receive(materials=("M01", "M99"))
        assert exc.value.field == "materials" and "M99" in exc.value.reason

    def test_only_conditional_materials_may_be_declared_applicable(self):
        with pytest.raises(InvalidInput) as exc:
            receive(conditional=("M01",))
        assert exc.value.field == "conditional"

    def test_a_clerk_receives_only_for_their_own_unit(self):
        with pytest.raises(NotAllowed):
            receive(actor=OTHER_CLERK)
        with pytest.raises(NotAllowed):
            receive(actor=SUPERVISOR)
        receive(actor=HEAD)  # the unit head may

    def test_bad_receipt_number_is_refused(self):
        with pytest.raises(InvalidInput):
            Application.receive(receipt_no="x", item=version(), unit_name="林业局", applicant=person(),
                                materials=["M01"], at=MONDAY, actor=CLERK)


class TestImmediate:
    def test_decided_at_the_window_the_same_day(self):
        app = receive(CaseKind.IMMEDIATE)
        app.pull_events()
        events = app.decide(CLERK, MONDAY + timedelta(minutes=20), Outcome.APPROVED, "准予，当场发证")
        assert names(events) == ["ApplicationDecided", "DecisionTextRecorded"]
        assert events[0].topic == APPLICATIONS.name and events[1].topic == CASE_TEXTS.name
        assert not hasattr(events[0], "decision_text") and events[1].decision_text == "准予，当场发证"
        assert events[0].on_the_spot is True and events[0].case_kind is CaseKind.IMMEDIATE
        assert app.status is Status.DECIDED and app.due_on == MONDAY.date()

    def test_decided_on_a_later_day_is_not_on_the_spot(self):
        app = receive(CaseKind.IMMEDIATE)
        assert app.decide(CLERK, LATER, Outcome.APPROVED, "准予")[0].on_the_spot is False


class TestPromised:
    def test_decided_later_with_text(self):
        app = receive(CaseKind.PROMISED)
        events = app.decide(HEAD, LATER, Outcome.DENIED, "采伐地块位于生态公益林，不予许可")
        assert events[0].outcome is Outcome.DENIED and events[1].decision_text.startswith("采伐地块")
        assert events[0].staff_id == HEAD.staff_id and events[0].on_the_spot is False

    def test_decision_needs_text(self):
        with pytest.raises(InvalidInput) as exc:
            receive().decide(CLERK, LATER, Outcome.APPROVED, "  ")
        assert exc.value.field == "decision_text"

    def test_a_decided_case_cannot_be_decided_again(self):
        app = receive()
        app.decide(CLERK, LATER, Outcome.APPROVED, "准予")
        with pytest.raises(InvalidState) as exc:
            app.decide(CLERK, LATER, Outcome.DENIED, "不予")
        assert "已办结" in exc.value.reason

    def test_only_the_units_staff_decide(self):
        app = receive()
        for actor in (OTHER_CLERK, SUPERVISOR):
            with pytest.raises(NotAllowed):
                app.decide(actor, LATER, Outcome.APPROVED, "准予")


class TestReviewFirst:
    def test_received_then_accepted_after_the_clerks_review(self):
        app = receive(accept_if_complete=False)
        assert app.status is Status.RECEIVED
        assert names(app.pull_events()) == ["ApplicationReceived", "ApplicantContactRecorded"]
        assert names(app.accept(CLERK, MONDAY)) == ["ApplicationAccepted"]

    def test_accepting_incomplete_materials_is_refused(self):
        app = receive(materials=("M01",), accept_if_complete=False)
        with pytest.raises(InvalidState) as exc:
            app.accept(CLERK, MONDAY)
        assert "申请人身份证明" in exc.value.reason and "林木权属证明" in exc.value.reason

    def test_accept_twice_is_refused(self):
        with pytest.raises(InvalidState):
            receive().accept(CLERK, MONDAY)


class TestReturned:
    @pytest.mark.parametrize("materials", [("M01", "M02", "M03"), ("M01",)])
    def test_not_accepted_before_acceptance(self, materials):
        app = receive(materials=materials, accept_if_complete=len(materials) == 1)
        app.pull_events()
        events = app.not_accept(CLERK, MONDAY, NotAcceptedReason.OUT_OF_SCOPE, "该林地属国有林场，不属于本机关受理范围")
        assert names(events) == ["ApplicationNotAccepted", "NotAcceptedTextRecorded"]
        assert not hasattr(events[0], "reason") and events[1].reason.startswith("该林地属国有林场")
        assert events[0].reason_code is NotAcceptedReason.OUT_OF_SCOPE
        assert app.status is Status.NOT_ACCEPTED and app.six_kind is CaseKind.RETURNED
        assert app.outstanding == []

    def test_reason_is_required(self):
        app = receive(accept_if_complete=False)
        with pytest.raises(InvalidInput) as exc:
            app.not_accept(CLERK, MONDAY, NotAcceptedReason.OTHER, "")
        assert exc.value.field == "reason"

    def test_an_accepted_case_is_denied_not_returned(self):
        with pytest.raises(InvalidState) as exc:
            receive().not_accept(CLERK, MONDAY, NotAcceptedReason.OTHER, "x")
        assert "不予许可决定" in exc.value.reason


class TestReportedUp:
    def test_forwarded_and_resumed_with_the_higher_answer(self):
        app = receive(CaseKind.REPORTED_UP)
        app.pull_events()
        with pytest.raises(InvalidState):
            app.decide(CLERK, LATER, Outcome.APPROVED, "准予")  # not forwarded yet
        fwd = app.forward(CLERK, MONDAY, note="请审批")
        assert names(fwd) == ["ApplicationForwarded", "ForwardingTextRecorded"] and fwd[0].authority == "省林业和草原局"
        assert not hasattr(fwd[0], "note") and fwd[1].note == "请审批"
        assert app.status is Status.FORWARDED
        with pytest.raises(InvalidState):
            app.decide(CLERK, LATER, Outcome.APPROVED, "准予")
        with pytest.raises(InvalidState):
            app.forward(CLERK, MONDAY)
        ans = app.record_higher_answer(CLERK, LATER, True, "同意使用林地", document_no="林资许准〔2024〕12号")
        assert names(ans) == ["HigherAuthorityAnswered", "HigherAnswerTextRecorded"] and ans[0].approved
        assert not hasattr(ans[0], "answer") and ans[1].document_no == "林资许准〔2024〕12号"
        assert app.status and app.status is Status.ACCEPTED
        with pytest.raises(InvalidState):
            app.forward(CLERK, LATER)  # answered already
        assert app.decide(CLERK, LATER, Outcome.APPROVED, "准予")[0].case_kind is CaseKind.REPORTED_UP

    def test_a_higher_refusal_forbids_approval(self):
        app = receive(CaseKind.REPORTED_UP)
        app.forward(CLERK, MONDAY)
        app.record_higher_answer(CLERK, LATER, False, "不符合林地保护利用规划")
        with pytest.raises(InvalidState) as exc:
            app.decide(CLERK, LATER, Outcome.APPROVED, "准予")
        assert exc.value.field == "outcome"
        assert app.decide(CLERK, LATER, Outcome.DENIED, "上级机关不同意")[0].outcome is Outcome.DENIED

    def test_answer_needs_text_and_a_forwarded_case(self):
        app = receive(CaseKind.REPORTED_UP)
        with pytest.raises(InvalidState):
            app.record_higher_answer(CLERK, LATER, True, "同意")
        app.forward(CLERK, MONDAY)
        with pytest.raises(InvalidInput):
            app.record_higher_answer(CLERK, LATER, True, "")

    def test_only_reported_up_cases_are_forwarded(self):
        with pytest.raises(InvalidState):
            receive(CaseKind.PROMISED).forward(CLERK, MONDAY)


class TestJoint:
    def test_acceptance_opens_a_task_per_participating_unit(self):
        app = receive(CaseKind.JOINT)
        events = app.pull_events()
        assert names(events)[-2:] == ["JointTaskOpened", "JointTaskOpened"]
        assert [e.participant_unit_code for e in events[-2:]] == ["ZRJ", "RFB"]
        assert events[-1].participant_unit_name == "青山县人民防空办公室"
        assert app.status is Status.JOINT_REVIEW

    def test_decided_when_all_have_answered(self):
        app = receive(CaseKind.JOINT)
        with pytest.raises(InvalidState):
            app.decide(CLERK, LATER, Outcome.APPROVED, "准予")
        first = app.answer_joint_task(ZRJ_CLERK, LATER, JointAnswer.APPROVE, "符合规划")
        assert first[0].all_answered is False and app.status is Status.JOINT_REVIEW
        with pytest.raises(InvalidState):
            app.answer_joint_task(ZRJ_CLERK, LATER, JointAnswer.APPROVE, "again")
        last = app.answer_joint_task(RFB_CLERK, LATER, JointAnswer.APPROVE, "同意")
        assert last[0].all_answered is True and app.status is Status.ACCEPTED
        assert app.decide(CLERK, LATER, Outcome.APPROVED, "准予")[0].outcome is Outcome.APPROVED

    def test_one_refusal_refuses(self):
        app = receive(CaseKind.JOINT)
        app.answer_joint_task(ZRJ_CLERK, LATER, JointAnswer.REFUSE, "占用永久基本农田")
        app.answer_joint_task(RFB_CLERK, LATER, JointAnswer.APPROVE, "同意")
        with pytest.raises(InvalidState) as exc:
            app.decide(CLERK, LATER, Outcome.APPROVED, "准予")
        assert "青山县自然资源局" in exc.value.reason
        assert app.decide(CLERK, LATER, Outcome.DENIED, "联办单位不同意")[0].outcome is Outcome.DENIED

    def test_only_participating_units_answer(self):
        app = receive(CaseKind.JOINT)
        for actor in (OTHER_CLERK, CLERK):
            with pytest.raises(NotAllowed):
                app.answer_joint_task(actor, LATER, JointAnswer.APPROVE, "同意")

    def test_opinion_is_required(self):
        with pytest.raises(InvalidInput):
            receive(CaseKind.JOINT).answer_joint_task(ZRJ_CLERK, LATER, JointAnswer.APPROVE, "")


class TestSupplementAtTheWindow:
    def test_every_missing_material_is_listed_at_once(self):
        app = receive(materials=("M01",), conditional=("M04",))
        events = app.pull_events()
        assert names(events) == ["ApplicationReceived", "ApplicantContactRecorded", "SupplementRequested",
                                 "SupplementTextRecorded"]
        req = events[-2]
        assert [m.name for m in req.missing] == ["申请人身份证明", "林木权属证明", "授权委托书"]
        assert [m.code for m in req.missing] == ["M02", "M03", "M04"]
        assert req.stage is SupplementStage.AT_WINDOW and req.stops_clock is False and req.request_no == 1
        assert app.status is Status.AWAITING_SUPPLEMENT

    def test_accepted_when_everything_is_brought(self):
        app = receive(materials=("M01",))
        app.pull_events()
        part = app.provide_supplement(CLERK, LATER, ["M02"])
        assert names(part) == ["SupplementProvided"] and part[0].complete is False
        assert app.status is Status.AWAITING_SUPPLEMENT
        done = app.provide_supplement(CLERK, LATER, ["M03"])
        assert names(done) == ["SupplementProvided", "ApplicationAccepted"]
        assert done[0].complete and done[1].after_supplement and done[1].accepted_at == LATER
        assert app.six_kind is CaseKind.SUPPLEMENT

    def test_bringing_something_not_asked_for_is_refused(self):
        app = receive(materials=("M01", "M02"))
        with pytest.raises(InvalidInput):
            app.provide_supplement(CLERK, LATER, ["M01"])
        with pytest.raises(InvalidInput):
            app.provide_supplement(CLERK, LATER, [])

    def test_providing_without_a_request_is_refused(self):
        with pytest.raises(InvalidState):
            receive().provide_supplement(CLERK, LATER, ["M01"])

    def test_the_clerk_may_add_a_defect_to_the_first_notice(self):
        app = receive(materials=("M01", "M02", "M03"), accept_if_complete=False)
        events = app.request_supplement(CLERK, MONDAY, [RequestedMaterial(code="M03", reason="权属证明已过期")])
        assert events[1].missing[0].reason == "权属证明已过期"
        assert not hasattr(events[0].missing[0], "reason") and events[0].missing[0].code == "M03"


class TestOneTimeNotice:
    def _reviewing(self):
        app = receive(materials=("M01", "M02"))  # first notice lists M03
        app.provide_supplement(CLERK, MONDAY, ["M03"])
        app.pull_events()
        return app

    def test_review_may_ask_again_for_what_the_first_notice_listed(self):
        app = self._reviewing()
        events = app.request_supplement(CLERK, LATER, [RequestedMaterial(code="M03", reason="复印件不清晰")])
        e = events[0]
        assert e.stage is SupplementStage.IN_REVIEW and e.stops_clock is True and e.request_no == 2
        assert app.status is Status.SUPPLEMENT_IN_REVIEW
        with pytest.raises(InvalidState):
            app.decide(CLERK, LATER, Outcome.APPROVED, "准予")  # stopped
        back = app.provide_supplement(CLERK, LATER, ["M03"])
        assert back[0].complete and back[0].stage is SupplementStage.IN_REVIEW and app.status is Status.ACCEPTED

    def test_a_second_request_for_something_new_is_refused(self):
        app = self._reviewing()
        with pytest.raises(InvalidState) as exc:
            app.request_supplement(CLERK, LATER, [RequestedMaterial(name="伐区现场照片")])
        assert "一次性告知" in exc.value.reason and "伐区现场照片" in exc.value.reason
        with pytest.raises(InvalidState):
            app.request_supplement(CLERK, LATER, [RequestedMaterial(code="M01")])
        assert app.status is Status.ACCEPTED and len(app.requests) == 1

    def test_a_supervisor_override_allows_it_once_and_is_recorded(self):
        app = self._reviewing()
        with pytest.raises(NotAllowed):
            app.record_override(CLERK, LATER, [RequestedMaterial(name="伐区现场照片")], "需核实", "OV1")
        rec = app.record_override(SUPERVISOR, LATER, [RequestedMaterial(name="伐区现场照片")], "现场核查发现地块界线不清",
                                  "OV1")
        assert names(rec) == ["SupplementOverrideRecorded", "OverrideTextRecorded"]
        assert rec[0].materials[0].ad_hoc and rec[0].materials[0].name is None and not hasattr(rec[0], "reason")
        assert rec[1].reason == "现场核查发现地块界线不清" and rec[1].materials[0].name == "伐区现场照片"
        assert rec[0].supervisor_id == SUPERVISOR.staff_id and rec[0].materials[0].code == "X01"
        events = app.request_supplement(CLERK, LATER, [RequestedMaterial(name="伐区现场照片", reason="界线不清")])
        assert events[0].override_id == "OV1" and events[0].missing[0].code == "X01"
        app.provide_supplement(CLERK, LATER, ["X01"])
        # The override is spent: a further new material needs a new one.
        with pytest.raises(InvalidState):
            app.request_supplement(CLERK, LATER, [RequestedMaterial(name="村委会证明")])

    def test_an_override_before_any_notice_or_for_listed_materials_is_refused(self):
        app = receive()
        with pytest.raises(InvalidState):
            app.record_override(SUPERVISOR, LATER, [RequestedMaterial(code="M03")], "x", "OV1")
        app = self._reviewing()
        with pytest.raises(InvalidInput):
            app.record_override(SUPERVISOR, LATER, [RequestedMaterial(code="M03")], "x", "OV1")
        with pytest.raises(InvalidInput):
            app.record_override(SUPERVISOR, LATER, [RequestedMaterial(name="照片")], " ", "OV1")

    def test_supplement_in_joint_review_returns_to_joint_review(self):
        app = receive(CaseKind.JOINT, materials=("M01", "M02"))
        app.provide_supplement(CLERK, MONDAY, ["M03"])
        assert app.status is Status.JOINT_REVIEW
        app.request_supplement(CLERK, LATER, [RequestedMaterial(code="M03")])
        with pytest.raises(InvalidState):
            app.answer_joint_task(ZRJ_CLERK, LATER, JointAnswer.APPROVE, "同意")
        app.provide_supplement(CLERK, LATER, ["M03"])
        assert app.status is Status.JOINT_REVIEW

    def test_no_supplement_after_the_decision(self):
        app = receive()
        app.decide(CLERK, LATER, Outcome.APPROVED, "准予")
        with pytest.raises(InvalidState):
            app.request_supplement(CLERK, LATER, [RequestedMaterial(code="M03")])


def test_case_round_trips_through_json():
    app = receive(CaseKind.JOINT, materials=("M01",))
    again = Application.model_validate_json(app.model_dump_json())
    assert again.model_dump() == app.model_dump() and again.pull_events() == []
