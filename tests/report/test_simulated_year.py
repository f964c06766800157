"""The report writes itself: a simulated January to August (1/20 of the source's volume) replayed
through intake's HTTP API on the compressed clock, with intake and deadline as separate processes
on the real broker; then the report, computed from the public topics alone, must show exactly
what the replay caused.

The test session's broker is shared: other tests publish events stamped in 2025 too (the
attendance integration test publishes twelve ClockEnded of June 2025 per database backend), and
a developer's broker holds earlier runs of this same plan. The simulation's report reads only
the records appended since its run began, so every figure is compared exactly, consultations
included. So that this is tested whatever ran before, the test first publishes a decided case and
a consultation of the window that the replay does not cause: counted, they would make two figures
one too high."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from contracts.common import CaseKind
from tools.simulator.plan import YearParameters
from tools.simulator.run import simulate

from .events import at, consultation, ended, publish, wrap

pytestmark = pytest.mark.e2e

PARAMS = YearParameters.for_year(2025, scale=0.05)


def test_a_simulated_year_reported_from_events(kafka_bootstrap: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # What an earlier run left on the broker, in the window: not this run's, so not in its report.
    asyncio.run(publish(kafka_bootstrap, wrap(
        ended("2025-GTJ-99999", "GTJ", "GTJ-001", at(date(2025, 6, 10)), CaseKind.PROMISED, used=2),
        consultation("ZX-2025-EARLIER-RUN", "GTJ", at(date(2025, 6, 10), 9)),
    )))
    sim = simulate(PARAMS, bootstrap=kafka_bootstrap, data_dir=tmp_path / "sim", log=lambda _: None)
    assert sim.replay.failures == []
    assert sim.replay.skipped == 0
    r, want = sim.report, sim.plan.intended()

    for figure in ("applications_received", "applications_accepted", "applications_not_accepted",
                   "cases_decided", "cases_on_time", "weekend_received", "weekends_served"):
        assert getattr(r, figure) == want[figure], figure
    assert r.consultations == want["consultations"]
    assert r.average_working_days == pytest.approx(want["average_working_days"])
    assert r.immediate_case_share == pytest.approx(want["immediate_cases_accepted"] / want["applications_accepted"])
    assert r.units_without_business_by_month == want["units_without_business"]
    assert (r.catalog_units, r.catalog_items, r.immediate_items) == (27, 246, 139)
    # The supervisors' monthly reports flagged the idle unit from its third empty month to its sixth.
    assert [(f.unit_code, f.period) for f in r.inactivity_flags] == [("SLJ", f"2025-0{m}") for m in range(3, 7)]
    assert r.first_weekend_served is not None and r.first_weekend_served >= date(2025, 6, 14)
    assert r.on_time_rate > 0.95
    assert sum(r.by_kind.values()) == r.applications_received
