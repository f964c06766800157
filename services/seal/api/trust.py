"""Public: the trust anchors at stable URLs — the county root certificate, the current CRL (the
URL named in every seal certificate) and each seal's certificate."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from fastapi.responses import Response

from services.runtime.auth import PUBLIC
from services.runtime.deps import ServiceDep, UoW

from ..usecases import root, seals
from .deps import seal_router

router = seal_router()


@router.get("/root.crt", summary="The county seal root certificate (DER)", **PUBLIC)
async def root_der(svc: ServiceDep) -> Response:
    cert = root.authority(svc).root_cert
    return Response(cert.public_bytes(serialization.Encoding.DER), media_type="application/pkix-cert",
                    headers={"Content-Disposition": 'attachment; filename="county-seal-root.crt"'})


@router.get("/root.pem", summary="The county seal root certificate (PEM)", **PUBLIC)
async def root_pem(svc: ServiceDep) -> Response:
    return Response(root.authority(svc).root_pem, media_type="application/x-pem-file")


@router.get("/crl", summary="The current CRL (DER), the URL named in every seal certificate", **PUBLIC)
async def crl_der(svc: ServiceDep, uow: UoW) -> Response:
    root.authority(svc)
    current = await root.published_crl(uow.session)
    return Response(current.der, media_type="application/pkix-crl",
                    headers={"Cache-Control": "max-age=300", "X-CRL-Number": str(current.number)})


@router.get("/crl.pem", summary="The current CRL (PEM)", **PUBLIC)
async def crl_pem(svc: ServiceDep, uow: UoW) -> Response:
    root.authority(svc)
    current = await root.published_crl(uow.session)
    return Response(current.crl.public_bytes(serialization.Encoding.PEM), media_type="application/x-pem-file")


@router.get("/seals/{seal_id}/cert.pem", summary="The seal's certificate (PEM)", **PUBLIC)
async def seal_cert(seal_id: str, uow: UoW) -> Response:
    return Response((await seals.get_seal(uow, seal_id)).cert_pem, media_type="application/x-pem-file")
