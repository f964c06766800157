"""Management pages: No. 2 seals, certificates, revocation, CRL, usage log (印章). Same rules as every console page: the services' HTTP APIs with the
signed-in person's token; the services decide who may see and do what.

Everything is the seal service's: the seals and their pictures and certificates, issuing a unit's
No. 2 seal and revoking one (center admin; the seal service reissues the CRL in the same
transaction), the current CRL (read here with ``cryptography``, the same library seal signs it
with), and the usage log with its hash chain and signed checkpoints checked by seal on request."""

from __future__ import annotations

import asyncio
import re
from datetime import date
from typing import Any
from urllib.parse import quote

from cryptography import x509
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from contracts.common import Role
from contracts.seal import REFUSAL_TEXT, REVOCATION_TEXT, RefusalCode, RevocationReason

from ... import domain, labels
from ...clients import BackendProblem, optional
from ...store import SessionRow
from ...web import check_csrf, console, redirect, render, require_role, staff, submit

router = APIRouter(prefix="/manage/seals", tags=["console: management"])

SEAL_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: Usage-log entries shown (the newest); the chain check covers them all.
LOG_ENTRIES = 50
ACTIONS = {"sealed": "盖章", "refused": "拒绝用印", "issued": "发放印章", "revoked": "注销印章", "old_registered": "登记原印章"}
KINDS = {"approval": "行政审批专用章（二号章）", "old": "原单位印章"}
REASONS = {r.value: REVOCATION_TEXT[r] for r in RevocationReason}
#: The CRL's reason codes (RFC 5280) in the seal service's words (contracts.seal.RevocationReason).
CRL_REASONS = {"key_compromise": "印章遗失", "affiliation_changed": "单位更名", "privilege_withdrawn": "违规使用",
               "superseded": "换发新章", "cessation_of_operation": "单位撤销", "unspecified": "未说明"}
ISSUE_FIELDS = ("unit_code", "start_date", "seal_name", "seal_no")
REVOKE_FIELDS = ("reason", "note")
DONE = {"issued": "已发放二号章，证书已签发。", "revoked": "印章已注销，吊销列表已更新；此后该章的用印申请一律拒绝。"}


def _viewer(user: SessionRow) -> None:
    require_role(user, Role.SUPERVISOR, Role.CENTER_ADMIN)


def _seal_id(seal_id: str) -> str:
    if not SEAL_ID_RE.fullmatch(seal_id):
        raise BackendProblem("seal", 404, {"detail": "没有这枚印章"})
    return seal_id


def _doc_label(value: str | None) -> str:
    return labels.DOCUMENTS.get(value or "", value or "—")


def entry_text(e: dict[str, Any]) -> str:
    """What a usage-log entry says, in words."""
    d = e.get("detail") or {}
    if e["action"] == "refused":
        code = d.get("reason_code")
        why = REFUSAL_TEXT.get(RefusalCode(code), code) if code in RefusalCode._value2member_map_ else code
        return f"{_doc_label(d.get('document_type'))}：{why or '已拒绝'}"
    if e["action"] == "sealed":
        return f"{_doc_label(d.get('document_type'))} {e.get('document_no') or ''}".strip()
    if e["action"] == "revoked":
        return f"原因：{REASONS.get(d.get('reason'), d.get('reason') or '—')}；吊销列表第{d.get('crl_number', '—')}号"
    if e["action"] in ("issued", "old_registered"):
        serial = str(d.get("cert_serial") or "—")
        return f"证书序列号 {serial[:16]}{'…' if len(serial) > 16 else ''}"
    return ""


def read_crl(pem: bytes) -> dict[str, Any]:
    """The CRL's number, dates and revoked serials (hex, as the seals list them)."""
    crl = x509.load_pem_x509_crl(pem)
    try:
        number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound:
        number = None
    entries = []
    for r in crl:
        try:
            reason = r.extensions.get_extension_for_class(x509.CRLReason).value.reason.name
        except x509.ExtensionNotFound:
            reason = "unspecified"
        entries.append({"serial": format(r.serial_number, "x"), "revoked_at": r.revocation_date_utc,
                        "reason": CRL_REASONS.get(reason, reason)})
    return {"number": number, "this_update": crl.last_update_utc, "next_update": crl.next_update_utc,
            "issuer": crl.issuer.rfc4514_string(), "entries": entries}


def _same_serial(a: str | None, b: str | None) -> bool:
    return bool(a and b) and a.lower().lstrip("0") == b.lower().lstrip("0")


async def _page(request: Request, user: SessionRow, *, status: int = 200, values: dict[str, str] | None = None,
                errors: domain.FormErrors | None = None) -> Response:
    b = console(request).backends
    within = console(request).settings.console_part_seconds
    seals, (units, units_problem), (crl_pem, crl_problem), (chain, chain_problem), (anchor, anchor_problem) = \
        await asyncio.gather(
            b.get("seal", "/seal/seals", token=user.token),
            optional(b.get("intake", "/intake/catalog/units", token=user.token), within=within, service="intake"),
            optional(_text(request, "/seal/crl.pem"), within=within, service="seal"),
            optional(b.get("seal", "/seal/log/verify", token=user.token), within=within, service="seal"),
            optional(b.get("seal", "/seal/log/checkpoints/verify", token=user.token), within=within, service="seal"),
        )
    entries: list[dict[str, Any]] = []
    log_problem = chain_problem
    if chain is not None:
        # The log is read in order; the newest LOG_ENTRIES are those after (count - LOG_ENTRIES).
        total = chain["entries"] if chain["ok"] else (chain.get("first_broken") or 1) + LOG_ENTRIES
        got, log_problem = await optional(b.get("seal", "/seal/log", token=user.token, params={
            "after": max(0, total - LOG_ENTRIES), "limit": LOG_ENTRIES}), within=within, service="seal")
        entries = list(reversed(got or []))
    crl = None
    if crl_pem is not None:
        try:
            crl = read_crl(crl_pem.encode())
        except ValueError:
            crl_problem = "吊销列表无法读取"
    by_serial = {s["cert_serial"]: s for s in seals}
    if crl:
        for e in crl["entries"]:
            e["seal"] = next((s for k, s in by_serial.items() if _same_serial(k, e["serial"])), None)
    names = {s["seal_id"]: f"{s['unit_name']} {s['seal_name']}" for s in seals}
    unit_names = {u["code"]: u["name"] for u in units or []}
    return render(
        request, "manage/seals.html", status_code=status, title="电子印章",
        seals=sorted(seals, key=lambda s: (s["unit_code"], s["kind"] != "approval", s["start_date"])),
        kinds=KINDS, reasons=REASONS, crl=crl, crl_problem=crl_problem, chain=chain, anchor=anchor,
        chain_problem=chain_problem, anchor_problem=anchor_problem, entries=entries, log_problem=log_problem,
        actions=ACTIONS, entry_text=entry_text, names=names, can_issue=Role(user.role) is Role.CENTER_ADMIN,
        units={"": "请选择单位", **{c: f"{n}（{c}）" for c, n in unit_names.items()}}, units_problem=units_problem,
        values=values or {"start_date": domain.local_today().isoformat(), "seal_name": "行政审批专用章", "seal_no": "2"},
        errors=errors or domain.FormErrors(), done=DONE.get(request.query_params.get("done", "")),
    )


async def _text(request: Request, path: str) -> str:
    return (await console(request).backends.request("seal", "GET", path)).text


@router.get("", summary="Seals: each unit's No. 2 seal, the CRL, the usage log with its chain checked")
async def seals_page(request: Request, user: SessionRow = Depends(staff)) -> Response:
    _viewer(user)
    return await _page(request, user)


@router.post("", summary="Issue a unit's No. 2 seal (center admin; the seal service refuses a second one)")
async def issue(request: Request, user: SessionRow = Depends(staff)) -> Response:
    require_role(user, Role.CENTER_ADMIN)
    form = await request.form()
    await check_csrf(request, form)
    values = {k: str(form.get(k) or "").strip() for k in ISSUE_FIELDS}
    errors = domain.FormErrors()
    b = console(request).backends
    units = {u["code"]: u["name"] for u in await b.get("intake", "/intake/catalog/units", token=user.token)}
    if values["unit_code"] not in units:
        errors.add("unit_code", "请选择发放印章的单位")
    try:
        date.fromisoformat(values["start_date"])
    except ValueError:
        errors.add("start_date", "启用日期应为 年-月-日，如 2026-12-07")
    if not errors:
        _, errors = await submit(b.post("seal", "/seal/seals", token=user.token, json={
            "unit_code": values["unit_code"], "unit_name": units[values["unit_code"]],
            "start_date": values["start_date"], "seal_name": values["seal_name"] or "行政审批专用章",
            "seal_no": values["seal_no"] or "2"}), ISSUE_FIELDS, {"unit_name": "unit_code"})
        if not errors:
            return redirect("/manage/seals?done=issued")
    return await _page(request, user, status=422, values=values, errors=errors)


@router.get("/crl.pem", summary="The current CRL (PEM), as the seal service publishes it")
async def crl_download(request: Request, user: SessionRow = Depends(staff)) -> Response:
    _viewer(user)
    pem = await _text(request, "/seal/crl.pem")
    return Response(pem, media_type="application/x-pem-file",
                    headers={"Content-Disposition": 'attachment; filename="county-seal.crl.pem"'})


async def _seal_page(request: Request, user: SessionRow, seal_id: str, *, status: int = 200,
                     values: dict[str, str] | None = None, errors: domain.FormErrors | None = None) -> Response:
    b = console(request).backends
    seal = await b.get("seal", f"/seal/seals/{quote(seal_id, safe='')}", token=user.token)
    cert_pem, cert_problem = await optional(_text(request, f"/seal/seals/{quote(seal_id, safe='')}/cert.pem"),
                                            service="seal")
    cert = None
    try:
        c = x509.load_pem_x509_certificate(cert_pem.encode()) if cert_pem else None
    except ValueError:
        c, cert_problem = None, "证书无法读取"
    if c is not None:
        cert = {"subject": c.subject.rfc4514_string(), "issuer": c.issuer.rfc4514_string(),
                "not_before": c.not_valid_before_utc, "not_after": c.not_valid_after_utc,
                "algorithm": c.signature_hash_algorithm.name if c.signature_hash_algorithm else "—"}
    return render(request, "manage/seals_seal.html", status_code=status, title=f"印章 {seal['unit_name']}",
                  seal=seal, kinds=KINDS, cert=cert, cert_problem=cert_problem, reasons=REASONS,
                  can_revoke=Role(user.role) is Role.CENTER_ADMIN and not seal.get("revoked_at"),
                  values=values or {"reason": "lost", "note": ""}, errors=errors or domain.FormErrors(),
                  done=DONE.get(request.query_params.get("done", "")))


@router.get("/{seal_id}", summary="A seal: its picture, certificate, cut-over date; the revoke form")
async def seal_page(seal_id: str, request: Request, user: SessionRow = Depends(staff)) -> Response:
    _viewer(user)
    return await _seal_page(request, user, _seal_id(seal_id))


@router.get("/{seal_id}/image.svg", summary="The seal's picture (SVG), from the seal service")
async def seal_image(seal_id: str, request: Request, user: SessionRow = Depends(staff)) -> Response:
    _viewer(user)
    r = await console(request).backends.request("seal", "GET", f"/seal/seals/{quote(_seal_id(seal_id), safe='')}/image.svg",
                                                token=user.token)
    return Response(r.content, media_type="image/svg+xml", headers={"Cache-Control": "private, max-age=300"})


@router.get("/{seal_id}/cert.pem", summary="The seal's certificate (PEM)")
async def seal_cert(seal_id: str, request: Request, user: SessionRow = Depends(staff)) -> Response:
    _viewer(user)
    pem = await _text(request, f"/seal/seals/{quote(_seal_id(seal_id), safe='')}/cert.pem")
    return Response(pem, media_type="application/x-pem-file",
                    headers={"Content-Disposition": f'attachment; filename="{seal_id}.pem"'})


@router.post("/{seal_id}/revoke", summary="Revoke a seal with the reason (center admin); the CRL is reissued")
async def revoke(seal_id: str, request: Request, user: SessionRow = Depends(staff)) -> Response:
    require_role(user, Role.CENTER_ADMIN)
    seal_id = _seal_id(seal_id)
    form = await request.form()
    await check_csrf(request, form)
    values = {k: str(form.get(k) or "").strip() for k in REVOKE_FIELDS}
    errors = domain.FormErrors()
    if values["reason"] not in REASONS:
        errors.add("reason", "请选择注销原因")
    if not errors:
        _, errors = await submit(console(request).backends.post(
            "seal", f"/seal/seals/{quote(seal_id, safe='')}/revoke", token=user.token,
            json={"reason": values["reason"], "note": values["note"] or None}), REVOKE_FIELDS, passthrough=(401, 403, 404))
        if not errors:
            return redirect(f"/manage/seals/{seal_id}?done=revoked")
    return await _seal_page(request, user, seal_id, status=422, values=values, errors=errors)
