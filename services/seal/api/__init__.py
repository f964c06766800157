"""The seal service's HTTP API (prefix ``/seal``), one router per resource:

- ``trust``: the root certificate, the CRL and seal certificates at stable public URLs;
- ``documents``: verification (JSON), a sealed document's record, the sealed PDF by reference;
- ``pages``: the public zh-CN pages (verification form and result, a document's page);
- ``seals``: seal administration (staff read, center admin issues, registers, revokes);
- ``log``: the usage log's chain check and the supervision queries (supervisors).

Routes are thin: parse, call a use case (``services.seal.usecases``), shape the answer
(``services.seal.schemas``). Refusals are the domain's errors, answered as problem+json by the
runtime.
"""

from fastapi import APIRouter

from . import documents, log, pages, seals, trust

router = APIRouter()
for _resource in (trust, documents, pages, seals, log):
    router.include_router(_resource.router)

__all__ = ["router"]
