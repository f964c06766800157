"""Fixtures for notify's service tests: the service on FastStream's in-memory broker with a
scripted SMS provider, and helpers to read what it emitted."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from contracts.attendance import StaffRegistered, StaffRole
from contracts.common import ApplicantType, CaseKind, Channel
from contracts.envelope import parse
from contracts.intake import (
    ApplicantContactRecorded, ApplicantPublic, ApplicationAccepted, ApplicationReceived, UnitRegistered,
)
from services.notify.app import create_service
from services.notify.config import NotifySettings
from services.notify.domain import Outcome, SendResult
from services.notify.providers.base import OutgoingSms, ProviderHealth, SmsProvider
from services.notify.usecases.notices import render_waiting
from services.runtime.testing import in_memory, publish

RN = "2025-SJJ-00042"
UNIT = "SJJ"
APPLICANT_MOBILE = "13800138000"
CLERK_MOBILE = "13900139001"
HEAD_MOBILE = "13900139002"
DUTY_MOBILE = "13900139003"


class ScriptedProvider(SmsProvider):
    """Answers from a script (default: accepted), and remembers every send."""

    name = "scripted"

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[OutgoingSms] = []
        self.script: list[SendResult] = []
        self._ids = 0

    async def send(self, sms: OutgoingSms) -> SendResult:
        self.sent.append(sms)
        if self.script:
            return self.script.pop(0)
        self._ids += 1
        return SendResult(Outcome.ACCEPTED, self.name, {1: f"P{self._ids}"}, 1, "OK", "ok")

    def health(self) -> ProviderHealth:
        return ProviderHealth(self.name, True, "scripted")


@dataclass
class Harness:
    service: object
    provider: ScriptedProvider
    settings: NotifySettings
    published: list[str] = field(default_factory=list)

    @property
    def state(self):
        return self.service.state

    async def publish(self, event, *, id: str | None = None):
        env = await publish(self.service, event, id=id or uuid.uuid4().hex)
        self.published.append(env.id)
        await self.render()
        return env

    async def render(self) -> int:
        """The release worker's render pass, by hand: notices are laid out after the transaction
        that numbered them (usecases/notices.py), so a test sees the seal request once it ran."""
        return await render_waiting(self.service, self.state.notices)

    async def events(self, cls=None) -> list:
        """Every event notify has put in its outbox (in order), optionally of one type."""
        outbox = self.service.db.tables.outbox
        async with self.service.uow() as uow:
            rows = (await uow.session.execute(select(outbox).order_by(outbox.c.id))).mappings().all()
        out = [parse(r["headers"], r["payload"]).data for r in rows]
        return [e for e in out if cls is None or isinstance(e, cls)]

    async def deliver(self) -> int:
        return await self.state.worker.run_once()


@pytest.fixture
def notify_settings(tmp_path) -> NotifySettings:
    return NotifySettings(data_dir=tmp_path, auth_secret="k" * 32, notify_quiet_hours="off",
                          notify_center_name="示范县行政审批服务中心", notify_public_url="https://zw.example.gov.cn",
                          notify_retry_base_seconds=30, log_json=False)


@pytest.fixture
async def harness(request: pytest.FixtureRequest, notify_settings) -> AsyncIterator[Harness]:
    """notify on the in-memory broker; a test module with ``RELEASE_WORKER = False`` runs it
    without its release worker and releases waiting notices and duty gaps by hand."""
    provider = ScriptedProvider()
    release = getattr(request.module, "RELEASE_WORKER", True)
    svc = create_service(notify_settings, provider, deliver=False, release=release)
    async with in_memory(svc):
        yield Harness(svc, provider, notify_settings)


def applicant_public() -> ApplicantPublic:
    return ApplicantPublic(type=ApplicantType.PERSON, masked_name="张*", masked_resident_id="110***********123X",
                           masked_mobile="138****8000")


async def seed_directory(h: Harness) -> None:
    now = datetime(2025, 3, 5, 1, 0, tzinfo=UTC)
    await h.publish(UnitRegistered(unit_code=UNIT, unit_name="示范县市场监督管理局", window_numbers=["12"], entered=True,
                                   registered_at=now))
    await h.publish(UnitRegistered(unit_code="XFJ", unit_name="示范县消防救援大队", window_numbers=["13"], entered=True,
                                   registered_at=now))
    for sid, name, role, mobile in (("S-CLERK", "李四", StaffRole.WINDOW_CLERK, CLERK_MOBILE),
                                    ("S-HEAD", "王五", StaffRole.CHIEF_REPRESENTATIVE, HEAD_MOBILE),
                                    ("S-DUTY", "赵六", StaffRole.DUTY_MANAGER, DUTY_MOBILE)):
        await h.publish(StaffRegistered(staff_id=sid, name=name, unit_code=UNIT if role is not StaffRole.DUTY_MANAGER else "ZX",
                                        unit_name="示范县市场监督管理局", window_no="12", role=role, mobile=mobile))


def received(rn: str = RN) -> ApplicationReceived:
    return ApplicationReceived(receipt_no=rn, unit_code=UNIT, item_code="SJJ-001", item_version=1, staff_id="S-CLERK",
                               received_at=datetime(2025, 3, 5, 1, 30, tzinfo=UTC), weekend=False, channel=Channel.WINDOW,
                               applicant=applicant_public(), materials_submitted=["M01"])


def contact(rn: str = RN, mobile: str = APPLICANT_MOBILE) -> ApplicantContactRecorded:
    return ApplicantContactRecorded(receipt_no=rn, unit_code=UNIT, applicant_type=ApplicantType.PERSON, name="张三",
                                    mobile=mobile, recorded_at=datetime(2025, 3, 5, 1, 30, tzinfo=UTC))


def accepted(rn: str = RN, kind: CaseKind = CaseKind.PROMISED, joint_units: list[str] | None = None) -> ApplicationAccepted:
    return ApplicationAccepted(
        receipt_no=rn, unit_code=UNIT, item_code="SJJ-001", item_version=1, staff_id="S-CLERK",
        accepted_at=datetime(2025, 3, 6, 2, 0, tzinfo=UTC), received_at=datetime(2025, 3, 5, 1, 30, tzinfo=UTC),
        item_name="食品经营许可（新办）", unit_name="示范县市场监督管理局", case_kind=kind, promised_days=10,
        statutory_days=20, weekend=False, applicant_type=ApplicantType.PERSON, applicant=applicant_public(),
        joint_units=joint_units or [], after_supplement=False)


def today() -> date:
    return datetime.now(UTC).date()
