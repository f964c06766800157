"""Fixtures of the seal service's unit tests: a county root, a unit's No. 2 seal, a sealed notice,
and an NSS database that trusts the root (for poppler's pdfsig)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509

from services.seal.adapters.authority import IssuedSeal, KeyProtector, SealAuthority, SealSubject
from services.seal.adapters.image import SealFace, seal_pdf as face_pdf
from services.seal.adapters.render import Notice, render_notice
from services.seal.adapters.signing import SealKey, SoftwareSignerProvider, seal_pdf

PASSPHRASE = "test-passphrase-not-for-production"
UNIT = SealSubject("SCJG", "某某县市场监督管理局")


@dataclass
class County:
    protector: KeyProtector
    authority: SealAuthority
    seal: IssuedSeal

    def key(self, seal: IssuedSeal | None = None) -> SealKey:
        seal = seal or self.seal
        return SealKey("seal-1", seal.cert, (self.authority.root_cert,), seal.encrypted_key_pem)


@pytest.fixture(scope="session")
def county() -> County:
    protector = KeyProtector(PASSPHRASE)
    root, key = SealAuthority.create_root(authority_name="某某县电子印章根证书", organization="某某县行政审批服务中心")
    authority = SealAuthority(
        root, key, crl_url="http://127.0.0.1:8086/seal/crl", root_cert_url="http://127.0.0.1:8086/seal/root.crt"
    )
    seal = authority.issue(UNIT, protector, not_before=datetime.now(UTC) - timedelta(days=1))
    return County(protector, authority, seal)


def sample_notice() -> Notice:
    return Notice(
        title="受理通知书",
        unit_name=UNIT.unit_name,
        addressee="张三",
        paragraphs=[
            "你（单位）于2024年8月1日提交的食品经营许可申请，经审查，申请材料齐全、符合法定形式，"
            "根据《中华人民共和国行政许可法》第三十二条的规定，决定予以受理。",
            "承诺办结时限为10个工作日。",
        ],
        issued_on=date(2024, 8, 2),
        numbers=[("受理编号", "SL-2024-000123")],
    )


async def seal_notice(county: County, seal: IssuedSeal | None = None) -> bytes:
    pdf, box = render_notice(sample_notice())
    signer = SoftwareSignerProvider(county.protector).signer_for(county.key(seal))
    face = face_pdf(SealFace(UNIT.unit_name))
    return await seal_pdf(pdf, signer, face, box=box, reason="行政审批专用章")


@pytest.fixture(scope="session")
async def sealed_notice(county: County) -> bytes:
    return await seal_notice(county)


def trusting_nss_db(d: Path, root_pem: bytes) -> str:
    """An NSS certificate database in ``d`` trusting ``root_pem``; returns pdfsig's -nssdir value."""
    d.mkdir(parents=True, exist_ok=True)
    (d / "root.pem").write_bytes(root_pem)
    subprocess.run(["certutil", "-N", "-d", f"sql:{d}", "--empty-password"], check=True, capture_output=True)
    subprocess.run(["certutil", "-A", "-d", f"sql:{d}", "-n", "county-seal-root", "-t", "C,C,C", "-i",
                    str(d / "root.pem")], check=True, capture_output=True)
    return f"sql:{d}"


@pytest.fixture(scope="session")
def nss_db(county: County, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An NSS database trusting the county root of these tests, for pdfsig -nssdir."""
    return trusting_nss_db(tmp_path_factory.mktemp("nss"), county.authority.root_pem)


def pdfsig(pdf: bytes, tmp: Path, nss_db: str | None = None) -> str:
    path = tmp / "doc.pdf"
    path.write_bytes(pdf)
    cmd = ["pdfsig"] + (["-nssdir", nss_db] if nss_db else []) + [str(path)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    return done.stdout + done.stderr


def revoked_crl(county: County, cert: x509.Certificate, at: datetime, reason: str = "lost", number: int = 2):
    from services.seal.adapters.authority import RevokedSeal

    return county.authority.crl([RevokedSeal(cert.serial_number, at, reason)], number=number,
                                this_update=max(at, datetime.now(UTC)))


@pytest.fixture
def nss_db_for(tmp_path: Path):
    """Make an NSS database trusting a given root (PEM bytes); returns its -nssdir argument."""
    return lambda root_pem: trusting_nss_db(tmp_path / "nss-root", root_pem)
