"""Who may see what: clerks and unit heads see their own unit's cases (by receipt number),
supervisors and the center admin every one."""

from __future__ import annotations

from typing import Any

from services.runtime.auth import Staff
from services.runtime.errors import NotAllowed, NotFound

from ..store import CaseRow


async def check_case_access(uow: Any, staff: Staff, receipt_no: str | None) -> None:
    """Refused (403) unless ``staff`` may see the case ``receipt_no`` (404 if notify never heard
    of it); center-wide roles see every case, and may search without a receipt number."""
    if staff.center_wide:
        return
    if not receipt_no:
        raise NotAllowed("receipt_no", "请按受理编号查询本单位的短信和文书")
    case = await uow.session.get(CaseRow, receipt_no)
    if case is None:
        raise NotFound("receipt_no", "没有这个受理编号")
    staff.ensure_unit(case.unit_code)
