"""Request values every service checks the same way, beyond what their types say: free text the
database can store and an event can carry, keys that could name a stored row at all, and integers
the database can take. A value outside is refused at the door (problem+json naming the field, the
reason in zh-CN), never passed on to fail in the database driver (PostgreSQL refuses NUL in text
and integers beyond BIGINT)."""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, Field

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


def _clean_text(value: str) -> str:
    if has_control(value):
        raise ValueError("不能含有控制字符（如 NUL）")
    return value


#: Free text a person typed (a reason, a note, a reply): stored, published and put in events.
FreeText = Annotated[str, AfterValidator(_clean_text)]

#: How many rows a list skips (paging).
Offset = Annotated[int, Field(ge=0, le=SQL_BIGINT_MAX, description="跳过的条数（分页）")]


def plausible_key(key: str, max_len: int) -> bool:
    """Whether ``key`` could name a stored row: a longer one, or one with control characters, is
    known absent without asking the database (which may refuse to compare it at all)."""
    return 0 < len(key) <= max_len and key.isprintable()
