"""Management pages: bulletins, supervision notices, random inspection (督查). Same rules as every console page: the services' HTTP APIs with the
signed-in person's token; the services decide who may see and do what."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/manage/oversight", tags=["console: management"])
