"""The use cases on their own (a unit of work in, rows and events out), the refusals' statuses, and
the suite's clock followed for every stamp."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from contracts.common import DocumentType
from contracts.intake import UnitRegistered
from contracts.seal import DocumentSealed, OldSealRegistered, RevocationReason, SealRevoked
from services.runtime import clock, errors
from services.seal import domain, store
from services.seal.usecases import documents, log, root, seals

from .service_helpers import UNIT_CODE, UNIT_NAME, command, issue_no2, seal_service


def test_refusals_are_the_runtime_errors() -> None:
    bad = domain.InvalidInput("unit_code", "x")
    assert isinstance(bad, errors.InvalidInput) and isinstance(bad, domain.RuleViolation) and bad.status == 422
    conflict = domain.RuleViolation("seal_id", "x")
    assert isinstance(conflict, errors.InvalidState) and conflict.status == 409
    assert not isinstance(conflict, domain.InvalidInput)
    assert domain.NotFound("seal_id", "x").status == 404 and domain.Unavailable(None, "x").status == 503
    assert domain.DocumentTooLarge("file", "x").status == 413 and domain.UnsupportedUpload("file", "x").status == 415
    # the titles these answers always had
    assert (bad.title, conflict.title) == ("提交的信息有误", "与当前状态冲突")


def test_monthly_use_counts_per_unit_and_local_month() -> None:
    late = datetime(2024, 8, 31, 17, 0, tzinfo=UTC)  # 1 September in the center
    rows = [("B", late, "sealed"), ("A", late - timedelta(days=2), "sealed"), ("A", late, "refused"),
            ("A", late - timedelta(days=2), "issued")]
    assert domain.monthly_use(rows) == [
        domain.MonthlyUse("A", "2024-08", 1, 0), domain.MonthlyUse("A", "2024-09", 0, 1),
        domain.MonthlyUse("B", "2024-09", 1, 0),
    ]


def test_working_hours_are_local() -> None:
    hours = domain.WorkingHours()
    assert not hours.outside(datetime(2024, 8, 3, 1, 0, tzinfo=UTC))   # 09:00 Saturday in the center
    assert hours.outside(datetime(2024, 8, 3, 10, 0, tzinfo=UTC))      # 18:00


def test_query_period_defaults_follow_the_suite_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONEWINDOW_CLOCK", "2025-03-01T07:30:00+08:00")  # still 28 February in UTC
    lo, hi = log.period(None, None)
    assert (lo, hi) == (domain.local_midnight(date(2025, 3, 1)), domain.local_midnight(date(2025, 3, 2)))


async def test_stamps_follow_the_suite_clock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONEWINDOW_CLOCK", "2025-06-02T21:30:00+08:00")
    at = datetime(2025, 6, 2, 13, 30, tzinfo=UTC)
    async with seal_service(tmp_path) as svc:
        issued = await issue_no2(svc, "2025-06-01")
        assert issued["in_use"]
        async with svc.uow() as uow:
            event = await documents.seal_document(svc, uow, command("sim"), "e-sim")
            await uow.commit()
        assert isinstance(event, DocumentSealed)
        assert event.signed_at == at and event.document_no == f"{UNIT_CODE}-2025-000001"
        async with svc.uow() as uow:
            assert [r.request_id for r in await log.after_hours(svc, uow, date(2025, 6, 2), date(2025, 6, 2), None)] == ["sim"]
            assert [r.unit_code for r in await log.usage_per_month(uow, None, None)] == [UNIT_CODE]
            entries = await log.read_log(uow, 0, 10)
        assert [store.aware(e.at) for e in entries] == [at, at]


async def test_register_old_seal_defaults_to_the_cutover(tmp_path: Path) -> None:
    async with seal_service(tmp_path) as svc:
        async with svc.uow() as uow:
            with pytest.raises(domain.InvalidInput) as exc:
                await seals.register_old_seal(svc, uow, "admin", unit_code=UNIT_CODE, unit_name=UNIT_NAME,
                                              seal_name="公章", approvals_until=None)
        assert exc.value.field == "approvals_until"
        await issue_no2(svc, "2024-08-01")
        async with svc.uow() as uow:
            with pytest.raises(domain.InvalidInput):
                await seals.register_old_seal(svc, uow, "admin", unit_code=UNIT_CODE, unit_name=UNIT_NAME,
                                              seal_name="公章", approvals_until=date(2024, 8, 1))
            row, _ = await seals.register_old_seal(svc, uow, "admin", unit_code=UNIT_CODE, unit_name=UNIT_NAME,
                                                   seal_name="公章", approvals_until=None)
            events = [e.data for e in uow.pending]
            await uow.commit()
        assert row.approvals_until == date(2024, 7, 31) and row.kind == "old"
        assert isinstance(events[0], OldSealRegistered) and events[0].approvals_until == date(2024, 7, 31)


async def test_revoke_reissues_the_crl_in_the_same_transaction(tmp_path: Path) -> None:
    async with seal_service(tmp_path) as svc:
        seal = await issue_no2(svc, "2024-08-01")
        async with svc.uow() as uow:
            with pytest.raises(domain.NotFound):
                await seals.revoke(svc, uow, "admin", "NOPE", RevocationReason.LOST, None)
            with pytest.raises(domain.NotFound):
                await seals.revoke(svc, uow, "admin", "x" * 41, RevocationReason.LOST, None)
        async with svc.uow() as uow:
            before = await root.current_crl(uow.session)
            row, now = await seals.revoke(svc, uow, "admin", seal["seal_id"], RevocationReason.MISUSE, "说明")
            events = [e.data for e in uow.pending]
            await uow.commit()
        assert row.revoked_at == now and row.revocation_note == "说明"
        assert isinstance(events[0], SealRevoked) and events[0].crl_number == before.number + 1
        async with svc.uow() as uow:
            after = await root.current_crl(uow.session)
            assert after.number == before.number + 1
            assert after.crl.get_revoked_certificate_by_serial_number(int(seal["cert_serial"], 16)) is not None
            with pytest.raises(domain.RuleViolation):
                await seals.revoke(svc, uow, "admin", seal["seal_id"], RevocationReason.LOST, None)


async def test_crl_is_reissued_only_when_due(tmp_path: Path) -> None:
    async with seal_service(tmp_path) as svc:
        await root.ensure_open(svc)
        assert await root.refresh_crl_if_due(svc) is False
        async with svc.uow() as uow:
            current = await root.published_crl(uow.session)
        assert await root.refresh_crl_if_due(svc, now=current.next_update - timedelta(hours=1)) is True
        async with svc.uow() as uow:
            assert (await root.published_crl(uow.session)).number == current.number + 1


async def test_auto_issue_skips_units_that_have_a_seal_or_an_uncarvable_name(tmp_path: Path) -> None:
    def unit(code: str, name: str) -> UnitRegistered:
        return UnitRegistered(unit_code=code, unit_name=name, window_numbers=["1"], entered=True,
                              registered_at=datetime.now(UTC))

    async with seal_service(tmp_path) as svc:
        await issue_no2(svc, "2024-08-01")
        async with svc.uow() as uow:
            await seals.auto_issue(svc, uow, unit(UNIT_CODE, UNIT_NAME))       # has one
            await seals.auto_issue(svc, uow, unit("LYJ", "青山县\U0001F600局"))  # a glyph the font lacks
            assert uow.pending == []
            await seals.auto_issue(svc, uow, unit("MZJ", "青山县民政局"))
            assert [e.data.unit_code for e in uow.pending] == ["MZJ"]
            row = (await store.seals_of(uow.session, "MZJ"))[0]
        assert row.start_date == clock.today()


async def test_reading_refuses_ids_that_cannot_exist(tmp_path: Path) -> None:
    async with seal_service(tmp_path) as svc:
        async with svc.uow() as uow:
            with pytest.raises(domain.NotFound) as exc:
                await documents.public_record(svc, uow, "\x00bad")
            assert exc.value.field == "document_no"
            with pytest.raises(domain.NotFound) as exc:
                await documents.document_file(svc, uow, "no-such-token")
            assert exc.value.field == "token"
            with pytest.raises(domain.NotFound):
                await seals.get_seal(uow, "NOPE")
            with pytest.raises(domain.InvalidInput):
                await seals.list_seals(uow, "bad!")
            assert await seals.list_seals(uow, None) == []


async def test_a_repeated_request_gets_the_first_answer(tmp_path: Path) -> None:
    async with seal_service(tmp_path) as svc:
        await issue_no2(svc, "2024-08-01")
        async with svc.uow() as uow:
            first = await documents.seal_document(svc, uow, command("twice"), "e-1")
            await uow.commit()
        async with svc.uow() as uow:
            again = await documents.seal_document(svc, uow, command("twice", document_type=DocumentType.APPROVAL), "e-2")
            ids = [e.id for e in uow.pending]
            await uow.commit()
        assert again == first and ids == [documents.outcome_id("e-2")]
