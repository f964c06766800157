"""The rules of the seals (pure, no I/O), and the seal service's refusals.

A stamp request is honoured only if the seal belongs to the requesting unit, has reached its start
date (启用日期), is not revoked and its certificate is in force, the document type is within its
scope of use, and — the dual-seal rule (双章制) — the unit's old seal is not used for an approval
document after the No. 2 seal's start date.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Iterable

from contracts.common import DocumentType
from contracts.seal import CENTER_DOCUMENT_TITLES, REFUSAL_TEXT, CenterDocumentType, RefusalCode, SealKind
from services.runtime import errors
# Start dates, cut-over dates, months and working hours are local (the center's time zone).
from services.runtime.workdays import TZ, local, local_date, period_of

__all__ = [
    "APPROVAL_DOCUMENTS", "DEFAULT_SCOPE", "DOCUMENT_TITLES", "EARLIEST_START", "SEAL_NAME_MAX", "UNIT_CODE",
    "UNIT_CODE_RULE", "UNIT_NAME_MAX", "DocumentTooLarge", "InvalidInput", "MonthlyUse", "NotFound",
    "Refusal", "RuleViolation", "Seal", "Unavailable", "UnsupportedUpload", "WorkingHours",
    "check_approvals_until", "check_issue", "check_revocation", "check_start_date", "check_use", "clean_name",
    "clean_note", "clean_unit_code", "cutover_day", "document_number", "local_date", "local_midnight",
    "monthly_use", "period_of", "pick_seal", "query_window",
]

#: Documents of the approval process (everything a window unit issues to an applicant). The
#: supervision notice is the center's own document, outside a unit's approval seal.
APPROVAL_DOCUMENTS: frozenset[DocumentType] = frozenset(DocumentType) - {DocumentType.SUPERVISION}
DEFAULT_SCOPE = APPROVAL_DOCUMENTS

DOCUMENT_TITLES: dict[DocumentType, str] = {
    DocumentType.ACCEPTANCE: "受理通知书",
    DocumentType.SUPPLEMENT: "补正材料通知书",
    DocumentType.NOT_ACCEPTED: "不予受理通知书",
    DocumentType.APPROVAL: "准予行政许可决定书",
    DocumentType.DENIAL: "不予行政许可决定书",
    DocumentType.FORWARDED: "上报转送告知书",
    DocumentType.JOINT: "联办告知书",
    DocumentType.EXTENSION: "延长审批期限告知书",
    DocumentType.SUPERVISION: "业务督办通知书",
    **CENTER_DOCUMENT_TITLES,  # type: ignore[dict-item]
}


def local_midnight(d: date) -> datetime:
    """The instant a local date begins, in UTC."""
    return datetime.combine(d, time(0), TZ).astimezone(UTC)


@dataclass(frozen=True)
class Seal:
    """What the rules need to know about a seal."""

    seal_id: str
    unit_code: str
    unit_name: str
    kind: SealKind
    seal_no: str
    start_date: date
    valid_from: datetime
    valid_until: datetime
    scope: frozenset[DocumentType] = DEFAULT_SCOPE
    revoked_at: datetime | None = None
    approvals_until: date | None = None  # old seals: the last day they may seal approvals

    def revoked_by(self, at: datetime) -> bool:
        return self.revoked_at is not None and self.revoked_at <= at

    def usable(self, at: datetime) -> bool:
        return (
            not self.revoked_by(at)
            and local_date(at) >= self.start_date
            and self.valid_from <= at <= self.valid_until
        )


@dataclass(frozen=True)
class Refusal:
    code: RefusalCode

    @property
    def text(self) -> str:
        return REFUSAL_TEXT[self.code]


def pick_seal(seals: Iterable[Seal], unit_code: str, kind: SealKind, at: datetime) -> Seal | None:
    """The unit's seal of that kind to use at ``at``: the newest usable one, else the newest one
    (so that a refusal names the real reason, e.g. revoked)."""
    mine = [s for s in seals if s.unit_code == unit_code and s.kind == kind]
    if not mine:
        return None
    mine.sort(key=lambda s: (s.start_date, s.valid_from), reverse=True)
    for s in mine:
        if s.usable(at):
            return s
    return mine[0]


def check_use(seal: Seal | None, unit_code: str, document_type: DocumentType | CenterDocumentType, at: datetime,
              center_unit_code: str | None = None) -> Refusal | None:
    """None if ``seal`` may seal a ``document_type`` of ``unit_code`` at ``at``; else why not. A
    center document (the year-end assessment) is the center's decision: only a seal of the
    center's own unit (``center_unit_code``) may seal it, and no unit's seal lists it in its scope."""
    if seal is None:
        return Refusal(RefusalCode.NO_SEAL)
    if seal.unit_code != unit_code:
        return Refusal(RefusalCode.SEAL_OF_OTHER_UNIT)
    if seal.revoked_by(at):
        return Refusal(RefusalCode.SEAL_REVOKED)
    if local_date(at) < seal.start_date:
        return Refusal(RefusalCode.SEAL_NOT_STARTED)
    if not seal.valid_from <= at <= seal.valid_until:
        return Refusal(RefusalCode.SEAL_EXPIRED)
    if (
        seal.kind == SealKind.OLD
        and document_type in APPROVAL_DOCUMENTS
        and seal.approvals_until is not None
        and local_date(at) > seal.approvals_until
    ):
        return Refusal(RefusalCode.OLD_SEAL_AFTER_CUTOVER)
    if isinstance(document_type, CenterDocumentType):
        if center_unit_code is None or seal.unit_code != center_unit_code:
            return Refusal(RefusalCode.OUT_OF_SCOPE)
        return None
    if document_type not in seal.scope:
        return Refusal(RefusalCode.OUT_OF_SCOPE)
    return None


def cutover_day(no2_start: date) -> date:
    """The last day an old seal may still seal approvals: the day before the No. 2 seal starts."""
    return no2_start - timedelta(days=1)


# -- refusals (the runtime answers each with problem+json: status, field, zh-CN reason) ----------
# The titles are the ones these answers have always had.

class RuleViolation(errors.InvalidState):
    """An administrative action the rules forbid in the present state (HTTP 409; ``field`` names
    the offending input)."""

    title = "与当前状态冲突"


class InvalidInput(errors.InvalidInput, RuleViolation):
    """An input no seal could be made from, whatever the state (HTTP 422; a conflict with the
    seals already issued is a plain :class:`RuleViolation`, HTTP 409)."""

    title = "提交的信息有误"


class NotFound(errors.NotFound):
    """No such seal, document or file reference (HTTP 404)."""


class Unavailable(errors.Unavailable):
    """The seal office is not open yet, or has no CRL yet (HTTP 503)."""


class DocumentTooLarge(errors.DomainError):
    """A file above the configured limit (HTTP 413)."""

    status = 413
    title = "提交的内容过大"


class UnsupportedUpload(errors.DomainError):
    """An upload that is not a PDF (HTTP 415)."""

    status = 415
    title = "不支持的内容类型"


# -- what a seal may say ------------------------------------------------------------------------

#: Unit codes as intake registers them: upper-case letters and digits, starting with a letter (they
#: are part of receipt and document numbers, and of the certificate's PrintableString serialNumber).
UNIT_CODE = re.compile(r"^[A-Z][A-Z0-9]{1,11}$")
UNIT_CODE_RULE = "单位代码应为2至12位大写字母或数字，以字母开头（如 LYJ）"

#: Longest unit name carved along the ring (and put in the certificate's O, whose RFC 5280 bound is
#: 64 characters); real county units' names are well under it.
UNIT_NAME_MAX = 40
SEAL_NAME_MAX = 12


def clean_unit_code(code: str) -> str:
    """The canonical unit code (trimmed, upper case, as intake stores it) or :class:`InvalidInput`."""
    normalized = (code or "").strip().upper()
    if not UNIT_CODE.fullmatch(normalized):
        raise InvalidInput("unit_code", UNIT_CODE_RULE)
    return normalized


def clean_name(value: str, *, field: str, label: str, min_len: int, max_len: int) -> str:
    """A name to carve on a seal and put in a certificate: trimmed, NFC, ``min_len``..``max_len``
    characters, no spaces, line breaks, control or invisible characters (they cannot be carved and
    would make two look-alike names differ)."""
    text = unicodedata.normalize("NFC", value or "").strip()
    if not text:
        raise InvalidInput(field, f"请填写{label}")
    bad = [c for c in text if c.isspace() or unicodedata.category(c)[0] == "C"]
    if bad:
        raise InvalidInput(field, f"{label}中不能含有空格、换行、控制字符或不可见字符")
    if len(text) < min_len:
        raise InvalidInput(field, f"{label}太短（至少 {min_len} 个字）")
    if len(text) > max_len:
        raise InvalidInput(field, f"{label}太长（最多 {max_len} 个字），印章上刻不下")
    return text


def clean_note(value: str | None, *, field: str, label: str) -> str | None:
    """Free text (a revocation note): line breaks and tabs allowed, other control characters not."""
    if value is None:
        return None
    text = value.strip()
    if any(unicodedata.category(c)[0] == "C" and c not in "\n\r\t" for c in text):
        raise InvalidInput(field, f"{label}中不能含有控制字符或不可见字符")
    return text or None


#: The Administrative Licensing Law (《中华人民共和国行政许可法》) took effect on 1 July 2004: no
#: approval seal started before it, so an earlier date is a typo (and the earliest date any query
#: of the usage log can concern).
EARLIEST_START = date(2004, 7, 1)


def check_start_date(start: date, now: datetime, *, max_days_ahead: int, root_not_after: datetime) -> None:
    """A seal's start date (启用日期): not before the licensing law, at most ``max_days_ahead``
    days from today, and early enough for the certificate to begin before the county root's own
    validity ends (a seal certificate never outlives its root: the authority caps it there)."""
    today = local_date(now)
    root_last_start = local_date(root_not_after) - timedelta(days=1)
    if today > root_last_start:
        raise RuleViolation("start_date", f"本县印章根证书于 {local_date(root_not_after).isoformat()} 到期，"
                                          "已不能签发印章，须先更换根证书")
    if start < EARLIEST_START:
        raise InvalidInput("start_date", "启用日期不能早于2004年7月1日（《中华人民共和国行政许可法》施行之日）")
    latest = today + timedelta(days=max_days_ahead)
    if start > latest:
        raise InvalidInput("start_date", f"启用日期至多为今天起{max_days_ahead}天以内（不晚于 {latest.isoformat()}）")
    if start > root_last_start:
        raise InvalidInput("start_date", f"启用日期不能晚于 {root_last_start.isoformat()}：本县印章根证书次日到期")


def check_approvals_until(until: date, no2_start: date | None) -> None:
    """双章制: from the No. 2 seal's start date the old seal no longer seals approvals."""
    if no2_start is not None and until >= no2_start:
        raise InvalidInput("approvals_until", f"行政审批专用章自 {no2_start.isoformat()} 启用，原印章用于审批的最后一天"
                                              f"不能晚于 {cutover_day(no2_start).isoformat()}")


def query_window(start: date, end: date) -> tuple[datetime, datetime]:
    """The instants [lo, hi) of a query from ``start`` to ``end`` (local days, both included).
    No entry predates the licensing law, so the window starts there at the earliest; and it ends
    a day short of the calendar's last (whose end, and year 1's start in UTC, a datetime cannot
    hold)."""
    if end < start:
        raise InvalidInput("to", "结束日期早于开始日期")
    lo = max(start, EARLIEST_START)
    hi = min(end, date.max - timedelta(days=1)) + timedelta(days=1)
    if hi <= lo:
        return local_midnight(lo), local_midnight(lo)
    return local_midnight(lo), local_midnight(hi)


def check_revocation(seal: Seal, at: datetime) -> None:
    if seal.revoked_at is not None:
        raise RuleViolation("seal_id", "印章已注销")


def check_issue(existing: Iterable[Seal], unit_code: str, kind: SealKind, start_date: date, at: datetime) -> None:
    """A unit has at most one live seal of a kind; a new one supersedes only after revocation."""
    for s in existing:
        if s.unit_code == unit_code and s.kind == kind and s.revoked_at is None and s.valid_until > at:
            raise RuleViolation("unit_code", "该单位已有在用的同类印章，须先注销原印章")


@dataclass(frozen=True)
class WorkingHours:
    """The hall's opening hours. Every day of the week: the center serves on weekends too
    (双休日正常办理)."""

    opens: time = time(8, 30)
    closes: time = time(17, 30)
    days: frozenset[int] = field(default_factory=lambda: frozenset(range(7)))  # Monday = 0

    def outside(self, at: datetime) -> bool:
        here = local(at)
        if here.weekday() not in self.days:
            return True
        return not self.opens <= here.time() < self.closes


def document_number(unit_code: str, year: int, seq: int) -> str:
    """A document's public number: unit, year, running number within the unit and year."""
    return f"{unit_code}-{year}-{seq:06d}"


def file_stem(document_no: str, document_type: str, printed_no: str | None) -> str:
    """A sealed file's name (without extension), safe ASCII and stable: the number printed on the
    document when the requester gave one — its unit code (when it leads), the document type
    (which tells 准许 from 不予 where the number's Chinese does), then its digits, e.g.
    ``FGJ审准许〔2026〕0001号`` → ``FGJ-approval-2026-0001`` — else the seal's document number."""
    runs = re.findall(r"[A-Za-z0-9]+", printed_no or "")
    if not runs:
        return document_no
    head = [runs.pop(0).upper()] if runs[0][0].isalpha() else []
    return "-".join([*head, document_type.replace("_", "-"), *runs])[:100]


@dataclass(frozen=True)
class MonthlyUse:
    """A unit's uses of its seals in one local month."""

    unit_code: str
    month: str  # YYYY-MM, local
    sealed: int
    refused: int


def monthly_use(entries: Iterable[tuple[str, datetime, str]]) -> list[MonthlyUse]:
    """Uses (``sealed``) and refusals per unit per local month, from usage-log entries given as
    (unit_code, at, action); ordered by unit, then month."""
    counts: Counter[tuple[str, str, str]] = Counter((unit, period_of(at), action) for unit, at, action in entries)
    keys = sorted({(u, m) for u, m, _ in counts})
    return [MonthlyUse(u, m, counts[(u, m, "sealed")], counts[(u, m, "refused")]) for u, m in keys]
