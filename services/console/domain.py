"""Pure rules of the console: password policy, lockout, yellow/red cards, masking on screen,
dates in the center's words, the step bar, where to go back after sign-in, and problem+json
turned into errors next to fields. No I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Iterable, Mapping
from urllib.parse import urlsplit

from contracts.common import mask_name

from services.runtime import clock, workdays

CENTER_TZ = workdays.TZ

# --------------------------------------------------------------------------- passwords

MIN_PASSWORD = 10


def password_problems(password: str, username: str = "") -> list[str]:
    """Why a new password is refused (empty: acceptable). At least 10 characters, letters and
    digits, not the username."""
    out = []
    if len(password) < MIN_PASSWORD:
        out.append(f"密码至少{MIN_PASSWORD}个字符")
    if not re.search(r"[A-Za-z]", password) or not re.search(r"[0-9]", password):
        out.append("密码须同时包含字母和数字")
    if username and username.lower() in password.lower():
        out.append("密码不能包含用户名")
    return out


# --------------------------------------------------------------------------- lockout


@dataclass(frozen=True)
class LockoutRule:
    failures: int = 5
    window: timedelta = timedelta(minutes=15)

    def locked_until(self, failures_at: Iterable[datetime], now: datetime) -> datetime | None:
        """With ``failures`` failed sign-ins inside the window, the account is locked until the
        window has passed since the last of them; None when it is not locked."""
        recent = sorted(t for t in failures_at if now - t < self.window)
        if len(recent) < self.failures:
            return None
        until = recent[-1] + self.window
        return until if until > now else None


def minutes_left(until: datetime, now: datetime) -> int:
    return max(1, int((until - now).total_seconds() + 59) // 60)


# --------------------------------------------------------------------------- where to go back

def safe_next(target: str | None, default: str = "/desk") -> str:
    """A local path to return to after sign-in: never another host, never a scheme-relative URL."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if parts.path.startswith(("/signin", "/signout")):
        return default
    return target


# --------------------------------------------------------------------------- cards


@dataclass(frozen=True)
class Card:
    colour: str  # "red", "yellow", "" (none)
    label: str   # the words on the badge (never colour alone)


NO_CARD = Card("", "")


def card_for(clock: Mapping[str, Any] | None, yellow_days: int = 2) -> Card:
    """Red card: overdue. Yellow card: still open with ``yellow_days`` working days left or fewer.
    A stopped clock (waiting for materials, a hearing ...) gets no yellow card (it stands still)."""
    if not clock:
        return NO_CARD
    if clock.get("state") == "ended":
        if clock.get("on_time") is False:
            return Card("red", "红牌·超期办结")
        return NO_CARD
    if clock.get("overdue"):
        return Card("red", "红牌·已超期")
    left = clock.get("days_left")
    if clock.get("state") == "running" and left is not None and left <= yellow_days:
        return Card("yellow", f"黄牌·剩{left}个工作日")
    return NO_CARD


# --------------------------------------------------------------------------- what the screen shows


def masked(name: str | None) -> str:
    """An applicant on a list: a person's name with only the surname kept (张*). A company's
    name (public registry data) is shown in full; a list does not say which it is, so a name of
    two to four Chinese characters is taken for a person's."""
    if not name:
        return ""
    v = name.strip()
    if 1 <= len(v) <= 4 and re.fullmatch(r"[\u3400-\u9fff·]+", v):
        return mask_name(v)
    return v


def mask_mobile_display(mobile: str | None) -> str:
    digits = re.sub(r"\D", "", mobile or "")
    if len(digits) < 7:
        return "****"
    return f"{digits[:3]}****{digits[-4:]}"


def mask_id_display(value: str | None) -> str:
    v = (value or "").strip()
    if len(v) < 8:
        return "****"
    return f"{v[:3]}{'*' * (len(v) - 7)}{v[-4:]}"


def parse_instant(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    else:
        try:
            dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def parse_day(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def zh_date(value: Any) -> str:
    """2026年12月7日."""
    d = parse_day(value) if not isinstance(value, datetime) else value.astimezone(CENTER_TZ).date()
    if isinstance(value, str) and "T" in value:
        inst = parse_instant(value)
        d = inst.astimezone(CENTER_TZ).date() if inst else None
    if d is None:
        return ""
    return f"{d.year}年{d.month}月{d.day}日"


def zh_datetime(value: Any) -> str:
    """2026年12月7日 14:05 (24-hour, the center's time zone)."""
    inst = parse_instant(value)
    if inst is None:
        return ""
    local = inst.astimezone(CENTER_TZ)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def local_today(now: datetime | None = None) -> date:
    return now.astimezone(CENTER_TZ).date() if now else clock.today()


# --------------------------------------------------------------------------- the step bar

STEPS = ("收件", "受理", "审查", "决定", "送达")

_STEP_OF_STATUS = {
    "received": 0,
    "awaiting_supplement": 0,
    "accepted": 2,
    "supplement_in_review": 2,
    "joint_review": 2,
    "forwarded": 2,
    "not_accepted": 4,
    "decided": 4,
}


def step_bar(status: str) -> list[dict[str, Any]]:
    """The five steps, each done / current / to come (收件 → 受理 → 审查 → 决定 → 送达)."""
    at = _STEP_OF_STATUS.get(status, 0)
    out = []
    for i, label in enumerate(STEPS):
        state = "done" if i < at else ("current" if i == at else "todo")
        if status in ("decided", "not_accepted"):
            state = "done"
        out.append({"label": label, "state": state})
    return out


# --------------------------------------------------------------------------- errors next to fields


@dataclass
class FormErrors:
    """Errors of one form: field name -> reason (zh-CN), and a message for the whole form."""

    fields: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)

    def add(self, name: str | None, reason: str) -> None:
        if name:
            self.fields.setdefault(name, reason)
        elif reason not in self.general:
            self.general.append(reason)


def errors_from_problem(problem: Mapping[str, Any], known: Iterable[str] = (),
                        aliases: Mapping[str, str] | None = None) -> FormErrors:
    """problem+json (``errors: [{field, reason}]`` or ``invalid_params: [{name, reason}]``) as
    errors next to the form's fields. A field the form does not show (or no field) goes to the
    summary with the service's ``detail``; the raw JSON is never shown."""
    known = set(known)
    aliases = dict(aliases or {})
    out = FormErrors()
    items = list(problem.get("errors") or [])
    items += [{"field": p.get("name"), "reason": p.get("reason")} for p in problem.get("invalid_params") or []]
    for item in items:
        name = str(item.get("field") or "")
        reason = str(item.get("reason") or problem.get("detail") or "提交的信息有误")
        mapped = aliases.get(name, name)
        if mapped not in known:
            # "materials.0" -> "materials"; "applicant.mobile" stays as it is.
            head = re.sub(r"\.\d+.*$", "", mapped)
            mapped = aliases.get(head, head)
        if mapped in known:
            out.add(mapped, reason)
        else:
            out.add(None, reason)
    if not items:
        out.add(None, str(problem.get("detail") or problem.get("title") or "提交的信息有误"))
    return out
