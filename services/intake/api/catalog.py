"""Catalog administration (center admin): window units and versioned items."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.runtime import CurrentStaff, UoW

from .. import usecases
from ..schemas import ItemAdminView, ItemContentIn, ItemCreate, RetireIn, UnitIn, UnitView, unit_view
from ..store import Store
from .deps import State, actor_of

router = APIRouter(tags=["catalog"])


@router.post("/catalog/units", status_code=201, summary="登记窗口单位（中心管理员）")
async def register_unit(body: UnitIn, staff: CurrentStaff, uow: UoW, st: State) -> UnitView:
    return unit_view(await usecases.register_unit(uow, st, actor_of(staff), body))


@router.put("/catalog/units/{unit_code}", summary="修改窗口单位（中心管理员）")
async def update_unit(unit_code: str, body: UnitIn, staff: CurrentStaff, uow: UoW, st: State) -> UnitView:
    return unit_view(await usecases.update_unit(uow, st, actor_of(staff), unit_code, body))


@router.get("/catalog/units", summary="全部窗口单位")
async def list_units(staff: CurrentStaff, uow: UoW) -> list[UnitView]:
    return [unit_view(u) for u in await Store(uow.session).units()]


@router.post("/catalog/items", status_code=201, summary="新建事项草稿（中心管理员）")
async def create_item(body: ItemCreate, staff: CurrentStaff, uow: UoW, st: State) -> ItemAdminView:
    return ItemAdminView.of(await usecases.create_item(uow, st, actor_of(staff), body))


@router.get("/catalog/items", summary="全部事项（含未发布的草稿和已停用的），可按单位")
async def list_items(staff: CurrentStaff, uow: UoW, unit: Annotated[str | None, Query(max_length=12)] = None,
                     ) -> list[ItemAdminView]:
    return [ItemAdminView.of(i) for i in await Store(uow.session).all_items(unit)]


@router.get("/catalog/items/{item_code}", summary="事项全部版本及草稿")
async def get_item(item_code: str, staff: CurrentStaff, uow: UoW) -> ItemAdminView:
    return ItemAdminView.of(await usecases.load_item(Store(uow.session), item_code))


@router.put("/catalog/items/{item_code}/draft", summary="编辑事项（生成新版本草稿）")
async def edit_item(item_code: str, body: ItemContentIn, staff: CurrentStaff, uow: UoW, st: State) -> ItemAdminView:
    return ItemAdminView.of(await usecases.edit_item(uow, st, actor_of(staff), item_code, body))


@router.post("/catalog/items/{item_code}/publish", summary="发布草稿为现行版本")
async def publish_item(item_code: str, staff: CurrentStaff, uow: UoW, st: State) -> ItemAdminView:
    return ItemAdminView.of(await usecases.publish_item(uow, st, actor_of(staff), item_code))


@router.post("/catalog/items/{item_code}/retire", summary="停用事项（在办案件不受影响）")
async def retire_item(item_code: str, body: RetireIn, staff: CurrentStaff, uow: UoW, st: State) -> ItemAdminView:
    return ItemAdminView.of(await usecases.retire_item(uow, st, actor_of(staff), item_code, body.reason))
