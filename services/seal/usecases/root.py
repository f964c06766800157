"""The county seal root as the service runs it: loaded (or created, or imported) on first use, the
key protector, the signer provider, and the current CRL.

These live in ``service.state`` (set up by ``app.py``): ``authority`` (the :class:`SealAuthority`,
None until open), ``protector``, ``provider`` (None: the software provider over the protector)
and ``opening`` (the lock the first opener takes).

The CRL lives in the database (one row with the authority), so every replica serves the same one;
it is reissued on every revocation and a day before it runs out (``workers.py``).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from services.runtime import clock

from .. import store
from ..adapters import gmpki
from ..adapters.authority import KeyProtector, RevokedSeal, SealAuthority, crl_der
from ..adapters.signing import SealKey, SignerProvider, SoftwareSignerProvider
from ..config import SealSettings
from ..domain import Unavailable

if TYPE_CHECKING:
    from services.runtime.app import Service

log = logging.getLogger(__name__)

#: Reissue the CRL when it has less than this left.
CRL_REFRESH_MARGIN = timedelta(days=1)

NOT_OPEN = "印章服务正在启动，请稍后再试"


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


def settings_of(svc: "Service") -> SealSettings:
    return svc.settings  # type: ignore[return-value]


# -- opening -------------------------------------------------------------------------------------

async def ensure_open(svc: "Service") -> None:
    """Open the root once (handlers, routes and the CRL worker call this; the first caller does
    the work)."""
    state = svc.state
    if state.authority is None:
        async with state.opening:
            if state.authority is None:
                await open_authority(svc)


async def open_authority(svc: "Service") -> None:
    """Load the root (create or import it on first start) and make sure a CRL is current."""
    state, settings = svc.state, settings_of(svc)
    protector = protector_from_settings(settings)
    state.protector = protector
    if state.provider is None:
        state.provider = SoftwareSignerProvider(protector)
    async with svc.db.session() as session:
        row = await store.authority_row(session)
        if row is None:
            row = _new_root_row(settings, protector)
            session.add(row)
            try:
                await session.commit()
                log.info("seal root %s", "imported" if row.imported else "created")
            except IntegrityError:  # another replica created it first
                await session.rollback()
                row = await store.authority_row(session)
                assert row is not None
        if row.sm2_root_cert_pem is None:  # first start, or the first after migration seal_0002
            row = await _add_sm2_root(session, settings, protector)
        state.sm2 = Sm2Parts(
            authority=gmpki.Sm2Authority.from_pem(row.sm2_root_cert_pem.encode(), row.sm2_root_key_pem.encode(),
                                                  protector, crl_url=settings.sm2_crl_url),
            maker_cert=gmpki.load_cert(row.sm2_maker_cert_pem.encode()),
            maker_key_pem=row.sm2_maker_key_pem.encode(),
        )
        state.authority = SealAuthority.from_pem(
            row.root_cert_pem.encode(), row.root_key_pem.encode(), protector,
            crl_url=settings.crl_url, root_cert_url=settings.root_cert_url,
        )
    await refresh_crl_if_due(svc)


@dataclass(frozen=True)
class Sm2Parts:
    """The 国密 side of the county: the SM2 root and the seal maker (制章者) who signs SES_Seals."""

    authority: gmpki.Sm2Authority
    maker_cert: "gmpki.asn1_x509.Certificate"
    maker_key_pem: bytes

    @property
    def root_cert(self):
        return self.authority.root_cert


async def _add_sm2_root(session: AsyncSession, s: SealSettings, protector: KeyProtector) -> store.AuthorityRow:
    """Create the SM2 root and the seal maker's certificate once (a replica racing here waits on
    the row lock and finds them made)."""
    row = await store.authority_row(session, lock=True)
    assert row is not None
    await session.refresh(row)
    if row.sm2_root_cert_pem is None:
        now = clock.now()
        if s.seal_sm2_root_cert_file and s.seal_sm2_root_key_file:
            cert = gmpki.load_cert(s.seal_sm2_root_cert_file.read_bytes())
            key_pem = s.seal_sm2_root_key_file.read_bytes()
            key = protector.open_sm2(key_pem)  # it must open with the seal passphrase
            if not gmpki.is_ca(cert):
                raise ValueError("the imported SM2 certificate is not a CA certificate")
            imported = True
        else:
            cert, key = gmpki.Sm2Authority.create_root(
                authority_name=f"{s.seal_county_name}电子印章根证书（SM2）",
                organization=f"{s.seal_county_name}行政审批服务中心", now=now,
            )
            imported = False
        ca = gmpki.Sm2Authority(cert, key, crl_url=s.sm2_crl_url)  # checks that the key fits
        maker = ca.issue(_maker_name(s), protector, not_before=now, years=20)
        row.sm2_root_cert_pem = gmpki.cert_pem(cert).decode()
        row.sm2_root_key_pem = protector.protect_sm2(key).decode()
        row.sm2_maker_cert_pem = maker.pem.decode()
        row.sm2_maker_key_pem = maker.encrypted_key_pem.decode()
        session.add(row)
        log.info("SM2 seal root %s, seal maker created", "imported" if imported else "created")
    await session.commit()
    return row


def _maker_name(s: SealSettings) -> x509.Name:
    from cryptography.x509.oid import NameOID

    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"{s.seal_county_name}行政审批服务中心"),
        x509.NameAttribute(NameOID.COMMON_NAME, f"{s.seal_county_name}电子印章制作系统"),
    ])


def _new_root_row(s: SealSettings, protector: KeyProtector) -> store.AuthorityRow:
    now = clock.now()
    if s.seal_root_cert_file and s.seal_root_key_file:
        cert_pem = s.seal_root_cert_file.read_bytes()
        key_pem = s.seal_root_key_file.read_bytes()
        # check that it opens and fits before storing it
        SealAuthority.from_pem(cert_pem, key_pem, protector, crl_url=s.crl_url)
        return store.AuthorityRow(root_cert_pem=cert_pem.decode(), root_key_pem=key_pem.decode(),
                                  created_at=clock.system_now(), imported=True)
    cert, key = SealAuthority.create_root(
        authority_name=f"{s.seal_county_name}电子印章根证书",
        organization=f"{s.seal_county_name}行政审批服务中心",
        now=now,
    )
    return store.AuthorityRow(
        root_cert_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
        root_key_pem=protector.protect(key).decode(),
        created_at=clock.system_now(),
    )


# -- the parts, once open --------------------------------------------------------------------------

def authority(svc: "Service") -> SealAuthority:
    if svc.state.authority is None:
        raise Unavailable(None, NOT_OPEN)
    return svc.state.authority


def protector(svc: "Service") -> KeyProtector:
    if svc.state.protector is None:
        raise Unavailable(None, NOT_OPEN)
    return svc.state.protector


def sm2(svc: "Service") -> Sm2Parts:
    if getattr(svc.state, "sm2", None) is None:
        raise Unavailable(None, NOT_OPEN)
    return svc.state.sm2


def provider(svc: "Service") -> SignerProvider:
    if svc.state.provider is None:
        raise Unavailable(None, NOT_OPEN)
    return svc.state.provider


def seal_key(svc: "Service", row: store.SealRow) -> SealKey:
    return SealKey(
        seal_id=row.seal_id,
        cert=x509.load_pem_x509_certificate(row.cert_pem.encode()),
        chain=(authority(svc).root_cert,),
        encrypted_key_pem=row.key_pem.encode() if row.key_pem else None,
    )


# -- the CRL -------------------------------------------------------------------------------------

async def issue_crl(svc: "Service", session: AsyncSession, now: datetime | None = None) -> CurrentCrl:
    """Reissue the CRL inside the caller's transaction (from every revoked seal)."""
    now = now or clock.now()
    row = await store.authority_row(session, lock=True)
    assert row is not None
    revoked = [
        RevokedSeal(int(s.cert_serial, 16), store.aware(s.revoked_at), s.revocation_reason or "unspecified")
        for s in await store.revoked_seals(session)
    ]
    number = row.crl_number + 1
    crl = authority(svc).crl(revoked, number=number, this_update=now,
                             validity=timedelta(days=settings_of(svc).seal_crl_days))
    row.crl_number = number
    row.crl_der = crl_der(crl)
    row.crl_this_update = crl.last_update_utc
    row.crl_next_update = crl.next_update_utc
    parts = getattr(svc.state, "sm2", None)
    if parts is not None:  # the SM2 CRL lists the same seals' SM2 twins, reissued together
        sm2_revoked = [
            RevokedSeal(int(s.sm2_cert_serial, 16), store.aware(s.revoked_at), s.revocation_reason or "unspecified")
            for s in await store.revoked_seals(session) if s.sm2_cert_serial
        ]
        sm2_crl = parts.authority.crl(sm2_revoked, number=row.sm2_crl_number + 1, this_update=now,
                                      validity=timedelta(days=settings_of(svc).seal_crl_days))
        tbs = sm2_crl["tbs_cert_list"]
        row.sm2_crl_number += 1
        row.sm2_crl_der = gmpki.crl_der(sm2_crl)
        row.sm2_crl_this_update = tbs["this_update"].native
        row.sm2_crl_next_update = tbs["next_update"].native
    session.add(row)
    return CurrentCrl(number, row.crl_der, row.crl_this_update, row.crl_next_update)


@dataclass(frozen=True)
class CurrentSm2Crl:
    number: int
    der: bytes
    this_update: datetime
    next_update: datetime

    @property
    def crl(self):
        return gmpki.load_crl(self.der)


async def current_sm2_crl(session: AsyncSession) -> CurrentSm2Crl | None:
    row = await store.authority_row(session)
    if row is None or row.sm2_crl_der is None:
        return None
    return CurrentSm2Crl(row.sm2_crl_number, row.sm2_crl_der, store.aware(row.sm2_crl_this_update),
                         store.aware(row.sm2_crl_next_update))


async def current_crl(session: AsyncSession) -> CurrentCrl | None:
    row = await store.authority_row(session)
    if row is None or row.crl_der is None:
        return None
    return CurrentCrl(row.crl_number, row.crl_der, store.aware(row.crl_this_update), store.aware(row.crl_next_update))


async def published_crl(session: AsyncSession) -> CurrentCrl:
    """The CRL the public URLs serve (503 before the first one)."""
    current = await current_crl(session)
    if current is None:
        raise Unavailable(None, "吊销列表尚未生成")
    return current


async def refresh_crl_if_due(svc: "Service", now: datetime | None = None) -> bool:
    now = now or clock.now()
    async with svc.db.session() as session:
        current = await current_crl(session)
        current_sm2 = await current_sm2_crl(session)
        if (current is not None and current.next_update - now > CRL_REFRESH_MARGIN
                and (getattr(svc.state, "sm2", None) is None
                     or (current_sm2 is not None and current_sm2.next_update - now > CRL_REFRESH_MARGIN))):
            return False
        issued = await issue_crl(svc, session, now)
        await session.commit()
    log.info("CRL %d issued, next update %s", issued.number, issued.next_update.isoformat())
    return True
