"""The seal office as the service runs it: the county root loaded (or created, or imported) at
start, the key protector, the signer provider, the current CRL and the seal pictures.

The CRL lives in the database (one row with the authority), so every replica serves the same one;
it is reissued on every revocation and a day before it runs out.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from cryptography import x509
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from services.runtime.db import Database

from . import store
from .authority import KeyProtector, RevokedSeal, SealAuthority, crl_der
from .config import SealSettings
from .domain import WorkingHours
from .image import SealFace, seal_pdf as face_pdf, seal_svg
from .signing import SealKey, SignerProvider, SoftwareSignerProvider

log = logging.getLogger(__name__)

#: Reissue the CRL when it has less than this left.
CRL_REFRESH_MARGIN = timedelta(days=1)


def protector_from_settings(settings: SealSettings) -> KeyProtector:
    if settings.seal_key_passphrase_file:
        return KeyProtector(settings.seal_key_passphrase_file.read_bytes())
    if settings.seal_key_passphrase:
        return KeyProtector(settings.seal_key_passphrase.get_secret_value())
    # Development convenience, like the runtime's auth.key: production mounts a secret.
    path = settings.seal_dir / "passphrase"
    if not path.exists():
        settings.seal_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(secrets.token_urlsafe(32))
        tmp.chmod(0o600)
        tmp.replace(path)
        log.warning("no seal key passphrase configured; generated a local one (set ONEWINDOW_SEAL_KEY_PASSPHRASE_FILE in production)")
    return KeyProtector(path.read_bytes())


@dataclass(frozen=True)
class CurrentCrl:
    number: int
    der: bytes
    this_update: datetime
    next_update: datetime

    @property
    def crl(self) -> x509.CertificateRevocationList:
        return x509.load_der_x509_crl(self.der)


class SealOffice:
    def __init__(self, settings: SealSettings, provider: SignerProvider | None = None) -> None:
        self.settings = settings
        self._provider = provider
        self.protector: KeyProtector | None = None
        self.authority: SealAuthority | None = None
        self.hours = WorkingHours(opens=settings.seal_hours_open, closes=settings.seal_hours_close)
        self._lock = asyncio.Lock()
        self.metrics: Any = None  # handlers.SealMetrics, set when the handlers are registered

    # -- start ------------------------------------------------------------------------------
    async def ensure_open(self, db: Database) -> "SealOffice":
        """Open once (handlers and routes call this; the first caller does the work)."""
        if self.authority is None:
            async with self._lock:
                if self.authority is None:
                    await self.open(db)
        return self

    async def open(self, db: Database) -> None:
        """Load the root (create or import it on first start) and make sure a CRL is current."""
        self.protector = protector_from_settings(self.settings)
        if self._provider is None:
            self._provider = SoftwareSignerProvider(self.protector)
        async with db.session() as session:
            row = await store.authority_row(session)
            if row is None:
                row = self._new_root_row()
                session.add(row)
                try:
                    await session.commit()
                    log.info("seal root %s", "imported" if row.imported else "created")
                except IntegrityError:  # another replica created it first
                    await session.rollback()
                    row = await store.authority_row(session)
                    assert row is not None
            self.authority = SealAuthority.from_pem(
                row.root_cert_pem.encode(), row.root_key_pem.encode(), self.protector,
                crl_url=self.settings.crl_url, root_cert_url=self.settings.root_cert_url,
            )
        await self.refresh_crl_if_due(db)

    def _new_root_row(self) -> store.AuthorityRow:
        assert self.protector is not None
        s = self.settings
        now = datetime.now(UTC)
        if s.seal_root_cert_file and s.seal_root_key_file:
            cert_pem = s.seal_root_cert_file.read_bytes()
            key_pem = s.seal_root_key_file.read_bytes()
            # check that it opens and fits before storing it
            SealAuthority.from_pem(cert_pem, key_pem, self.protector, crl_url=s.crl_url)
            return store.AuthorityRow(root_cert_pem=cert_pem.decode(), root_key_pem=key_pem.decode(),
                                      created_at=now, imported=True)
        cert, key = SealAuthority.create_root(
            authority_name=f"{s.seal_county_name}电子印章根证书",
            organization=f"{s.seal_county_name}行政审批服务中心",
            now=now,
        )
        from cryptography.hazmat.primitives import serialization

        return store.AuthorityRow(
            root_cert_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
            root_key_pem=self.protector.protect(key).decode(),
            created_at=now,
        )

    # -- parts --------------------------------------------------------------------------------
    @property
    def ca(self) -> SealAuthority:
        if self.authority is None:
            raise RuntimeError("the seal office is not open")
        return self.authority

    @property
    def keys(self) -> KeyProtector:
        if self.protector is None:
            raise RuntimeError("the seal office is not open")
        return self.protector

    @property
    def provider(self) -> SignerProvider:
        if self._provider is None:
            raise RuntimeError("the seal office is not open")
        return self._provider

    def seal_key(self, row: store.SealRow) -> SealKey:
        return SealKey(
            seal_id=row.seal_id,
            cert=x509.load_pem_x509_certificate(row.cert_pem.encode()),
            chain=(self.ca.root_cert,),
            encrypted_key_pem=row.key_pem.encode() if row.key_pem else None,
        )

    def face_pdf(self, row: store.SealRow) -> bytes:
        return _face_pdf(row.unit_name, row.seal_name, row.seal_no)

    def face_svg(self, row: store.SealRow) -> str:
        return _face_svg(row.unit_name, row.seal_name, row.seal_no)

    # -- CRL ----------------------------------------------------------------------------------
    async def issue_crl(self, session: AsyncSession, now: datetime | None = None) -> CurrentCrl:
        """Reissue the CRL inside the caller's transaction (from every revoked seal)."""
        now = now or datetime.now(UTC)
        row = await store.authority_row(session, lock=True)
        assert row is not None
        revoked = [
            RevokedSeal(int(s.cert_serial, 16), store.aware(s.revoked_at), s.revocation_reason or "unspecified")
            for s in await store.revoked_seals(session)
        ]
        number = row.crl_number + 1
        crl = self.ca.crl(revoked, number=number, this_update=now,
                          validity=timedelta(days=self.settings.seal_crl_days))
        row.crl_number = number
        row.crl_der = crl_der(crl)
        row.crl_this_update = crl.last_update_utc
        row.crl_next_update = crl.next_update_utc
        session.add(row)
        return CurrentCrl(number, row.crl_der, row.crl_this_update, row.crl_next_update)

    async def current_crl(self, session: AsyncSession) -> CurrentCrl | None:
        row = await store.authority_row(session)
        if row is None or row.crl_der is None:
            return None
        return CurrentCrl(row.crl_number, row.crl_der, store.aware(row.crl_this_update), store.aware(row.crl_next_update))

    async def refresh_crl_if_due(self, db: Database, now: datetime | None = None) -> bool:
        now = now or datetime.now(UTC)
        async with db.session() as session:
            current = await self.current_crl(session)
            if current is not None and current.next_update - now > CRL_REFRESH_MARGIN:
                return False
            issued = await self.issue_crl(session, now)
            await session.commit()
        log.info("CRL %d issued, next update %s", issued.number, issued.next_update.isoformat())
        return True


@lru_cache(maxsize=256)
def _face_pdf(unit_name: str, seal_name: str, seal_no: str) -> bytes:
    return face_pdf(SealFace(unit_name, seal_name, seal_no or None))


@lru_cache(maxsize=256)
def _face_svg(unit_name: str, seal_name: str, seal_no: str) -> str:
    return seal_svg(SealFace(unit_name, seal_name, seal_no or None))
