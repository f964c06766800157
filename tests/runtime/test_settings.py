"""Connection settings for the county cluster's Kafka (SASL_SSL + SCRAM) reach both FastStream
and plain aiokafka clients."""

from __future__ import annotations

from pathlib import Path

from faststream.security import SASLScram512

from services.runtime.settings import ServiceSettings


def test_plaintext_by_default(tmp_path: Path) -> None:
    s = ServiceSettings(data_dir=tmp_path)
    assert s.kafka_security() is None
    assert s.aiokafka_options() == {"bootstrap_servers": s.kafka_bootstrap_servers}


def test_sasl_ssl_scram(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka-bootstrap:9093")
    monkeypatch.setenv("ONEWINDOW_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("ONEWINDOW_KAFKA_SASL_USERNAME", "onewindow-intake")
    monkeypatch.setenv("ONEWINDOW_KAFKA_SASL_PASSWORD", "s3cret")
    s = ServiceSettings(data_dir=tmp_path)
    sec = s.kafka_security()
    assert isinstance(sec, SASLScram512) and sec.use_ssl and sec.ssl_context is not None
    assert (sec.username, sec.password) == ("onewindow-intake", "s3cret")
    opts = s.aiokafka_options()
    assert opts["security_protocol"] == "SASL_SSL" and opts["sasl_mechanism"] == "SCRAM-SHA-512"
    assert opts["sasl_plain_username"] == "onewindow-intake" and opts["sasl_plain_password"] == "s3cret"
    assert "s3cret" not in repr(s)  # never printed with the settings
