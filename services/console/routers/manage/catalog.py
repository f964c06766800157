"""Management pages: units and items: drafts, publish, retire, versions (事项目录). Same rules as every console page: the services' HTTP APIs with the
signed-in person's token; the services decide who may see and do what.

The catalog is intake's (``/intake/catalog/...``): the console lists the units and every item
(drafts and retired ones too), shows each published version with what changed from the one
before, and edits a draft in a form whose errors are intake's own refusals (problem+json naming
the field) shown next to the field, with what was typed kept."""

from __future__ import annotations

import re
from typing import Any, Mapping
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from contracts.common import CASE_KIND_LABELS, CaseKind, Role
from contracts.intake import MaterialForm

from ... import domain
from ...clients import BackendProblem
from ...store import SessionRow
from ...web import check_csrf, console, redirect, render, require_role, staff, submit

router = APIRouter(prefix="/manage/catalog", tags=["console: management"])

#: The kinds an item may be (the other two of the six are what a case becomes).
ITEM_KINDS = {k.value: CASE_KIND_LABELS[k] for k in (CaseKind.IMMEDIATE, CaseKind.PROMISED, CaseKind.JOINT,
                                                     CaseKind.REPORTED_UP)}
FORMS = {f.value: f.label for f in MaterialForm}
MANDATORY = {"1": "必须提交", "0": "视情况提交"}
FEE_FREE = {"1": "不收费", "0": "收费"}
MATERIAL_COLS = ("code", "name", "form", "copies", "mandatory", "condition")
#: Blank material rows offered below the item's own (a new material per row).
SPARE_ROWS = 2
ITEM_CODE_RE = re.compile(r"^[A-Z][A-Z0-9]{1,11}-\d{2,}$")
CONTENT_FIELDS = ("name", "case_kind", "joint_units", "higher_authority", "legal_basis", "procedure", "flow",
                  "statutory_days", "promised_days", "fee.free", "fee.standard", "fee.amount_yuan", "fee.basis",
                  "materials")
#: What each field of an item version is called on the page (and in the diff).
FIELD_LABELS = {
    "name": "事项名称", "case_kind": "事项类型", "joint_units": "联办单位", "higher_authority": "上级审批机关",
    "legal_basis": "审批依据", "procedure": "办理程序", "materials": "申报材料", "statutory_days": "法定时限",
    "promised_days": "承诺时限", "fee": "收费标准及依据", "flow": "办理流程",
}
DONE = {"draft": "草稿已保存，发布后对外生效。", "published": "已发布，办事指南已显示新版本。", "retired": "事项已停用，在办案件不受影响。",
        "created": "事项草稿已建立，发布后对外生效。"}


def _admin(user: SessionRow) -> None:
    require_role(user, Role.CENTER_ADMIN)


def _code(item_code: str) -> str:
    code = item_code.strip().upper()
    if not ITEM_CODE_RE.fullmatch(code):
        raise BackendProblem("intake", 404, {"detail": f"没有编码为 {item_code[:30]} 的事项"})
    return code


# ------------------------------------------------------------------------------------ diffs


def material_line(m: Mapping[str, Any]) -> str:
    form = FORMS.get(str(m.get("form")), str(m.get("form")))
    need = "必须提交" if m.get("mandatory") else f"视情况提交：{m.get('condition') or ''}"
    return f"{m.get('code')} {m.get('name')}（{form}，{m.get('copies')}份，{need}）"


def fee_line(fee: Mapping[str, Any] | None) -> str:
    fee = fee or {}
    if fee.get("free"):
        return "不收费" + (f"（{fee['basis']}）" if fee.get("basis") else "")
    amount = f"，{fee['amount_yuan']}元" if fee.get("amount_yuan") not in (None, "") else ""
    return f"收费：{fee.get('standard') or ''}{amount}；依据：{fee.get('basis') or ''}"


def field_lines(content: Mapping[str, Any] | None, name: str) -> list[str]:
    """A version's field as lines of text (what the diff compares and the page shows)."""
    if not content:
        return []
    v = content.get(name)
    if name == "materials":
        return [material_line(m) for m in v or []]
    if name == "fee":
        return [fee_line(v)]
    if name == "case_kind":
        return [ITEM_KINDS.get(str(v), str(v))]
    if name in ("statutory_days", "promised_days"):
        return [f"{v}个工作日"]
    if isinstance(v, (list, tuple)):
        return [str(x) for x in v]
    return [] if v in (None, "") else [str(v)]


def diff_contents(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The fields that differ between two versions: for each, the lines removed and the lines added
    (list fields compared line by line, so one changed material shows as one line out, one in)."""
    out = []
    for name, label in FIELD_LABELS.items():
        old, new = field_lines(before, name), field_lines(after, name)
        if old == new:
            continue
        out.append({"field": name, "label": label, "removed": [x for x in old if x not in new],
                    "added": [x for x in new if x not in old], "before": old, "after": new})
    return out


def versions_with_changes(item: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Published versions, newest first, each with what changed from the one before it."""
    out = []
    prev: Mapping[str, Any] | None = None
    for v in sorted(item.get("versions") or [], key=lambda v: v["version"]):
        out.append({**v, "changes": diff_contents(prev, v["content"]) if prev is not None else [],
                    "first": prev is None})
        prev = v["content"]
    return list(reversed(out))


def current_content(item: Mapping[str, Any]) -> Mapping[str, Any] | None:
    cur = item.get("current")
    return next((v["content"] for v in item.get("versions") or [] if v["version"] == cur), None)


def item_name(item: Mapping[str, Any]) -> str:
    c = current_content(item) or item.get("draft") or {}
    return str(c.get("name") or item.get("code"))


# ------------------------------------------------------------------------------------ the form


def form_values(content: Mapping[str, Any] | None) -> dict[str, Any]:
    """A version's content as the form's values (strings; materials as rows)."""
    c = dict(content or {})
    fee = c.get("fee") or {"free": True}
    return {
        "name": c.get("name", ""), "case_kind": c.get("case_kind", "promised"),
        "joint_units": " ".join(c.get("joint_units") or []), "higher_authority": c.get("higher_authority") or "",
        "legal_basis": "\n".join(c.get("legal_basis") or []), "procedure": "\n".join(c.get("procedure") or []),
        "flow": c.get("flow", ""), "statutory_days": str(c.get("statutory_days", "")),
        "promised_days": str(c.get("promised_days", "")), "fee.free": "1" if fee.get("free") else "0",
        "fee.standard": fee.get("standard") or "", "fee.basis": fee.get("basis") or "",
        "fee.amount_yuan": "" if fee.get("amount_yuan") is None else str(fee.get("amount_yuan")),
        "materials": [{"code": m.get("code", ""), "name": m.get("name", ""), "form": m.get("form", "original"),
                       "copies": str(m.get("copies", 1)), "mandatory": "1" if m.get("mandatory") else "0",
                       "condition": m.get("condition") or ""} for m in c.get("materials") or []],
    }


def _lines(text: str) -> list[str]:
    return [x.strip() for x in text.splitlines() if x.strip()]


def read_form(form: Mapping[str, Any], rows: int) -> dict[str, Any]:
    """What was typed, kept as typed (strings), for showing it again."""
    values: dict[str, Any] = {k: str(form.get(k) or "").strip() if k not in ("legal_basis", "procedure", "flow")
                              else str(form.get(k) or "") for k in CONTENT_FIELDS if k != "materials"}
    values["code"] = str(form.get("code") or "").strip().upper()
    values["unit_code"] = str(form.get("unit_code") or "").strip().upper()
    values["materials"] = [{col: str(form.get(f"materials.{i}.{col}") or "").strip() for col in MATERIAL_COLS}
                           for i in range(rows)]
    return values


def content_body(values: Mapping[str, Any], errors: domain.FormErrors) -> tuple[dict[str, Any], list[int]]:
    """The JSON intake expects, and for each material sent the form row it came from. Only what
    the form itself can tell (a number that is no number) is refused here; intake refuses the rest."""
    def whole(name: str) -> int | None:
        raw = values[name]
        if not re.fullmatch(r"\d{1,4}", raw):
            errors.add(name, "请填写工作日天数（0或正整数）")
            return None
        return int(raw)

    materials, rows = [], []
    for i, m in enumerate(values["materials"]):
        if not (m["code"] or m["name"]):
            continue  # a blank spare row
        copies = m["copies"] or "1"
        if not re.fullmatch(r"\d{1,2}", copies):
            errors.add(f"materials.{i}.copies", "份数应为1至20的整数")
        materials.append({"code": m["code"], "name": m["name"], "form": m["form"] or "original",
                          "copies": int(copies) if copies.isdigit() else 1, "mandatory": m["mandatory"] != "0",
                          "condition": m["condition"] or None})
        rows.append(i)
    free = values["fee.free"] != "0"
    amount = values["fee.amount_yuan"].replace("元", "").strip()
    if amount and not re.fullmatch(r"\d{1,9}(\.\d{1,2})?", amount):
        errors.add("fee.amount_yuan", "收费金额应为数字，如 10 或 10.50")
    body = {
        "name": values["name"], "case_kind": values["case_kind"],
        "joint_units": [u.upper() for u in re.split(r"[\s,，、]+", values["joint_units"]) if u],
        "higher_authority": values["higher_authority"] or None,
        "legal_basis": _lines(values["legal_basis"]), "procedure": _lines(values["procedure"]),
        "materials": materials, "statutory_days": whole("statutory_days"), "promised_days": whole("promised_days"),
        "fee": {"free": free, "standard": values["fee.standard"] or None, "basis": values["fee.basis"] or None,
                "amount_yuan": amount or None},
        "flow": values["flow"].strip(),
    }
    return body, rows


def known_fields(rows: int) -> list[str]:
    return [*CONTENT_FIELDS, "code", "unit_code",
            *(f"materials.{i}.{col}" for i in range(rows) for col in MATERIAL_COLS)]


def problem_errors(problem: Mapping[str, Any], rows_sent: list[int], rows: int) -> domain.FormErrors:
    """intake's refusal next to the form's fields: ``materials[2].condition`` (the domain's) and
    ``materials.2.copies`` (pydantic's) name the 3rd material sent, i.e. the form row it came from."""
    def field(name: str) -> str:
        name = re.sub(r"\[(\d+)\]", r".\1", name or "")
        m = re.fullmatch(r"materials\.(\d+)(\..+)?", name)
        if m and int(m.group(1)) < len(rows_sent):
            return f"materials.{rows_sent[int(m.group(1))]}{m.group(2) or ''}"
        return name

    fixed = dict(problem)
    fixed["errors"] = [{**e, "field": field(str(e.get("field") or ""))} for e in problem.get("errors") or []]
    # A path the form does not show (materials.0.form.x) falls back to the materials table.
    return domain.errors_from_problem(fixed, known_fields(rows))


def _form_context(values: dict[str, Any]) -> dict[str, Any]:
    rows = values["materials"] + [{col: "" for col in MATERIAL_COLS} | {"form": "original", "copies": "1",
                                                                          "mandatory": "1"}
                                  for _ in range(SPARE_ROWS)]
    return {"rows": rows, "kinds": ITEM_KINDS, "forms": FORMS, "mandatory": MANDATORY, "fee_free": FEE_FREE,
            "labels": FIELD_LABELS}


# ------------------------------------------------------------------------------------ pages


@router.get("", summary="The catalog: window units and every item (current, drafts, retired)")
async def catalog_page(request: Request, user: SessionRow = Depends(staff), unit: str = "") -> Response:
    _admin(user)
    b = console(request).backends
    units = await b.get("intake", "/intake/catalog/units", token=user.token)
    codes = {u["code"] for u in units}
    unit = unit.strip().upper() if unit.strip().upper() in codes else ""
    items = await b.get("intake", "/intake/catalog/items", token=user.token, params={"unit": unit} if unit else None)
    names = {u["code"]: u["name"] for u in units}
    rows = [{"code": i["code"], "unit_code": i["unit_code"], "unit_name": names.get(i["unit_code"], i["unit_code"]),
             "name": item_name(i), "current": i["current"], "draft_version": i["draft_version"],
             "retired": i["retired"]} for i in items]
    counts = {"units": len(units), "items": len(rows), "current": sum(1 for r in rows if r["current"] and not r["retired"]),
              "drafts": sum(1 for r in rows if r["draft_version"]), "retired": sum(1 for r in rows if r["retired"])}
    return render(request, "manage/catalog.html", title="事项目录", units=units, rows=rows, unit=unit, names=names,
                  counts=counts)


@router.get("/items/{item_code}", summary="An item: its current version, its draft and every version with what changed")
async def item_page(item_code: str, request: Request, user: SessionRow = Depends(staff)) -> Response:
    _admin(user)
    return await _item_page(request, user, _code(item_code))


async def _item_page(request: Request, user: SessionRow, code: str, *, status: int = 200,
                     retire_errors: domain.FormErrors | None = None, retire_reason: str = "",
                     publish_error: str = "") -> Response:
    b = console(request).backends
    item = await b.get("intake", f"/intake/catalog/items/{quote(code, safe='')}", token=user.token)
    units = await b.get("intake", "/intake/catalog/units", token=user.token)
    names = {u["code"]: u["name"] for u in units}
    current = current_content(item)
    draft_changes = diff_contents(current, item["draft"]) if item.get("draft") else []
    return render(request, "manage/catalog_item.html", status_code=status, title=f"事项 {code}", item=item,
                  name=item_name(item), unit_name=names.get(item["unit_code"], item["unit_code"]), current=current,
                  draft_changes=draft_changes, versions=versions_with_changes(item), kinds=ITEM_KINDS, forms=FORMS,
                  fee_line=fee_line, retire_errors=retire_errors or domain.FormErrors(),
                  retire_values={"reason": retire_reason}, publish_error=publish_error,
                  done=DONE.get(request.query_params.get("done", "")))


@router.get("/items/{item_code}/edit", summary="Edit an item: the form of its draft (or of its current version)")
async def edit_page(item_code: str, request: Request, user: SessionRow = Depends(staff)) -> Response:
    _admin(user)
    code = _code(item_code)
    item = await console(request).backends.get("intake", f"/intake/catalog/items/{quote(code, safe='')}",
                                               token=user.token)
    values = form_values(item.get("draft") or current_content(item))
    return render(request, "manage/catalog_edit.html", title=f"编辑事项 {code}", item=item, name=item_name(item),
                  values=values, errors=domain.FormErrors(), new=False, **_form_context(values))


@router.post("/items/{item_code}/edit", summary="Save the draft (intake refuses what it may not publish)")
async def save_draft(item_code: str, request: Request, user: SessionRow = Depends(staff)) -> Response:
    _admin(user)
    code = _code(item_code)
    form = await request.form()
    await check_csrf(request, form)
    b = console(request).backends
    item = await b.get("intake", f"/intake/catalog/items/{quote(code, safe='')}", token=user.token)
    rows = _row_count(form)
    values = read_form(form, rows)
    errors = domain.FormErrors()
    body, sent = content_body(values, errors)
    if not errors:
        try:
            await b.request("intake", "PUT", f"/intake/catalog/items/{quote(code, safe='')}/draft", token=user.token,
                            json=body)
        except BackendProblem as exc:
            if exc.status in (401, 403, 404):
                raise
            errors = problem_errors(exc.problem, sent, rows)
        else:
            return redirect(f"/manage/catalog/items/{code}?done=draft")
    return render(request, "manage/catalog_edit.html", status_code=422, title=f"编辑事项 {code}", item=item,
                  name=item_name(item), values=values, errors=errors, new=False, **_form_context(values))


@router.get("/new", summary="A new item's draft: the same form, with its code and unit")
async def new_page(request: Request, user: SessionRow = Depends(staff), unit: str = "") -> Response:
    _admin(user)
    units = await console(request).backends.get("intake", "/intake/catalog/units", token=user.token)
    values = form_values(None) | {"code": "", "unit_code": unit.strip().upper()}
    return render(request, "manage/catalog_edit.html", title="新建事项", item=None, name="", values=values,
                  errors=domain.FormErrors(), new=True, units={"": "请选择单位", **{u["code"]: f'{u["name"]}（{u["code"]}）' for u in units}},
                  **_form_context(values))


@router.post("/new", summary="Create the item's draft")
async def create_item(request: Request, user: SessionRow = Depends(staff)) -> Response:
    _admin(user)
    form = await request.form()
    await check_csrf(request, form)
    b = console(request).backends
    units = await b.get("intake", "/intake/catalog/units", token=user.token)
    rows = _row_count(form)
    values = read_form(form, rows)
    errors = domain.FormErrors()
    if not ITEM_CODE_RE.fullmatch(values["code"]):
        errors.add("code", "事项编码由单位代码、连字符和至少两位数字组成，如 LYJ-001")
    if not values["unit_code"]:
        errors.add("unit_code", "请选择所属单位")
    body, sent = content_body(values, errors)
    if not errors:
        try:
            await b.post("intake", "/intake/catalog/items", token=user.token,
                         json={**body, "code": values["code"], "unit_code": values["unit_code"]})
        except BackendProblem as exc:
            if exc.status in (401, 403):
                raise
            errors = problem_errors(exc.problem, sent, rows)
        else:
            return redirect(f"/manage/catalog/items/{values['code']}?done=created")
    return render(request, "manage/catalog_edit.html", status_code=422, title="新建事项", item=None, name="",
                  values=values, errors=errors, new=True, units={"": "请选择单位", **{u["code"]: f'{u["name"]}（{u["code"]}）' for u in units}},
                  **_form_context(values))


def _row_count(form: Mapping[str, Any]) -> int:
    idx = [int(m.group(1)) for k in form.keys() if (m := re.fullmatch(r"materials\.(\d{1,3})\.code", k))]
    return min(max(idx, default=-1) + 1, 200)


@router.post("/items/{item_code}/publish", summary="Publish the draft as the current version")
async def publish(item_code: str, request: Request, user: SessionRow = Depends(staff)) -> Response:
    _admin(user)
    code = _code(item_code)
    form = await request.form()
    await check_csrf(request, form)
    try:
        await console(request).backends.post("intake", f"/intake/catalog/items/{quote(code, safe='')}/publish",
                                             token=user.token)
    except BackendProblem as exc:
        if exc.status in (401, 403, 404):
            raise
        return await _item_page(request, user, code, status=exc.status, publish_error=exc.detail)
    return redirect(f"/manage/catalog/items/{code}?done=published")


@router.post("/items/{item_code}/retire", summary="Retire the item (cases under way are not affected)")
async def retire(item_code: str, request: Request, user: SessionRow = Depends(staff)) -> Response:
    _admin(user)
    code = _code(item_code)
    form = await request.form()
    await check_csrf(request, form)
    reason = str(form.get("reason") or "").strip()
    errors = domain.FormErrors()
    if not reason:
        errors.add("reason", "请写明停用原因（将记录在事项目录中）")
    else:
        _, errors = await submit(console(request).backends.post(
            "intake", f"/intake/catalog/items/{quote(code, safe='')}/retire", token=user.token, json={"reason": reason}),
            ("reason",), passthrough=(401, 403, 404))
        if not errors:
            return redirect(f"/manage/catalog/items/{code}?done=retired")
    return await _item_page(request, user, code, status=422, retire_errors=errors, retire_reason=reason)
