"""Settings every service shares, read from environment variables (pydantic-settings).

A service subclasses :class:`ServiceSettings` to add its own fields; all names carry the
``ONEWINDOW_`` prefix except the two conventional ones, ``DATABASE_URL`` and
``KAFKA_BOOTSTRAP_SERVERS``, which are honoured too.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]

def default_data_dir() -> Path:
    return REPO_ROOT / "var"


class ServiceSettings(BaseSettings):
    """Runtime settings. Each field's description is its documentation (`onewindow settings`)."""

    model_config = SettingsConfigDict(env_prefix="ONEWINDOW_", extra="ignore", populate_by_name=True)

    service_name: str = Field("", description="Name of the service (set by the service, not the environment).")
    data_dir: Path = Field(default_factory=default_data_dir, description="Folder for SQLite databases, keys, files and logs.")
    kafka_bootstrap_servers: str = Field(
        default_factory=lambda: f"127.0.0.1:{os.environ.get('ONEWINDOW_KAFKA_PORT', '19092')}",
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "ONEWINDOW_KAFKA_BOOTSTRAP_SERVERS"),
        description="Kafka bootstrap servers, comma separated.",
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="How clients talk to Kafka (the county cluster: SASL_SSL with SCRAM-SHA-512)."
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        "SCRAM-SHA-512", description="SASL mechanism when the protocol is SASL_*."
    )
    kafka_sasl_username: str | None = Field(None, description="SASL user (the service's KafkaUser).")
    kafka_sasl_password: SecretStr | None = Field(None, description="SASL password.")
    kafka_ssl_cafile: Path | None = Field(None, description="CA bundle that signed the brokers' certificates.")
    database_url: str | None = Field(
        None,
        validation_alias=AliasChoices("DATABASE_URL", "ONEWINDOW_DATABASE_URL"),
        description="SQLAlchemy async URL. Default: SQLite file <data_dir>/<service>.db. "
        "PostgreSQL: postgresql+psycopg://user:pass@host/db.",
    )
    http_host: str = Field("127.0.0.1", description="Address the HTTP API listens on.")
    http_port: int = Field(0, description="HTTP port (0: the service's default port).")
    log_level: str = Field("INFO", description="Log level (DEBUG, INFO, WARNING, ERROR).")
    log_json: bool = Field(True, description="Structured JSON logs (false: plain text for a terminal).")

    auth_secret: str | None = Field(
        None, description="HS256 key for staff tokens (local). Default: a key generated once into <data_dir>/auth.key."
    )
    auth_jwks_url: str | None = Field(None, description="The county OIDC provider's JWKS URL (production); RS256/ES256 tokens.")
    auth_issuer: str = Field("onewindow-local", description="Expected token issuer.")
    auth_audience: str = Field("onewindow", description="Expected token audience.")

    relay_batch_size: int = Field(500, ge=1, description="Outbox rows published per batch.")
    relay_idle_seconds: float = Field(0.5, gt=0, description="Longest wait between outbox polls when idle.")
    relay_unready_after_seconds: float = Field(
        30, gt=0, description="/readyz turns red when the outbox relay has failed this long without a success."
    )
    consumer_max_retries: int = Field(3, ge=0, description="Retries of a failing handler before dead-lettering.")
    consumer_retry_backoff: float = Field(0.2, ge=0, description="First retry delay in seconds (doubles each retry).")
    consumer_batch_size: int = Field(100, ge=1, description="Kafka records handled per batch (one transaction).")
    shutdown_grace_seconds: float = Field(10.0, description="Time in-flight work gets on shutdown.")
    clock: str | None = Field(
        None,
        description="'real' (default), 'file:<path>' (a simulation's clock file) or a fixed ISO 8601 instant; "
        "read by services.runtime.clock.",
    )

    def for_service(self, name: str, default_port: int = 0) -> "ServiceSettings":
        """These settings for the service ``name``; the HTTP port, unless set, is the one the
        service declares (``config.py``'s ``DECLARATION``)."""
        updates: dict[str, object] = {"service_name": name}
        if not self.http_port:
            updates["http_port"] = default_port
        return self.model_copy(update=updates)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{self.data_dir / (self.service_name or 'service')}.db"

    @property
    def resolved_auth_secret(self) -> str:
        if self.auth_secret:
            return self.auth_secret
        # One local key for all services on this machine, so tokens from `onewindow token` work
        # everywhere; production sets ONEWINDOW_AUTH_SECRET or ONEWINDOW_AUTH_JWKS_URL.
        path = self.data_dir / "auth.key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(secrets.token_urlsafe(48))
            tmp.chmod(0o600)
            try:
                tmp.rename(path) if not path.exists() else tmp.unlink()
            except FileExistsError:
                tmp.unlink(missing_ok=True)
        return path.read_text().strip()

    def _ssl_context(self) -> Any:
        import ssl

        if "SSL" not in self.kafka_security_protocol:
            return None
        return ssl.create_default_context(cafile=str(self.kafka_ssl_cafile) if self.kafka_ssl_cafile else None)

    def kafka_security(self) -> Any:
        """FastStream's security object for the configured protocol (None for PLAINTEXT)."""
        from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

        proto, ctx = self.kafka_security_protocol, self._ssl_context()
        if proto == "PLAINTEXT":
            return None
        if proto == "SSL":
            return BaseSecurity(ssl_context=ctx, use_ssl=True)
        user = self.kafka_sasl_username or ""
        password = self.kafka_sasl_password.get_secret_value() if self.kafka_sasl_password else ""
        cls = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}[
            self.kafka_sasl_mechanism
        ]
        return cls(user, password, ssl_context=ctx, use_ssl=proto == "SASL_SSL")

    def aiokafka_options(self) -> dict[str, Any]:
        """The same connection settings for plain aiokafka clients (dead-letter tools)."""
        opts: dict[str, Any] = {"bootstrap_servers": self.kafka_bootstrap_servers}
        if self.kafka_security_protocol != "PLAINTEXT":
            opts["security_protocol"] = self.kafka_security_protocol
            opts["ssl_context"] = self._ssl_context()
        if self.kafka_security_protocol.startswith("SASL"):
            opts["sasl_mechanism"] = self.kafka_sasl_mechanism
            opts["sasl_plain_username"] = self.kafka_sasl_username
            opts["sasl_plain_password"] = (
                self.kafka_sasl_password.get_secret_value() if self.kafka_sasl_password else None
            )
        return opts

    @property
    def public_base_url(self) -> str:
        return f"http://{self.http_host}:{self.http_port}"
