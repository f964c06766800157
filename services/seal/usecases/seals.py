"""The seals: issuing a unit's No. 2 seal (by the center admin, or automatically for a unit intake
registers), registering its old seal, revoking one (the CRL reissued in the same transaction), and
reading them. Each command works in the caller's unit of work; the caller commits."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from contracts.common import DocumentType
from contracts.intake import UnitRegistered
from contracts.seal import (
    REVOCATION_TEXT, CheckpointReason, OldSealRegistered, RevocationReason, SealIssued, SealKind, SealRevoked,
)
from services.runtime import clock
from services.runtime.params import plausible_key
from services.runtime.uow import UnitOfWork

from .. import domain, store
from ..adapters import gmpki, image, ses
from ..adapters.authority import SealSubject, fingerprint, serial_hex
from ..adapters.image import SealFace
from . import root
from .log import record_checkpoint

if TYPE_CHECKING:
    from services.runtime.app import Service

log = logging.getLogger(__name__)


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
    svc: "Service", uow: UnitOfWork, staff_sub: str, *, unit_code: str, unit_name: str,
    seal_name: str, seal_no: str, kind: SealKind, start_date: date, scope: frozenset[DocumentType],
    approvals_until: date | None,
) -> tuple[store.SealRow, datetime]:
    """Issue a seal (or register an old one) in the caller's transaction: the key, the certificate,
    the row, the usage-log entry and the event. Raises ``domain.RuleViolation`` (409) or
    ``domain.InvalidInput`` (422) when the rules forbid it. The caller commits."""
    await root.ensure_open(svc)
    settings = root.settings_of(svc)
    ca = root.authority(svc)
    session = uow.session
    now = clock.now()
    unit_code, unit_name, seal_name = checked_subject(unit_code, unit_name, seal_name)
    domain.check_start_date(start_date, now, max_days_ahead=settings.seal_start_max_days_ahead,
                            root_not_after=ca.root_cert.not_valid_after_utc)
    existing = await store.seals_of(session, unit_code)
    domain.check_issue([r.rule_view() for r in existing], unit_code, kind, start_date, now)
    subject = SealSubject(unit_code, unit_name, seal_name, seal_no)
    # the certificate starts at the start date (or now, if that is past) so that it cannot
    # sign anything before the seal exists
    not_before = max(now, domain.local_midnight(start_date)) if kind == SealKind.APPROVAL else now
    issued = await asyncio.to_thread(
        ca.issue, subject, root.protector(svc), not_before=not_before, years=settings.seal_validity_years,
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
    await asyncio.to_thread(add_sm2_twin, svc, row, now)
    session.add(row)
    await store.append_log(session, at=now, action="issued" if kind == SealKind.APPROVAL else "old_registered",
                           unit_code=unit_code, seal_id=seal_id,
                           detail={"cert_serial": row.cert_serial, "sm2_cert_serial": row.sm2_cert_serial,
                                   "by": staff_sub, "start_date": start_date.isoformat()})
    if kind == SealKind.APPROVAL:
        event = SealIssued(
            seal_id=seal_id, unit_code=unit_code, unit_name=unit_name, seal_name=seal_name, seal_no=seal_no,
            seal_kind=kind, cert_serial=row.cert_serial, cert_sha256=row.cert_sha256, start_date=start_date,
            valid_until=row.valid_until, scope=sorted(scope),
        )
    else:
        event = OldSealRegistered(seal_id=seal_id, unit_code=unit_code, seal_name=seal_name,
                                  approvals_until=approvals_until, cert_serial=row.cert_serial)
    await uow.emit(event)
    return row, now


def add_sm2_twin(svc: "Service", row: store.SealRow, now: datetime) -> None:
    """The seal's SM2 twin for OFD: a key and certificate under the SM2 root with the same subject
    and validity as the ECDSA one, and the GB/T 38540 v4 SESeal (picture, validity, the unit's
    name, the twin's certificate) signed by the county's seal maker."""
    parts = root.sm2(svc)
    protector = root.protector(svc)
    subject = SealSubject(row.unit_code, row.unit_name, row.seal_name, row.seal_no)
    issued = parts.authority.issue_seal(subject, protector, not_before=store.aware(row.valid_from),
                                        not_after=store.aware(row.valid_until))
    start, end = gmpki.validity(issued.cert)
    picture = image.seal_png(image.SealFace(row.unit_name, row.seal_name, row.seal_no or None))
    seal_der = ses.make_seal(
        name=f"{row.unit_name}{row.seal_name}", es_id=f"{subject.seal_code}-{gmpki.serial_hex(issued.cert)[:12]}",
        signer_cert=issued.cert, maker_cert=parts.maker_cert, maker_key=protector.open_sm2(parts.maker_key_pem),
        picture_png=picture, width_mm=42, height_mm=42, valid_start=start, valid_end=end, created=now,
    )
    row.sm2_cert_pem = issued.pem.decode()
    row.sm2_cert_serial = gmpki.serial_hex(issued.cert)
    row.sm2_key_pem = issued.encrypted_key_pem.decode()
    row.ses_seal = seal_der


async def ensure_sm2_twin(svc: "Service", uow: UnitOfWork, row: store.SealRow, now: datetime) -> None:
    """Give a seal issued before the SM2 side existed its twin (logged like an issue)."""
    if row.sm2_cert_pem and row.ses_seal:
        return
    await asyncio.to_thread(add_sm2_twin, svc, row, now)
    uow.session.add(row)
    await store.append_log(uow.session, at=now, action="issued", unit_code=row.unit_code, seal_id=row.seal_id,
                           detail={"cert_serial": row.cert_serial, "sm2_cert_serial": row.sm2_cert_serial,
                                   "by": "sm2-twin", "start_date": row.start_date.isoformat()})


async def issue_no2(
    svc: "Service", uow: UnitOfWork, staff_sub: str, *, unit_code: str, unit_name: str, seal_name: str,
    seal_no: str, start_date: date, scope: frozenset[DocumentType] | None,
) -> tuple[store.SealRow, datetime]:
    """The center admin issues a unit's No. 2 seal (default scope: every approval document)."""
    return await issue(
        svc, uow, staff_sub, unit_code=unit_code, unit_name=unit_name, seal_name=seal_name, seal_no=seal_no,
        kind=SealKind.APPROVAL, start_date=start_date, scope=scope or domain.DEFAULT_SCOPE, approvals_until=None,
    )


async def register_old_seal(
    svc: "Service", uow: UnitOfWork, staff_sub: str, *, unit_code: str, unit_name: str, seal_name: str,
    approvals_until: date | None,
) -> tuple[store.SealRow, datetime]:
    """Register a unit's old seal: usable for anything but approvals after ``approvals_until``
    (default, and latest: the day before the unit's No. 2 seal starts)."""
    no2 = [r for r in await store.seals_of(uow.session, unit_code) if r.kind == SealKind.APPROVAL.value]
    no2_start = min((r.start_date for r in no2), default=None)
    until = approvals_until
    if until is None:
        if no2_start is None:
            raise domain.InvalidInput("approvals_until", "该单位尚无行政审批专用章，请填写原印章停止用于审批的日期")
        until = domain.cutover_day(no2_start)
    domain.check_approvals_until(until, no2_start)
    return await issue(
        svc, uow, staff_sub, unit_code=unit_code, unit_name=unit_name, seal_name=seal_name, seal_no="",
        kind=SealKind.OLD, start_date=clock.today(), scope=frozenset(DocumentType), approvals_until=until,
    )


async def auto_issue(svc: "Service", uow: UnitOfWork, event: UnitRegistered) -> None:
    """The demo run (``seal_auto_issue``): a unit intake registers gets its No. 2 seal, starting
    today, unless it has a live one; a unit whose name cannot be carved gets none (logged)."""
    await root.ensure_open(svc)
    existing = await store.seals_of(uow.session, event.unit_code)
    if any(r.kind == SealKind.APPROVAL.value and r.revoked_at is None for r in existing):
        return
    try:
        await issue(
            svc, uow, "auto-issue", unit_code=event.unit_code, unit_name=event.unit_name,
            seal_name="行政审批专用章", seal_no="2", kind=SealKind.APPROVAL, start_date=clock.today(),
            scope=domain.DEFAULT_SCOPE, approvals_until=None,
        )
    except domain.RuleViolation as exc:
        log.info("no seal auto-issued for %s: %s", event.unit_code, exc.reason)


async def auto_issue_center(svc: "Service") -> store.SealRow | None:
    """The demo run (``seal_auto_issue``): the center's own seal, starting today, unless it has a
    live one — it seals the center's documents of no case (the year-end assessment notice) and its
    supervision notices. In production the center admin issues it like any unit's
    (``POST /seal/seals`` with the center's unit code and ``scope: ["supervision"]``)."""
    await root.ensure_open(svc)
    settings = root.settings_of(svc)
    code = settings.seal_center_unit_code
    async with svc.uow() as uow:
        existing = await store.seals_of(uow.session, code)
        if any(r.kind == SealKind.APPROVAL.value and r.revoked_at is None for r in existing):
            return None
        try:
            row, _ = await issue(
                svc, uow, "auto-issue", unit_code=code,
                unit_name=settings.seal_center_name or f"{settings.seal_county_name}行政审批服务中心",
                seal_name="业务专用章", seal_no="", kind=SealKind.APPROVAL, start_date=clock.today(),
                scope=frozenset({DocumentType.SUPERVISION}), approvals_until=None,
            )
        except (domain.RuleViolation, domain.InvalidInput) as exc:
            log.warning("the center's seal was not auto-issued: %s", exc)
            return None
        await uow.commit()
    log.info("the center's seal %s auto-issued (demo run)", row.seal_id)
    return row


async def revoke(
    svc: "Service", uow: UnitOfWork, staff_sub: str, seal_id: str, reason: RevocationReason, note: str | None,
) -> tuple[store.SealRow, datetime]:
    """Revoke a seal and reissue the CRL in the same transaction (the caller commits)."""
    now = clock.now()
    if not plausible_key(seal_id, 40):
        raise domain.NotFound("seal_id", "没有这个编号的印章")
    session = uow.session
    await store.authority_row(session, lock=True)
    row = await session.get(store.SealRow, seal_id, with_for_update=True)
    if row is None:
        raise domain.NotFound("seal_id", f"没有编号为 {seal_id} 的印章")
    domain.check_revocation(row.rule_view(), now)
    row.revoked_at, row.revocation_reason = now, reason.value
    row.revocation_note, row.revoked_by = note, staff_sub
    session.add(row)
    await session.flush()
    crl = await root.issue_crl(svc, session, now)
    await store.append_log(session, at=now, action="revoked", unit_code=row.unit_code, seal_id=seal_id,
                           detail={"reason": reason.value, "by": staff_sub, "crl_number": crl.number})
    await uow.emit(SealRevoked(
        seal_id=seal_id, unit_code=row.unit_code, cert_serial=row.cert_serial, reason=reason,
        reason_text=REVOCATION_TEXT[reason], revoked_at=now, crl_number=crl.number,
    ))
    await record_checkpoint(svc, uow, CheckpointReason.REVOCATION)  # the log, revocation included, on seal.log
    return row, now


# -- reading -------------------------------------------------------------------------------------

def unit_filter(unit_code: str | None) -> str | None:
    """A ``unit_code`` query filter, in intake's canonical form (422 if it cannot be one)."""
    return None if unit_code is None else domain.clean_unit_code(unit_code)


async def list_seals(uow: UnitOfWork, unit_code: str | None) -> list[store.SealRow]:
    code = unit_filter(unit_code)
    return await (store.seals_of(uow.session, code) if code else store.all_seals(uow.session))


async def get_seal(uow: UnitOfWork, seal_id: str) -> store.SealRow:
    """One seal, or 404 (an id that cannot exist is refused without a query)."""
    if not plausible_key(seal_id, 40):
        raise domain.NotFound("seal_id", "没有这个编号的印章")
    row = await uow.session.get(store.SealRow, seal_id)
    if row is None:
        raise domain.NotFound("seal_id", f"没有编号为 {seal_id} 的印章")
    return row


def face_pdf(row: store.SealRow) -> bytes:
    """The seal's picture as a one-page vector PDF (the signature field's appearance)."""
    return _face_pdf(row.unit_name, row.seal_name, row.seal_no)


def face_svg(row: store.SealRow) -> str:
    return _face_svg(row.unit_name, row.seal_name, row.seal_no)


@lru_cache(maxsize=256)
def _face_pdf(unit_name: str, seal_name: str, seal_no: str) -> bytes:
    return image.seal_pdf(SealFace(unit_name, seal_name, seal_no or None))


@lru_cache(maxsize=256)
def _face_svg(unit_name: str, seal_name: str, seal_no: str) -> str:
    return image.seal_svg(SealFace(unit_name, seal_name, seal_no or None))
