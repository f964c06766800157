"""The terminals' side: ZKTeco ADMS ("iclock") push endpoints.

Terminals cannot carry staff tokens: these routes are public, and a terminal is recognised by
its registered serial number (an unknown one is refused and logged). Answers are text/plain. A
failure to store answers an error status, so the terminal keeps its records and sends them
again; punches are stored once however often they come (:mod:`..usecases.terminals`). The protocol's
codec is :mod:`..domain.iclock`.
"""

from __future__ import annotations

import logging
from email.utils import format_datetime

from fastapi import APIRouter, Request, Response

from services.runtime import PUBLIC, ServiceDep, clock
from services.runtime.app import Service

from .. import store
from ..domain import iclock
from ..usecases.shared import attendance
from ..usecases import terminals

log = logging.getLogger(__name__)

router = APIRouter(prefix="/iclock", tags=["terminals (ZKTeco push)"])


def _answer(service: Service, text: str, status: int = 200, charset: str = "utf-8") -> Response:
    headers = {}
    if attendance(service).settings.attendance_iclock_date_header:
        # Terminals set their clocks from it: IMF-fixdate, GMT (the server's wall clock, as uvicorn's).
        headers["Date"] = format_datetime(clock.system_now(), usegmt=True)
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
            device, why = await terminals.terminal_lookup(uow, sn, _client_ip(request))
    except Exception:  # noqa: BLE001 - the database is down: the terminal tries again later
        log.exception("terminal lookup failed", extra={"sn": sn})
        return _answer(service, "ERROR", 503)
    if device is not None:
        return device
    attendance(service).metrics.unknown_device.inc()
    log.warning("refused terminal with unknown serial number %s from %s (%s)", sn, _client_ip(request), why)
    return _answer(service, "UNKNOWN DEVICE", 403)


@router.get("/cdata", summary="Handshake (options=all) and heartbeat", **PUBLIC)
async def cdata_get(request: Request, service: ServiceDep) -> Response:
    found = await _known_device(service, request)
    if isinstance(found, Response):
        return found
    params = request.query_params
    try:
        async with service.uow() as uow:
            text = await terminals.handshake(uow, attendance(service), found.sn, _client_ip(request),
                                            params.get("pushver"), params.get("options", "").lower() == "all")
    except Exception:  # noqa: BLE001
        log.exception("handshake bookkeeping failed", extra={"sn": found.sn})
        return _answer(service, "ERROR", 503)
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
    att = attendance(service)
    raw = await request.body()
    if len(raw) > att.settings.attendance_max_upload_bytes:
        return _answer(service, "TOO LARGE", 413)
    text = iclock.decode_body(raw)
    table = (request.query_params.get("table") or "").upper()
    ip = _client_ip(request)
    try:
        if table == "ATTLOG":
            async with service.uow() as uow:
                await terminals.record_attlog(uow, att, found.sn, text, request.query_params.get("Stamp"), ip)
            return _answer(service, iclock.OK)
        if table == "OPERLOG":
            async with service.uow() as uow:
                await terminals.record_operlog(uow, att, found.sn, text, request.query_params.get("OpStamp"), ip)
            return _answer(service, iclock.OK)
    except Exception:  # noqa: BLE001 - nothing stored: the terminal keeps the records and resends
        log.exception("storing %s from %s failed", table, found.sn)
        att.metrics.upload_failed.labels(table.lower()).inc()
        return _answer(service, "ERROR", 503)
    log.debug("terminal %s sent table %s (%d bytes): accepted, not kept", found.sn, table, len(raw))
    return _answer(service, iclock.OK)


@router.get("/getrequest", summary="Heartbeat: hand out queued commands", **PUBLIC)
async def getrequest(request: Request, service: ServiceDep) -> Response:
    found = await _known_device(service, request)
    if isinstance(found, Response):
        return found
    try:
        async with service.uow() as uow:
            due, charset = await terminals.hand_out_commands(uow, attendance(service), found.sn,
                                                            _client_ip(request), request.query_params.get("INFO"))
    except Exception:  # noqa: BLE001
        log.exception("command poll of %s failed", found.sn)
        return _answer(service, "ERROR", 503)
    return _answer(service, iclock.format_commands((c.id, c.text) for c in due), charset=charset)  # type: ignore[misc]


@router.post("/devicecmd", summary="Results of the commands a terminal ran", **PUBLIC)
async def devicecmd(request: Request, service: ServiceDep) -> Response:
    found = await _known_device(service, request)
    if isinstance(found, Response):
        return found
    text = iclock.decode_body(await request.body())
    try:
        async with service.uow() as uow:
            await terminals.record_command_results(uow, found.sn, _client_ip(request), text)
    except Exception:  # noqa: BLE001
        log.exception("recording command results of %s failed", found.sn)
        return _answer(service, "ERROR", 503)
    return _answer(service, iclock.OK)
