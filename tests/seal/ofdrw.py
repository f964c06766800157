"""The independent checkers of sealed OFDs, for the tests.

- ofdrw (``ofdrw-sign`` 2.3.3 with BouncyCastle jdk15on 1.70): fetched once from Maven Central
  with ``tests/peers/ofd/pom.xml`` into ``$XDG_CACHE_HOME/onewindow/ofdrw-<version>`` (like
  ``tools/kafka_local.py`` fetches Kafka), ``OfdVerify.java`` compiled there, then run on files.
  It checks the References, Signature.xml against the SES dataHash and the signer's SM2 signature;
  it does not check the seal maker's signature inside the seal, nor any certificate chain or CRL.
- the ``openssl`` CLI (3.0, ``-sigopt``/``-vfyopt distid:1234567812345678``): the seal maker's
  signature over the seal, and the certificates against the county's SM2 root and CRL.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

PEER = Path(__file__).resolve().parents[1] / "peers" / "ofd"
POM = PEER / "pom.xml"
MAIN = PEER / "OfdVerify.java"
DISTID = "distid:1234567812345678"


def ofdrw_version() -> str:
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    node = ET.parse(POM).getroot().find("m:properties/m:ofdrw.version", ns)
    assert node is not None and node.text
    return node.text.strip()


def home() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "onewindow" / f"ofdrw-{ofdrw_version()}"


@contextmanager
def _lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def ensure_verifier() -> Path:
    """The folder holding ``libs/`` (the jars) and ``classes/`` (OfdVerify), made once."""
    for tool in ("mvn", "javac", "java"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is needed to build the OFD verifier (Java 17 and Maven, see scripts/bootstrap.sh)")
    h = home()
    libs, classes = h / "libs", h / "classes"
    stamp = classes / (MAIN.stem + ".class")
    with _lock(h / ".lock"):
        if not (libs / f"ofdrw-sign-{ofdrw_version()}.jar").is_file():
            tmp = Path(tempfile.mkdtemp(prefix="libs.", dir=h))
            done = subprocess.run(
                ["mvn", "-B", "-q", "-f", str(POM), "dependency:copy-dependencies", f"-DoutputDirectory={tmp}"],
                capture_output=True, text=True, timeout=900,
            )
            if done.returncode != 0:
                shutil.rmtree(tmp, ignore_errors=True)
                pytest.fail(f"Maven could not fetch ofdrw: {done.stdout[-2000:]}{done.stderr[-2000:]}")
            shutil.rmtree(libs, ignore_errors=True)
            tmp.rename(libs)
        if not stamp.is_file() or stamp.stat().st_mtime < MAIN.stat().st_mtime:
            classes.mkdir(parents=True, exist_ok=True)
            subprocess.run(["javac", "-cp", f"{libs}/*", "-d", str(classes), str(MAIN)], check=True,
                           capture_output=True, timeout=300)
    return h


def ofdrw_verify(*files: Path, pages: dict[str, int] | None = None) -> dict[str, str]:
    """ofdrw's verdict per file: "OK" or "FAIL <why>"; ``pages`` (if given) is filled with the
    page count ofdrw's reader found in each file it accepted."""
    h = ensure_verifier()
    done = subprocess.run(["java", "-cp", f"{h / 'libs'}/*:{h / 'classes'}", "OfdVerify", *map(str, files)],
                          capture_output=True, text=True, timeout=300)
    out: dict[str, str] = {}
    for line in done.stdout.splitlines():
        if line.startswith("OK "):
            name, _, count = line[3:].strip().rpartition(" pages=")
            out[name] = "OK"
            if pages is not None:
                pages[name] = int(count)
        elif line.startswith("FAIL "):
            name, _, why = line[5:].partition(": ")
            out[name.strip()] = "FAIL " + why
    missing = [str(f) for f in files if str(f) not in out]
    assert not missing, f"ofdrw said nothing about {missing}: {done.stdout}{done.stderr}"
    return out


def openssl(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", *args], input=stdin, capture_output=True, timeout=60)


def openssl_checks_seal(seal_der: bytes, root_pem: bytes, tmp: Path, crl_der: bytes | None = None) -> tuple[bool, str]:
    """The ``openssl`` CLI's verdict on a SESeal: the seal maker's certificate chains to the SM2
    root, and its SM2 signature over DER(eSealInfo) is good. (True, "") or (False, why)."""
    from services.seal.adapters import gmpki, ses

    info_der, signature = ses.seal_info_der(seal_der)
    maker = ses.read_seal(seal_der).maker_cert
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "root.pem").write_bytes(root_pem)
    (tmp / "maker.pem").write_bytes(gmpki.cert_pem(maker))
    (tmp / "info.der").write_bytes(info_der)
    (tmp / "sig.der").write_bytes(signature)
    chain = openssl("verify", "-vfyopt", DISTID, "-CAfile", str(tmp / "root.pem"), str(tmp / "maker.pem"))
    if chain.returncode != 0:
        return False, "chain: " + (chain.stdout + chain.stderr).decode(errors="replace")
    pub = openssl("x509", "-in", str(tmp / "maker.pem"), "-pubkey", "-noout")
    (tmp / "maker.pub").write_bytes(pub.stdout)
    sig = openssl("dgst", "-sm3", "-verify", str(tmp / "maker.pub"), "-sigopt", DISTID, "-signature",
                  str(tmp / "sig.der"), str(tmp / "info.der"))
    if sig.returncode != 0 or b"Verified OK" not in sig.stdout:
        return False, "seal signature: " + (sig.stdout + sig.stderr).decode(errors="replace")
    return True, ""


def openssl_checks_cert(cert_pem: bytes, root_pem: bytes, tmp: Path, crl_pem: bytes | None = None) -> tuple[bool, str]:
    """``openssl verify`` of an SM2 certificate against the SM2 root (and a CRL, when given)."""
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "root.pem").write_bytes(root_pem)
    (tmp / "cert.pem").write_bytes(cert_pem)
    args = ["verify", "-vfyopt", DISTID, "-CAfile", str(tmp / "root.pem")]
    if crl_pem is not None:
        (tmp / "crl.pem").write_bytes(crl_pem)
        args += ["-crl_check", "-CRLfile", str(tmp / "crl.pem")]
    done = openssl(*args, str(tmp / "cert.pem"))
    text = (done.stdout + done.stderr).decode(errors="replace")
    return done.returncode == 0, text


def openssl_revoked(crl_der: bytes, root_pem: bytes, serial_hex: str, tmp: Path) -> tuple[bool, str]:
    """Does the county's SM2 CRL, checked by ``openssl``, list this serial? OpenSSL 3.0's
    ``verify -crl_check`` checks an SM2 CRL's signature without the distinguishing ID (and so
    fails on any standard one): the signature is checked with ``dgst -sigopt distid`` instead, and
    the list read with ``openssl crl -text``. Raises AssertionError if the CRL's signature fails."""
    from asn1crypto import crl as asn1_crl

    tmp.mkdir(parents=True, exist_ok=True)
    crl = asn1_crl.CertificateList.load(crl_der)
    (tmp / "root.pem").write_bytes(root_pem)
    (tmp / "tbs.der").write_bytes(crl["tbs_cert_list"].dump())
    (tmp / "crlsig.der").write_bytes(crl["signature"].native)
    (tmp / "crl.der").write_bytes(crl_der)
    pub = openssl("x509", "-in", str(tmp / "root.pem"), "-pubkey", "-noout")
    (tmp / "root.pub").write_bytes(pub.stdout)
    sig = openssl("dgst", "-sm3", "-verify", str(tmp / "root.pub"), "-sigopt", DISTID, "-signature",
                  str(tmp / "crlsig.der"), str(tmp / "tbs.der"))
    assert sig.returncode == 0 and b"Verified OK" in sig.stdout, sig.stdout + sig.stderr
    text = openssl("crl", "-inform", "DER", "-in", str(tmp / "crl.der"), "-noout", "-text").stdout.decode()
    listed = {line.split(":", 1)[1].strip().lower().lstrip("0")
              for line in text.splitlines() if line.strip().startswith("Serial Number:")}
    return serial_hex.lower().lstrip("0") in listed, text
