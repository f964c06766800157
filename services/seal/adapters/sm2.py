"""SM2 signatures with SM3 (GB/T 32918.2-2016, GM/T 0003.2-2012; ``SM3withSM2``, OID
1.2.156.10197.1.501), the keys' DER forms and their encryption at rest.

Written here, on purpose, rather than taken from a package (see the seal README, "SM2: the choice"):

- the nonce ``k`` of every signature is drawn from ``secrets`` (the operating system's CSPRNG), never
  from ``random``; a fixed ``k`` is accepted only through :func:`sign_with_k`, which the
  known-answer tests use;
- the distinguishing ID is always explicit; its default is the standard's ``1234567812345678``
  (GM/T 0009-2012 §10), which BouncyCastle (ofdrw) uses too — the OpenSSL 3.0 CLI needs
  ``-sigopt distid:1234567812345678`` to agree;
- public keys are handled as points, never as hex strings (no ``lstrip("04")``);
- the scalar multiplication is a Montgomery ladder (the same sequence of point operations whatever
  the scalar's bits). Python's integers are not constant-time: this is not a certified
  cryptographic module (nor is any option we had); a county that must use one plugs its
  密码机 in behind the signer seam.

Signatures are DER ``SEQUENCE { r INTEGER, s INTEGER }`` (GM/T 0009 §7.3), as X.509, GB/T 38540 and
OpenSSL carry them. Private keys at rest are PKCS#8 (``id-ecPublicKey`` with the curve
``sm2p256v1``, 1.2.156.10197.1.301, as OpenSSL writes them) encrypted with PBES2 (PBKDF2-HMAC-SHA256,
AES-256-CBC): the same scheme ``cryptography``'s ``BestAvailableEncryption`` gives the PAdES keys,
with the same passphrase, and readable by ``openssl pkey``.
"""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass, field

from asn1crypto import algos, core, keys, pem
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

#: the standard's default distinguishing ID (user ID) for signatures (GM/T 0009-2012 §10)
DEFAULT_ID = b"1234567812345678"

OID_SM2_CURVE = "1.2.156.10197.1.301"
OID_SM3 = "1.2.156.10197.1.401"
OID_SM3_WITH_SM2 = "1.2.156.10197.1.501"

# asn1crypto learns the curve and the signature algorithm by name (for X.509, CRLs, PKCS#8)
if "sm2p256v1" not in keys.NamedCurve._map.values():  # pragma: no branch
    keys.NamedCurve.register("sm2p256v1", OID_SM2_CURVE, 32)
if OID_SM3_WITH_SM2 not in algos.SignedDigestAlgorithmId._map:  # pragma: no branch
    algos.SignedDigestAlgorithmId._map[OID_SM3_WITH_SM2] = "sm3_sm2"
    algos.SignedDigestAlgorithmId._reverse_map = None


@dataclass(frozen=True)
class Curve:
    """A short Weierstrass curve y² = x³ + ax + b over F_p with base point G of order n."""

    name: str
    p: int
    a: int
    b: int
    gx: int
    gy: int
    n: int

    @property
    def size(self) -> int:
        return (self.p.bit_length() + 7) // 8

    def on_curve(self, x: int, y: int) -> bool:
        return 0 <= x < self.p and 0 <= y < self.p and (y * y - (x * x * x + self.a * x + self.b)) % self.p == 0


#: The recommended curve of GB/T 32918.5-2017 (sm2p256v1).
SM2P256V1 = Curve(
    name="sm2p256v1",
    p=0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF,
    a=0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC,
    b=0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93,
    gx=0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7,
    gy=0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0,
    n=0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123,
)


class SM2Error(ValueError):
    """A malformed key, point or signature."""


# -- the group --------------------------------------------------------------------------------

_Jac = tuple[int, int, int]  # Jacobian coordinates; Z == 0 is the point at infinity
_INF: _Jac = (1, 1, 0)


def _double(c: Curve, P: _Jac) -> _Jac:
    x, y, z = P
    if z == 0 or y == 0:
        return _INF
    p = c.p
    yy = y * y % p
    s = 4 * x * yy % p
    zz = z * z % p
    m = (3 * x * x + c.a * zz * zz) % p
    x3 = (m * m - 2 * s) % p
    y3 = (m * (s - x3) - 8 * yy * yy) % p
    z3 = 2 * y * z % p
    return x3, y3, z3


def _add(c: Curve, P: _Jac, Q: _Jac) -> _Jac:
    if P[2] == 0:
        return Q
    if Q[2] == 0:
        return P
    p = c.p
    x1, y1, z1 = P
    x2, y2, z2 = Q
    z1z1, z2z2 = z1 * z1 % p, z2 * z2 % p
    u1, u2 = x1 * z2z2 % p, x2 * z1z1 % p
    s1, s2 = y1 * z2 * z2z2 % p, y2 * z1 * z1z1 % p
    h, r = (u2 - u1) % p, (s2 - s1) % p
    if h == 0:
        return _double(c, P) if r == 0 else _INF
    hh = h * h % p
    hhh = h * hh % p
    v = u1 * hh % p
    x3 = (r * r - hhh - 2 * v) % p
    y3 = (r * (v - x3) - s1 * hhh) % p
    z3 = h * z1 * z2 % p
    return x3, y3, z3


def _affine(c: Curve, P: _Jac) -> tuple[int, int] | None:
    x, y, z = P
    if z == 0:
        return None
    zi = pow(z, -1, c.p)
    zi2 = zi * zi % c.p
    return x * zi2 % c.p, y * zi2 * zi % c.p


def _mul(c: Curve, k: int, point: tuple[int, int]) -> _Jac:
    """[k]P by a Montgomery ladder over a fixed number of bits."""
    r0, r1 = _INF, (point[0], point[1], 1)
    for i in reversed(range(c.n.bit_length())):
        if (k >> i) & 1:
            r0, r1 = _add(c, r0, r1), _double(c, r1)
        else:
            r1, r0 = _add(c, r0, r1), _double(c, r0)
    return r0


def _mul_add(c: Curve, a: int, P: tuple[int, int], b: int, Q: tuple[int, int]) -> tuple[int, int] | None:
    """[a]P + [b]Q by Shamir's trick (public values only: verification; not constant-time)."""
    pj, qj = (P[0], P[1], 1), (Q[0], Q[1], 1)
    both = _add(c, pj, qj)
    r = _INF
    for i in reversed(range(max(a.bit_length(), b.bit_length()))):
        r = _double(c, r)
        bit_a, bit_b = (a >> i) & 1, (b >> i) & 1
        if bit_a and bit_b:
            r = _add(c, r, both)
        elif bit_a:
            r = _add(c, r, pj)
        elif bit_b:
            r = _add(c, r, qj)
    return _affine(c, r)


# -- SM3 and Z_A ------------------------------------------------------------------------------

def sm3(data: bytes) -> bytes:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize()


def _i2b(v: int, size: int) -> bytes:
    return v.to_bytes(size, "big")


def za(public: "PublicKey", uid: bytes = DEFAULT_ID) -> bytes:
    """Z_A = SM3(ENTL_A ‖ ID_A ‖ a ‖ b ‖ x_G ‖ y_G ‖ x_A ‖ y_A) (GB/T 32918.2 §5.5)."""
    c = public.curve
    if len(uid) * 8 > 0xFFFF:
        raise SM2Error("the distinguishing ID is too long")
    s = c.size
    return sm3(
        _i2b(len(uid) * 8, 2) + uid + _i2b(c.a, s) + _i2b(c.b, s) + _i2b(c.gx, s) + _i2b(c.gy, s)
        + _i2b(public.x, s) + _i2b(public.y, s)
    )


def message_digest(public: "PublicKey", message: bytes, uid: bytes = DEFAULT_ID) -> int:
    """e = SM3(Z_A ‖ M) as an integer."""
    return int.from_bytes(sm3(za(public, uid) + message), "big")


# -- keys -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PublicKey:
    x: int
    y: int
    curve: Curve = SM2P256V1

    def __post_init__(self) -> None:
        if not self.curve.on_curve(self.x, self.y):
            raise SM2Error("the point is not on the curve")

    @classmethod
    def from_point(cls, data: bytes, curve: Curve = SM2P256V1) -> "PublicKey":
        """From the uncompressed encoding ``04 ‖ x ‖ y``."""
        s = curve.size
        if len(data) != 1 + 2 * s or data[0] != 4:
            raise SM2Error("not an uncompressed SM2 point")
        return cls(int.from_bytes(data[1:1 + s], "big"), int.from_bytes(data[1 + s:], "big"), curve)

    def point(self) -> bytes:
        s = self.curve.size
        return b"\x04" + _i2b(self.x, s) + _i2b(self.y, s)

    def info(self) -> keys.PublicKeyInfo:
        """SubjectPublicKeyInfo: id-ecPublicKey with the named curve sm2p256v1 (as OpenSSL writes)."""
        return keys.PublicKeyInfo({
            "algorithm": {"algorithm": "ec", "parameters": keys.ECDomainParameters("named", "sm2p256v1")},
            "public_key": self.point(),
        })

    def der(self) -> bytes:
        return self.info().dump()

    def pem(self) -> bytes:
        return pem.armor("PUBLIC KEY", self.der())

    @classmethod
    def from_info(cls, info: keys.PublicKeyInfo) -> "PublicKey":
        alg = info["algorithm"]
        if alg["algorithm"].dotted != "1.2.840.10045.2.1" or alg["parameters"].chosen.dotted != OID_SM2_CURVE:
            raise SM2Error("not an SM2 public key")
        return cls.from_point(bytes(info["public_key"]))

    @classmethod
    def from_der(cls, der: bytes) -> "PublicKey":
        return cls.from_info(keys.PublicKeyInfo.load(der))

    def verify(self, message: bytes, signature: bytes, uid: bytes = DEFAULT_ID) -> bool:
        """True if ``signature`` (DER) is this key's SM2 signature of ``message`` with ``uid``."""
        try:
            r, s = decode_signature(signature)
        except SM2Error:
            return False
        return verify_digest(self, message_digest(self, message, uid), r, s)


@dataclass(frozen=True)
class PrivateKey:
    d: int = field(repr=False)
    curve: Curve = SM2P256V1

    def __post_init__(self) -> None:
        # 1 <= d <= n-2: (1 + d) must be invertible mod n
        if not 1 <= self.d <= self.curve.n - 2:
            raise SM2Error("the private key is out of range")

    def __repr__(self) -> str:
        return "SM2PrivateKey(<hidden>)"

    @classmethod
    def generate(cls, curve: Curve = SM2P256V1) -> "PrivateKey":
        return cls(1 + secrets.randbelow(curve.n - 2), curve)

    def public_key(self) -> PublicKey:
        xy = _affine(self.curve, _mul(self.curve, self.d, (self.curve.gx, self.curve.gy)))
        assert xy is not None
        return PublicKey(xy[0], xy[1], self.curve)

    def sign(self, message: bytes, uid: bytes = DEFAULT_ID) -> bytes:
        """The DER SM2 signature of ``message``; k from ``secrets`` (the OS CSPRNG)."""
        pub = self.public_key()
        e = message_digest(pub, message, uid)
        while True:
            k = 1 + secrets.randbelow(self.curve.n - 1)
            rs = _sign_digest(self, e, k)
            if rs is not None:
                return encode_signature(*rs)

    # -- storage ----------------------------------------------------------------------------

    def pkcs8(self) -> bytes:
        """Unencrypted PKCS#8 DER (only ever handed to :func:`encrypt_pkcs8`)."""
        s = self.curve.size
        ec_key = keys.ECPrivateKey({
            "version": "ecPrivkeyVer1",
            "private_key": self.d,
            "public_key": self.public_key().point(),
        })
        # asn1crypto writes the private key as an INTEGER-sized octet string of the curve size
        ec_key["private_key"] = keys.IntegerOctetString(self.d)
        ec_key["private_key"].set_encoded_width(s)
        return keys.PrivateKeyInfo({
            "version": 0,
            "private_key_algorithm": {
                "algorithm": "ec", "parameters": keys.ECDomainParameters("named", "sm2p256v1"),
            },
            "private_key": ec_key,
        }).dump()

    @classmethod
    def from_pkcs8(cls, der: bytes) -> "PrivateKey":
        try:
            info = keys.PrivateKeyInfo.load(der)
            alg = info["private_key_algorithm"]
            if alg["algorithm"].native != "ec" or alg["parameters"].chosen.dotted != OID_SM2_CURVE:
                raise SM2Error("not an SM2 private key")
            d = info["private_key"].parsed["private_key"].native
        except (ValueError, TypeError, KeyError) as exc:
            raise SM2Error("unreadable PKCS#8 key") from exc
        return cls(int(d))


def _sign_digest(key: PrivateKey, e: int, k: int) -> tuple[int, int] | None:
    """(r, s) for the digest ``e`` with nonce ``k``, or None when k must be drawn again."""
    c = key.curve
    n = c.n
    xy = _affine(c, _mul(c, k, (c.gx, c.gy)))
    assert xy is not None
    r = (e + xy[0]) % n
    if r == 0 or r + k == n:
        return None
    s = pow(1 + key.d, -1, n) * (k - r * key.d) % n
    if s == 0:
        return None
    return r, s


def sign_with_k(key: PrivateKey, message: bytes, k: int, uid: bytes = DEFAULT_ID) -> tuple[int, int]:
    """A signature with a GIVEN nonce: for the standard's known-answer tests only."""
    rs = _sign_digest(key, message_digest(key.public_key(), message, uid), k)
    if rs is None:
        raise SM2Error("this k gives no signature")
    return rs


def verify_digest(public: PublicKey, e: int, r: int, s: int) -> bool:
    c = public.curve
    n = c.n
    if not (1 <= r < n and 1 <= s < n):
        return False
    t = (r + s) % n
    if t == 0:
        return False
    xy = _mul_add(c, s, (c.gx, c.gy), t, (public.x, public.y))
    if xy is None:
        return False
    return hmac.compare_digest(_i2b((e + xy[0]) % n, c.size), _i2b(r, c.size))


class _RS(core.Sequence):
    _fields = [("r", core.Integer), ("s", core.Integer)]


def encode_signature(r: int, s: int) -> bytes:
    return _RS({"r": r, "s": s}).dump()


def decode_signature(der: bytes) -> tuple[int, int]:
    try:
        rs = _RS.load(der, strict=True)
        r, s = rs["r"].native, rs["s"].native
    except (ValueError, TypeError) as exc:
        raise SM2Error("not a DER SM2 signature") from exc
    if rs.dump(force=True) != der:
        raise SM2Error("not a DER SM2 signature")
    return int(r), int(s)


# -- keys at rest ------------------------------------------------------------------------------

#: PBKDF2 iterations: the count cryptography's BestAvailableEncryption uses for the PAdES keys.
PBKDF2_ITERATIONS = 2048


def encrypt_pkcs8(key: PrivateKey, passphrase: bytes, *, iterations: int = PBKDF2_ITERATIONS) -> bytes:
    """PEM ``ENCRYPTED PRIVATE KEY``: PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC."""
    salt, iv = os.urandom(16), os.urandom(16)
    kek = PBKDF2HMAC(hashes.SHA256(), 32, salt, iterations).derive(passphrase)
    padder = padding.PKCS7(128).padder()
    plain = padder.update(key.pkcs8()) + padder.finalize()
    enc = Cipher(algorithms.AES(kek), modes.CBC(iv)).encryptor()
    blob = enc.update(plain) + enc.finalize()
    info = keys.EncryptedPrivateKeyInfo({
        "encryption_algorithm": {
            "algorithm": "pbes2",
            "parameters": {
                "key_derivation_func": {
                    "algorithm": "pbkdf2",
                    "parameters": {"salt": algos.Pbkdf2Salt("specified", salt), "iteration_count": iterations, "prf": {"algorithm": "sha256"}},
                },
                "encryption_scheme": {"algorithm": "aes256_cbc", "parameters": iv},
            },
        },
        "encrypted_data": blob,
    })
    return pem.armor("ENCRYPTED PRIVATE KEY", info.dump())


def decrypt_pkcs8(pem_bytes: bytes, passphrase: bytes) -> PrivateKey:
    """Open a key written by :func:`encrypt_pkcs8` (or by ``openssl pkcs8 -topk8 -v2 aes-256-cbc
    -v2prf hmacWithSHA256``). Raises :class:`SM2Error` when it does not open."""
    try:
        kind, _headers, der = pem.unarmor(pem_bytes)
        if kind != "ENCRYPTED PRIVATE KEY":
            raise SM2Error("the SM2 key is not encrypted")
        info = keys.EncryptedPrivateKeyInfo.load(der)
        alg = info["encryption_algorithm"]
        if alg["algorithm"].native != "pbes2":
            raise SM2Error("unsupported key encryption")
        params = alg["parameters"]
        kdf = params["key_derivation_func"]
        scheme = params["encryption_scheme"]
        if kdf["algorithm"].native != "pbkdf2" or scheme["algorithm"].native != "aes256_cbc":
            raise SM2Error("unsupported key encryption")
        kp = kdf["parameters"]
        prf = kp["prf"]["algorithm"].native
        digest = {"sha256": hashes.SHA256(), "sha1": hashes.SHA1(), "sha512": hashes.SHA512()}.get(prf)
        if digest is None:
            raise SM2Error("unsupported key encryption")
        kek = PBKDF2HMAC(digest, 32, kp["salt"].chosen.native, kp["iteration_count"].native).derive(passphrase)
        dec = Cipher(algorithms.AES(kek), modes.CBC(scheme["parameters"].native)).decryptor()
        padded = dec.update(info["encrypted_data"].native) + dec.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        plain = unpadder.update(padded) + unpadder.finalize()
    except SM2Error:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise SM2Error("the SM2 key does not open with this passphrase") from exc
    return PrivateKey.from_pkcs8(plain)


__all__ = [
    "DEFAULT_ID", "OID_SM2_CURVE", "OID_SM3", "OID_SM3_WITH_SM2", "SM2P256V1", "Curve", "PrivateKey",
    "PublicKey", "SM2Error", "decode_signature", "decrypt_pkcs8", "encode_signature", "encrypt_pkcs8",
    "message_digest", "sign_with_k", "sm3", "verify_digest", "za",
]
