"""The unit of work's end when the database went away under it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from .example import make


async def _failing_close(exc: Exception) -> None:
    raise exc


async def test_a_connection_cut_before_the_closing_rollback_is_not_an_error(tmp_path: Path) -> None:
    svc = make(tmp_path)
    await svc.db.migrate()
    try:
        async with svc.uow() as uow:
            await uow.session.execute(text("SELECT 1"))
            cut = OperationalError("ROLLBACK", None, ConnectionResetError("terminating connection due to administrator command"))
            uow.session.close = lambda: _failing_close(cut)  # type: ignore[method-assign]
        # ... but a bug in closing is not swallowed
        with pytest.raises(RuntimeError, match="a bug"):
            async with svc.uow() as uow:
                uow.session.close = lambda: _failing_close(RuntimeError("a bug"))  # type: ignore[method-assign]
    finally:
        await svc.db.dispose()
