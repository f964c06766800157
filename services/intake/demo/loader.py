"""Loads the demo catalog into intake's store (at start with ONEWINDOW_INTAKE_DEMO_CATALOG=1, or
``python -m services.intake.demo``). Only into an empty catalog: units and items that exist are
left alone, so a restart loads nothing twice. Publishing goes through the domain, so the catalog
events (UnitRegistered, ItemPublished) go out like any admin's."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from contracts.common import Role

from ..access import Actor
from ..catalog import CatalogRules, Item
from ..store import Store
from ..workdays import local_date
from . import load

if TYPE_CHECKING:
    from services.runtime import Service

log = logging.getLogger(__name__)

LOADER = Actor(staff_id="demo-catalog", role=Role.CENTER_ADMIN)


async def load_into(store: Store, uow, at: datetime, rules: CatalogRules) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    units, items = load(rules)
    existing_units = {u.code for u in await store.units()}
    existing_items = await store.item_codes()
    new_units = new_items = 0
    for unit in units:
        if unit.code in existing_units:
            continue
        unit = unit.model_copy(update={"registered_on": local_date(at)})
        await store.save_unit(unit)
        await uow.emit(unit.registered(at, LOADER.staff_id))
        new_units += 1
    names = {u.code: u.name for u in units}
    for demo in items:
        if demo.code in existing_items:
            continue
        item = Item.create(LOADER, code=demo.code, unit_code=demo.unit_code, content=demo.content, rules=rules,
                           known_units=names)
        for e in item.publish(LOADER, at, names[demo.unit_code], rules):
            await uow.emit(e)
        item.pull_events()
        await store.save_item(item)
        new_items += 1
    return new_units, new_items


async def load_demo_catalog(service: "Service", at: datetime) -> tuple[int, int]:
    rules = service.settings.catalog_rules()  # type: ignore[attr-defined]
    async with service.uow() as uow:
        store = Store(uow.session)
        if await store.item_codes():
            log.info("catalog not empty: demo catalog not loaded")
            return 0, 0
        counts = await load_into(store, uow, at, rules)
        await uow.commit()
    log.info("demo catalog loaded: %d units, %d items", *counts)
    return counts
