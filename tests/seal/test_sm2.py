"""SM2/SM3 (GB/T 32918, GM/T 0003): the standard's worked examples, the nonce's source, the
explicit distinguishing ID, the keys' forms at rest, and agreement with the ``openssl`` CLI both
ways."""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

import pytest
from asn1crypto import pem

from services.seal.adapters import sm2
from services.seal.adapters.authority import KeyProtectionError, KeyProtector

from .ofdrw import DISTID, openssl

pytestmark = pytest.mark.timeout(300)

# GB/T 32918.5-2017 / GM/T 0003.5-2012, the signature example on the recommended curve sm2p256v1
D = 0x3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8
PX = 0x09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020
PY = 0xCCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13
ZA = "B2E14C5C79C6DF5B85F4FE7ED8DB7A262B9DA7E07CCB0EA9F4747B8CCDA8A4F3"
E = 0xF0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640
K = 0x59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21
R = 0xF5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3
S = 0xB1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA
MESSAGE = b"message digest"

# GB/T 32918.2-2016 Annex A / GM/T 0003.2-2012: the example on the 256-bit test curve, ID ALICE123@YAHOO.COM
TEST_CURVE = sm2.Curve(
    name="gbt32918-2-test",
    p=0x8542D69E4C044F18E8B92435BF6FF7DE457283915C45517D722EDB8B08F1DFC3,
    a=0x787968B4FA32C3FD2417842E73BBFEFF2F3C848B6831D7E0EC65228B3937E498,
    b=0x63E4C6D3B23B0C849CF84241484BFE48F61D59A5B16BA06E6E12D1DA27C5249A,
    gx=0x421DEBD61B62EAB6746434EBC3CC315E32220B3BADD50BDC4C4E6C147FEDD43D,
    gy=0x0680512BCBB42C07D47349D2153B70C4E5D7FDFCBFA36EA1A85841B9E46E09A2,
    n=0x8542D69E4C044F18E8B92435BF6FF7DD297720630485628D5AE74EE7C32E79B7,
)


def test_sm3_of_the_standard_example() -> None:
    # GB/T 32905-2016 Annex A.1: SM3("abc")
    assert sm2.sm3(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_the_recommended_curve_example() -> None:
    key = sm2.PrivateKey(D)
    pub = key.public_key()
    assert (pub.x, pub.y) == (PX, PY)
    assert sm2.za(pub, b"1234567812345678").hex().upper() == ZA
    assert sm2.message_digest(pub, MESSAGE) == E
    assert sm2.sign_with_k(key, MESSAGE, K) == (R, S)
    assert pub.verify(MESSAGE, sm2.encode_signature(R, S))
    assert not pub.verify(b"message digesT", sm2.encode_signature(R, S))
    assert not pub.verify(MESSAGE, sm2.encode_signature(R, S ^ 1))
    # the same signature under another distinguishing ID is another message
    assert not pub.verify(MESSAGE, sm2.encode_signature(R, S), uid=b"")


def test_the_test_curve_example_of_part_2() -> None:
    assert TEST_CURVE.on_curve(TEST_CURVE.gx, TEST_CURVE.gy)
    key = sm2.PrivateKey(0x128B2FA8BD433C6C068C8D803DFF79792A519A55171B1B650C23661D15897263, TEST_CURVE)
    pub = key.public_key()
    assert pub.x == 0x0AE4C7798AA0F119471BEE11825BE46202BB79E2A5844495E97C04FF4DF2548A
    assert pub.y == 0x7C0240F88F1CD4E16352A73C17B7F16F07353E53A176D684A9FE0C6BB798E857
    alice = b"ALICE123@YAHOO.COM"
    assert sm2.za(pub, alice).hex().upper() == "F4A38489E32B45B6F876E3AC2168CA392362DC8F23459C1D1146FC3DBFB7BC9A"
    assert sm2.message_digest(pub, MESSAGE, alice) == 0xB524F552CD82B8B028476E005C377FB19A87E6FC682D48BB5D42E3D9B9EFFE76
    r, s = sm2.sign_with_k(key, MESSAGE, 0x6CB28D99385C175C94F94E934817663FC176D925DD72B727260DBAAE1FB2F96F,
                           uid=alice)
    assert r == 0x40F1EC59F793D9F49E09DCEF49130D4194F79FB1EED2CAA55BACDB49C4E755D1
    assert s == 0x6FC6DAC32C5D5CF10C77DFB20F7C2EB667A457872FB09EC56327A67EC7DEEBE7
    assert pub.verify(MESSAGE, sm2.encode_signature(r, s), uid=alice)


def test_the_nonce_comes_from_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[int] = []
    real = secrets.randbelow

    def spy(n: int) -> int:
        v = real(n)
        drawn.append(v)
        return v

    key = sm2.PrivateKey(D)
    monkeypatch.setattr(sm2.secrets, "randbelow", spy)
    sig1, sig2 = key.sign(MESSAGE), key.sign(MESSAGE)
    assert drawn and sig1 != sig2
    assert "random" not in vars(sm2)  # the module never touches the random module
    # with the nonce forced to the standard's k, the standard's signature comes out
    monkeypatch.setattr(sm2.secrets, "randbelow", lambda n: K - 1)
    assert sm2.decode_signature(key.sign(MESSAGE)) == (R, S)


def test_bad_points_keys_and_signatures_are_refused() -> None:
    with pytest.raises(sm2.SM2Error):
        sm2.PublicKey(PX, PY + 1)
    with pytest.raises(sm2.SM2Error):
        sm2.PrivateKey(0)
    with pytest.raises(sm2.SM2Error):
        sm2.PrivateKey(sm2.SM2P256V1.n - 1)
    # a public key whose x starts with 0x04 bytes survives its point encoding (gmssl's lstrip("04") bug)
    pub = sm2.PublicKey(PX, PY)
    assert sm2.PublicKey.from_point(pub.point()) == pub
    assert not pub.verify(MESSAGE, b"\x30\x00")
    assert not pub.verify(MESSAGE, sm2.encode_signature(R, S) + b"\x00")
    assert not pub.verify(MESSAGE, sm2.encode_signature(0, S))


def test_keys_at_rest_are_encrypted_like_the_pades_keys() -> None:
    protector = KeyProtector("a-passphrase-of-some-length")
    key = sm2.PrivateKey.generate()
    stored = protector.protect_sm2(key)
    assert stored.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert key.pkcs8() not in pem.unarmor(stored)[2]
    assert protector.open_sm2(stored).d == key.d
    with pytest.raises(KeyProtectionError):
        KeyProtector("another-passphrase-here").open_sm2(stored)
    assert "d=" not in repr(key) and str(key.d) not in repr(key)


def test_openssl_agrees_both_ways(tmp_path: Path) -> None:
    key = sm2.PrivateKey.generate()
    pub = key.public_key()
    (tmp_path / "pub.pem").write_bytes(pub.pem())
    (tmp_path / "key.pem").write_bytes(sm2.encrypt_pkcs8(key, b"passphrase-for-openssl"))
    (tmp_path / "msg").write_bytes(MESSAGE)
    # ours -> openssl (with the standard's ID; OpenSSL 3.0's own default ID differs)
    (tmp_path / "ours.sig").write_bytes(key.sign(MESSAGE))
    ok = openssl("dgst", "-sm3", "-verify", str(tmp_path / "pub.pem"), "-sigopt", DISTID,
                 "-signature", str(tmp_path / "ours.sig"), str(tmp_path / "msg"))
    assert b"Verified OK" in ok.stdout, ok.stdout + ok.stderr
    no_id = openssl("dgst", "-sm3", "-verify", str(tmp_path / "pub.pem"),
                    "-signature", str(tmp_path / "ours.sig"), str(tmp_path / "msg"))
    assert no_id.returncode != 0
    # openssl opens our encrypted key and signs; we verify
    signed = openssl("dgst", "-sm3", "-sign", str(tmp_path / "key.pem"), "-passin", "pass:passphrase-for-openssl",
                     "-sigopt", DISTID, "-out", str(tmp_path / "theirs.sig"), str(tmp_path / "msg"))
    assert signed.returncode == 0, signed.stderr
    assert pub.verify(MESSAGE, (tmp_path / "theirs.sig").read_bytes())
    # a key openssl made and encrypted opens here
    made = openssl("genpkey", "-algorithm", "SM2", "-aes-256-cbc", "-pass", "pass:passphrase-for-openssl",
                   "-out", str(tmp_path / "theirs.pem"))
    assert made.returncode == 0, made.stderr
    theirs = sm2.decrypt_pkcs8((tmp_path / "theirs.pem").read_bytes(), b"passphrase-for-openssl")
    text = subprocess.run(["openssl", "pkey", "-in", str(tmp_path / "theirs.pem"), "-passin",
                           "pass:passphrase-for-openssl", "-pubout"], capture_output=True, check=True).stdout
    assert sm2.PublicKey.from_der(pem.unarmor(text)[2]) == theirs.public_key()
