"""Statistics, the monthly bulletin, supervision notices and random inspections."""

from __future__ import annotations

from datetime import date

import pytest

from contracts.common import CaseKind
from contracts.deadline import BulletinPublished, InspectionResult, NoticeSource
from services.deadline.domain.calendar import WorkCalendar
from services.deadline.domain import DeadlineError
from services.deadline.domain.oversight import (
    CENTER_TOTAL,
    CaseSpan,
    ClosedCase,
    Period,
    build_bulletin,
    draw_sample,
    overdue_in_period,
    raise_notice,
    record_inspection,
    render_bulletin,
    reply_notice,
    sample_inspection,
    sample_size,
    unit_statistics,
)

from .helpers import local


def closed(no: str, unit: str, decided: date, on_time: bool, used: int, kind=CaseKind.PROMISED) -> ClosedCase:
    return ClosedCase(no, unit, "ITEM.1", kind, decided, on_time, used)


def test_period_parsing() -> None:
    p = Period.parse("2025-08")
    assert (p.first, p.last, p.label) == (date(2025, 8, 1), date(2025, 8, 31), "2025年8月")
    assert Period.parse("2024-02").last == date(2024, 2, 29)
    assert str(Period.parse("2025-01").previous()) == "2024-12"
    for bad in ("2025-13", "2025-8", "25-08", "august"):
        with pytest.raises(DeadlineError) as err:
            Period.parse(bad)
        assert err.value.field == "period"


def test_unit_statistics() -> None:
    cases = [
        closed("A1", "MARKET", date(2025, 8, 4), True, 0, CaseKind.IMMEDIATE),
        closed("A2", "MARKET", date(2025, 8, 5), True, 0, CaseKind.IMMEDIATE),
        closed("A3", "MARKET", date(2025, 8, 20), True, 8),
        closed("A4", "MARKET", date(2025, 8, 29), False, 12),
        closed("B1", "BUILD", date(2025, 8, 15), True, 6),
        closed("B2", "BUILD", date(2025, 9, 1), False, 30),  # September: not counted
    ]
    stats = unit_statistics(cases, date(2025, 8, 1), date(2025, 8, 31))
    market = stats["MARKET"]
    assert (market.cases, market.on_time, market.immediate) == (4, 3, 2)
    assert market.on_time_rate == 0.75
    assert market.average_working_days_used == 5.0
    assert market.immediate_share == 0.5
    assert stats["BUILD"].cases == 1
    total = stats[CENTER_TOTAL]
    assert (total.cases, total.on_time) == (5, 4)
    assert total.average_working_days_used == pytest.approx(26 / 5)
    empty = unit_statistics([], date(2025, 8, 1), date(2025, 8, 31))[CENTER_TOTAL]
    assert empty.cases == 0 and empty.on_time_rate is None


@pytest.mark.parametrize(
    ("due", "decided", "expected"),
    [
        (date(2025, 8, 10), None, True),               # open, overdue all month
        (date(2025, 7, 10), None, True),               # overdue since July, still open
        (date(2025, 8, 31), None, False),              # due on the last day: not yet overdue
        (date(2025, 8, 10), date(2025, 8, 12), True),  # decided late in August
        (date(2025, 8, 10), date(2025, 8, 10), False),  # decided on the due date
        (date(2025, 7, 10), date(2025, 7, 20), False),  # late, but decided in July
        (date(2025, 7, 10), date(2025, 8, 1), True),   # late, decided on 1 August
        (date(2025, 9, 3), None, False),               # due in September
    ],
)
def test_overdue_in_period(due: date, decided: date | None, expected: bool) -> None:
    case = CaseSpan("R1", "U", "I", due, decided)
    assert overdue_in_period(case, date(2025, 8, 1), date(2025, 8, 31)) is expected


def _bulletin(cal: WorkCalendar):
    spans = [
        CaseSpan("SP202507010001", "MARKET", "MKT.001", date(2025, 8, 20), None),
        CaseSpan("SP202507010002", "BUILD", "BLD.002", date(2025, 8, 26), date(2025, 8, 28)),
        CaseSpan("SP202507010003", "BUILD", "BLD.003", date(2025, 8, 26), date(2025, 8, 26)),
    ]
    decided = [
        closed("SP202507010002", "BUILD", date(2025, 8, 28), False, 12),
        closed("SP202507010003", "BUILD", date(2025, 8, 26), True, 9),
        closed("SP202507010004", "MARKET", date(2025, 8, 5), True, 0, CaseKind.IMMEDIATE),
    ]
    notices = [
        {"notice_no": "DB-2025-0007", "unit_code": "MARKET", "receipt_no": "SP202507010001",
         "reason": "案件超过承诺时限未办结", "reply_due": date(2025, 9, 3), "replied": False},
    ]
    violations = [
        {"unit_code": "BUILD", "receipt_no": "SP202507010003", "inspector": "赵监察", "notes": "未一次性告知"},
    ]
    return build_bulletin(
        cal, bulletin_no="TB-2025-08", period=Period.parse("2025-08"), cases=spans, closed=decided,
        notices=notices, violations=violations,
    )


def test_bulletin_content(cal: WorkCalendar) -> None:
    b = _bulletin(cal)
    assert [o.receipt_no for o in b.overdue] == ["SP202507010002", "SP202507010001"]
    open_case = next(o for o in b.overdue if o.receipt_no == "SP202507010001")
    # Due Wed 20 Aug, still open on 31 Aug: 21, 22, 25-29 Aug = 7 working days overdue.
    assert open_case.overdue_working_days == 7 and open_case.decided_on is None
    late = next(o for o in b.overdue if o.receipt_no == "SP202507010002")
    assert late.overdue_working_days == 2 and late.decided_on == date(2025, 8, 28)
    units = {u.unit_code: u for u in b.units}
    assert units["BUILD"].overdue_cases == 1 and units["BUILD"].violations == 1
    assert units["BUILD"].on_time_rate == 0.5
    assert units["MARKET"].notices == 1 and units["MARKET"].immediate_share == 1.0
    assert b.total.cases == 3

    event = b.as_event(center_unit_code="CENTER", published_by="督查科", published_at=local(2025, 9, 1))
    assert isinstance(event, BulletinPublished)
    assert event.period == "2025-08" and len(event.overdue_cases) == 2
    data = b.as_json()
    assert data["period"] == "2025-08"
    assert data["notices"][0]["reply_due"] == "2025-09-03"


def test_bulletin_renders_in_chinese(cal: WorkCalendar) -> None:
    text = render_bulletin(
        _bulletin(cal),
        center_name="某县行政审批服务中心",
        unit_names={"MARKET": "县市场监督管理局", "BUILD": "县住房和城乡建设局"},
        published_on=date(2025, 9, 1),
    )
    assert "# 某县行政审批服务中心" in text
    assert "2025年8月审批服务办理情况通报" in text
    assert "共办结审批服务事项 3 件" in text and "按时办结率 66.7%" in text
    assert "| 1 | 县住房和城乡建设局 | SP202507010002 | BLD.002 | 2025年8月26日 | 2025年8月28日 | 2 | 逾期办结 |" in text
    assert "| 2 | 县市场监督管理局 | SP202507010001 | MKT.001 | 2025年8月20日 | — | 7 | 逾期未办结 |" in text
    assert "DB-2025-0007（县市场监督管理局，受理编号 SP202507010001）" in text
    assert "未一次性告知" in text
    assert text.rstrip().endswith("2025年9月1日")


def test_empty_bulletin_renders(cal: WorkCalendar) -> None:
    b = build_bulletin(cal, bulletin_no="TB-2025-09", period=Period.parse("2025-09"), cases=[], closed=[])
    text = render_bulletin(b, center_name="中心")
    assert "本月无逾期案件" in text and "无办结的审批服务事项" in text


def test_supervision_notice_lifecycle(cal: WorkCalendar) -> None:
    # Raised Friday 26 Sep 2025 with 3 working days to reply: Sun 28 (make-up), Mon 29, Tue 30.
    notice, issued = raise_notice(
        cal, notice_no="DB-2025-0001", unit_code="MARKET", receipt_no="SP2025092600001",
        raised_by="李督查", raised_at=local(2025, 9, 26, 15), reason="超期未办结", reply_days=3,
        origin=NoticeSource.OVERDUE,
    )
    assert issued.reply_due == notice.reply_due == date(2025, 9, 30)
    assert notice.status(date(2025, 9, 30)) == "open"
    assert notice.status(date(2025, 10, 1)) == "reply_overdue"
    replied = reply_notice(notice, replied_by="张科长", reply="已办结并整改", at=local(2025, 9, 29, 10))
    assert replied.on_time and notice.closed and notice.status(date(2025, 10, 9)) == "replied"
    with pytest.raises(DeadlineError) as err:
        reply_notice(notice, replied_by="张科长", reply="again", at=local(2025, 9, 29, 11))
    assert err.value.field == "notice_no"


def test_late_reply_is_recorded_as_late(cal: WorkCalendar) -> None:
    notice, _ = raise_notice(
        cal, notice_no="DB-2025-0002", unit_code="MARKET", receipt_no=None, raised_by="李督查",
        raised_at=local(2025, 11, 3), reason="窗口无人值守", reply_days=2,
    )
    assert reply_notice(notice, replied_by="x", reply="y", at=local(2025, 11, 6)).on_time is False


def test_sample_size() -> None:
    assert sample_size(0, 0.1) == 0
    assert sample_size(3, 0.1) == 1
    assert sample_size(100, 0.05) == 5
    assert sample_size(101, 0.05) == 6
    assert sample_size(10, 1.0) == 10
    with pytest.raises(DeadlineError):
        sample_size(10, 0)


def test_sample_is_reproducible_from_its_seed() -> None:
    population = [f"SP2025080{i:05d}" for i in range(200)]
    period = Period.parse("2025-08")
    a = draw_sample(population, share=0.05, seed="c0ffee", period=period, unit_code="MARKET")
    b = draw_sample(list(reversed(population)), share=0.05, seed="c0ffee", period=period, unit_code="MARKET")
    assert a == b and len(a) == 10 and set(a) <= set(population)
    # Pinned: Python's random with a str seed is stable across runs and platforms.
    assert a == draw_sample(population, share=0.05, seed="c0ffee", period=period, unit_code="MARKET")
    others = {tuple(draw_sample(population, share=0.05, seed=s, period=period, unit_code="MARKET")) for s in ("1", "2", "3")}
    assert len(others) == 3
    assert draw_sample(population, share=0.05, seed="c0ffee", period=period, unit_code="BUILD") != a


def test_inspection_sample_and_results() -> None:
    sample, event = sample_inspection(
        sample_id="CC-2025-08-MARKET", unit_code="MARKET", period=Period.parse("2025-08"),
        closed_receipts=["SP1000001", "SP1000002", "SP1000003"], share=0.5, seed=None,
        sampled_by="赵监察", sampled_at=local(2025, 9, 2),
    )
    assert event.population == 3 and len(event.receipt_nos) == 2 and event.seed
    again = draw_sample(["SP1000001", "SP1000002", "SP1000003"], share=0.5, seed=event.seed, period=Period.parse("2025-08"), unit_code="MARKET")
    assert again == event.receipt_nos
    chosen = event.receipt_nos[0]
    recorded = record_inspection(
        sample, receipt_no=chosen, inspector="赵监察", result=InspectionResult.VIOLATION, notes="超时限收件",
        at=local(2025, 9, 3),
    )
    assert recorded.violation is True
    ok = record_inspection(sample, receipt_no=chosen, inspector="赵监察", result=InspectionResult.COMPLIANT, notes=None, at=local(2025, 9, 3))
    assert ok.violation is False
    not_drawn = next(r for r in ["SP1000001", "SP1000002", "SP1000003"] if r not in event.receipt_nos)
    with pytest.raises(DeadlineError) as err:
        record_inspection(sample, receipt_no=not_drawn, inspector="x", result=InspectionResult.COMPLIANT, notes=None, at=local(2025, 9, 3))
    assert err.value.field == "receipt_no"
