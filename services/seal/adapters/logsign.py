"""The usage log's signing key: a P-256 key whose certificate the county seal root issues for
one purpose only, signing usage-log checkpoints; and the check anyone can run with the root
certificate alone.

Why a dedicated key and not the root's own: the root key certifies (seals, CRLs) and should sign
as little else as possible; a separate key can be kept, rotated or moved to hardware on its own.
Why not any key the root certifies: every unit's seal certificate chains to the same root, so a
unit holding its seal key could otherwise publish checkpoints. The checkpoint certificate carries
an extended key usage of its own (:data:`LOG_SIGNING_EKU`, marked critical); a seal certificate has
no EKU and is refused, so is a certificate from any other root.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ..domain.usagelog import Checkpoint

#: "Sign OneWindow seal usage-log checkpoints": an OID under ITU-T X.667's UUID arc (2.25), which
#: needs no registration.
LOG_SIGNING_EKU = x509.ObjectIdentifier("2.25.303681156616424924827116777702320702553")

ALGORITHM = "ecdsa-p256-sha256"


def log_id_of(root_cert: x509.Certificate) -> str:
    """Which log a checkpoint is of: the SHA-256 of the county seal root certificate (DER)."""
    return hashlib.sha256(root_cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def load_root(data: bytes) -> x509.Certificate:
    """The root certificate as published (``/seal/root.pem`` or ``/seal/root.crt``)."""
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


@dataclass(frozen=True)
class IssuedSigner:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def cert_pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()


def issue_signer(
    root_cert: x509.Certificate, root_key: ec.EllipticCurvePrivateKey, *, county_name: str, now: datetime,
    years: int = 10,
) -> IssuedSigner:
    """A new log-signing key and its certificate (never outliving the root)."""
    key = ec.generate_private_key(ec.SECP256R1())
    not_before = now.astimezone(UTC) - timedelta(minutes=5)
    not_after = min(not_before + timedelta(days=365 * years), root_cert.not_valid_after_utc)
    if not_after <= now:
        raise ValueError("the county seal root has expired: it certifies no log-signing key")
    root_ski = root_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    subject = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"{county_name}行政审批服务中心"),
        x509.NameAttribute(NameOID.COMMON_NAME, f"{county_name}用印登记签名"),
    ])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(root_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                          encipher_only=False, decipher_only=False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([LOG_SIGNING_EKU]), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski), critical=False)
        .sign(root_key, hashes.SHA384())
    )
    return IssuedSigner(cert, key)


def sign(key: ec.EllipticCurvePrivateKey, checkpoint: Checkpoint) -> str:
    """The checkpoint's signature, DER, base64."""
    return base64.b64encode(key.sign(checkpoint.payload(), ec.ECDSA(hashes.SHA256()))).decode()


class CheckpointRefused(ValueError):
    """A checkpoint that does not verify with the county root: forged, altered, or another log's."""


def verify(root_cert: x509.Certificate, checkpoint: Checkpoint, signer_cert_pem: str, signature: str) -> None:
    """Check a published checkpoint with nothing but the county seal root certificate: it names
    this root's log; its certificate was issued by the root, is a log-signing certificate (EKU)
    and was valid at the checkpoint's time; its signature covers exactly these values. Raises
    :class:`CheckpointRefused` saying why not."""
    if checkpoint.log_id != log_id_of(root_cert):
        raise CheckpointRefused("the checkpoint names another log (another root)")
    try:
        cert = x509.load_pem_x509_certificate(signer_cert_pem.encode())
    except ValueError as exc:
        raise CheckpointRefused("the signer's certificate cannot be read") from exc
    try:
        cert.verify_directly_issued_by(root_cert)
    except (ValueError, TypeError, InvalidSignature) as exc:
        raise CheckpointRefused("the signer's certificate was not issued by the county seal root") from exc
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound as exc:
        raise CheckpointRefused("the signer's certificate is not a log-signing certificate (no EKU)") from exc
    if LOG_SIGNING_EKU not in eku:
        raise CheckpointRefused("the signer's certificate is not a log-signing certificate")
    at = checkpoint.at.astimezone(UTC)
    if not (cert.not_valid_before_utc <= at <= cert.not_valid_after_utc):
        raise CheckpointRefused("the signer's certificate was not valid at the checkpoint's time")
    public = cert.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey) or public.curve.name != "secp256r1":
        raise CheckpointRefused("the signer's key is not P-256")
    try:
        der = base64.b64decode(signature, validate=True)
        public.verify(der, checkpoint.payload(), ec.ECDSA(hashes.SHA256()))
    except (binascii.Error, ValueError, InvalidSignature) as exc:
        raise CheckpointRefused("the signature does not verify: the checkpoint was forged or altered") from exc
