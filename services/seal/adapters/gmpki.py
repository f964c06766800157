"""The county's 国密 (SM2) seal authority, beside the ECDSA one of ``authority.py``: an SM2 root,
the seal maker's certificate (制章者, who signs every SES_Seal), the units' SM2 seal certificates
(签章者) and the SM2 CRL. ``cryptography`` has no SM2 keys, so the certificates and CRLs are built
and signed here with asn1crypto and :mod:`sm2` (SM3withSM2, the default ID 1234567812345678).

The subjects are the ECDSA ones (:class:`authority.SealSubject`): the same unit, seal name and
number, so a reader sees one seal in two formats. Keys at rest: :func:`sm2.encrypt_pkcs8` with the
same passphrase as the PAdES keys (:class:`authority.KeyProtector`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Iterable

from asn1crypto import crl as asn1_crl, pem, x509 as asn1_x509
from cryptography import x509

from services.runtime import clock

from . import sm2
from .authority import CRL_REASONS, KeyProtector, RevokedSeal, SealSubject

_SIG_ALG = {"algorithm": "sm3_sm2"}

#: CRL reason as asn1crypto names it, for each contracts revocation reason.
_CRL_REASON_NAMES = {
    x509.ReasonFlags.key_compromise: "key_compromise",
    x509.ReasonFlags.affiliation_changed: "affiliation_changed",
    x509.ReasonFlags.privilege_withdrawn: "privilege_withdrawn",
    x509.ReasonFlags.superseded: "superseded",
    x509.ReasonFlags.cessation_of_operation: "cessation_of_operation",
}
_REASON_BACK = {
    "key_compromise": "lost", "affiliation_changed": "unit_renamed", "privilege_withdrawn": "misuse",
    "superseded": "superseded", "cessation_of_operation": "unit_dissolved",
}


def _utc(at: datetime | None) -> datetime:
    at = at or clock.now()
    if at.tzinfo is None:
        raise ValueError("aware datetimes only")
    return at.astimezone(UTC).replace(microsecond=0)


def _time(at: datetime) -> asn1_x509.Time:
    return asn1_x509.Time({"utc_time" if at.year < 2050 else "general_time": at})


def protect(key: sm2.PrivateKey, protector: KeyProtector) -> bytes:
    return protector.protect_sm2(key)


def open_key(pem_bytes: bytes, protector: KeyProtector) -> sm2.PrivateKey:
    return protector.open_sm2(pem_bytes)


def _key_id(public: sm2.PublicKey) -> bytes:
    return hashlib.sha1(public.point()).digest()


def _name(n: x509.Name) -> asn1_x509.Name:
    return asn1_x509.Name.load(n.public_bytes())


def cert_public_key(cert: asn1_x509.Certificate) -> sm2.PublicKey:
    return sm2.PublicKey.from_info(cert["tbs_certificate"]["subject_public_key_info"])


def is_ca(cert: asn1_x509.Certificate) -> bool:
    bc = cert.basic_constraints_value
    return bool(bc is not None and bc["ca"].native)


def is_sm2_cert(cert: asn1_x509.Certificate) -> bool:
    return cert["signature_algorithm"]["algorithm"].dotted == sm2.OID_SM3_WITH_SM2


def signed_by(cert: asn1_x509.Certificate, issuer: asn1_x509.Certificate) -> bool:
    """The certificate's SM3withSM2 signature checks with the issuer's key (and names it)."""
    if not is_sm2_cert(cert) or cert.issuer != issuer.subject:
        return False
    return _signed_by(cert.dump(), issuer.dump())


@lru_cache(maxsize=1024)
def _signed_by(cert_der: bytes, issuer_der: bytes) -> bool:
    # cached by the exact bytes: a pure result (the seal and root certificates recur in every check)
    cert, issuer = asn1_x509.Certificate.load(cert_der), asn1_x509.Certificate.load(issuer_der)
    try:
        return cert_public_key(issuer).verify(cert["tbs_certificate"].dump(), cert["signature_value"].native)
    except (sm2.SM2Error, ValueError):
        return False


def load_cert(data: bytes) -> asn1_x509.Certificate:
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    return asn1_x509.Certificate.load(data)


def cert_pem(cert: asn1_x509.Certificate) -> bytes:
    return pem.armor("CERTIFICATE", cert.dump())


def serial_hex(cert: asn1_x509.Certificate) -> str:
    return format(cert.serial_number, "x")


def validity(cert: asn1_x509.Certificate) -> tuple[datetime, datetime]:
    v = cert["tbs_certificate"]["validity"]
    return v["not_before"].native, v["not_after"].native


@dataclass
class IssuedSm2:
    cert: asn1_x509.Certificate
    encrypted_key_pem: bytes = field(repr=False)

    @property
    def pem(self) -> bytes:
        return cert_pem(self.cert)


def _sign_cert(tbs: asn1_x509.TbsCertificate, key: sm2.PrivateKey) -> asn1_x509.Certificate:
    return asn1_x509.Certificate({
        "tbs_certificate": tbs,
        "signature_algorithm": _SIG_ALG,
        "signature_value": key.sign(tbs.dump()),
    })


def _extensions(pairs: list[tuple[str, object, bool]]) -> list[dict]:
    return [{"extn_id": k, "critical": c, "extn_value": v} for k, v, c in pairs]


class Sm2Authority:
    """The SM2 root: issues the seal maker's and the units' SM2 certificates and signs the CRL."""

    def __init__(self, root_cert: asn1_x509.Certificate, root_key: sm2.PrivateKey, *, crl_url: str) -> None:
        if cert_public_key(root_cert) != root_key.public_key():
            raise ValueError("the SM2 root key does not match its certificate")
        self.root_cert = root_cert
        self._root_key = root_key
        self.crl_url = crl_url
        # the AKI of what it issues: the CA's own SKI (an imported CA may compute it another way)
        self._root_key_id = root_cert.key_identifier or _key_id(root_key.public_key())

    def __repr__(self) -> str:
        return f"Sm2Authority({self.root_cert.subject.human_friendly!r})"

    @staticmethod
    def create_root(*, authority_name: str, organization: str, now: datetime | None = None,
                    years: int = 20) -> tuple[asn1_x509.Certificate, sm2.PrivateKey]:
        now = _utc(now)
        key = sm2.PrivateKey.generate()
        pub = key.public_key()
        name = asn1_x509.Name.build({"country_name": "CN", "organization_name": organization,
                                     "common_name": authority_name})
        kid = _key_id(pub)
        tbs = asn1_x509.TbsCertificate({
            "version": "v3",
            "serial_number": secrets.randbits(127) | 1 << 126,
            "signature": _SIG_ALG,
            "issuer": name,
            "validity": {"not_before": _time(now - timedelta(minutes=5)),
                         "not_after": _time(now + timedelta(days=365 * years))},
            "subject": name,
            "subject_public_key_info": pub.info(),
            "extensions": _extensions([
                ("basic_constraints", {"ca": True, "path_len_constraint": 0}, True),
                ("key_usage", {"key_cert_sign", "crl_sign"}, True),
                ("key_identifier", kid, False),
                ("authority_key_identifier", {"key_identifier": kid}, False),
            ]),
        })
        return _sign_cert(tbs, key), key

    @classmethod
    def from_pem(cls, cert_pem_bytes: bytes, encrypted_key_pem: bytes, protector: KeyProtector, *,
                 crl_url: str) -> "Sm2Authority":
        return cls(load_cert(cert_pem_bytes), open_key(encrypted_key_pem, protector), crl_url=crl_url)

    @property
    def root_pem(self) -> bytes:
        return cert_pem(self.root_cert)

    def issue(
        self, subject: x509.Name, protector: KeyProtector, *, not_before: datetime | None = None,
        not_after: datetime | None = None, years: int = 5, key: sm2.PrivateKey | None = None,
    ) -> IssuedSm2:
        """A new SM2 key and its certificate (digitalSignature + nonRepudiation), never outliving
        the root."""
        not_before = _utc(not_before)
        root_end = self.root_cert["tbs_certificate"]["validity"]["not_after"].native
        if not_before >= root_end:
            raise ValueError("the seal would start after the county SM2 root expires")
        end = _utc(not_after) if not_after else not_before + min(timedelta(days=365 * years), root_end - not_before)
        end = min(end, root_end)
        key = key or sm2.PrivateKey.generate()
        pub = key.public_key()
        tbs = asn1_x509.TbsCertificate({
            "version": "v3",
            "serial_number": secrets.randbits(127) | 1 << 126,
            "signature": _SIG_ALG,
            "issuer": self.root_cert.subject,
            "validity": {"not_before": _time(not_before), "not_after": _time(end)},
            "subject": _name(subject),
            "subject_public_key_info": pub.info(),
            "extensions": _extensions([
                ("basic_constraints", {"ca": False}, True),
                ("key_usage", {"digital_signature", "non_repudiation"}, True),
                ("key_identifier", _key_id(pub), False),
                ("authority_key_identifier", {"key_identifier": self._root_key_id}, False),
                ("crl_distribution_points", [{
                    "distribution_point": asn1_x509.DistributionPointName(
                        "full_name", [asn1_x509.GeneralName("uniform_resource_identifier", self.crl_url)]),
                }], False),
            ]),
        })
        return IssuedSm2(_sign_cert(tbs, self._root_key), protect(key, protector))

    def issue_seal(self, subject: SealSubject, protector: KeyProtector, **kw) -> IssuedSm2:
        return self.issue(subject.name(), protector, **kw)

    def issued_this(self, cert: asn1_x509.Certificate) -> bool:
        return signed_by(cert, self.root_cert)

    def crl(self, revoked: Iterable[RevokedSeal], *, number: int, this_update: datetime | None = None,
            validity: timedelta = timedelta(days=7)) -> asn1_crl.CertificateList:
        this_update = _utc(this_update)
        entries = []
        for r in revoked:
            flag = CRL_REASONS.get(r.reason, x509.ReasonFlags.unspecified)
            entries.append({
                "user_certificate": r.serial,
                "revocation_date": _time(_utc(r.revoked_at)),
                "crl_entry_extensions": [{"extn_id": "crl_reason",
                                          "extn_value": _CRL_REASON_NAMES.get(flag, "unspecified")}],
            })
        tbs = asn1_crl.TbsCertList({
            "version": "v2",
            "signature": _SIG_ALG,
            "issuer": self.root_cert.subject,
            "this_update": _time(this_update),
            "next_update": _time(this_update + validity),
            "revoked_certificates": entries or None,
            "crl_extensions": [
                {"extn_id": "crl_number", "extn_value": number},
                {"extn_id": "authority_key_identifier",
                 "extn_value": {"key_identifier": self._root_key_id}},
            ],
        })
        if not entries:
            del tbs["revoked_certificates"]
        return asn1_crl.CertificateList({
            "tbs_cert_list": tbs, "signature_algorithm": _SIG_ALG,
            "signature": self._root_key.sign(tbs.dump()),
        })


def crl_checks(crl: asn1_crl.CertificateList, root: asn1_x509.Certificate) -> bool:
    if crl["tbs_cert_list"]["issuer"] != root.subject:
        return False
    if crl["signature_algorithm"]["algorithm"].dotted != sm2.OID_SM3_WITH_SM2:
        return False
    return _crl_checks(crl.dump(), root.dump())


@lru_cache(maxsize=64)
def _crl_checks(crl_der_bytes: bytes, root_der: bytes) -> bool:
    crl, root = asn1_crl.CertificateList.load(crl_der_bytes), asn1_x509.Certificate.load(root_der)
    try:
        return cert_public_key(root).verify(crl["tbs_cert_list"].dump(), crl["signature"].native)
    except (sm2.SM2Error, ValueError):
        return False


def revocation_of(crl: asn1_crl.CertificateList | None, root: asn1_x509.Certificate,
                  cert: asn1_x509.Certificate) -> tuple[datetime | None, str | None]:
    """When and why ``cert`` was revoked, by a CRL that checks against the root (else nothing)."""
    if crl is None or cert.issuer != root.subject or not crl_checks(crl, root):
        return None, None
    for entry in crl["tbs_cert_list"]["revoked_certificates"]:
        if entry["user_certificate"].native == cert.serial_number:
            reason = "unspecified"
            for ext in entry["crl_entry_extensions"]:
                if ext["extn_id"].native == "crl_reason":
                    reason = _REASON_BACK.get(ext["extn_value"].native, "unspecified")
            return entry["revocation_date"].native, reason
    return None, None


def crl_der(crl: asn1_crl.CertificateList) -> bytes:
    return crl.dump()


def load_crl(der: bytes) -> asn1_crl.CertificateList:
    return asn1_crl.CertificateList.load(der)


__all__ = [
    "IssuedSm2", "Sm2Authority", "cert_pem", "cert_public_key", "crl_checks", "crl_der", "is_sm2_cert",
    "load_cert", "load_crl", "open_key", "protect", "revocation_of", "serial_hex", "signed_by", "validity",
]
