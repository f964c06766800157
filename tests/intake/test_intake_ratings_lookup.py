from datetime import date, timedelta

import pytest

from contracts.common import CaseKind, Channel
from contracts.intake import (
    RATINGS, ConsultationOutcome, NotAcceptedReason, Outcome, RatingLevel, RectificationClosed,
)
from services.intake.domain.consultations import record_consultation
from services.intake.domain.cases import Status, lookup
from services.runtime.errors import InvalidInput, InvalidState, NotAllowed
from services.intake.domain.ratings import Rectification, RectificationStatus, submit_rating

from .helpers import CLERK, HEAD, MONDAY, OTHER_CLERK, SUPERVISOR, names, receive

LATER = MONDAY + timedelta(days=1)


def decided():
    app = receive(CaseKind.PROMISED)
    app.decide(CLERK, LATER, Outcome.APPROVED, "准予采伐，采伐量20立方米")
    app.pull_events()
    return app


class TestRatings:
    @pytest.mark.parametrize("level, score", [
        (RatingLevel.VERY_SATISFIED, 5), (RatingLevel.SATISFIED, 4), (RatingLevel.BASICALLY_SATISFIED, 3),
    ])
    def test_good_ratings_open_nothing(self, level, score):
        events, rect = submit_rating(decided(), at=LATER, level=level, comment=None, rectification_id="R1",
                                     rectification_days=5)
        assert names(events) == ["RatingSubmitted"] and rect is None
        assert events[0].score == score and events[0].has_comment is False
        assert events[0].accepted_by == CLERK.staff_id and events[0].topic == RATINGS.name

    @pytest.mark.parametrize("level", [RatingLevel.DISSATISFIED, RatingLevel.VERY_DISSATISFIED])
    def test_the_two_lowest_open_a_rectification_due_in_working_days(self, level):
        friday = MONDAY + timedelta(days=4)  # 7 June 2024; 10 June is the Dragon Boat holiday
        app = decided()
        events, rect = submit_rating(app, at=friday, level=level, comment="窗口人员态度生硬，电话13812345678",
                                     rectification_id="R1", rectification_days=3)
        assert names(events) == ["RatingSubmitted", "RectificationOpened"]
        assert events[1].due_on == date(2024, 6, 13) and rect.due_on == date(2024, 6, 13)
        # The comment may hold personal data: it stays off the public topic.
        for e in events:
            assert "13812345678" not in e.model_dump_json() and "态度" not in e.model_dump_json()
        assert events[0].has_comment is True and rect.comment.startswith("窗口人员")

    def test_rate_once_and_only_after_the_decision(self):
        with pytest.raises(InvalidState) as exc:
            receive().rate(LATER, RatingLevel.SATISFIED)
        assert "办结后" in exc.value.reason
        app = decided()
        app.rate(LATER, RatingLevel.SATISFIED)
        with pytest.raises(InvalidState) as exc:
            app.rate(LATER, RatingLevel.SATISFIED)
        assert "只能评价一次" in exc.value.reason

    def test_a_returned_case_may_be_rated(self):
        app = receive(accept_if_complete=False)
        app.not_accept(CLERK, MONDAY, NotAcceptedReason.NOT_CENTER_BUSINESS, "不属于本中心受理事项")
        assert app.rate(LATER, RatingLevel.DISSATISFIED)[0].score == 2

    def test_long_comments_are_refused(self):
        with pytest.raises(InvalidInput) as exc:
            decided().rate(LATER, RatingLevel.SATISFIED, "好" * 501)
        assert exc.value.field == "comment"


class TestRectification:
    def _open(self) -> Rectification:
        _, rect = submit_rating(decided(), at=LATER, level=RatingLevel.DISSATISFIED, comment=None,
                                rectification_id="R1", rectification_days=5)
        return rect

    def test_closed_with_the_units_response(self):
        rect = self._open()
        events = rect.close(HEAD, LATER + timedelta(days=1), "已对窗口人员进行批评教育并组织服务礼仪培训")
        assert isinstance(events[0], RectificationClosed) and events[0].on_time is True
        assert rect.status is RectificationStatus.CLOSED
        with pytest.raises(InvalidState):
            rect.close(HEAD, LATER, "again")

    def test_late_close_is_not_on_time(self):
        rect = self._open()
        assert rect.close(CLERK, LATER + timedelta(days=30), "已整改")[0].on_time is False

    def test_only_the_unit_closes_and_with_words(self):
        rect = self._open()
        for actor in (OTHER_CLERK, SUPERVISOR):
            with pytest.raises(NotAllowed):
                rect.close(actor, LATER, "已整改")
        with pytest.raises(InvalidInput):
            rect.close(CLERK, LATER, "  ")


class TestPublicLookup:
    def test_receipt_number_and_last_four_digits_show_the_case_masked(self):
        app = decided()
        view = lookup(app, "5678")
        assert view is not None
        assert view.applicant == "张**" and view.status is Status.DECIDED and view.status_label == "已办结"
        assert view.result == "准予：准予采伐，采伐量20立方米"
        assert view.due_on == date(2024, 6, 11) and view.promised_days == 5
        assert [s.label for s in view.timeline] == ["已收件", "已受理", "已办结：准予"]
        body = view.model_dump_json()
        assert "张三丰" not in body and "13812345678" not in body and CLERK.staff_id not in body

    @pytest.mark.parametrize("last4", ["5679", "1234", "567", "56789", "", "abcd"])
    def test_a_wrong_pair_answers_as_an_unknown_number(self, last4):
        assert lookup(decided(), last4) is None
        assert lookup(None, last4) is None

    def test_company_shows_in_full(self):
        from .helpers import company
        app = receive(applicant=company())
        assert lookup(app, "1111").applicant == "青山县绿源林业专业合作社"

    def test_returned_case_shows_the_reason(self):
        app = receive(accept_if_complete=False)
        app.not_accept(CLERK, MONDAY, NotAcceptedReason.OUT_OF_SCOPE, "不属于本机关职权范围")
        view = lookup(app, "5678")
        assert view.result == "不予受理：不属于本机关职权范围" and view.due_on is None


class TestConsultations:
    def test_first_inquiry_staff_is_recorded(self):
        c, events = record_consultation(CLERK, MONDAY, consultation_id="Q1", channel=Channel.PHONE,
                                         question="采伐许可需要什么材料？张先生 13812345678",
                                         outcome=ConsultationOutcome.GUIDE_GIVEN, item_code="LYJ-001",
                                         item_unit="LYJ")
        e = events[0]
        assert (e.staff_id, e.unit_code, e.channel, e.item_code) == (CLERK.staff_id, "LYJ", Channel.PHONE, "LYJ-001")
        assert "13812345678" not in e.model_dump_json() and e.key() == "LYJ"
        assert c.question.startswith("采伐")

    def test_referral_needs_another_unit(self):
        with pytest.raises(InvalidInput) as exc:
            record_consultation(CLERK, MONDAY, consultation_id="Q1", channel=Channel.WINDOW, question="x",
                                outcome=ConsultationOutcome.REFERRED)
        assert exc.value.field == "referred_to_unit"
        with pytest.raises(InvalidInput):
            record_consultation(CLERK, MONDAY, consultation_id="Q1", channel=Channel.WINDOW, question="x",
                                outcome=ConsultationOutcome.REFERRED, referred_to_unit="LYJ")
        _, ev = record_consultation(CLERK, MONDAY, consultation_id="Q1", channel=Channel.WINDOW, question="x",
                                    outcome=ConsultationOutcome.REFERRED, referred_to_unit="ZRJ")
        assert ev[0].referred_to_unit == "ZRJ"

    def test_refusals(self):
        with pytest.raises(NotAllowed):
            record_consultation(SUPERVISOR, MONDAY, consultation_id="Q1", channel=Channel.WINDOW, question="x",
                                outcome=ConsultationOutcome.ANSWERED)
        with pytest.raises(InvalidInput):
            record_consultation(CLERK, MONDAY, consultation_id="Q1", channel=Channel.WINDOW, question=" ",
                                outcome=ConsultationOutcome.ANSWERED)
        with pytest.raises(InvalidInput):
            record_consultation(CLERK, MONDAY, consultation_id="Q1", channel=Channel.WINDOW, question="x",
                                outcome=ConsultationOutcome.ANSWERED, item_code="NOPE-001", item_unit=None)
