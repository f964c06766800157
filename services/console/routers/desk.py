"""The window clerk's desk (窗口): today's cases of the unit with their cards, the new
application driven by the item's current version, the case page with its timeline, notices and
SMS, every step of the six kinds, the one-time notice for print, consultations, search.

Every call carries the signed-in person's token: intake, deadline and notify decide what this
person may see and do; the console only shows it."""

from __future__ import annotations

import asyncio
import re
from typing import Any, Mapping
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from contracts.common import Role

from .. import domain, labels
from ..clients import BackendProblem, optional
from ..store import SessionRow
from ..web import check_csrf, console, redirect, render, require_role, staff, submit

router = APIRouter(prefix="/desk", tags=["console: window desk"])

Staff = Depends(staff)

#: A receipt number: <year>-<unit>-<a sequence or 8 unguessable characters> (intake decides).
RECEIPT_RE = re.compile(r"^\d{4}-[A-Z][A-Z0-9]{1,11}-[0-9A-Z]{5,12}$")
ITEM_RE = re.compile(r"^[A-Z][A-Z0-9]{1,11}-\d{2,}$")
PAGE = 20
#: How many of the latest cases the desk's "today" and "open" views and the text search read.
RECENT = 100

DONE = {
    "received": "已收件。",
    "accepted": "已受理，受理通知书正在盖章并将以短信送达申请人。",
    "supplement": "已一次性告知需补正的材料，补正材料通知书正在盖章并将以短信送达。",
    "supplied": "已接收补正材料。",
    "not_accepted": "已作不予受理处理，不予受理通知书正在盖章并送达。",
    "forwarded": "已上报上级机关。",
    "answered": "已录入上级机关答复。",
    "joint": "已提交本单位联办意见。",
    "decided": "已作出决定，决定书正在盖章并将以短信送达申请人。",
    "consulted": "咨询已登记。",
}


def _unit_staff(user: SessionRow) -> None:
    require_role(user, Role.CLERK, Role.UNIT_HEAD)


# ------------------------------------------------------------------------------------ helpers


async def _clocks(request: Request, user: SessionRow) -> tuple[dict[str, dict[str, Any]], str | None]:
    """Running clocks of the person's unit (all units for oversight), by receipt number: the
    cards need no others (a stopped clock stands still, an ended one is on time or not)."""
    b = console(request).backends
    running, failed = await optional(
        b.get("deadline", "/deadline/clocks", token=user.token, params={"state": "running", "limit": 1000}),
        within=console(request).settings.console_part_seconds, service="deadline")
    return {c["receipt_no"]: c for c in running or []}, failed


def _decorate(cases: list[dict[str, Any]], clocks: Mapping[str, Mapping[str, Any]], yellow: int) -> list[dict[str, Any]]:
    out = []
    for c in cases:
        clock = clocks.get(c["receipt_no"])
        out.append({**c, "card": domain.card_for(clock, yellow), "clock": clock,
                    "final": c.get("status") in labels.FINAL})
    return out


def _is_today(value: Any, today: Any) -> bool:
    inst = domain.parse_instant(value)
    return inst is not None and inst.astimezone(domain.CENTER_TZ).date() == today


# ------------------------------------------------------------------------------------ the desk


@router.get("", summary="Today's cases of my unit, with yellow and red cards")
async def desk(request: Request, user: SessionRow = Staff, view: str = "today", page: int = 1) -> Response:
    c = console(request)
    b = c.backends
    view = view if view in ("today", "open", "all") else "today"
    page = max(1, min(page, 500))
    today = domain.local_today()
    period = f"{today:%Y-%m}"
    if view == "all":
        params: dict[str, Any] = {"limit": PAGE + 1, "offset": (page - 1) * PAGE}
    elif view == "open":
        params = {"limit": RECENT}
    else:  # today: this month's, newest first, cut at the first of an earlier day
        params = {"period": period, "limit": RECENT}
    cases, (clocks, clock_problem), tasks = await asyncio.gather(
        # masked: the list shows surnames only, so intake reads (and logs) nobody's full data
        b.get("intake", "/intake/applications", token=user.token, params={**params, "masked": "true"}),
        _clocks(request, user),
        optional(b.get("intake", "/intake/joint-tasks", token=user.token),
                 within=c.settings.console_part_seconds, service="intake") if user.unit_code else _none(),
    )
    if view == "today":
        rows, more = [x for x in cases if _is_today(x["received_at"], today)], False
    elif view == "open":
        rows, more = [x for x in cases if x["status"] not in labels.FINAL], False
    else:
        rows, more = cases[:PAGE], len(cases) > PAGE
    yellow = c.settings.console_yellow_card_days
    decorated = _decorate(rows, clocks, yellow)
    cards = [domain.card_for(k, yellow) for k in clocks.values()]
    figures = {
        "today": len(rows) if view == "today" else None,
        "open": len(rows) if view == "open" else None,
        "yellow": sum(1 for k in cards if k.colour == "yellow"),
        "red": sum(1 for k in cards if k.colour == "red"),
        "tasks": len(tasks[0] or []) if tasks and tasks[0] is not None else None,
    }
    return render(request, "desk/index.html", title="窗口工作台", rows=decorated, view=view, page=page, more=more,
                  figures=figures, clock_problem=clock_problem, today=today, statuses=labels.STATUS,
                  kinds=labels.CASE_KINDS, done=DONE.get(request.query_params.get("done", "")))


async def _none() -> tuple[None, None]:
    return None, None


# ------------------------------------------------------------------------------------ new application

APPLICATION_FIELDS = ("item_code", "applicant.type", "applicant.name", "applicant.mobile", "applicant.resident_id",
                      "applicant.company_name", "applicant.credit_code", "materials", "conditional_materials", "channel")
APPLICATION_ALIASES = {"conditional": "conditional_materials", "applicant": "applicant.name"}


@router.get("/new", summary="New application: choose the item, then the form driven by its current version")
async def new_application(request: Request, user: SessionRow = Staff, item: str = "") -> Response:
    _unit_staff(user)
    b = console(request).backends
    items = await b.get("intake", "/intake/guide/items", params={"unit": user.unit_code})
    code = item.strip().upper()
    if not code:
        return render(request, "desk/choose_item.html", title="新申请：选择事项", items=items)
    guide = await b.get("intake", f"/intake/guide/items/{quote(code, safe='')}")
    return render(request, "desk/new.html", title=f"新申请：{guide['name']}", item=guide, values={"applicant.type": "person",
                  "channel": "window", "materials": [], "conditional_materials": []}, errors=domain.FormErrors(),
                  channels=labels.CHANNELS)


@router.post("/new", summary="File the application (complete: accepted at once; incomplete: one-time notice)")
async def file_application(request: Request, user: SessionRow = Staff) -> Response:
    _unit_staff(user)
    form = await request.form()
    await check_csrf(request, form)
    b = console(request).backends
    values: dict[str, Any] = {k: str(form.get(k) or "").strip() for k in APPLICATION_FIELDS if k not in
                              ("materials", "conditional_materials")}
    values["materials"] = [str(v) for v in form.getlist("materials")]
    values["conditional_materials"] = [str(v) for v in form.getlist("conditional_materials")]
    code = values["item_code"].upper()
    guide = await b.get("intake", f"/intake/guide/items/{quote(code, safe='')}") if code else None
    if guide is None:
        return redirect("/desk/new")
    errors = domain.FormErrors()
    person = values["applicant.type"] != "company"
    if not values["applicant.name"]:
        errors.add("applicant.name", "请填写申请人姓名" if person else "请填写经办人姓名")
    if not values["applicant.mobile"]:
        errors.add("applicant.mobile", "请填写手机号码（用于短信告知）")
    elif len(re.sub(r"\D", "", values["applicant.mobile"])) not in (11, 13):
        errors.add("applicant.mobile", "手机号码应为11位数字")
    if person and not values["applicant.resident_id"]:
        errors.add("applicant.resident_id", "个人申请请填写居民身份证号码")
    if not person and not values["applicant.company_name"]:
        errors.add("applicant.company_name", "请填写单位（企业）名称")
    if not person and not values["applicant.credit_code"]:
        errors.add("applicant.credit_code", "单位申请请填写统一社会信用代码")
    if not errors:
        body = {
            "item_code": code,
            "applicant": {
                "type": "person" if person else "company", "name": values["applicant.name"],
                "mobile": values["applicant.mobile"],
                "resident_id": values["applicant.resident_id"] or None if person else None,
                "company_name": None if person else values["applicant.company_name"],
                "credit_code": None if person else values["applicant.credit_code"],
            },
            "materials": values["materials"], "conditional_materials": values["conditional_materials"],
            "channel": values["channel"] or "window", "accept_if_complete": True,
        }
        case, errors = await submit(b.post("intake", "/intake/applications", token=user.token, json=body),
                                    APPLICATION_FIELDS, APPLICATION_ALIASES)
        if not errors:
            no = case["receipt_no"]
            if case["status"] == "awaiting_supplement":
                return redirect(f"/desk/cases/{no}/notice?new=1")
            return redirect(f"/desk/cases/{no}?done={'accepted' if case['status'] != 'received' else 'received'}")
    return render(request, "desk/new.html", status_code=422, title=f"新申请：{guide['name']}", item=guide,
                  values=values, errors=errors, channels=labels.CHANNELS)


# ------------------------------------------------------------------------------------ the case page


async def _case_context(request: Request, user: SessionRow, receipt_no: str) -> dict[str, Any]:
    b = console(request).backends
    no = receipt_no.strip().upper()
    if not RECEIPT_RE.fullmatch(no):
        raise BackendProblem("intake", 404, {"detail": f"没有受理编号为 {receipt_no[:40]} 的案件"})
    within = console(request).settings.console_part_seconds
    # All four at once (each service checks this person's access itself); intake's answer decides
    # whether there is a page at all.
    case, (clock, clock_problem), (notices, notice_problem), (messages, sms_problem) = await asyncio.gather(
        b.get("intake", f"/intake/applications/{no}", token=user.token),
        optional(b.get("deadline", f"/deadline/clocks/{no}", token=user.token), within=within, service="deadline"),
        optional(b.get("notify", "/notify/notices", token=user.token, params={"receipt_no": no}), within=within,
                 service="notify"),
        optional(b.get("notify", "/notify/messages", token=user.token, params={"receipt_no": no}), within=within,
                 service="notify"),
    )
    if clock is None and clock_problem and "没有受理编号" in clock_problem:
        clock_problem = None  # not accepted yet: no clock, nothing is wrong
    if notices is None and notice_problem and "没有这个受理编号" in notice_problem:
        notice_problem = None  # notify has not heard of it yet
    if messages is None and sms_problem and "没有这个受理编号" in sms_problem:
        sms_problem = None
    mine = case.get("unit_code") == user.unit_code
    my_task = next((t for t in case.get("joint_tasks", []) if t.get("unit_code") == user.unit_code), None)
    materials = case.get("item", {}).get("content", {}).get("materials", [])
    submitted = set(case.get("submitted") or [])
    outstanding = {m["code"]: m for m in case.get("outstanding") or []}
    return {
        "case": case, "clock": clock, "clock_problem": clock_problem,
        "card": domain.card_for(clock, console(request).settings.console_yellow_card_days),
        "notices": (notices or {}).get("items", []), "notice_problem": notice_problem,
        "messages": (messages or {}).get("items", []), "sms_problem": sms_problem,
        "mine": mine and Role(user.role) in (Role.CLERK, Role.UNIT_HEAD), "my_task": my_task,
        "materials": materials, "submitted": submitted, "outstanding": outstanding,
        "labels": labels, "done": DONE.get(request.query_params.get("done", "")),
    }


@router.get("/cases/{receipt_no}", summary="A case: status, timeline, notices, SMS, the next steps")
async def case_page(receipt_no: str, request: Request, user: SessionRow = Staff) -> Response:
    ctx = await _case_context(request, user, receipt_no)
    return render(request, "desk/case.html", title=f"案件 {ctx['case']['receipt_no']}", errors={}, values={}, **ctx)


#: action -> (intake path, the form's fields, aliases, the done message)
ACTIONS: dict[str, tuple[str, tuple[str, ...], dict[str, str], str]] = {
    "accept": ("accept", (), {}, "accepted"),
    "supplement-request": ("supplement-requests", ("materials", "adhoc_name", "reason"), {}, "supplement"),
    "supplements": ("supplements", ("materials",), {}, "supplied"),
    "not-accepted": ("not-accepted", ("reason_code", "reason"), {}, "not_accepted"),
    "forward": ("forward", ("authority", "note"), {}, "forwarded"),
    "higher-answer": ("higher-answer", ("approved", "answer", "document_no"), {}, "answered"),
    "joint-answer": ("joint-answer", ("answer", "opinion"), {}, "joint"),
    "decision": ("decision", ("outcome", "decision_text"), {}, "decided"),
}


def _body(action: str, form: Any) -> dict[str, Any]:
    get = lambda k: str(form.get(k) or "").strip()  # noqa: E731
    if action == "accept":
        return {}
    if action == "supplement-request":
        reason = get("reason") or None
        items: list[dict[str, Any]] = [{"code": c, "reason": reason} for c in form.getlist("materials")]
        if get("adhoc_name"):
            items.append({"name": get("adhoc_name"), "reason": reason})
        return {"materials": items}
    if action == "supplements":
        return {"materials": [str(c) for c in form.getlist("materials")]}
    if action == "not-accepted":
        return {"reason_code": get("reason_code") or "other", "reason": get("reason")}
    if action == "forward":
        return {"authority": get("authority") or None, "note": get("note") or None}
    if action == "higher-answer":
        return {"approved": get("approved") == "yes", "answer": get("answer"), "document_no": get("document_no") or None}
    if action == "joint-answer":
        return {"answer": get("answer") or "approve", "opinion": get("opinion")}
    if action == "decision":
        return {"outcome": get("outcome") or "approved", "decision_text": get("decision_text")}
    raise KeyError(action)


def _local_check(action: str, body: Mapping[str, Any]) -> domain.FormErrors:
    """Blank required text caught before a round trip (the service says the same)."""
    e = domain.FormErrors()
    if action == "not-accepted" and not body["reason"]:
        e.add("reason", "请写明不予受理的理由，将载入不予受理通知书")
    if action == "decision" and not body["decision_text"]:
        e.add("decision_text", "请填写决定内容，将载入决定书")
    if action == "higher-answer" and not body["answer"]:
        e.add("answer", "请录入上级机关的答复内容")
    if action == "joint-answer" and not body["opinion"]:
        e.add("opinion", "请填写本单位的联办意见")
    if action in ("supplements",) and not body["materials"]:
        e.add("materials", "请勾选申请人带来的补正材料")
    if action == "supplement-request" and not body["materials"]:
        e.add("materials", "请勾选或填写需要补正的材料")
    return e


@router.post("/cases/{receipt_no}/{action}", summary="Take a step on a case (accept, supplement, decide ...)")
async def case_action(receipt_no: str, action: str, request: Request, user: SessionRow = Staff) -> Response:
    if action not in ACTIONS:
        return render(request, "error.html", status_code=404, title="页面不存在", message="没有这个操作。", hint="",
                      service=None)
    form = await request.form()
    await check_csrf(request, form)
    path, fields, aliases, done = ACTIONS[action]
    no = receipt_no.strip().upper()
    body = _body(action, form)
    errors = _local_check(action, body)
    if not errors:
        _, errors = await submit(console(request).backends.post(
            "intake", f"/intake/applications/{quote(no, safe='')}/{path}", token=user.token, json=body),
            fields, aliases, passthrough=(401, 403, 404))
        if not errors:
            return redirect(f"/desk/cases/{no}?done={done}#status")
    ctx = await _case_context(request, user, no)
    values = {k: form.getlist(k) if k == "materials" else str(form.get(k) or "") for k in fields}
    return render(request, "desk/case.html", status_code=422, title=f"案件 {no}", errors={action: errors},
                  values={action: values}, **ctx)


@router.get("/cases/{receipt_no}/notice", summary="The one-time notice (一次性告知书) for print")
async def one_time_notice(receipt_no: str, request: Request, user: SessionRow = Staff) -> Response:
    ctx = await _case_context(request, user, receipt_no)
    case = ctx["case"]
    requests = case.get("requests") or []
    if not requests:
        return render(request, "error.html", status_code=404, title="没有一次性告知书",
                      message="该案件没有发出过补正通知（材料齐全时不需要一次性告知）。", hint="", service=None)
    first = requests[0]
    sealed = next((n for n in ctx["notices"] if n.get("document_type") == "supplement"), None)
    return render(request, "desk/notice.html", title=f"一次性告知书 {case['receipt_no']}", request_=first,
                  all_requests=requests, sealed=sealed, new=request.query_params.get("new") == "1", **ctx)


@router.get("/cases/{receipt_no}/documents/{notice_id}", summary="Open a sealed notice (the PDF, through notify and seal)")
async def sealed_document(receipt_no: str, notice_id: str, request: Request, user: SessionRow = Staff,
                          format: str = "pdf") -> Response:
    b = console(request).backends
    no = receipt_no.strip().upper()
    page = await b.get("notify", "/notify/notices", token=user.token, params={"receipt_no": no, "limit": 200})
    notice = next((n for n in page.get("items", []) if n.get("id") == notice_id), None)
    if notice is None or not notice.get("short_url"):
        raise BackendProblem("notify", 404, {"detail": "该文书尚未盖章完成，请稍后刷新"})
    if format == "ofd":  # the OFD beside the PDF, when the county issues it (notify keeps each file's URL)
        url = next((f["url"] for f in notice.get("files") or [] if f.get("format") == "ofd"), "")
        ofd_path = urlsplit(url).path
        if not (ofd_path.startswith("/seal/files/") and ofd_path.endswith(".ofd")):
            raise BackendProblem("notify", 404, {"detail": "该文书没有OFD版式文件"})
        got = await b.request("seal", "GET", ofd_path)
        ofd_name = f"{notice.get('document_no') or no}.ofd"
        return Response(got.content, media_type="application/ofd", headers={
            "Content-Disposition": f'attachment; filename="{quote(ofd_name)}"', "Cache-Control": "private, no-store"})
    short = urlsplit(notice["short_url"]).path
    hop = await b.request("notify", "GET", short)
    target = hop.headers.get("location", "")
    path = urlsplit(target).path
    if not path.startswith("/seal/files/"):
        raise BackendProblem("notify", 404, {"detail": "文书链接无效"})
    pdf = await b.request("seal", "GET", path)
    name = f"{notice.get('document_no') or no}.pdf"
    return Response(pdf.content, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{quote(name)}"', "Cache-Control": "private, no-store"})


# ------------------------------------------------------------------------------------ search


@router.get("/search", summary="Search by receipt number, item, or applicant (masked)")
async def search(request: Request, user: SessionRow = Staff, q: str = "") -> Response:
    """A receipt number opens the case; an item code lists its cases; anything else is intake's
    applicant search (name, company, or a fragment of the ID or mobile: unit-scoped, masked, and
    on intake's access log as who searched for what). The cards' clocks are read alongside."""
    q = q.strip()[:60]
    c = console(request)
    b = c.backends
    rows: list[dict[str, Any]] = []
    how = ""
    errors = domain.FormErrors()
    clocks: dict[str, dict[str, Any]] = {}
    if q:
        up = re.sub(r"\s+", "", q).upper()
        if RECEIPT_RE.fullmatch(up):
            return redirect(f"/desk/cases/{up}")
        if ITEM_RE.fullmatch(up):
            how = "item"
            found: Any = b.get("intake", "/intake/applications", token=user.token, params={"item": up, "limit": 200,
                                                                                     "masked": "true"})
        else:
            how = "applicant"
            found = b.get("intake", "/intake/applicants", token=user.token, params={"q": q[:40], "limit": 50})
        try:
            rows, (clocks, _) = await asyncio.gather(found, _clocks(request, user))
        except BackendProblem as exc:
            if exc.status not in (400, 403, 404, 422):
                raise
            errors = domain.errors_from_problem(exc.problem, ("q",))
            if not errors.fields and errors.general:
                errors = domain.FormErrors({"q": errors.general[0]})
    return render(request, "desk/search.html", status_code=422 if errors else 200, title="查询案件", q=q, how=how,
                  errors=errors, rows=_decorate(rows, clocks, c.settings.console_yellow_card_days))


# ------------------------------------------------------------------------------------ consultations and joint tasks

CONSULT_FIELDS = ("channel", "question", "outcome", "item_code", "answer", "referred_to_unit")


async def _consult_page(request: Request, user: SessionRow, values: dict[str, Any], errors: domain.FormErrors,
                        status: int = 200) -> Response:
    b = console(request).backends
    rows, units = await asyncio.gather(
        b.get("intake", "/intake/consultations", token=user.token, params={"limit": 50}),
        b.get("intake", "/intake/guide/units"),
    )
    return render(request, "desk/consultations.html", status_code=status, title="咨询登记（首问负责）", rows=rows,
                  units=units, values=values, errors=errors, outcomes=labels.CONSULTATION_OUTCOMES,
                  channels=labels.CHANNELS, done=DONE.get(request.query_params.get("done", "")))


@router.get("/consultations", summary="Consultations: the first-inquiry record")
async def consultations(request: Request, user: SessionRow = Staff) -> Response:
    return await _consult_page(request, user, {"channel": "window", "outcome": "answered"}, domain.FormErrors())


@router.post("/consultations", summary="Record a consultation")
async def add_consultation(request: Request, user: SessionRow = Staff) -> Response:
    _unit_staff(user)
    form = await request.form()
    await check_csrf(request, form)
    values = {k: str(form.get(k) or "").strip() for k in CONSULT_FIELDS}
    errors = domain.FormErrors()
    if not values["question"]:
        errors.add("question", "请简要记录咨询内容")
    if not errors:
        body = {"channel": values["channel"] or "window", "question": values["question"],
                "outcome": values["outcome"] or "answered", "item_code": values["item_code"].upper() or None,
                "answer": values["answer"] or None, "referred_to_unit": values["referred_to_unit"] or None}
        _, errors = await submit(
            console(request).backends.post("intake", "/intake/consultations", token=user.token, json=body), CONSULT_FIELDS)
        if not errors:
            return redirect("/desk/consultations?done=consulted")
    return await _consult_page(request, user, values, errors, status=422)


@router.get("/joint-tasks", summary="Joint tasks addressed to my unit")
async def joint_tasks(request: Request, user: SessionRow = Staff) -> Response:
    _unit_staff(user)
    rows = await console(request).backends.get("intake", "/intake/joint-tasks", token=user.token,
                                                params={"all": "true"})
    return render(request, "desk/joint_tasks.html", title="联办任务", rows=rows, unit=user.unit_code)
