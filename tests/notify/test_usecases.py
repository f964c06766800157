"""notify's request use cases one by one (services/notify/usecases/): each refusal is a
DomainError with the status, field and zh-CN reason the API answers with; and the release
worker's retries (services/notify/workers.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from contracts.common import Role
from services.notify import workers
from services.notify.domain import MalformedPush
from services.notify.store import OptOutRow
from services.notify.usecases import access, messages, notices
from services.runtime.auth import Staff
from services.runtime.errors import InvalidInput, InvalidState, NotAllowed, NotFound

from .conftest import RN, UNIT, Harness, received

RELEASE_WORKER = False  # the release worker is started by hand below

SUPERVISOR = Staff(sub="sup-1", name="李督查", role=Role.SUPERVISOR)
CLERK = Staff(sub="clerk-1", name="李四", role=Role.CLERK, unit=UNIT)
OTHER_CLERK = Staff(sub="clerk-2", name="钱七", role=Role.CLERK, unit="XFJ")


def now() -> datetime:
    return datetime.now(UTC)


async def test_opt_out_and_back_in(harness: Harness):
    h = harness
    async with h.service.uow() as uow:
        assert await messages.opt_out(uow, "+86 138 0013 8000") == "13800138000"
        await uow.commit()
    async with h.service.uow() as uow:
        assert [r.mobile for r in (await uow.session.execute(select(OptOutRow))).scalars()] == ["13800138000"]
        assert await messages.opt_in(uow, "13800138000") is True
        await uow.commit()
    async with h.service.uow() as uow:
        assert await messages.opt_in(uow, "13800138000") is False
        with pytest.raises(InvalidInput) as exc:
            await messages.opt_out(uow, "123")
    assert (exc.value.status, exc.value.field, exc.value.reason) == (422, "mobile", "手机号码无效")


def test_the_receipt_push_token():
    settings = type("S", (), {"notify_aliyun_receipt_token": None})()
    messages.check_receipt_token(settings, None)  # no secret set: every push is taken
    settings.notify_aliyun_receipt_token = SecretStr("cb-1")
    messages.check_receipt_token(settings, "cb-1")
    with pytest.raises(NotAllowed) as exc:
        messages.check_receipt_token(settings, "cb-2")
    assert (exc.value.status, exc.value.field) == (403, "token")


async def test_a_receipt_push_that_is_not_an_array_of_objects_is_refused(harness: Harness):
    metrics = harness.state.metrics
    async with harness.service.uow() as uow:
        for payload, reason in (({"a": 1}, "回执格式错误：应为JSON数组"), ([1], "回执格式错误：数组的每一项应为JSON对象")):
            with pytest.raises(MalformedPush) as exc:
                await messages.take_aliyun_receipts(uow, payload, now(), metrics)
            assert (exc.value.status, exc.value.reason) == (400, reason)
        assert await messages.take_aliyun_receipts(uow, [], now(), metrics) == 0


async def test_case_access(harness: Harness):
    h = harness
    await h.publish(received())
    async with h.service.uow() as uow:
        await access.check_case_access(uow, SUPERVISOR, None)
        await access.check_case_access(uow, CLERK, RN)
        with pytest.raises(NotAllowed) as exc:
            await access.check_case_access(uow, CLERK, None)
        assert exc.value.field == "receipt_no"
        with pytest.raises(NotFound):
            await access.check_case_access(uow, CLERK, "2025-SJJ-99999")
        with pytest.raises(Exception) as other:
            await access.check_case_access(uow, OTHER_CLERK, RN)
        assert getattr(other.value, "status", None) == 403


async def test_message_requests_refuse_what_they_cannot_do(harness: Harness):
    h = harness
    metrics = h.state.metrics
    async with h.service.uow() as uow:
        with pytest.raises(InvalidInput) as exc:
            await messages.search_messages(uow, SUPERVISOR, receipt_no=None, mobile=None, state="lost", template=None,
                                           limit=10, offset=0)
        assert (exc.value.field, exc.value.reason) == ("state", "短信状态无效")
        assert await messages.search_messages(uow, SUPERVISOR, receipt_no=None, mobile=None, state=None,
                                              template=None, limit=10, offset=0) == (0, [])
        for bad in ("x" * 100, "nope"):
            with pytest.raises(NotFound) as nf:
                await messages.message_for(uow, SUPERVISOR, bad)
            assert nf.value.field == "message_id"
            with pytest.raises(NotFound):
                await messages.resolve_message(uow, SUPERVISOR, bad, "failed", "", now(), metrics)


async def test_resolving_a_message_in_a_state_that_does_not_allow_it_is_a_conflict(harness: Harness):
    from .test_delivery_outage import queue_one_alert, the_message

    h = harness
    await queue_one_alert(h)
    msg = await the_message(h)  # queued
    async with h.service.uow() as uow:
        with pytest.raises(InvalidState) as exc:
            await messages.resolve_message(uow, SUPERVISOR, msg.id, "delivered", "", now(), h.state.metrics)
    assert (exc.value.status, exc.value.field) == (409, "action")
    assert "queued" in exc.value.reason


async def test_notice_requests_refuse_what_they_cannot_do(harness: Harness):
    h = harness
    async with h.service.uow() as uow:
        with pytest.raises(InvalidInput) as exc:
            await notices.search_notices(uow, SUPERVISOR, receipt_no=None, state="lost", limit=10, offset=0)
        assert (exc.value.field, exc.value.reason) == ("state", "文书状态无效")
        with pytest.raises(NotFound) as nf:
            await notices.retry_notice(uow, h.state.notices, SUPERVISOR, "n" * 10, now())
        assert (nf.value.field, nf.value.reason) == ("notice_id", "没有这份文书")


async def test_the_release_worker_retries_after_a_failure_and_on_a_commit(harness: Harness, monkeypatch):
    h = harness
    calls: list[str] = []

    async def flaky(service, notices_, now=None, *, render=True):
        assert render is False  # the render worker renders, not this one
        calls.append("look")
        if len(calls) == 1:
            raise ConnectionError("database away")
        return 0

    monkeypatch.setattr(workers, "release_waiting", flaky)
    monkeypatch.setattr(h.state.notices.settings, "notify_contact_sweep_seconds", 3600.0)
    task = asyncio.create_task(workers.release_waiting_forever(h.service, h.state.notices))
    try:
        for _ in range(200):  # the retry comes after 1 s (or at once on a commit's wake-up)
            if len(calls) >= 2:
                break
            await asyncio.sleep(0.02)
        assert len(calls) == 2 and not task.done()
        h.state.notices.rendezvous.set()  # a commit asks for a look: it comes at once
        for _ in range(100):
            if len(calls) >= 3:
                break
            await asyncio.sleep(0.02)
        assert len(calls) == 3
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
