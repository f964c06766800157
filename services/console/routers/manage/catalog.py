"""Management pages: units and items: drafts, publish, retire, versions (事项目录). Same rules as every console page: the services' HTTP APIs with the
signed-in person's token; the services decide who may see and do what."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/manage/catalog", tags=["console: management"])
