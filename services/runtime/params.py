"""Request values every service checks the same way, beyond what their types say: free text the
database can store and an event can carry, keys that could name a stored row at all, and integers
the database can take. A value outside is refused at the door (problem+json naming the field, the
reason in zh-CN), never passed on to fail in the database driver (PostgreSQL refuses NUL in text
and integers beyond BIGINT)."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Annotated, Any

from fastapi import Request
from pydantic import AfterValidator, Field

from .problems import Problem

#: Line breaks and tabs are text; every other control character (NUL above all) is not.
_ALLOWED_CONTROLS = frozenset("\t\n\r")

#: Largest integer the databases take (SQLite INTEGER, PostgreSQL BIGINT): beyond it the driver fails.
SQL_BIGINT_MAX = 2**63 - 1
#: Largest value of a PostgreSQL INTEGER column (SQLModel's ``int`` primary keys).
SQL_INT_MAX = 2**31 - 1


def has_control(value: str) -> bool:
    """Whether ``value`` holds a control character other than a line break or a tab, or half of
    a surrogate pair (neither can be stored, printed or sent by SMS)."""
    return any(unicodedata.category(c) in ("Cc", "Cs") and c not in _ALLOWED_CONTROLS for c in value)


CONTROL_REASON = "不能含有控制字符（如 NUL）"


def _clean_text(value: str) -> str:
    if has_control(value):
        raise ValueError(CONTROL_REASON)
    return value


#: Free text a person typed (a reason, a note, a reply): stored, published and put in events.
FreeText = Annotated[str, AfterValidator(_clean_text)]

#: How many rows a list skips (paging).
Offset = Annotated[int, Field(ge=0, le=SQL_BIGINT_MAX, description="跳过的条数（分页）")]


def plausible_key(key: str, max_len: int) -> bool:
    """Whether ``key`` could name a stored row: a longer one, or one with control characters, is
    known absent without asking the database (which may refuse to compare it at all)."""
    return 0 < len(key) <= max_len and key.isprintable()


# -- the door: every request of every service ---------------------------------------------------

#: A JSON body that may hold a control character in a string: an escape below U+0020 other than
#: \t \n \r, or a C1 control (U+0080..U+009F) written as UTF-8. Anything else is parsed once only.
_MAYBE_CONTROL = re.compile(rb'\\u00[01][0-9a-fA-F]|\\u007[fF]|\\[bf]|\xc2[\x80-\x9f]|\\u00[89][0-9a-fA-F]')


def _first_control(value: Any, path: str = "") -> str | None:
    """The dotted path of the first string in ``value`` holding a control character, or None."""
    if isinstance(value, str):
        return path if has_control(value) else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = _first_control(item, f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None


async def refuse_control_characters(request: Request) -> None:
    """Refuse, before any route runs, control characters (NUL above all) in a request's path
    parameters (404: no row has such a key), query parameters and JSON body (422 naming the
    field): a service never hands the database a value it cannot store or compare (PostgreSQL
    refuses NUL), and no event carries one. Line breaks and tabs in text are allowed."""
    route = request.scope.get("route")
    if (getattr(route, "openapi_extra", None) or {}).get("x-raw-input"):
        return
    for name, value in request.path_params.items():
        if isinstance(value, str) and has_control(value):
            raise Problem(404, "未找到", field=name)
    for name, value in request.query_params.multi_items():
        if has_control(value):
            raise Problem(422, f"{name}：{CONTROL_REASON}", errors=[{"field": name, "reason": CONTROL_REASON}])
    if "json" not in (request.headers.get("content-type") or ""):
        return
    body = await request.body()  # FastAPI keeps it for the route
    if not _MAYBE_CONTROL.search(body):
        return
    try:
        data = json.loads(body)
    except ValueError:
        return  # not JSON: the route's own validation answers
    field = _first_control(data)
    if field is not None:
        raise Problem(422, f"{field}：{CONTROL_REASON}", errors=[{"field": field, "reason": CONTROL_REASON}])
