"""The container image's entry point: ``python3 -m tools.image_entrypoint onewindow ARGS...``.

Before ``onewindow serve NAME`` runs, it checks the settings that a service in a container cannot
do without and refuses to start, naming every one that is missing, with exit code 78
(``EX_CONFIG``). Outside a container a developer's defaults are fine (a key generated into the
data folder, the local broker on 127.0.0.1:19092); in one they are wrong or dangerous:

- ``ONEWINDOW_AUTH_SECRET`` or ``ONEWINDOW_AUTH_JWKS_URL``: otherwise each container would
  generate a token key of its own, and a token issued by one would be refused by the others;
- ``KAFKA_BOOTSTRAP_SERVERS`` for a service on the bus (``kafka`` in its declaration);
- with ``ONEWINDOW_KAFKA_SECURITY_PROTOCOL=SASL_*``: the SASL user and password;
- seal: ``ONEWINDOW_SEAL_KEY_PASSPHRASE`` or ``ONEWINDOW_SEAL_KEY_PASSPHRASE_FILE`` (a readable
  file): the keys would otherwise be encrypted with a passphrase generated into the volume, next
  to the keys themselves.

Any other command (``settings``, ``deploy ensure-topics``, ``db upgrade`` ...) runs unchecked. The
check reads only the environment; the command then runs in this same process (one interpreter
start, PID 1 stays tini).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

EX_CONFIG = 78


def _set(env: Mapping[str, str], *names: str) -> bool:
    return any(env.get(n, "").strip() for n in names)


def missing_settings(service: str, env: Mapping[str, str], *, on_bus: bool) -> list[str]:
    """What ``service`` lacks in ``env`` to run in a container: one line per missing setting."""
    missing: list[str] = []
    if not _set(env, "ONEWINDOW_AUTH_SECRET", "ONEWINDOW_AUTH_JWKS_URL"):
        missing.append("ONEWINDOW_AUTH_SECRET (the staff tokens' HS256 key, the same for every service) "
                       "or ONEWINDOW_AUTH_JWKS_URL (the county OIDC provider)")
    if on_bus:
        if not _set(env, "KAFKA_BOOTSTRAP_SERVERS", "ONEWINDOW_KAFKA_BOOTSTRAP_SERVERS"):
            missing.append("KAFKA_BOOTSTRAP_SERVERS (the Kafka brokers, host:port,...)")
        if env.get("ONEWINDOW_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT").upper().startswith("SASL"):
            for name in ("ONEWINDOW_KAFKA_SASL_USERNAME", "ONEWINDOW_KAFKA_SASL_PASSWORD"):
                if not _set(env, name):
                    missing.append(f"{name} (ONEWINDOW_KAFKA_SECURITY_PROTOCOL is SASL)")
    if service == "seal":
        file_vars = ("ONEWINDOW_SEAL_KEY_PASSPHRASE_FILE", "SEAL_KEY_PASSPHRASE_FILE")
        path = next((env[n] for n in file_vars if env.get(n, "").strip()), None)
        if path is not None:
            if not os.access(path, os.R_OK):
                missing.append(f"ONEWINDOW_SEAL_KEY_PASSPHRASE_FILE={path} is not a readable file")
        elif not _set(env, "ONEWINDOW_SEAL_KEY_PASSPHRASE", "SEAL_KEY_PASSPHRASE"):
            missing.append("ONEWINDOW_SEAL_KEY_PASSPHRASE_FILE (a mounted secret) or ONEWINDOW_SEAL_KEY_PASSPHRASE "
                           "(encrypts the seal keys at rest)")
    return missing


def _on_bus(service: str) -> bool | None:
    """Whether the service uses Kafka, from its declaration; None for an unknown service."""
    from tools.registry import declarations

    decl = declarations().get(service)
    return None if decl is None else decl.kafka


def check(argv: Sequence[str], env: Mapping[str, str]) -> str | None:
    """The refusal message for ``onewindow ARGV`` in ``env``, or None when it may run."""
    if len(argv) < 2 or argv[0] != "serve":
        return None
    service = argv[1]
    on_bus = _on_bus(service)
    if on_bus is None:
        return None  # `onewindow serve` itself names the services it knows
    missing = missing_settings(service, env, on_bus=on_bus)
    if not missing:
        return None
    lines = [f"onewindow: {service} will not start in a container without these settings:"]
    lines += [f"  - {m}" for m in missing]
    lines.append("(`onewindow settings` lists every setting; deploy/README.md says where each comes from)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "onewindow":
        args = args[1:]
    refusal = check(args, os.environ)
    if refusal:
        print(refusal, file=sys.stderr)
        return EX_CONFIG
    from tools.cli import app

    sys.argv = ["onewindow", *args]
    app(prog_name="onewindow")
    return 0


if __name__ == "__main__":
    sys.exit(main())
