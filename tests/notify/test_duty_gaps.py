"""Weekend duty gaps and the duty managers who are told (services/notify/usecases/duty_gaps.py): a gap handled
before any duty manager is known waits for one instead of going nowhere; it is alerted once a
manager is known (by the staff handler, or the release worker's sweep), once per manager, unless
it has waited too long by then. The concurrent interleaving itself needs PostgreSQL:
tests/integration/test_notify_duty_gap_race.py."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from contracts.attendance import DutyGapDetected, DutyPerson, StaffRegistered, StaffRole, StaffUpdated
from services.notify.usecases.duty_gaps import release_duty_gaps
from services.notify.store import DutyGapRow, MessageRow, StaffRow

from .conftest import DUTY_MOBILE, UNIT, Harness, contact, seed_directory

OTHER_DUTY_MOBILE = "13900139004"


#: the tests release by hand (the conftest's harness runs no release worker)
RELEASE_WORKER = False


def gap(window_no: str = "12", *, detected_at: datetime | None = None, opening: time = time(9, 0)) -> DutyGapDetected:
    return DutyGapDetected(window_no=window_no, unit_code=UNIT, unit_name="示范县市场监督管理局", day=date(2025, 3, 8),
                           opening_time=opening, closing_time=time(17, 0), time_zone="Asia/Shanghai", grace_minutes=15,
                           post_a=DutyPerson(staff_id="S-A", name="李四"), post_b=DutyPerson(staff_id="S-B", name="钱七"),
                           detected_at=detected_at or datetime.now(UTC))


def duty_manager(staff_id: str = "S-DUTY", mobile: str = DUTY_MOBILE, *, active: bool = True,
                 updated: bool = False) -> StaffRegistered | StaffUpdated:
    cls = StaffUpdated if updated else StaffRegistered
    return cls(staff_id=staff_id, name="赵六", unit_code="ZX", unit_name="示范县行政审批服务中心",
               role=StaffRole.DUTY_MANAGER, mobile=mobile, active=active)


async def _rows(h: Harness, model, **where) -> list:
    async with h.service.uow() as uow:
        q = select(model)
        for k, v in where.items():
            q = q.where(getattr(model, k) == v)
        return list((await uow.session.execute(q)).scalars())


async def _alerts(h: Harness) -> list[tuple[str, str, str]]:
    """(mobile, idempotency key, text) of every duty-gap SMS queued."""
    msgs = await _rows(h, MessageRow, template="staff_duty_gap")
    return sorted((m.mobile, m.idempotency_key, m.text) for m in msgs)


async def _manager_behind_the_back(h: Harness) -> None:
    """A duty manager committed without the staff handler seeing the waiting gaps (the lost wake-up)."""
    async with h.service.uow() as uow:
        uow.session.add(StaffRow(staff_id="S-DUTY", name="赵六", unit_code="ZX", unit_name="示范县行政审批服务中心",
                                 role="duty_manager", mobile=DUTY_MOBILE, active=True))
        await uow.commit()


def _gauge(h: Harness) -> float:
    body, _ = h.service.metrics.render()
    line = next(ln for ln in body.decode().splitlines() if ln.startswith("onewindow_notify_duty_gaps_awaiting_manager "))
    return float(line.split()[1])


async def test_a_gap_before_any_duty_manager_waits_and_is_alerted_once_one_registers(harness: Harness):
    h = harness
    env = await h.publish(gap())
    [row] = await _rows(h, DutyGapRow)
    assert (row.event_id, row.state, row.posts, row.window_no) == (env.id, "awaiting_manager", "A/B", "12")
    assert await _alerts(h) == []
    assert await release_duty_gaps(h.service, h.state.duty_gaps) == 0  # still nobody to tell
    assert _gauge(h) == 1.0

    await h.publish(duty_manager())
    [(mobile, _key, text)] = await _alerts(h)
    assert mobile == DUTY_MOBILE and "12号窗口" in text and "A/B岗自09:00起无人在岗" in text
    [row] = await _rows(h, DutyGapRow)
    assert row.state == "alerted" and row.alerted_at is not None
    assert await release_duty_gaps(h.service, h.state.duty_gaps) == 0
    assert _gauge(h) == 0.0
    assert await h.deliver() == 1 and [s.mobile for s in h.provider.sent] == [DUTY_MOBILE]


async def test_the_sweep_alerts_a_gap_whose_manager_was_committed_behind_its_back(harness: Harness):
    h = harness
    await h.publish(gap("12"))
    await h.publish(gap("13"))
    await _manager_behind_the_back(h)
    assert await release_duty_gaps(h.service, h.state.duty_gaps) == 2
    alerts = await _alerts(h)
    assert [a[0] for a in alerts] == [DUTY_MOBILE, DUTY_MOBILE] and len({a[1] for a in alerts}) == 2
    assert {r.state for r in await _rows(h, DutyGapRow)} == {"alerted"}
    # Settled once: a second sweep, or the manager's own event arriving late, sends nothing twice.
    assert await release_duty_gaps(h.service, h.state.duty_gaps) == 0
    await h.publish(duty_manager())
    assert await _alerts(h) == alerts


async def test_with_a_duty_manager_known_the_gap_is_alerted_at_once(harness: Harness):
    h = harness
    await seed_directory(h)
    env = await h.publish(gap())
    [(mobile, _key, _text)] = await _alerts(h)
    assert mobile == DUTY_MOBILE
    [row] = await _rows(h, DutyGapRow)
    assert (row.event_id, row.state) == (env.id, "alerted") and row.alerted_at is not None
    assert await release_duty_gaps(h.service, h.state.duty_gaps) == 0
    assert _gauge(h) == 0.0


async def test_each_known_duty_manager_is_alerted_once_per_gap(harness: Harness):
    h = harness
    await h.publish(gap())
    await h.publish(duty_manager("S-DUTY"))
    await h.publish(duty_manager("S-DUTY2", OTHER_DUTY_MOBILE))  # too late for the gap already alerted
    await h.publish(gap("13"))
    alerts = await _alerts(h)
    assert sorted(a[0] for a in alerts) == [DUTY_MOBILE, DUTY_MOBILE, OTHER_DUTY_MOBILE]


async def test_a_gap_too_old_when_a_manager_appears_expires_unsent(harness: Harness, caplog):
    h = harness
    now = datetime.now(UTC)
    stale = await h.publish(gap("12", detected_at=now - timedelta(hours=13)))  # the default limit is 12 h
    fresh = await h.publish(gap("13", detected_at=now - timedelta(hours=11)))
    with caplog.at_level(logging.WARNING, logger="services.notify.usecases.duty_gaps"):
        await h.publish(duty_manager())
    states = {r.event_id: r.state for r in await _rows(h, DutyGapRow)}
    assert states == {stale.id: "expired", fresh.id: "alerted"}
    [(mobile, _key, text)] = await _alerts(h)
    assert mobile == DUTY_MOBILE and "13号窗口" in text
    assert any("expired" in r.getMessage() and "window 12" in r.getMessage() for r in caplog.records
               if r.levelno == logging.WARNING)
    assert await release_duty_gaps(h.service, h.state.duty_gaps) == 0
    assert _gauge(h) == 0.0


async def test_a_gap_replayed_long_after_with_a_manager_known_expires_unsent(harness: Harness):
    # A notify catching up (a new replica, a restore) reads last weekend's gaps: not news.
    h = harness
    await h.publish(duty_manager())
    now = datetime.now(UTC)
    old = await h.publish(gap("12", detected_at=now - timedelta(days=3)))
    new = await h.publish(gap("13", detected_at=now - timedelta(minutes=5)))
    states = {r.event_id: r.state for r in await _rows(h, DutyGapRow)}
    assert states == {old.id: "expired", new.id: "alerted"}
    [(_mobile, _key, text)] = await _alerts(h)
    assert "13号窗口" in text


async def test_the_sweep_expires_a_gap_too_old_too(harness: Harness):
    h = harness
    await h.publish(gap("12", detected_at=datetime.now(UTC) - timedelta(hours=2)))
    await _manager_behind_the_back(h)
    later = datetime.now(UTC) + timedelta(hours=11)  # 13 h after the gap by the time the sweep looks
    assert await release_duty_gaps(h.service, h.state.duty_gaps, later) == 1
    assert [r.state for r in await _rows(h, DutyGapRow)] == ["expired"]
    assert await _alerts(h) == []


async def test_a_redelivered_gap_sends_no_second_sms(harness: Harness):
    h = harness
    await h.publish(gap(), id="gap-1")
    await h.publish(gap(), id="gap-1")  # redelivered while waiting
    assert len(await _rows(h, DutyGapRow)) == 1
    await h.publish(duty_manager())
    await h.publish(gap(), id="gap-1")  # and again once alerted
    # Past the inbox too (its records pruned, or a replay): the stored gap is recognised.
    async with h.service.uow() as uow:
        assert await h.state.duty_gaps.on_gap(uow, gap(), "gap-1", datetime.now(UTC)) is None
    assert await release_duty_gaps(h.service, h.state.duty_gaps) == 0
    [(mobile, _key, _text)] = await _alerts(h)
    assert mobile == DUTY_MOBILE
    assert [r.state for r in await _rows(h, DutyGapRow)] == ["alerted"]


async def test_an_inactive_or_departed_duty_manager_does_not_release_a_gap(harness: Harness):
    h = harness
    await h.publish(duty_manager(active=False))
    await h.publish(gap())
    assert [r.state for r in await _rows(h, DutyGapRow)] == ["awaiting_manager"]
    await h.publish(duty_manager(updated=True))  # back on the roster
    assert [r.state for r in await _rows(h, DutyGapRow)] == ["alerted"]
    assert len(await _alerts(h)) == 1


async def test_commits_that_may_leave_a_gap_waiting_wake_the_release_worker(harness: Harness):
    h = harness
    notices = h.state.notices
    rendezvous = notices.rendezvous
    rendezvous.clear()
    notices.duty_gaps_asked = False
    await h.publish(gap())  # held: no manager yet
    assert rendezvous.is_set() and notices.duty_gaps_asked
    rendezvous.clear()
    notices.duty_gaps_asked = False
    await h.publish(duty_manager())
    assert rendezvous.is_set() and notices.duty_gaps_asked


async def test_an_applicants_contact_wakes_the_release_worker_but_not_for_the_duty_gaps(harness: Harness):
    # Every application's contact wakes the release worker (notices and surveys); the duty gaps'
    # look (two transactions) is only for their own commits and the periodic sweep.
    h = harness
    notices = h.state.notices
    notices.rendezvous.clear()
    notices.duty_gaps_asked = False
    await h.publish(contact())
    assert notices.rendezvous.is_set() and not notices.duty_gaps_asked


def test_the_age_limit_is_a_setting_and_its_boundary_still_alerts(monkeypatch):
    from services.notify import domain
    from services.notify.config import NotifySettings

    monkeypatch.setenv("ONEWINDOW_NOTIFY_DUTY_GAP_ALERT_MAX_AGE_HOURS", "2.5")
    limit = NotifySettings(auth_secret="k" * 32).duty_gap_alert_max_age
    assert limit == timedelta(hours=2, minutes=30)
    detected = datetime(2025, 3, 8, 1, 15, tzinfo=UTC)
    assert not domain.duty_gap_stale(detected, detected + limit, limit)
    assert domain.duty_gap_stale(detected, detected + limit + timedelta(seconds=1), limit)
    assert [domain.duty_gap_posts(a, b) for a, b in ((True, True), (True, False), (False, True), (False, False))] \
        == ["A/B", "A", "B", "A/B"]
