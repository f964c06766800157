"""The county's seal authority: its root CA, the units' seal certificates and the CRL.

Every seal is an X.509 certificate under the county's own root (ECDSA; NSS/poppler and pyHanko both
verify P-256/P-384): the subject names the unit (O), the seal (title), its number (serialNumber
``<unit_code>-<no>``) and carries a readable CN ``<unit name><seal name>(<no>)``. Key usage is
digitalSignature + nonRepudiation; the CRL distribution point is the service's stable CRL URL.

Private keys exist in memory only while used: at rest they are PKCS#8 encrypted with a passphrase
from the environment or a secret file (:class:`KeyProtector`). Nothing here logs key material.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Iterable

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.runtime import clock

from . import sm2

PASSPHRASE_ENV = "SEAL_KEY_PASSPHRASE"
PASSPHRASE_FILE_ENV = "SEAL_KEY_PASSPHRASE_FILE"
MIN_PASSPHRASE = 12

#: CRL reason for each revocation reason of the contracts (contracts.seal.RevocationReason).
CRL_REASONS: dict[str, x509.ReasonFlags] = {
    "lost": x509.ReasonFlags.key_compromise,
    "unit_renamed": x509.ReasonFlags.affiliation_changed,
    "misuse": x509.ReasonFlags.privilege_withdrawn,
    "superseded": x509.ReasonFlags.superseded,
    "unit_dissolved": x509.ReasonFlags.cessation_of_operation,
}


class KeyProtectionError(RuntimeError):
    """The passphrase is missing or weak, or an encrypted key does not open with it."""


class KeyProtector:
    """Encrypts private keys for storage (PKCS#8, BestAvailableEncryption) and opens them.

    The passphrase never appears in ``repr`` or logs."""

    def __init__(self, passphrase: bytes | str) -> None:
        raw = passphrase.encode() if isinstance(passphrase, str) else bytes(passphrase)
        raw = raw.strip()
        if len(raw) < MIN_PASSPHRASE:
            raise KeyProtectionError(
                f"the seal key passphrase must have at least {MIN_PASSPHRASE} characters"
            )
        self.__passphrase = raw

    def __repr__(self) -> str:
        return "KeyProtector(<passphrase hidden>)"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "KeyProtector":
        """``SEAL_KEY_PASSPHRASE``, or the file named by ``SEAL_KEY_PASSPHRASE_FILE`` (a mounted
        secret)."""
        env = dict(os.environ) if env is None else env
        if env.get(PASSPHRASE_FILE_ENV):
            return cls(Path(env[PASSPHRASE_FILE_ENV]).read_bytes())
        if env.get(PASSPHRASE_ENV):
            return cls(env[PASSPHRASE_ENV])
        raise KeyProtectionError(f"set {PASSPHRASE_ENV} or {PASSPHRASE_FILE_ENV}")

    def protect(self, key: ec.EllipticCurvePrivateKey) -> bytes:
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(self.__passphrase),
        )

    def open(self, pem: bytes) -> ec.EllipticCurvePrivateKey:
        try:
            key = serialization.load_pem_private_key(pem, password=self.__passphrase)
        except (ValueError, TypeError) as exc:
            raise KeyProtectionError("the encrypted key does not open with this passphrase") from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise KeyProtectionError("unexpected key type")
        return key

    def protect_sm2(self, key: sm2.PrivateKey) -> bytes:
        """An SM2 key (which ``cryptography`` cannot hold) in the same PKCS#8 PBES2 form, with the
        same passphrase."""
        return sm2.encrypt_pkcs8(key, self.__passphrase)

    def open_sm2(self, pem: bytes) -> sm2.PrivateKey:
        try:
            return sm2.decrypt_pkcs8(pem, self.__passphrase)
        except sm2.SM2Error as exc:
            raise KeyProtectionError("the encrypted SM2 key does not open with this passphrase") from exc


#: cryptography holds a CommonName to RFC 5280's upper bound of 64, counted in UTF-8 bytes: about 21
#: Chinese characters.
CN_MAX_BYTES = 64
#: The characters of an X.509 PrintableString (serialNumber is one): a seal code outside it cannot
#: be encoded.
_PRINTABLE = re.compile(r"[A-Za-z0-9 '()+,\-./:=?]+")


def _clip(text: str, max_bytes: int) -> str:
    """The longest prefix of ``text`` whose UTF-8 takes at most ``max_bytes``."""
    return text.encode()[:max(max_bytes, 0)].decode("utf-8", "ignore")


@dataclass(frozen=True)
class SealSubject:
    """Who a seal belongs to and what it is called."""

    unit_code: str
    unit_name: str
    seal_name: str = "行政审批专用章"
    seal_no: str = "2"

    def __post_init__(self) -> None:
        if not _PRINTABLE.fullmatch(self.seal_code):
            raise ValueError(f"seal code {self.seal_code!r} is not a PrintableString")
        if not self.unit_name or not self.seal_name:
            raise ValueError("a seal needs a unit name and a seal name")

    @property
    def common_name(self) -> str:
        """``<unit name><seal name>(<no>)``; a unit name too long for the CN is shortened there
        (with an ellipsis) and only there: O carries it whole."""
        suffix = f"({self.seal_no})" if self.seal_no else ""
        full = f"{self.unit_name}{self.seal_name}{suffix}"
        if len(full.encode()) <= CN_MAX_BYTES:
            return full
        tail = f"…{self.seal_name}{suffix}"
        head = _clip(self.unit_name, CN_MAX_BYTES - len(tail.encode()))
        return f"{head}{tail}" if len(head) >= 2 else _clip(full, CN_MAX_BYTES)

    @property
    def seal_code(self) -> str:
        return f"{self.unit_code}-{self.seal_no or 0}"

    def name(self) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, self.unit_name),
                x509.NameAttribute(NameOID.TITLE, self.seal_name),
                x509.NameAttribute(NameOID.SERIAL_NUMBER, self.seal_code),
                x509.NameAttribute(NameOID.COMMON_NAME, self.common_name),
            ]
        )


@dataclass(frozen=True)
class SealIdentity:
    """What a seal certificate says about its holder (read back from any certificate)."""

    unit_name: str | None
    seal_name: str | None
    seal_code: str | None
    common_name: str | None
    serial_hex: str

    @property
    def unit_code(self) -> str | None:
        if not self.seal_code or "-" not in self.seal_code:
            return None
        return self.seal_code.rsplit("-", 1)[0]

    @property
    def seal_no(self) -> str | None:
        if not self.seal_code or "-" not in self.seal_code:
            return None
        return self.seal_code.rsplit("-", 1)[1]


def _attr(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    values = name.get_attributes_for_oid(oid)
    return str(values[0].value) if values else None


def identity_of(cert: x509.Certificate) -> SealIdentity:
    s = cert.subject
    return SealIdentity(
        unit_name=_attr(s, NameOID.ORGANIZATION_NAME),
        seal_name=_attr(s, NameOID.TITLE),
        seal_code=_attr(s, NameOID.SERIAL_NUMBER),
        common_name=_attr(s, NameOID.COMMON_NAME),
        serial_hex=serial_hex(cert.serial_number),
    )


def serial_hex(serial: int) -> str:
    return format(serial, "x")


@dataclass(frozen=True)
class RevokedSeal:
    serial: int
    revoked_at: datetime
    reason: str  # a key of CRL_REASONS


@dataclass
class IssuedSeal:
    """A freshly issued seal certificate and its key, already encrypted for storage."""

    cert: x509.Certificate
    encrypted_key_pem: bytes = field(repr=False)

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def _utc(at: datetime | None) -> datetime:
    at = at or clock.now()
    if at.tzinfo is None:
        raise ValueError("aware datetimes only")
    return at.astimezone(UTC).replace(microsecond=0)


class SealAuthority:
    """The county's root: issues seal certificates and signs CRLs."""

    def __init__(
        self,
        root_cert: x509.Certificate,
        root_key: ec.EllipticCurvePrivateKey,
        *,
        crl_url: str,
        root_cert_url: str | None = None,
    ) -> None:
        if root_cert.public_key().public_numbers() != root_key.public_key().public_numbers():
            raise ValueError("the root key does not match the root certificate")
        self.root_cert = root_cert
        self._root_key = root_key
        self.crl_url = crl_url
        self.root_cert_url = root_cert_url

    def __repr__(self) -> str:
        return f"SealAuthority({self.root_cert.subject.rfc4514_string()!r})"

    # -- the root ---------------------------------------------------------------------------

    @staticmethod
    def create_root(
        *,
        authority_name: str,
        organization: str,
        now: datetime | None = None,
        years: int = 20,
    ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        """A new self-signed root (P-384). The caller stores the key with a KeyProtector."""
        now = _utc(now)
        key = ec.generate_private_key(ec.SECP384R1())
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
                x509.NameAttribute(NameOID.COMMON_NAME, authority_name),
            ]
        )
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=365 * years))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False, content_commitment=False, key_encipherment=False,
                    data_encipherment=False, key_agreement=False, key_cert_sign=True,
                    crl_sign=True, encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(ski, critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
            .sign(key, hashes.SHA384())
        )
        return cert, key

    @classmethod
    def from_pem(
        cls,
        cert_pem: bytes,
        encrypted_key_pem: bytes,
        protector: KeyProtector,
        *,
        crl_url: str,
        root_cert_url: str | None = None,
    ) -> "SealAuthority":
        """Load (or import) a root kept as PEM; the key must be encrypted."""
        cert = x509.load_pem_x509_certificate(cert_pem)
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        if not bc.ca:
            raise ValueError("the imported certificate is not a CA certificate")
        return cls(cert, protector.open(encrypted_key_pem), crl_url=crl_url, root_cert_url=root_cert_url)

    @property
    def root_pem(self) -> bytes:
        return self.root_cert.public_bytes(serialization.Encoding.PEM)

    # -- seals ------------------------------------------------------------------------------

    def issue(
        self,
        subject: SealSubject,
        protector: KeyProtector,
        *,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        years: int = 5,
    ) -> IssuedSeal:
        """A new key pair (P-256) and certificate for a unit's seal."""
        not_before = _utc(not_before)
        root_not_after = self.root_cert.not_valid_after_utc
        if not_before >= root_not_after:
            raise ValueError("the seal would start after the county root expires")
        # never outlive the root (and never run past what a datetime can hold)
        room = root_not_after - not_before
        not_after = _utc(not_after) if not_after else not_before + min(timedelta(days=365 * years), room)
        not_after = min(not_after, root_not_after)
        key = ec.generate_private_key(ec.SECP256R1())
        root_ski = self.root_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject.name())
            .issuer_name(self.root_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, content_commitment=True, key_encipherment=False,
                    data_encipherment=False, key_agreement=False, key_cert_sign=False,
                    crl_sign=False, encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski), critical=False)
            .add_extension(
                x509.CRLDistributionPoints(
                    [x509.DistributionPoint([x509.UniformResourceIdentifier(self.crl_url)], None, None, None)]
                ),
                critical=False,
            )
        )
        if self.root_cert_url:
            builder = builder.add_extension(
                x509.AuthorityInformationAccess(
                    [x509.AccessDescription(
                        x509.AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier(self.root_cert_url),
                    )]
                ),
                critical=False,
            )
        cert = builder.sign(self._root_key, hashes.SHA384())
        return IssuedSeal(cert=cert, encrypted_key_pem=protector.protect(key))

    def issued_this(self, cert: x509.Certificate) -> bool:
        try:
            cert.verify_directly_issued_by(self.root_cert)
        except (ValueError, TypeError, InvalidSignature):
            return False
        return True

    # -- revocation -------------------------------------------------------------------------

    def crl(
        self,
        revoked: Iterable[RevokedSeal],
        *,
        number: int,
        this_update: datetime | None = None,
        next_update: datetime | None = None,
        validity: timedelta = timedelta(days=7),
    ) -> x509.CertificateRevocationList:
        """A complete CRL (number increases with every issue)."""
        this_update = _utc(this_update)
        next_update = _utc(next_update) if next_update else this_update + validity
        root_ski = self.root_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.root_cert.subject)
            .last_update(this_update)
            .next_update(next_update)
            .add_extension(x509.CRLNumber(number), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski), critical=False)
        )
        for r in revoked:
            entry = (
                x509.RevokedCertificateBuilder()
                .serial_number(r.serial)
                .revocation_date(_utc(r.revoked_at))
                .add_extension(x509.CRLReason(CRL_REASONS.get(r.reason, x509.ReasonFlags.unspecified)), critical=False)
                .build()
            )
            builder = builder.add_revoked_certificate(entry)
        return builder.sign(self._root_key, hashes.SHA384())


def crl_der(crl: x509.CertificateRevocationList) -> bytes:
    return crl.public_bytes(serialization.Encoding.DER)


def cert_der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()
