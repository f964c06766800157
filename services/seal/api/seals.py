"""Seals: staff read them and their pictures; the center admin issues a unit's No. 2 seal,
registers its old seal and revokes seals (the CRL reissued in the same transaction)."""

from __future__ import annotations

from fastapi.responses import Response

from services.runtime import clock
from services.runtime.auth import CenterAdmin, CurrentStaff
from services.runtime.deps import ServiceDep, UoW

from ..schemas import IssueSeal, RegisterOldSeal, RevokeSeal, SealOut
from ..usecases import seals
from .deps import PDF, seal_router

router = seal_router()


@router.get("/seals", response_model=list[SealOut], summary="Seals, optionally of one unit")
async def list_seals(staff: CurrentStaff, uow: UoW, unit_code: str | None = None) -> list[SealOut]:
    now = clock.now()
    return [SealOut.of(r, now) for r in await seals.list_seals(uow, unit_code)]


@router.get("/seals/{seal_id}", response_model=SealOut, summary="One seal")
async def get_seal(seal_id: str, staff: CurrentStaff, uow: UoW) -> SealOut:
    return SealOut.of(await seals.get_seal(uow, seal_id), clock.now())


@router.get("/seals/{seal_id}/image.svg", summary="The seal's picture (SVG)")
async def seal_image_svg(seal_id: str, staff: CurrentStaff, uow: UoW) -> Response:
    return Response(seals.face_svg(await seals.get_seal(uow, seal_id)), media_type="image/svg+xml")


@router.get("/seals/{seal_id}/image.pdf", summary="The seal's picture (vector PDF)")
async def seal_image_pdf(seal_id: str, staff: CurrentStaff, uow: UoW) -> Response:
    return Response(seals.face_pdf(await seals.get_seal(uow, seal_id)), media_type=PDF)


@router.post("/seals", response_model=SealOut, status_code=201, summary="Issue a unit's No. 2 seal (center admin)")
async def issue_seal(body: IssueSeal, staff: CenterAdmin, svc: ServiceDep, uow: UoW) -> SealOut:
    row, now = await seals.issue_no2(
        svc, uow, staff.sub, unit_code=body.unit_code, unit_name=body.unit_name, seal_name=body.seal_name,
        seal_no=body.seal_no, start_date=body.start_date, scope=frozenset(body.scope) if body.scope else None,
    )
    await uow.commit()
    return SealOut.of(row, now)


@router.post("/old-seals", response_model=SealOut, status_code=201,
             summary="Register a unit's old seal, barred from approvals after the cut-over (center admin)")
async def register_old_seal(body: RegisterOldSeal, staff: CenterAdmin, svc: ServiceDep, uow: UoW) -> SealOut:
    row, now = await seals.register_old_seal(
        svc, uow, staff.sub, unit_code=body.unit_code, unit_name=body.unit_name, seal_name=body.seal_name,
        approvals_until=body.approvals_until,
    )
    await uow.commit()
    return SealOut.of(row, now)


@router.post("/seals/{seal_id}/revoke", response_model=SealOut, summary="Revoke a seal; the CRL is reissued (center admin)")
async def revoke_seal(seal_id: str, body: RevokeSeal, staff: CenterAdmin, svc: ServiceDep, uow: UoW) -> SealOut:
    row, now = await seals.revoke(svc, uow, staff.sub, seal_id, body.reason, body.note)
    await uow.commit()
    return SealOut.of(row, now)
