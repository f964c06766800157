"""The public guide (办事指南): units and current items, for touch screens and the website."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.runtime import PUBLIC, Problem, UoW

from ..schemas import GuideItem, GuideItemSummary, GuideUnit, guide_item, guide_summary
from ..store import Store

router = APIRouter(tags=["guide"])


@router.get("/guide/units", summary="窗口单位及可办事项数", **PUBLIC)
async def guide_units(uow: UoW) -> list[GuideUnit]:
    store = Store(uow.session)
    counts = await store.item_counts()
    return [GuideUnit(code=u.code, name=u.name, window_numbers=u.window_numbers, items=counts.get(u.code, 0))
            for u in await store.units() if u.entered]


@router.get("/guide/items", summary="现行事项（可按单位、名称、类型查询）", **PUBLIC)
async def guide_items(
    uow: UoW,
    unit: Annotated[str | None, Query(description="单位代码", max_length=12)] = None,
    q: Annotated[str | None, Query(description="事项名称关键词，空格分隔多个词", max_length=100)] = None,
    kind: Annotated[str | None, Query(description="事项类型", max_length=16)] = None,
) -> list[GuideItemSummary]:
    store = Store(uow.session)
    names = await store.unit_names()
    items = await store.current_items(unit, q, kind)
    return [guide_summary(i.current_version(), names.get(i.unit_code, i.unit_code)) for i in items]


@router.get("/guide/items/{item_code}", summary="办事指南：事项的依据、程序、材料、时限、收费", **PUBLIC)
async def guide_item_detail(item_code: str, uow: UoW) -> GuideItem:
    store = Store(uow.session)
    item = await store.item(item_code.upper())
    if item is None or not item.accepting:
        raise Problem(404, f"没有编码为 {item_code} 的现行事项", field="item_code")
    unit = await store.unit(item.unit_code)
    return guide_item(item.current_version(), unit.name if unit else item.unit_code)
