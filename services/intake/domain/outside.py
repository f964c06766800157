"""两头受理 (accepting at both ends): units report the decisions they make outside the center, one
by one (API) or from their own system's export (CSV). A decision on an item of the center's
catalog — an item the unit has entered into the center, so it must be handled there — with no
case received at the center is *flagged*: counted per unit and published as
``OutsideHandlingDetected`` for supervision, as a dormant unit (应进不进) is.

Pure rules, no I/O: the use case looks up the item and the case and passes what it found.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from services.runtime.errors import InvalidInput

#: The CSV's columns, in this order (a header row first); ``receipt_no`` may be empty.
CSV_COLUMNS = ("external_no", "item_code", "decided_on", "outcome", "receipt_no")
MAX_ROWS = 5000
EARLIEST = date(2000, 1, 1)

_EXTERNAL_NO = re.compile(r"^[\w\-./〔〕()（）号第]{1,60}$")
_ITEM_CODE = re.compile(r"^[A-Za-z0-9_.-]{2,64}$")
_RECEIPT_NO = re.compile(r"^[A-Z0-9-]{6,40}$")


class OutsideOutcome(StrEnum):
    APPROVED = "approved"  # 准予
    REFUSED = "refused"    # 不予


OUTCOME_LABELS = {OutsideOutcome.APPROVED: "准予", OutsideOutcome.REFUSED: "不予"}


@dataclass(frozen=True)
class OutsideReport:
    """One decision as the unit reports it (already parsed)."""

    external_no: str
    item_code: str
    decided_on: date
    outcome: OutsideOutcome
    receipt_no: str | None = None
    line: int | None = None  # the CSV line it came from (the header is line 1)


@dataclass(frozen=True)
class ItemFacts:
    """What the catalog says of the reported item: whose it is and whether it is taken at the center."""

    unit_code: str
    accepting: bool


@dataclass(frozen=True)
class CaseFacts:
    """The center's case the unit named, if it exists."""

    unit_code: str
    item_code: str


def check(report: OutsideReport, *, unit_code: str, today: date, item: ItemFacts | None,
          case: CaseFacts | None, prefix: str = "") -> bool:
    """Whether the report is flagged; refuses (422, the field named, ``prefix`` before it) what
    cannot be right: a day in the future, another unit's item, a receipt number that is not one
    of this unit's cases on that item."""
    if report.decided_on > today:
        raise InvalidInput(f"{prefix}decided_on", "决定日期不能晚于今天")
    if report.decided_on < EARLIEST:
        raise InvalidInput(f"{prefix}decided_on", "决定日期不能早于2000年")
    if item is not None and item.unit_code != unit_code:
        raise InvalidInput(f"{prefix}item_code", f"事项 {report.item_code} 不是本单位（{unit_code}）的事项")
    if report.receipt_no is not None:
        if case is None or case.unit_code != unit_code:
            raise InvalidInput(f"{prefix}receipt_no", f"中心没有本单位受理编号为 {report.receipt_no} 的办件")
        if case.item_code != report.item_code:
            raise InvalidInput(f"{prefix}item_code", f"受理编号 {report.receipt_no} 办理的是事项 {case.item_code}，不是 {report.item_code}")
        return False
    # Entered in the center's catalog and taken there now, yet no case at the center: 两头受理.
    return item is not None and item.accepting


def normalise(external_no: str, item_code: str, receipt_no: str | None, prefix: str = "") -> tuple[str, str, str | None]:
    """The fields as stored (trimmed, codes upper-case), or 422 naming the field."""
    ext = (external_no or "").strip()
    if not _EXTERNAL_NO.fullmatch(ext):
        raise InvalidInput(f"{prefix}external_no", "本单位办件编号应为1至60个字母、数字或“-./〔〕()号第”")
    code = (item_code or "").strip().upper()
    if not _ITEM_CODE.fullmatch(code):
        raise InvalidInput(f"{prefix}item_code", "事项编码格式不正确，如 LYJ-001")
    no = (receipt_no or "").strip().upper() or None
    if no is not None and not _RECEIPT_NO.fullmatch(no):
        raise InvalidInput(f"{prefix}receipt_no", "受理编号格式不正确，如 2026-LYJ-7K3M9Q2X")
    return ext, code, no


def parse_csv(text: str) -> tuple[list[OutsideReport], list[dict[str, str]]]:
    """The rows of a unit's CSV export (UTF-8, a header with :data:`CSV_COLUMNS`), and every
    problem found, each ``{"field": "rows[<line>].<column>", "reason": ...}`` with the file's line
    number (the header is line 1). The caller refuses the whole file when any is found."""
    errors: list[dict[str, str]] = []
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        return [], [{"field": "file", "reason": "文件为空"}]
    except csv.Error as exc:
        return [], [{"field": "file", "reason": f"不是有效的CSV文件：{exc}"}]
    missing = [c for c in CSV_COLUMNS if c != "receipt_no" and c not in header]
    if missing:
        return [], [{"field": "file", "reason": f"表头缺少列：{'、'.join(missing)}（应为 {','.join(CSV_COLUMNS)}）"}]
    at = {c: header.index(c) for c in CSV_COLUMNS if c in header}
    reports: list[OutsideReport] = []
    seen: dict[str, int] = {}
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(reports) + len(errors) >= MAX_ROWS:
                errors.append({"field": "file", "reason": f"一次最多导入 {MAX_ROWS} 行"})
                break
            cells = {c: (row[i].strip() if i < len(row) else "") for c, i in at.items()}
            prefix = f"rows[{line}]."
            try:
                ext, code, no = normalise(cells["external_no"], cells["item_code"], cells.get("receipt_no"), prefix)
                decided_on = _date(cells["decided_on"], prefix)
                outcome = _outcome(cells["outcome"], prefix)
            except InvalidInput as exc:
                errors.append({"field": exc.field or "file", "reason": exc.reason})
                continue
            if ext in seen:
                errors.append({"field": f"{prefix}external_no", "reason": f"与第 {seen[ext]} 行的办件编号重复"})
                continue
            seen[ext] = line
            reports.append(OutsideReport(ext, code, decided_on, outcome, no, line))
    except csv.Error as exc:
        errors.append({"field": "file", "reason": f"第 {reader.line_num} 行不是有效的CSV：{exc}"})
    if not reports and not errors:
        errors.append({"field": "file", "reason": "文件中没有数据行"})
    return reports, errors


def _date(text: str, prefix: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{prefix}decided_on", "决定日期应为 YYYY-MM-DD，如 2026-03-05") from None


def _outcome(text: str, prefix: str) -> OutsideOutcome:
    t = text.strip().lower()
    for o, label in OUTCOME_LABELS.items():
        if t in (o.value, label):
            return o
    raise InvalidInput(f"{prefix}outcome", "决定结果应为“准予”（approved）或“不予”（refused）")
