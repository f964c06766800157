from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from services.seal.adapters.authority import (
    KeyProtectionError, KeyProtector, RevokedSeal, SealAuthority, SealSubject, identity_of,
)

from .conftest import PASSPHRASE, UNIT, County


def test_root_is_a_self_signed_ca_for_certificates_and_crls(county: County) -> None:
    root = county.authority.root_cert
    assert root.issuer == root.subject
    root.verify_directly_issued_by(root)
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    ku = root.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.key_cert_sign and ku.crl_sign and not ku.digital_signature


def test_seal_certificate_names_the_unit_the_seal_and_its_number(county: County) -> None:
    cert = county.seal.cert
    cert.verify_directly_issued_by(county.authority.root_cert)
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "某某县市场监督管理局"
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "某某县市场监督管理局行政审批专用章(2)"
    ident = identity_of(cert)
    assert (ident.unit_name, ident.seal_name, ident.unit_code, ident.seal_no) == (
        "某某县市场监督管理局", "行政审批专用章", "SCJG", "2")

    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and ku.value.content_commitment
    assert not ku.value.key_cert_sign
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    dp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert dp[0].full_name[0].value == "http://127.0.0.1:8086/seal/crl"
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    root_ski = county.authority.root_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == root_ski.digest
    assert cert.not_valid_after_utc <= county.authority.root_cert.not_valid_after_utc


def test_key_at_rest_is_encrypted_and_needs_the_passphrase(county: County) -> None:
    pem = county.seal.encrypted_key_pem
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    with pytest.raises(TypeError):
        serialization.load_pem_private_key(pem, password=None)
    with pytest.raises(KeyProtectionError):
        KeyProtector("another-long-passphrase").open(pem)
    key = KeyProtector(PASSPHRASE).open(pem)
    assert key.public_key().public_numbers() == county.seal.cert.public_key().public_numbers()


def test_passphrase_comes_from_env_or_secret_file_and_is_never_shown(tmp_path) -> None:
    secret = tmp_path / "passphrase"
    secret.write_text("from-a-mounted-secret-file\n")
    p = KeyProtector.from_env({"SEAL_KEY_PASSPHRASE_FILE": str(secret)})
    assert "from-a-mounted" not in repr(p)
    pem = p.protect(SealAuthority.create_root(authority_name="r", organization="o")[1])
    assert KeyProtector("from-a-mounted-secret-file").open(pem)
    with pytest.raises(KeyProtectionError):
        KeyProtector.from_env({})
    with pytest.raises(KeyProtectionError):
        KeyProtector("short")


def test_root_imported_from_pem_keeps_issuing(county: County, tmp_path) -> None:
    root, key = SealAuthority.create_root(authority_name="导入的根", organization="某某县行政审批服务中心")
    p = county.protector
    imported = SealAuthority.from_pem(
        root.public_bytes(serialization.Encoding.PEM), p.protect(key), p, crl_url="http://127.0.0.1/crl")
    issued = imported.issue(SealSubject("MZJ", "某某县民政局"), p)
    issued.cert.verify_directly_issued_by(root)
    with pytest.raises(KeyProtectionError):
        SealAuthority.from_pem(imported.root_pem, p.protect(key), KeyProtector("wrong-passphrase-xx"),
                               crl_url="http://127.0.0.1/crl")
    not_ca = county.seal.cert.public_bytes(serialization.Encoding.PEM)
    with pytest.raises(ValueError):
        SealAuthority.from_pem(not_ca, county.seal.encrypted_key_pem, p, crl_url="x")


def test_crl_lists_revoked_seals_with_reason_and_is_signed_by_root(county: County) -> None:
    at = datetime(2024, 9, 1, 2, 0, tzinfo=UTC)
    crl = county.authority.crl([RevokedSeal(county.seal.cert.serial_number, at, "misuse")], number=7)
    assert crl.is_signature_valid(county.authority.root_cert.public_key())
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 7
    entry = crl.get_revoked_certificate_by_serial_number(county.seal.cert.serial_number)
    assert entry is not None and entry.revocation_date_utc == at
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == x509.ReasonFlags.privilege_withdrawn
    assert crl.next_update_utc - crl.last_update_utc == timedelta(days=7)
    empty = county.authority.crl([], number=8)
    assert empty.get_revoked_certificate_by_serial_number(county.seal.cert.serial_number) is None


def test_issued_this_tells_own_certificates_from_foreign_ones(county: County) -> None:
    assert county.authority.issued_this(county.seal.cert)
    other_root, other_key = SealAuthority.create_root(authority_name="外县根", organization="外县")
    other = SealAuthority(other_root, other_key, crl_url="http://127.0.0.1/crl").issue(UNIT, county.protector)
    assert not county.authority.issued_this(other.cert)
