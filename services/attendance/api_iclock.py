"""The terminals' side: ZKTeco ADMS ("iclock") push endpoints.

Terminals cannot carry staff tokens: these routes are public, and a terminal is recognised by
its registered serial number (an unknown one is refused and logged). Answers are text/plain. A
failure to store answers an error status, so the terminal keeps its records and sends them
again; punches are stored once however often they come.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response

from contracts.attendance import PunchRecorded
from services.runtime import PUBLIC, ServiceDep
from services.runtime.app import Service

from . import domain, iclock, store
from .config import AttendanceSettings

log = logging.getLogger(__name__)

router = APIRouter(prefix="/iclock", tags=["terminals (ZKTeco push)"])


def _answer(service: Service, text: str, status: int = 200, charset: str = "utf-8") -> Response:
    settings: AttendanceSettings = service.settings  # type: ignore[assignment]
    headers = {}
    if settings.attendance_iclock_date_header:
        # Terminals set their clocks from it: IMF-fixdate, GMT.
        headers["Date"] = format_datetime(datetime.now(UTC), usegmt=True)
    return Response(text.encode(charset, errors="replace"), status_code=status,
                    media_type=f"text/plain; charset={charset}", headers=headers)


def _client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def _known_device(service: Service, request: Request) -> store.Device | Response:
    """The registered, active device named by ``SN``, or the refusal to send back."""
    sn = (request.query_params.get("SN") or request.query_params.get("sn") or "").strip()
    if not sn:
        return _answer(service, "SN required", 400)
    try:
        async with service.uow() as uow:
            device = await uow.session.get(store.Device, sn)
            if device is not None and device.active:
                return device
            now = datetime.now(UTC)
            seen = await uow.session.get(store.UnknownDevice, sn)
            if seen is None:
                seen = store.UnknownDevice(sn=sn, first_seen_at=now, last_seen_at=now)
            seen.last_seen_at, seen.last_ip, seen.attempts = now, _client_ip(request), seen.attempts + 1
            uow.session.add(seen)
            await uow.commit()
    except Exception:  # noqa: BLE001 - the database is down: the terminal tries again later
        log.exception("terminal lookup failed", extra={"sn": sn})
        return _answer(service, "ERROR", 503)
    service.attendance_metrics.unknown_device.inc()  # type: ignore[attr-defined]
    log.warning("refused terminal with unknown serial number %s from %s (%s)", sn, _client_ip(request),
                "inactive" if device is not None else "not registered")
    return _answer(service, "UNKNOWN DEVICE", 403)


def _touch(device: store.Device, request: Request) -> None:
    device.last_seen_at = datetime.now(UTC)
    device.last_ip = _client_ip(request)


@router.get("/cdata", summary="Handshake (options=all) and heartbeat", **PUBLIC)
async def cdata_get(request: Request, service: ServiceDep) -> Response:
    found = await _known_device(service, request)
    if isinstance(found, Response):
        return found
    params = request.query_params
    settings: AttendanceSettings = service.settings  # type: ignore[assignment]
    try:
        async with service.uow() as uow:
            device = await uow.session.get(store.Device, found.sn)
            assert device is not None
            _touch(device, request)
            if params.get("pushver"):
                device.pushver = params["pushver"]
            uow.session.add(device)
            await uow.commit()
    except Exception:  # noqa: BLE001
        log.exception("handshake bookkeeping failed", extra={"sn": found.sn})
        return _answer(service, "ERROR", 503)
    if params.get("options", "").lower() != "all":
        return _answer(service, iclock.OK)
    zone = ZoneInfo(device.time_zone or domain.DEFAULT_ZONE)
    offset = datetime.now(zone).utcoffset() or timedelta(0)
    text = iclock.format_options(
        device.sn, utc_offset=offset, attlog_stamp=device.attlog_stamp, operlog_stamp=device.operlog_stamp,
        attphoto_stamp=device.attphoto_stamp, options=settings.push_options(), pushver=device.pushver,
    )
    log.info("terminal %s handshake (push %s)", device.sn, device.pushver or "1.x")
    return _answer(service, text)


@router.get("/ping", summary="Keep-alive of some firmware", **PUBLIC)
async def ping(request: Request, service: ServiceDep) -> Response:
    found = await _known_device(service, request)
    return found if isinstance(found, Response) else _answer(service, iclock.OK)


@router.post("/cdata", summary="Uploads: ATTLOG punches, OPERLOG records, other tables", **PUBLIC)
async def cdata_post(request: Request, service: ServiceDep) -> Response:
    found = await _known_device(service, request)
    if isinstance(found, Response):
        return found
    settings: AttendanceSettings = service.settings  # type: ignore[assignment]
    raw = await request.body()
    if len(raw) > settings.attendance_max_upload_bytes:
        return _answer(service, "TOO LARGE", 413)
    text = iclock.decode_body(raw)
    table = (request.query_params.get("table") or "").upper()
    try:
        if table == "ATTLOG":
            return await _attlog(service, request, found.sn, text)
        if table == "OPERLOG":
            return await _operlog(service, request, found.sn, text)
    except Exception:  # noqa: BLE001 - nothing stored: the terminal keeps the records and resends
        log.exception("storing %s from %s failed", table, found.sn)
        service.attendance_metrics.upload_failed.labels(table.lower()).inc()  # type: ignore[attr-defined]
        return _answer(service, "ERROR", 503)
    log.debug("terminal %s sent table %s (%d bytes): accepted, not kept", found.sn, table, len(raw))
    return _answer(service, iclock.OK)


async def _attlog(service: Service, request: Request, sn: str, text: str) -> Response:
    m = service.attendance_metrics  # type: ignore[attr-defined]
    parsed = iclock.parse_attlog(text)
    for err in parsed.errors:
        log.warning("terminal %s: ATTLOG line %d refused (%s): %r", sn, err.line_no, err.reason, err.line[:200])
    if parsed.errors:
        m.lines_rejected.labels("attlog").inc(len(parsed.errors))
    now = datetime.now(UTC)
    async with service.uow() as uow:
        device = await uow.session.get(store.Device, sn)
        assert device is not None
        zone_name = device.time_zone or domain.DEFAULT_ZONE
        staff = await store.staff_by_pin(uow.session, (r.pin for r in parsed.records))
        rows = []
        seen: set[tuple[str, datetime]] = set()
        now_local = now.astimezone(ZoneInfo(zone_name)).replace(tzinfo=None)
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
                "staff_id": holder.staff_id if holder else None, "received_at": now,
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
        _touch(device, request)
        stamp = request.query_params.get("Stamp")
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
    return _answer(service, iclock.OK)


async def _operlog(service: Service, request: Request, sn: str, text: str) -> Response:
    parsed = iclock.parse_operlog(text)
    for err in parsed.errors:
        log.warning("terminal %s: OPERLOG line %d refused (%s)", sn, err.line_no, err.reason)
    if parsed.errors:
        service.attendance_metrics.lines_rejected.labels("operlog").inc(len(parsed.errors))  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    async with service.uow() as uow:
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
        device = await uow.session.get(store.Device, sn)
        assert device is not None
        _touch(device, request)
        stamp = request.query_params.get("OpStamp")
        if stamp:
            device.operlog_stamp = stamp[:32]
        uow.session.add(device)
        await uow.commit()
    return _answer(service, iclock.OK)


@router.get("/getrequest", summary="Heartbeat: hand out queued commands", **PUBLIC)
async def getrequest(request: Request, service: ServiceDep) -> Response:
    found = await _known_device(service, request)
    if isinstance(found, Response):
        return found
    settings: AttendanceSettings = service.settings  # type: ignore[assignment]
    now = datetime.now(UTC)
    try:
        async with service.uow() as uow:
            device = await uow.session.get(store.Device, found.sn)
            assert device is not None
            _touch(device, request)
            info = iclock.parse_info(request.query_params.get("INFO"))
            if info:
                device.firmware = info.get("firmware", device.firmware)
                device.info = {**device.info, "heartbeat": info}
            uow.session.add(device)
            due = await store.due_commands(uow.session, device.sn, settings.attendance_commands_per_poll,
                                           now - timedelta(seconds=settings.attendance_command_resend_seconds))
            for cmd in due:
                cmd.status, cmd.sent_at = "sent", now
                uow.session.add(cmd)
            charset = device.charset
            await uow.commit()
    except Exception:  # noqa: BLE001
        log.exception("command poll of %s failed", found.sn)
        return _answer(service, "ERROR", 503)
    if due:
        log.info("terminal %s: handing out commands %s", found.sn, ", ".join(str(c.id) for c in due))
    return _answer(service, iclock.format_commands((c.id, c.text) for c in due), charset=charset)  # type: ignore[misc]


@router.post("/devicecmd", summary="Results of the commands a terminal ran", **PUBLIC)
async def devicecmd(request: Request, service: ServiceDep) -> Response:
    found = await _known_device(service, request)
    if isinstance(found, Response):
        return found
    parsed = iclock.parse_devicecmd(iclock.decode_body(await request.body()))
    for err in parsed.errors:
        log.warning("terminal %s: devicecmd line %d refused (%s)", found.sn, err.line_no, err.reason)
    now = datetime.now(UTC)
    try:
        async with service.uow() as uow:
            device = await uow.session.get(store.Device, found.sn)
            assert device is not None
            _touch(device, request)
            for res in parsed.records:
                cmd = await uow.session.get(store.CommandRow, res.cmd_id)
                if cmd is None or cmd.device_sn != found.sn:
                    log.warning("terminal %s reported a result for command %s it was not given", found.sn, res.cmd_id)
                    continue
                cmd.status = "succeeded" if res.ok else "failed"
                cmd.return_code, cmd.done_at = res.return_code, now
                cmd.result = {"cmd": res.cmd, **dict(res.details)}
                uow.session.add(cmd)
                if res.cmd == "INFO" and res.details:
                    device.info = {**device.info, "info": dict(res.details)}
                if not res.ok:
                    log.warning("terminal %s: command %s (%s) failed with %s (%s)", found.sn, res.cmd_id, cmd.label,
                                res.return_code, iclock.RETURN_LABELS.get(res.return_code, "error"))
            uow.session.add(device)
            await uow.commit()
    except Exception:  # noqa: BLE001
        log.exception("recording command results of %s failed", found.sn)
        return _answer(service, "ERROR", 503)
    return _answer(service, iclock.OK)
