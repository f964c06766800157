"""``seal_vs_naive``: the seal service's PDF path against a naive pyHanko, per core.

Project: what the ``SealDocument`` handler does for a notice sent as content, in process
(``seal_job_pdf``): the notice rendered (the template's page plus the variable fields), the seal's
signer from the software provider (the key opened once, kept), ``seal_pdf`` (PAdES B-B with the
seal's picture as the visible field, the seal's full certificate under a P-384 root; after the
template's first two notices, by replaying the seal's update of them). Peer:
``benchmarks/seal_naive.py``: the same notice rendered by ReportLab's platypus with the same CJK
font, ``signers.sign_pdf`` with a P-256 key, pyHanko's default dry-run sizing. Both sides render
and sign the same number of notices (a new receipt and document number each), alternating which
goes first; the figure is notices per CPU-second of this process (``time.thread_time``), i.e. per
core, which the other work on a shared machine disturbs far less than wall time.
"""

from __future__ import annotations

import asyncio
import time
from datetime import date
from functools import cache

from benchmarks.compare import Context, comparison


@cache
def _project():  # type: ignore[no-untyped-def]
    from benchmarks.seal_throughput import PASSPHRASE, UNIT_NAME
    from services.seal.adapters.authority import KeyProtector, SealAuthority, SealSubject
    from services.seal.adapters.image import SealFace, seal_pdf as face_pdf
    from services.seal.adapters.signing import SealKey, SoftwareSignerProvider

    protector = KeyProtector(PASSPHRASE)
    root, key = SealAuthority.create_root(authority_name="基准测试根", organization="基准测试")
    ca = SealAuthority(root, key, crl_url="http://127.0.0.1/seal/crl")
    issued = ca.issue(SealSubject("SCJG", UNIT_NAME), protector)
    return (SoftwareSignerProvider(protector), SealKey("bench", issued.cert, (root,), issued.encrypted_key_pem),
            face_pdf(SealFace(UNIT_NAME)))


@cache
def _peer():  # type: ignore[no-untyped-def]
    from benchmarks.seal_naive import NaiveSealer

    return NaiveSealer()


async def project_seal(i: int) -> bytes:
    """One notice as the service seals it (``seal_job_pdf``: rendered from its template, the kept
    signer, the seal's update of the template's notices replayed)."""
    from benchmarks.seal_throughput import PARAGRAPHS, UNIT_NAME
    from services.seal.adapters.render import Notice
    from services.seal.usecases.documents import seal_job_pdf

    provider, key, face = _project()
    doc_no = f"SCJG-2024-{i:06d}"
    notice = Notice(
        "受理通知书", UNIT_NAME, PARAGRAPHS, date(2024, 8, 2), addressee="张三",
        numbers=[("受理编号", f"SL-2024-{i:06d}"), ("文书编号", doc_no)],
        footer=f"本文书加盖电子印章，可在 http://127.0.0.1:8102/seal/documents/{doc_no} 核验。",
    )
    return await seal_job_pdf(provider.signer_for(key), face, pdf=None, notice=notice, box=None,
                              reason="行政审批专用章：受理通知书", location="某某县", signer_name=UNIT_NAME)


async def _warm_project() -> None:
    """Seal notices until the seal's update of the template is learned (pyHanko's path until two
    of them were sealed at different seconds), at most a few seconds."""
    from services.seal.adapters import render, signing

    start, i = time.monotonic(), 900_000
    while time.monotonic() - start < 5:
        await project_seal(i)
        i += 1
        if any(isinstance(u, signing._SealUpdate) for t in list(render._TEMPLATES.values())
               for u in t.seal_updates.values()):
            return
        await asyncio.sleep(0.25)


async def project_rate(n: int, offset: int = 0) -> float:
    t = time.thread_time()
    for i in range(n):
        await project_seal(offset + i)
    return n / (time.thread_time() - t)


def peer_rate(n: int, offset: int = 0) -> float:
    from benchmarks.seal_naive import rate

    return rate(_peer(), n, offset)


_warm = False


@comparison("seal_vs_naive", unit="notices/s per core", quick=30, full=200)
async def seal_vs_naive(ctx: Context, size: int) -> tuple[float, float]:
    global _warm
    if not _warm:  # imports, the font, the seal's template, signer and update: once per process, both sides
        await _warm_project()
        await asyncio.to_thread(lambda: _peer().seal(0))
        _warm = True
    offset = 1 + ctx.round * size
    if ctx.round % 2:
        q = await asyncio.to_thread(peer_rate, size, offset)  # sign_pdf runs its own loop
        p = await project_rate(size, offset)
    else:
        p = await project_rate(size, offset)
        q = await asyncio.to_thread(peer_rate, size, offset)  # sign_pdf runs its own loop
    return p, q
