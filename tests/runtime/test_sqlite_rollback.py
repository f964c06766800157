"""SQLite: a session that committed, or only read, hands its connection back without a ROLLBACK
through aiosqlite's thread (nothing is open to undo); one that wrote and did not commit is still
rolled back, and the connection comes back clean."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import pytest
from sqlalchemy import text

from services.runtime import db as runtime_db
from services.runtime.db import inline_sqlite

from .example import Counter, make


@pytest.fixture
async def svc(tmp_path: Path):  # type: ignore[no-untyped-def]
    service = make(tmp_path)
    await service.db.migrate()
    yield service
    await service.db.dispose()


@pytest.fixture
def rollbacks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per ROLLBACK that reached SQLite."""
    seen: list[int] = []
    real = runtime_db._rollback

    def counted(conn) -> None:  # type: ignore[no-untyped-def]
        seen.append(1)
        real(conn)

    monkeypatch.setattr(runtime_db, "_rollback", counted)
    return seen


async def count_of(svc, widget: str) -> int | None:  # type: ignore[no-untyped-def]
    async with svc.uow() as uow:
        row = await uow.session.get(Counter, widget)
        return row.count if row else None


@pytest.mark.parametrize("inline", [False, True])
async def test_no_rollback_after_a_commit_or_reads_only(svc, rollbacks: list[int], inline: bool) -> None:  # type: ignore[no-untyped-def]
    assert svc.db.is_sqlite
    with inline_sqlite() if inline else nullcontext():
        for i in range(3):
            async with svc.uow() as uow:
                uow.session.add(Counter(widget=f"w{i}", count=i))
                await uow.commit()
        async with svc.uow() as uow:
            await uow.session.execute(text("SELECT count(*) FROM counter"))
    assert rollbacks == []
    assert [await count_of(svc, f"w{i}") for i in range(3)] == [0, 1, 2]
    assert rollbacks == []


async def test_an_uncommitted_write_is_still_rolled_back(svc, rollbacks: list[int]) -> None:  # type: ignore[no-untyped-def]
    async with svc.uow() as uow:
        uow.session.add(Counter(widget="kept", count=1))
        await uow.commit()
    async with svc.uow() as uow:
        uow.session.add(Counter(widget="dropped", count=1))
        await uow.session.flush()  # written in an open transaction, never committed
    assert len(rollbacks) == 1
    assert await count_of(svc, "dropped") is None and await count_of(svc, "kept") == 1
    # The connection came back clean: the next unit of work writes and commits normally.
    async with svc.uow() as uow:
        uow.session.add(Counter(widget="after", count=2))
        await uow.commit()
    async with svc.db.engine.connect() as conn:  # and no transaction is left open on it
        raw = await conn.get_raw_connection()
        assert not raw.driver_connection._conn.in_transaction
    assert await count_of(svc, "after") == 2

