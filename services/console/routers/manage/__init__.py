"""The center's management pages (issue 18): one router per area, each under ``/manage/<area>``.
``/manage`` itself is the index of the areas the signed-in person may open."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from contracts.common import Role

from ...store import SessionRow
from ...web import render, require_role, staff
from . import attendance, board, catalog, messages, oversight, seals, units

#: (path, title, description, roles that may open it) — the index and the navigation.
AREAS: tuple[tuple[str, str, str, tuple[Role, ...]], ...] = (
    ("/manage/deadlines", "期限看板", "在办件黄牌红牌、暂停与延期、工作日历", (Role.SUPERVISOR, Role.CENTER_ADMIN, Role.UNIT_HEAD)),
    ("/manage/oversight", "督查督办", "月度通报、督办通知书、随机抽查", (Role.SUPERVISOR, Role.CENTER_ADMIN)),
    ("/manage/units", "单位与办件量", "各单位月度办件量、应进不进、评价与整改", (Role.SUPERVISOR, Role.CENTER_ADMIN)),
    ("/manage/catalog", "事项目录", "单位与事项：草稿、发布、废止、历次版本", (Role.CENTER_ADMIN,)),
    ("/manage/seals", "电子印章", "各单位二号章、证书、注销、吊销列表、用印日志", (Role.SUPERVISOR, Role.CENTER_ADMIN)),
    ("/manage/attendance", "考勤管理", "考勤机、人员、AB岗、周五学习、请假、月报、评优", (Role.SUPERVISOR, Role.CENTER_ADMIN)),
    ("/manage/messages", "消息与死信", "发送失败或未确认的短信与文书、死信重放", (Role.CENTER_ADMIN,)),
)

index = APIRouter(prefix="/manage", tags=["console: management"])


@index.get("", summary="The management areas the signed-in person may open")
async def manage_index(request: Request, user: SessionRow = Depends(staff)) -> Response:
    mine = [a for a in AREAS if Role(user.role) in a[3]]
    if not mine:
        require_role(user, Role.SUPERVISOR, Role.CENTER_ADMIN)
    return render(request, "manage/index.html", title="中心管理", areas=mine)


ROUTERS = (index, board.router, oversight.router, units.router, catalog.router, seals.router,
           attendance.router, messages.router)
