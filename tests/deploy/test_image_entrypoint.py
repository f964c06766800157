"""The image's entry point refuses to start a service whose required settings are missing, and
names each (tools/image_entrypoint.py); one-shot commands run unchecked."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import image_entrypoint as ep
from tools.registry import BUS_SERVICES, SERVICES

FULL = {"ONEWINDOW_AUTH_SECRET": "k" * 48, "KAFKA_BOOTSTRAP_SERVERS": "kafka:9092",
        "ONEWINDOW_SEAL_KEY_PASSPHRASE": "a-long-passphrase"}


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_starts_with_its_settings(service: str) -> None:
    assert ep.check(["serve", service], FULL) is None


@pytest.mark.parametrize("service", BUS_SERVICES)
def test_a_bus_service_needs_the_brokers_and_the_token_key(service: str) -> None:
    message = ep.check(["serve", service], {})
    assert message is not None
    assert "ONEWINDOW_AUTH_SECRET" in message and "KAFKA_BOOTSTRAP_SERVERS" in message
    assert ("ONEWINDOW_SEAL_KEY_PASSPHRASE" in message) is (service == "seal")


def test_a_service_off_the_bus_does_not_need_the_brokers() -> None:
    off_bus = [s for s in SERVICES if s not in BUS_SERVICES]
    for service in off_bus:
        message = ep.check(["serve", service], {})
        assert message is not None and "KAFKA_BOOTSTRAP_SERVERS" not in message
        assert ep.check(["serve", service], {"ONEWINDOW_AUTH_JWKS_URL": "https://idp/jwks"}) is None


def test_sasl_needs_user_and_password_and_a_passphrase_file_must_be_readable(tmp_path: Path) -> None:
    env = {**FULL, "ONEWINDOW_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "ONEWINDOW_KAFKA_SASL_USERNAME": "intake"}
    message = ep.check(["serve", "intake"], env)
    assert message is not None and "ONEWINDOW_KAFKA_SASL_PASSWORD" in message
    assert "ONEWINDOW_KAFKA_SASL_USERNAME" not in message
    env = {k: v for k, v in FULL.items() if k != "ONEWINDOW_SEAL_KEY_PASSPHRASE"}
    env["ONEWINDOW_SEAL_KEY_PASSPHRASE_FILE"] = str(tmp_path / "absent")
    message = ep.check(["serve", "seal"], env)
    assert message is not None and "is not a readable file" in message
    (tmp_path / "passphrase").write_text("a-long-passphrase")
    env["ONEWINDOW_SEAL_KEY_PASSPHRASE_FILE"] = str(tmp_path / "passphrase")
    assert ep.check(["serve", "seal"], env) is None


def test_other_commands_are_not_checked() -> None:
    assert ep.check(["settings"], {}) is None
    assert ep.check(["deploy", "ensure-topics"], {}) is None


def test_the_refusal_exits_78_and_names_the_settings(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    for name in (*FULL, "ONEWINDOW_AUTH_JWKS_URL", "ONEWINDOW_KAFKA_BOOTSTRAP_SERVERS",
                 "ONEWINDOW_SEAL_KEY_PASSPHRASE_FILE", "SEAL_KEY_PASSPHRASE", "SEAL_KEY_PASSPHRASE_FILE"):
        monkeypatch.delenv(name, raising=False)
    assert ep.main(["onewindow", "serve", "seal"]) == ep.EX_CONFIG
    err = capsys.readouterr().err
    assert "seal will not start" in err and "ONEWINDOW_SEAL_KEY_PASSPHRASE_FILE" in err
