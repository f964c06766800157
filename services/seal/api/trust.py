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


# -- the 国密 (SM2) side: OFD seals ---------------------------------------------------------------

@router.get("/sm2/root.crt", summary="The county SM2 seal root certificate (DER), for OFD seals", **PUBLIC)
async def sm2_root_der(svc: ServiceDep) -> Response:
    return Response(root.sm2(svc).root_cert.dump(), media_type="application/pkix-cert",
                    headers={"Content-Disposition": 'attachment; filename="county-seal-root-sm2.crt"'})


@router.get("/sm2/root.pem", summary="The county SM2 seal root certificate (PEM)", **PUBLIC)
async def sm2_root_pem(svc: ServiceDep) -> Response:
    return Response(root.sm2(svc).authority.root_pem, media_type="application/x-pem-file")


@router.get("/sm2/maker.pem", summary="The county seal maker's (制章者) SM2 certificate (PEM)", **PUBLIC)
async def sm2_maker_pem(svc: ServiceDep) -> Response:
    from ..adapters.gmpki import cert_pem

    return Response(cert_pem(root.sm2(svc).maker_cert), media_type="application/x-pem-file")


@router.get("/sm2/crl", summary="The current SM2 CRL (DER), the URL named in every SM2 seal certificate", **PUBLIC)
async def sm2_crl(svc: ServiceDep, uow: UoW) -> Response:
    root.sm2(svc)
    current = await root.current_sm2_crl(uow.session)
    if current is None:
        from ..domain import Unavailable

        raise Unavailable(None, "吊销列表尚未生成")
    return Response(current.der, media_type="application/pkix-crl",
                    headers={"Cache-Control": "max-age=300", "X-CRL-Number": str(current.number)})


@router.get("/seals/{seal_id}/sm2-cert.pem", summary="The seal's SM2 certificate (PEM)", **PUBLIC)
async def seal_sm2_cert(seal_id: str, uow: UoW) -> Response:
    row = await seals.get_seal(uow, seal_id)
    if not row.sm2_cert_pem:
        from ..domain import NotFound

        raise NotFound("seal_id", "该印章尚无SM2证书")
    return Response(row.sm2_cert_pem, media_type="application/x-pem-file")


@router.get("/seals/{seal_id}/seal.esl", summary="The seal as a GB/T 38540 v4 electronic seal (SESeal, DER)", **PUBLIC)
async def seal_esl(seal_id: str, uow: UoW) -> Response:
    row = await seals.get_seal(uow, seal_id)
    if not row.ses_seal:
        from ..domain import NotFound

        raise NotFound("seal_id", "该印章尚无GB/T 38540电子印章")
    return Response(row.ses_seal, media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{seal_id}.esl"'})
