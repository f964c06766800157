"""Notices are laid out outside any transaction (services/notify/usecases/notices.py): the
transaction that decides to send a notice numbers it and leaves it ``rendering``; the render pass
lays out the PDF with no write lock held, then takes the notice (compare-and-set) and sends it to
the seal once — after a stop in between, and when two passes render it at once."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import pytest
from sqlalchemy import select

from contracts.seal import SealDocument
from services.notify.adapters import notice_pdf
from services.notify.store import NoticeRow
from services.notify.usecases.notices import Notices, release_waiting, render_waiting
from services.runtime.testing import publish

from .conftest import RN, Harness, accepted, contact, received, seed_directory

#: the tests run the passes by hand
RELEASE_WORKER = False

pytestmark = pytest.mark.timeout(60)


async def _notices(h: Harness) -> list[NoticeRow]:
    async with h.service.uow() as uow:
        return list((await uow.session.execute(select(NoticeRow))).scalars())


async def _accepted_without_a_pass(h: Harness) -> None:
    """The events as the handlers take them, without the harness's render pass after each."""
    for event in (received(), contact(), accepted()):
        await publish(h.service, event)


async def test_the_pdf_is_laid_out_while_no_write_lock_is_held(harness: Harness, monkeypatch):
    h = harness
    await seed_directory(h)
    await _accepted_without_a_pass(h)
    [row] = await _notices(h)
    assert row.state == "rendering" and row.document_no  # numbered in the handler's transaction

    database = h.settings.resolved_database_url.split("///", 1)[1]
    writers: list[str] = []
    original = notice_pdf.render_pdf

    def render_and_try_to_write(*args, **kwargs):
        # Another writer (the delivery worker, a page's access-log row) must get the lock at
        # once while a notice is being laid out.
        other = sqlite3.connect(database, timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            writers.append("got the write lock")
        except sqlite3.OperationalError as exc:
            writers.append(str(exc))
        finally:
            other.close()
        return original(*args, **kwargs)

    monkeypatch.setattr(notice_pdf, "render_pdf", render_and_try_to_write)
    assert await render_waiting(h.service, h.state.notices) == 1
    assert writers == ["got the write lock"]
    [cmd] = await h.events(SealDocument)
    assert cmd.printed_no == row.document_no and cmd.request_id == f"{row.id}-1"
    assert [n.state for n in await _notices(h)] == ["requested"]


async def test_a_notice_left_rendering_by_a_stop_is_sent_by_the_next_sweep_once(harness: Harness):
    h = harness
    await seed_directory(h)
    await _accepted_without_a_pass(h)  # the process "stopped" after the handler's commit
    assert await h.events(SealDocument) == []
    await release_waiting(h.service, h.state.notices)  # the sweep after a restart
    await release_waiting(h.service, h.state.notices)
    assert len(await h.events(SealDocument)) == 1


async def test_two_replicas_rendering_one_notice_send_it_once(harness: Harness, monkeypatch):
    h = harness
    await seed_directory(h)
    await _accepted_without_a_pass(h)
    # Two replicas' passes (each its own Notices) both read the rendering notice and both lay it
    # out (the barrier holds each render until the other is rendering too) before either takes it.
    both = threading.Barrier(2, timeout=20)
    original = notice_pdf.render_pdf

    def render_together(*args, **kwargs):
        both.wait()
        return original(*args, **kwargs)

    monkeypatch.setattr(notice_pdf, "render_pdf", render_together)
    other = Notices(h.state.notices.settings, h.state.notices.metrics)
    sent = await asyncio.gather(h.state.notices.render_waiting(h.service.uow), other.render_waiting(h.service.uow))
    assert sorted(n for n, _more in sent) == [0, 1]
    assert len(await h.events(SealDocument)) == 1


async def test_passes_of_one_process_take_turns_and_lay_a_notice_out_once(harness: Harness, monkeypatch):
    h = harness
    await seed_directory(h)
    await _accepted_without_a_pass(h)
    renders: list[int] = []
    original = notice_pdf.render_pdf

    def counted(*args, **kwargs):
        renders.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(notice_pdf, "render_pdf", counted)
    # the render worker and a sweep at once, in one process
    await asyncio.gather(render_waiting(h.service, h.state.notices), release_waiting(h.service, h.state.notices))
    assert len(renders) == 1 and len(await h.events(SealDocument)) == 1


async def test_a_notice_that_cannot_be_laid_out_fails_visibly(harness: Harness, monkeypatch):
    h = harness
    await seed_directory(h)
    await _accepted_without_a_pass(h)

    def broken(*_a, **_k):
        raise ValueError("font missing")

    monkeypatch.setattr(notice_pdf, "render_pdf", broken)
    assert await render_waiting(h.service, h.state.notices) == 0
    [row] = await _notices(h)
    assert (row.state, row.failure_reason) == ("failed", "render_failed") and "font missing" in row.failure_detail
    assert await h.events(SealDocument) == []
    assert RN == row.receipt_no
