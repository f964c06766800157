"""AB posts of the windows and the weekend duty roster."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Query, Response

from services.runtime import CenterAdmin, CurrentStaff, Supervisor, UoW

from .. import store
from ..schemas import PostIn, PostOut, RosterIn, RosterOut, RowId, WindowStr
from ..usecases import staffing
from .deps import staff_router

router = staff_router()


@router.get("/posts", summary="Windows and their AB posts")
async def list_posts(staff: CurrentStaff, uow: UoW) -> list[PostOut]:
    names = await staffing.staff_names(uow.session)
    return [PostOut(window_no=p.window_no, unit_code=p.unit_code, unit_name=p.unit_name, post_a=p.post_a,
                    post_b=p.post_b, weekend_service=p.weekend_service, post_a_name=names.get(p.post_a or ""),
                    post_b_name=names.get(p.post_b or "")) for p in await store.all_posts(uow.session)]


@router.put("/posts/{window_no}", summary="Set a window's AB posts")
async def put_post(window_no: WindowStr, body: PostIn, staff: CenterAdmin, uow: UoW) -> PostOut:
    _, names = await staffing.put_post(uow, window_no, body)
    return PostOut(window_no=window_no, **body.model_dump(), post_a_name=names.get("post_a"),
                   post_b_name=names.get("post_b"))


@router.get("/roster", summary="Weekend duty roster between two days")
async def list_roster(staff: CurrentStaff, uow: UoW, start: Annotated[date, Query(alias="from")],
                      end: Annotated[date, Query(alias="to")]) -> list[RosterOut]:
    names = await staffing.staff_names(uow.session)
    return [RosterOut.of(r, names.get(r.staff_id)) for r in await store.roster_between(uow.session, start, end)]


@router.post("/roster", status_code=201, summary="Add people to the weekend duty roster")
async def add_roster(body: list[RosterIn], staff: Supervisor, uow: UoW) -> list[RosterOut]:
    return [RosterOut.of(r) for r in await staffing.add_roster(uow, body)]


@router.delete("/roster/{entry_id}", status_code=204, summary="Remove a roster entry")
async def delete_roster(entry_id: RowId, staff: Supervisor, uow: UoW) -> Response:
    await staffing.delete_roster(uow, entry_id)
    return Response(status_code=204)
