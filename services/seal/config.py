"""The seal service's settings (``ONEWINDOW_SEAL_*`` besides the runtime's own)."""

from __future__ import annotations

import json
from datetime import time
from pathlib import Path

from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator

from pydantic_settings import NoDecode

from services.runtime.declaration import ServiceDeclaration
from services.runtime.settings import ServiceSettings


class SealSettings(ServiceSettings):
    # Sealing is CPU-bound and a batch is one transaction whose outcomes are published together.
    # In process, one request per transaction keeps answers quick; with signing processes a batch
    # is signed across them, and its rows and usage-log entries are written together at its end
    # (the usage-log lock is taken there, held to the commit).
    consumer_batch_size: int = Field(1, ge=1, description="Stamp requests handled per batch (one transaction).")

    seal_sign_workers: int = Field(
        0, ge=0, le=64,
        description="Processes that render and sign PDFs (a pool inside the service, started on first use; "
        "0: in the service's own process). A batch of stamp requests is signed in parallel across them and "
        "recorded in order in its one transaction, so set consumer_batch_size to a few per worker "
        "(e.g. 2 workers, batches of 8) to use the cores; a hardware key module signs in-process.",
    )

    seal_auto_issue: bool = Field(
        False,
        description="Issue a No. 2 seal, starting today, for every unit intake registers that has none "
        "(the demo run; in production the center admin issues seals).",
    )

    seal_key_passphrase: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("ONEWINDOW_SEAL_KEY_PASSPHRASE", "SEAL_KEY_PASSPHRASE"),
        description="Passphrase that encrypts the seal and root private keys at rest (12+ characters).",
    )
    seal_key_passphrase_file: Path | None = Field(
        None,
        validation_alias=AliasChoices("ONEWINDOW_SEAL_KEY_PASSPHRASE_FILE", "SEAL_KEY_PASSPHRASE_FILE"),
        description="File holding that passphrase (a mounted secret). Without either, a local one is "
        "generated once into <data_dir>/seal/passphrase (development only).",
    )
    seal_public_url: str | None = Field(
        None, description="Base URL the public reaches the seal service at (certificate, CRL, verification, "
        "document links). Default: the service's own http://host:port."
    )
    seal_county_name: str = Field("某某县", description="The county's name, used in the root certificate.")
    seal_center_unit_code: str = Field(
        "ZX", min_length=2, max_length=32, pattern=r"^[A-Za-z0-9_-]+$",
        description="The center's own unit code: only its seal seals the center's documents of no case (the "
        "year-end assessment notice); notify's ONEWINDOW_NOTIFY_CENTER_UNIT_CODE names the same unit.",
    )
    seal_center_name: str | None = Field(
        None, description="The center's name as carved on its seal (the demo's auto-issue); default: "
        "<county>行政审批服务中心.",
    )
    seal_root_cert_file: Path | None = Field(
        None, description="Import this root certificate (PEM) on first start instead of creating one."
    )
    seal_root_key_file: Path | None = Field(
        None, description="Its private key (PEM, PKCS#8 encrypted with the seal key passphrase)."
    )
    seal_sm2_root_cert_file: Path | None = Field(
        None, description="Import this SM2 CA certificate (PEM or DER: a county root, or a sub-CA under a "
        "provincial 国密 root) when the SM2 side first opens, instead of creating an SM2 root.",
    )
    seal_sm2_root_key_file: Path | None = Field(
        None, description="Its SM2 private key: PEM PKCS#8 encrypted with the seal key passphrase (PBES2, "
        "PBKDF2-HMAC-SHA256, AES-256-CBC; e.g. openssl pkcs8 -topk8 -v2 aes-256-cbc -v2prf hmacWithSHA256).",
    )
    seal_validity_years: int = Field(5, ge=1, le=20, description="Validity of a newly issued seal certificate "
                                     "(never past the county root's own end).")
    seal_start_max_days_ahead: int = Field(
        365, ge=0, le=3650, description="How far ahead of its start date (启用日期) a seal may be issued, in days."
    )
    seal_crl_days: int = Field(7, ge=1, le=90, description="Validity of each CRL; reissued a day before it ends.")
    seal_formats: Annotated[list[Literal["pdf", "ofd"]], NoDecode] = Field(
        default_factory=lambda: ["pdf"],
        description="Formats the county issues: pdf (PAdES, ECDSA) and/or ofd (GB/T 33190 with a GB/T 38540 "
        "SM2 seal). A request without formats gets every one of these it can make. Comma-separated or JSON.",
    )
    seal_checkpoint_seconds: float = Field(
        3600, ge=1, le=7 * 24 * 3600,
        description="How often a signed checkpoint of the usage log (count, head hash, time) is published "
        "on seal.log when the log has grown (one is also published at every revocation).",
    )
    seal_max_pdf_bytes: int = Field(20 * 1024 * 1024, ge=1024, description="Largest PDF accepted for sealing or verification.")
    seal_hours_open: time = Field(time(8, 30), description="Hall opening time (local), for the after-hours query.")
    seal_hours_close: time = Field(time(17, 30), description="Hall closing time (local).")

    @field_validator("seal_formats", mode="before")
    @classmethod
    def _formats(cls, v: object) -> object:
        if isinstance(v, str):
            v = json.loads(v) if v.strip().startswith("[") else [p.strip().lower() for p in v.split(",") if p.strip()]
        if isinstance(v, list):
            v = list(dict.fromkeys(v))
            if not v:
                raise ValueError("at least one format (pdf, ofd)")
        return v

    @property
    def seal_dir(self) -> Path:
        return self.data_dir / "seal"

    @property
    def documents_dir(self) -> Path:
        return self.seal_dir / "documents"

    @property
    def public_url(self) -> str:
        return (self.seal_public_url or self.public_base_url).rstrip("/")

    @property
    def crl_url(self) -> str:
        return f"{self.public_url}/seal/crl"

    @property
    def root_cert_url(self) -> str:
        return f"{self.public_url}/seal/root.crt"

    @property
    def sm2_crl_url(self) -> str:
        return f"{self.public_url}/seal/sm2/crl"


#: What the tools need to know of seal (``tools/registry.py``): its default port, the topics its
#: handlers read (its KafkaUser's read ACLs) and other services' command topics it writes.
DECLARATION = ServiceDeclaration(
    name="seal",
    port=8102,
    title="OneWindow seal",
    consumes=('seal.commands', 'intake.units'),  # intake.units: the demo's auto-issue (seal_auto_issue)
    writes=(),
)
