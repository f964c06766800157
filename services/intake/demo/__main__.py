"""``python -m services.intake.demo``: load the demo catalog into intake's database (same settings
as the service). The events wait in the outbox until the service runs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from ..app import create_service
from .loader import load_demo_catalog


async def main() -> None:
    service = create_service()
    await service.db.migrate()
    try:
        units, items = await load_demo_catalog(service, datetime.now(UTC))
    finally:
        await service.db.dispose()
    print(f"loaded {units} units and {items} items" if items else "catalog not empty: nothing loaded")


asyncio.run(main())
