"""Issuing a unit's No. 2 seal (or registering its old seal), in the caller's transaction: used by
the center admin's API and, in the demo, for every unit intake registers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from contracts.base import Event
from contracts.common import DocumentType
from contracts.seal import OldSealRegistered, SealIssued, SealKind

from . import domain, image, store
from .authority import SealSubject, fingerprint, serial_hex
from .office import SealOffice

Emit = Callable[[Event], Awaitable[Any]]


def checked_subject(unit_code: str, unit_name: str, seal_name: str) -> tuple[str, str, str]:
    """The unit code and names as they will be carved and certified, or ``domain.InvalidInput``:
    the API checks them at the door already, a unit registered by intake is checked here."""
    code = domain.clean_unit_code(unit_code)
    names = []
    for field, label, value, max_len in (("unit_name", "单位名称", unit_name, domain.UNIT_NAME_MAX),
                                         ("seal_name", "印章名称", seal_name, domain.SEAL_NAME_MAX)):
        text = domain.clean_name(value, field=field, label=label, min_len=1 if field == "seal_name" else 2,
                                 max_len=max_len)
        missing = image.undrawable(text)
        if missing:
            raise domain.InvalidInput(field, f"印章字体中没有这些字，无法刻制：{missing}")
        names.append(text)
    return code, names[0], names[1]


async def issue(
    office: SealOffice, session: AsyncSession, emit: Emit, staff_sub: str, *, unit_code: str, unit_name: str,
    seal_name: str, seal_no: str, kind: SealKind, start_date: date, scope: frozenset[DocumentType],
    approvals_until: date | None,
) -> tuple[store.SealRow, datetime]:
    """Issue a seal (or register an old one) in the caller's transaction: the key, the certificate,
    the row, the usage-log entry and the event. Raises ``domain.RuleViolation`` when the rules
    forbid it. The caller commits."""
    now = datetime.now(UTC)
    unit_code, unit_name, seal_name = checked_subject(unit_code, unit_name, seal_name)
    domain.check_start_date(start_date, now, max_days_ahead=office.settings.seal_start_max_days_ahead,
                            root_not_after=office.ca.root_cert.not_valid_after_utc)
    existing = await store.seals_of(session, unit_code)
    domain.check_issue([r.rule_view() for r in existing], unit_code, kind, start_date, now)
    subject = SealSubject(unit_code, unit_name, seal_name, seal_no)
    # the certificate starts at the start date (or now, if that is past) so that it cannot
    # sign anything before the seal exists
    not_before = max(now, domain.local_midnight(start_date)) if kind == SealKind.APPROVAL else now
    issued = await asyncio.to_thread(
        office.ca.issue, subject, office.keys, not_before=not_before,
        years=office.settings.seal_validity_years,
    )
    cert = issued.cert
    seal_id = f"{unit_code}-{kind.value}-{serial_hex(cert.serial_number)[:10]}"
    row = store.SealRow(
        seal_id=seal_id, unit_code=unit_code, unit_name=unit_name, seal_name=seal_name, seal_no=seal_no,
        kind=kind.value, start_date=start_date, scope=sorted(s.value for s in scope),
        cert_pem=issued.cert_pem.decode(), cert_serial=serial_hex(cert.serial_number),
        cert_sha256=fingerprint(cert), key_pem=issued.encrypted_key_pem.decode(),
        valid_from=cert.not_valid_before_utc, valid_until=cert.not_valid_after_utc,
        approvals_until=approvals_until, issued_at=now, issued_by=staff_sub,
    )
    session.add(row)
    await store.append_log(session, at=now, action="issued" if kind == SealKind.APPROVAL else "old_registered",
                           unit_code=unit_code, seal_id=seal_id,
                           detail={"cert_serial": row.cert_serial, "by": staff_sub, "start_date": start_date.isoformat()})
    if kind == SealKind.APPROVAL:
        event = SealIssued(
            seal_id=seal_id, unit_code=unit_code, unit_name=unit_name, seal_name=seal_name, seal_no=seal_no,
            seal_kind=kind, cert_serial=row.cert_serial, cert_sha256=row.cert_sha256, start_date=start_date,
            valid_until=row.valid_until, scope=sorted(scope),
        )
    else:
        event = OldSealRegistered(seal_id=seal_id, unit_code=unit_code, seal_name=seal_name,
                                  approvals_until=approvals_until, cert_serial=row.cert_serial)
    await emit(event)
    return row, now
