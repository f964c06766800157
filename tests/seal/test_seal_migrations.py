"""The seal migrations create exactly the tables the models declare (SQLite here, PostgreSQL too
in CI), and a county whose database predates the SM2 side gets its SM2 root on the next start and
its seals their SM2 twins on their first OFD."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.seal import DocumentFormat, DocumentSealed
from services.runtime.testing import publish
from services.seal import store
from services.seal.app import MIGRATIONS
from services.seal.store import metadata
from tests.migrations import migrated_schema

from .service_helpers import command, issue_no2, outbox, seal_service

pytestmark = pytest.mark.timeout(600)


async def test_migrations_match_the_models(database_url: str) -> None:
    diff, _ = await migrated_schema(database_url, metadata, MIGRATIONS)
    assert diff == []


async def test_a_seal_without_an_sm2_twin_gets_one_on_its_first_ofd(tmp_path: Path) -> None:
    async with seal_service(tmp_path, seal_formats=["pdf", "ofd"]) as svc:
        seal = await issue_no2(svc, "2024-08-01")
        async with svc.uow() as uow:  # as if issued before migration seal_0002
            row = await uow.session.get(store.SealRow, seal["seal_id"])
            row.sm2_cert_pem = row.sm2_cert_serial = row.sm2_key_pem = None
            row.ses_seal = None
            uow.session.add(row)
            await uow.commit()
        await publish(svc, command("first-ofd", formats=[DocumentFormat.OFD]))
        event = (await outbox(svc, "seal.documents"))[-1].data
        assert isinstance(event, DocumentSealed) and event.files[0].format == DocumentFormat.OFD
        async with svc.uow() as uow:
            row = await uow.session.get(store.SealRow, seal["seal_id"])
            assert row.sm2_cert_serial == event.files[0].cert_serial and row.ses_seal
            log = [e for e in await store.log_entries(uow.session)]
        assert [e.detail.get("by") for e in log if e.action == "issued"] == ["staff-1", "sm2-twin"]


async def test_an_sm2_ca_made_elsewhere_is_imported(tmp_path: Path) -> None:
    """A county whose 国密 CA exists (its key made and encrypted by openssl) imports it."""
    import subprocess

    from services.seal.adapters import gmpki, sm2
    from services.seal.usecases import root

    from .conftest import PASSPHRASE
    from .ofdrw import openssl_checks_cert

    key_file, cert_file = tmp_path / "ca.key", tmp_path / "ca.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "SM2", "-aes-256-cbc", "-pass", f"pass:{PASSPHRASE}",
                    "-out", str(key_file)], check=True, capture_output=True)
    key = sm2.decrypt_pkcs8(key_file.read_bytes(), PASSPHRASE.encode())
    cert, _ = gmpki.Sm2Authority.create_root(authority_name="某省电子印章二级CA（SM2）", organization="某省数字证书认证中心")
    # re-sign the same subject with the openssl-made key (create_root draws its own key)
    tbs = cert["tbs_certificate"]
    tbs["subject_public_key_info"] = key.public_key().info()
    tbs["extensions"] = [e for e in tbs["extensions"] if e["extn_id"].native not in
                         ("key_identifier", "authority_key_identifier")]
    cert = gmpki.asn1_x509.Certificate({"tbs_certificate": tbs, "signature_algorithm": {"algorithm": "sm3_sm2"},
                                        "signature_value": key.sign(tbs.dump(force=True))})
    cert_file.write_bytes(gmpki.cert_pem(cert))
    async with seal_service(tmp_path / "svc", seal_formats=["ofd"], seal_sm2_root_cert_file=cert_file,
                            seal_sm2_root_key_file=key_file) as svc:
        seal = await issue_no2(svc, "2024-08-01")
        assert root.sm2(svc).root_cert.dump() == cert.dump()
        await publish(svc, command("imported"))
        event = (await outbox(svc, "seal.documents"))[-1].data
        assert isinstance(event, DocumentSealed)
        async with svc.uow() as uow:
            row = await uow.session.get(store.SealRow, seal["seal_id"])
        ok, why = openssl_checks_cert(row.sm2_cert_pem.encode(), cert_file.read_bytes(), tmp_path / "check")
        assert ok, why
