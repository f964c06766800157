"""The runtime's clock (ONEWINDOW_CLOCK) that lets a simulation stamp events with its own time,
and intake following it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.runtime import clock


def test_real_clock_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(clock.ENV, raising=False)
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)
    assert not clock.simulated()
    monkeypatch.setenv(clock.ENV, "real")
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_fixed_instant(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(clock.ENV, "2026-03-02T09:15:00+08:00")
    assert clock.now() == datetime(2026, 3, 2, 1, 15, tzinfo=UTC)
    assert clock.simulated()


def test_file_clock_follows_every_rewrite(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "clock"
    monkeypatch.setenv(clock.ENV, f"file:{path}")
    with pytest.raises(clock.ClockError, match="cannot read"):
        clock.now()
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    for minutes in range(50):  # many rewrites in quick succession: none may be missed
        clock.write_clock_file(path, start + timedelta(minutes=minutes))
        assert clock.now() == start + timedelta(minutes=minutes)


@pytest.mark.parametrize("bad", ["yesterday", "2026-03-02T09:15:00"])
def test_a_bad_clock_is_refused(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    monkeypatch.setenv(clock.ENV, bad)
    with pytest.raises(clock.ClockError):
        clock.now()


def test_intake_stamps_with_the_runtime_clock(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from services.intake.app import create_service
    from services.intake.config import IntakeSettings

    monkeypatch.setenv(clock.ENV, "2026-06-13T10:00:00+08:00")
    svc = create_service(IntakeSettings(data_dir=tmp_path, auth_secret="k" * 32, intake_monthly_reports=False))
    assert svc.state.intake.now() == datetime(2026, 6, 13, 2, 0, tzinfo=UTC)
