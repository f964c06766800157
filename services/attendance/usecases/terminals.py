"""The terminals' requests of the ZKTeco push protocol: who is known, the handshake, uploads of
punches and operation logs, the command poll and the commands' results. Punches are stored once
however often a terminal resends them; bookkeeping (last seen, received, command leases) follows
the system clock, the check of a terminal's clock the suite's."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from contracts.attendance import PunchRecorded
from services.runtime import clock
from services.runtime.errors import NotFound
from services.runtime.uow import UnitOfWork
from services.runtime.workdays import TZ

from .. import domain, store
from ..domain import iclock
from .shared import Attendance

log = logging.getLogger(__name__)


async def terminal_lookup(uow: UnitOfWork, sn: str, ip: str | None) -> tuple[store.Device | None, str]:
    """The registered, active terminal ``sn``; for any other (recorded among the refused ones,
    with the attempt) None and why: ``inactive`` or ``not registered``."""
    device = await uow.session.get(store.Device, sn)
    if device is not None and device.active:
        return device, ""
    now = clock.system_now()
    seen = await uow.session.get(store.UnknownDevice, sn)
    if seen is None:
        seen = store.UnknownDevice(sn=sn, first_seen_at=now, last_seen_at=now)
    seen.last_seen_at, seen.last_ip, seen.attempts = now, ip, seen.attempts + 1
    uow.session.add(seen)
    await uow.commit()
    return None, "inactive" if device is not None else "not registered"


def _touch(device: store.Device, ip: str | None) -> None:
    device.last_seen_at = clock.system_now()
    device.last_ip = ip


async def _device(uow: UnitOfWork, sn: str) -> store.Device:
    device = await uow.session.get(store.Device, sn)
    if device is None:  # looked up (known and active) just before
        raise NotFound("SN", f"没有序列号为 {sn} 的考勤机")
    return device


async def handshake(uow: UnitOfWork, att: Attendance, sn: str, ip: str | None, pushver: str | None,
                    options_all: bool) -> str:
    """A terminal's ``cdata`` GET: seen now; with ``options=all`` the options block, else OK."""
    device = await _device(uow, sn)
    _touch(device, ip)
    if pushver:
        device.pushver = pushver
    uow.session.add(device)
    await uow.commit()
    if not options_all:
        return iclock.OK
    zone = ZoneInfo(device.time_zone) if device.time_zone else TZ
    offset = clock.now().astimezone(zone).utcoffset() or timedelta(0)
    log.info("terminal %s handshake (push %s)", device.sn, device.pushver or "1.x")
    return iclock.format_options(
        device.sn, utc_offset=offset, attlog_stamp=device.attlog_stamp, operlog_stamp=device.operlog_stamp,
        attphoto_stamp=device.attphoto_stamp, options=att.settings.push_options(), pushver=device.pushver,
    )


async def record_attlog(uow: UnitOfWork, att: Attendance, sn: str, text: str, stamp: str | None,
                        ip: str | None) -> None:
    """Punches of an ATTLOG upload: each stored once however often it comes, a PunchRecorded
    (deterministic id) for each new one of a known PIN; bad lines logged and counted."""
    m = att.metrics
    parsed = iclock.parse_attlog(text)
    for err in parsed.errors:
        log.warning("terminal %s: ATTLOG line %d refused (%s): %r", sn, err.line_no, err.reason, err.line[:200])
    if parsed.errors:
        m.lines_rejected.labels("attlog").inc(len(parsed.errors))
    received = clock.system_now()
    device = await _device(uow, sn)
    zone_name = device.time_zone or domain.DEFAULT_ZONE
    staff = await store.staff_by_pin(uow.session, (r.pin for r in parsed.records))
    rows = []
    seen: set[tuple[str, datetime]] = set()
    now_local = clock.now().astimezone(ZoneInfo(zone_name)).replace(tzinfo=None)
    for r in parsed.records:
        if (r.pin, r.time) in seen:  # the same record twice in one upload
            continue
        seen.add((r.pin, r.time))
        if domain.clock_suspect(r.time, now_local):
            log.warning("terminal %s: punch of PIN %s at %s looks like a wrong device clock", sn, r.pin, r.time)
            m.clock_suspect.inc()
        holder = staff.get(r.pin)
        rows.append({
            "device_sn": sn, "pin": r.pin, "local_time": r.time,
            "punched_at": store.utc(domain.read_terminal_time(r.time, zone_name)),
            "status": r.status, "verify": r.verify, "work_code": r.work_code[:24],
            "staff_id": holder.staff_id if holder else None, "received_at": received,
        })
    new = await store.insert_punches(uow.session, rows)
    for row in new:
        holder = staff.get(row["pin"])
        if holder is None:
            continue
        await uow.emit(PunchRecorded(
            staff_id=holder.staff_id, device_sn=sn, device_location=device.location, pin=row["pin"],
            local_time=row["local_time"], time_zone=zone_name,
            punched_at=domain.read_terminal_time(row["local_time"], zone_name),
            punch_kind=domain.punch_kind(row["status"]), status_code=row["status"],
            verify=domain.verify_method(row["verify"]), verify_code=row["verify"], work_code=row["work_code"],
        ), id=store.stable_id("punch", sn, row["pin"], row["local_time"].isoformat()))
    _touch(device, ip)
    if stamp:
        device.attlog_stamp = stamp[:32]
    uow.session.add(device)
    await uow.commit()
    m.punches.labels("new").inc(len(new))
    m.punches.labels("duplicate").inc(len(parsed.records) - len(new))
    unknown = {r["pin"] for r in new if r["staff_id"] is None}
    if unknown:
        log.warning("terminal %s: punches for PINs no staff member holds: %s", sn, ", ".join(sorted(unknown)))
    log.info("terminal %s: %d punches, %d new, %d lines refused", sn, len(parsed.records), len(new),
             len(parsed.errors))


async def record_operlog(uow: UnitOfWork, att: Attendance, sn: str, text: str, stamp: str | None,
                         ip: str | None) -> None:
    """OPLOG and USER records of an OPERLOG upload (fingerprint templates are not kept)."""
    parsed = iclock.parse_operlog(text)
    for err in parsed.errors:
        log.warning("terminal %s: OPERLOG line %d refused (%s)", sn, err.line_no, err.reason)
    if parsed.errors:
        att.metrics.lines_rejected.labels("operlog").inc(len(parsed.errors))
    now = clock.system_now()
    oplogs = []
    for rec in parsed.records:
        if isinstance(rec, iclock.OpLogRecord):
            oplogs.append({"device_sn": sn, "op": rec.op, "admin": rec.admin[:24], "local_time": rec.time,
                           "values": list(rec.values)})
        elif isinstance(rec, iclock.UserRecord):
            row = await uow.session.get(store.DeviceUser, (sn, rec.pin))
            if row is None:
                row = store.DeviceUser(device_sn=sn, pin=rec.pin, seen_at=now)
            row.name, row.privilege, row.seen_at = rec.name[:40], rec.privilege, now
            uow.session.add(row)
    await store.insert_oplogs(uow.session, oplogs)
    device = await _device(uow, sn)
    _touch(device, ip)
    if stamp:
        device.operlog_stamp = stamp[:32]
    uow.session.add(device)
    await uow.commit()


async def hand_out_commands(uow: UnitOfWork, att: Attendance, sn: str, ip: str | None,
                            info: str | None) -> tuple[list[store.CommandRow], str]:
    """A heartbeat: the commands due (queued, or handed out long ago without a result) and the
    terminal's charset to send them in."""
    settings = att.settings
    now = clock.system_now()
    device = await _device(uow, sn)
    _touch(device, ip)
    heartbeat = iclock.parse_info(info)
    if heartbeat:
        device.firmware = heartbeat.get("firmware", device.firmware)
        device.info = {**device.info, "heartbeat": heartbeat}
    uow.session.add(device)
    due = await store.due_commands(uow.session, device.sn, settings.attendance_commands_per_poll,
                                   now - timedelta(seconds=settings.attendance_command_resend_seconds))
    for cmd in due:
        cmd.status, cmd.sent_at = "sent", now
        uow.session.add(cmd)
    charset = device.charset
    await uow.commit()
    if due:
        log.info("terminal %s: handing out commands %s", sn, ", ".join(str(c.id) for c in due))
    return list(due), charset


async def record_command_results(uow: UnitOfWork, sn: str, ip: str | None, text: str) -> None:
    """``devicecmd``: the results of the commands a terminal ran."""
    parsed = iclock.parse_devicecmd(text)
    for err in parsed.errors:
        log.warning("terminal %s: devicecmd line %d refused (%s)", sn, err.line_no, err.reason)
    now = clock.system_now()
    device = await _device(uow, sn)
    _touch(device, ip)
    for res in parsed.records:
        cmd = await uow.session.get(store.CommandRow, res.cmd_id)
        if cmd is None or cmd.device_sn != sn:
            log.warning("terminal %s reported a result for command %s it was not given", sn, res.cmd_id)
            continue
        cmd.status = "succeeded" if res.ok else "failed"
        cmd.return_code, cmd.done_at = res.return_code, now
        cmd.result = {"cmd": res.cmd, **dict(res.details)}
        uow.session.add(cmd)
        if res.cmd == "INFO" and res.details:
            device.info = {**device.info, "info": dict(res.details)}
        if not res.ok:
            log.warning("terminal %s: command %s (%s) failed with %s (%s)", sn, res.cmd_id, cmd.label,
                        res.return_code, iclock.RETURN_LABELS.get(res.return_code, "error"))
    uow.session.add(device)
    await uow.commit()
