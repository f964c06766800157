"""GB/T 38540-2020 (安全电子签章密码技术规范) version 4: the electronic seal ``SESeal`` and the
electronic signature ``SES_Signature``, in ASN.1, written from the standard (no published module
exists) with asn1crypto.

::

    SESeal ::= SEQUENCE {
        eSealInfo    SES_SealInfo,        -- 印章信息
        cert         OCTET STRING,        -- 制章人证书 (the seal maker's certificate, DER)
        signAlgID    OBJECT IDENTIFIER,   -- 1.2.156.10197.1.501 (SM3withSM2)
        signedValue  BIT STRING }         -- the seal maker's signature of DER(eSealInfo)
    SES_SealInfo ::= SEQUENCE {
        header SES_Header, esID IA5String, property SES_ESPropertyInfo,
        picture SES_ESPictrueInfo, extDatas ExtensionDatas OPTIONAL }
    SES_Header ::= SEQUENCE { id IA5String ("ES"), version INTEGER (4), vid IA5String }
    SES_ESPropertyInfo ::= SEQUENCE {
        type INTEGER (1 单位印章), name UTF8String, certListType INTEGER (1: certs),
        certList SES_CertList, createDate GeneralizedTime, validStart GeneralizedTime,
        validEnd GeneralizedTime }
    SES_CertList ::= CHOICE { certs SEQUENCE OF OCTET STRING, certDigestList SEQUENCE OF CertDigestObj }
    SES_ESPictrueInfo ::= SEQUENCE { type IA5String, data OCTET STRING, width INTEGER, height INTEGER }
    SES_Signature ::= SEQUENCE {
        toSign TBS_Sign, cert OCTET STRING (签章者证书), signatureAlgID OBJECT IDENTIFIER,
        signature BIT STRING (the signer's signature of DER(toSign)), timeStamp [0] BIT STRING OPTIONAL }
    TBS_Sign ::= SEQUENCE {
        version INTEGER (4), eseal SESeal, timeInfo GeneralizedTime,
        dataHash BIT STRING (SM3 of the signed data: for OFD, of Signature.xml),
        propertyInfo IA5String (the signed file's location), extDatas [0] ExtensionDatas OPTIONAL }

The seal's ``certList`` names the unit's SM2 seal certificate: only that key may sign with the
seal (a verifier checks the signer's certificate against it). Width and height are millimetres.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import core, x509 as asn1_x509

from . import sm2
from .gmpki import cert_public_key

SEAL_TYPE_UNIT = 1  # 单位印章


class ExtData(core.Sequence):
    _fields = [("extn_id", core.ObjectIdentifier), ("critical", core.Boolean, {"default": False}),
               ("extn_value", core.OctetString)]


class ExtensionDatas(core.SequenceOf):
    _child_spec = ExtData


class SESHeader(core.Sequence):
    _fields = [("id", core.IA5String), ("version", core.Integer), ("vid", core.IA5String)]


class CertInfoList(core.SequenceOf):
    _child_spec = core.OctetString


class CertDigestObj(core.Sequence):
    _fields = [("type", core.PrintableString), ("value", core.OctetString)]


class CertDigestList(core.SequenceOf):
    _child_spec = CertDigestObj


class SESCertList(core.Choice):
    # both alternatives are a SEQUENCE OF: certListType says which (only ``certs`` is written here)
    _alternatives = [("certs", CertInfoList)]


class SESPropertyInfo(core.Sequence):
    _fields = [
        ("type", core.Integer),
        ("name", core.UTF8String),
        ("cert_list_type", core.Integer),
        ("cert_list", CertInfoList),
        ("create_date", core.GeneralizedTime),
        ("valid_start", core.GeneralizedTime),
        ("valid_end", core.GeneralizedTime),
    ]


class SESPictureInfo(core.Sequence):
    _fields = [("type", core.IA5String), ("data", core.OctetString), ("width", core.Integer),
               ("height", core.Integer)]


class SESSealInfo(core.Sequence):
    _fields = [
        ("header", SESHeader),
        ("es_id", core.IA5String),
        ("property", SESPropertyInfo),
        ("picture", SESPictureInfo),
        ("ext_datas", ExtensionDatas, {"optional": True}),
    ]


class SESeal(core.Sequence):
    _fields = [
        ("e_seal_info", SESSealInfo),
        ("cert", core.OctetString),
        ("sign_alg_id", core.ObjectIdentifier),
        ("signed_value", core.OctetBitString),
    ]


class TBSSign(core.Sequence):
    _fields = [
        ("version", core.Integer),
        ("eseal", SESeal),
        ("time_info", core.GeneralizedTime),
        ("data_hash", core.OctetBitString),
        ("property_info", core.IA5String),
        ("ext_datas", ExtensionDatas, {"explicit": 0, "optional": True}),
    ]


class SESSignature(core.Sequence):
    _fields = [
        ("to_sign", TBSSign),
        ("cert", core.OctetString),
        ("signature_alg_id", core.ObjectIdentifier),
        ("signature", core.OctetBitString),
        ("time_stamp", core.OctetBitString, {"explicit": 0, "optional": True}),
    ]


def _gt(at: datetime) -> core.GeneralizedTime:
    return core.GeneralizedTime(at.astimezone(UTC).replace(microsecond=0))


# -- the seal -----------------------------------------------------------------------------------

def make_seal(
    *, name: str, es_id: str, signer_cert: asn1_x509.Certificate, maker_cert: asn1_x509.Certificate,
    maker_key: sm2.PrivateKey, picture_png: bytes, width_mm: int, height_mm: int, valid_start: datetime,
    valid_end: datetime, created: datetime, vid: str = "OneWindow",
) -> bytes:
    """A v4 SESeal (DER), signed by the seal maker."""
    info = SESSealInfo({
        "header": {"id": "ES", "version": 4, "vid": vid},
        "es_id": es_id,
        "property": {
            "type": SEAL_TYPE_UNIT,
            "name": name,
            "cert_list_type": 1,
            "cert_list": [signer_cert.dump()],
            "create_date": _gt(created),
            "valid_start": _gt(valid_start),
            "valid_end": _gt(valid_end),
        },
        "picture": {"type": "png", "data": picture_png, "width": width_mm, "height": height_mm},
    })
    return SESeal({
        "e_seal_info": info,
        "cert": maker_cert.dump(),
        "sign_alg_id": sm2.OID_SM3_WITH_SM2,
        "signed_value": maker_key.sign(info.dump()),
    }).dump()


def bit_bytes(b: core.OctetBitString) -> bytes:
    """The octets of a BIT STRING (no unused bits in anything written here)."""
    return b.contents[1:]


def new_es_id() -> str:
    return secrets.token_hex(16)


@dataclass(frozen=True)
class SealView:
    """What a SESeal says, read back."""

    name: str
    es_id: str
    version: int
    vid: str
    signer_certs: tuple[asn1_x509.Certificate, ...]
    maker_cert: asn1_x509.Certificate
    valid_start: datetime
    valid_end: datetime
    created: datetime
    picture_type: str
    picture: bytes
    width_mm: int
    height_mm: int
    maker_signature_ok: bool


def read_seal(der: bytes | SESeal) -> SealView:
    seal = der if isinstance(der, SESeal) else SESeal.load(der)
    info = seal["e_seal_info"]
    prop = info["property"]
    maker = asn1_x509.Certificate.load(seal["cert"].native)
    ok = False
    if seal["sign_alg_id"].dotted == sm2.OID_SM3_WITH_SM2:
        try:
            ok = cert_public_key(maker).verify(info.dump(), bit_bytes(seal["signed_value"]))
        except (sm2.SM2Error, ValueError):
            ok = False
    pic = info["picture"]
    return SealView(
        name=prop["name"].native, es_id=info["es_id"].native, version=info["header"]["version"].native,
        vid=info["header"]["vid"].native,
        signer_certs=tuple(asn1_x509.Certificate.load(c.native) for c in prop["cert_list"]),
        maker_cert=maker, valid_start=prop["valid_start"].native, valid_end=prop["valid_end"].native,
        created=prop["create_date"].native, picture_type=pic["type"].native, picture=pic["data"].native,
        width_mm=pic["width"].native, height_mm=pic["height"].native, maker_signature_ok=ok,
    )


# -- the signature --------------------------------------------------------------------------------

def make_signature(
    *, seal_der: bytes, signer_cert: asn1_x509.Certificate, signer_key: sm2.PrivateKey, data: bytes,
    property_info: str, at: datetime,
) -> bytes:
    """A v4 SES_Signature (DER) over ``data`` (for OFD: the bytes of Signature.xml)."""
    tbs = TBSSign({
        "version": 4,
        "eseal": SESeal.load(seal_der),
        "time_info": _gt(at),
        "data_hash": sm2.sm3(data),
        "property_info": property_info,
    })
    return SESSignature({
        "to_sign": tbs,
        "cert": signer_cert.dump(),
        "signature_alg_id": sm2.OID_SM3_WITH_SM2,
        "signature": signer_key.sign(tbs.dump()),
    }).dump()


@dataclass(frozen=True)
class SignatureView:
    version: int
    seal: SealView
    seal_der: bytes
    signer_cert: asn1_x509.Certificate
    signed_at: datetime
    data_hash: bytes
    property_info: str
    signature_ok: bool          # the signer's SM2 signature over TBS_Sign
    signer_in_seal: bool        # the signer's certificate is one the seal names


def read_signature(der: bytes) -> SignatureView:
    sig = SESSignature.load(der)
    tbs = sig["to_sign"]
    version = tbs["version"].native
    seal_obj = tbs["eseal"]
    seal_der = seal_obj.dump()
    seal = read_seal(seal_obj)
    signer = asn1_x509.Certificate.load(sig["cert"].native)
    ok = False
    if sig["signature_alg_id"].dotted == sm2.OID_SM3_WITH_SM2:
        try:
            ok = cert_public_key(signer).verify(tbs.dump(), bit_bytes(sig["signature"]))
        except (sm2.SM2Error, ValueError):
            ok = False
    in_seal = any(c.dump() == signer.dump() for c in seal.signer_certs)
    return SignatureView(
        version=version, seal=seal, seal_der=seal_der, signer_cert=signer, signed_at=tbs["time_info"].native,
        data_hash=bit_bytes(tbs["data_hash"]), property_info=tbs["property_info"].native, signature_ok=ok,
        signer_in_seal=in_seal,
    )


def seal_info_der(seal_der: bytes) -> tuple[bytes, bytes]:
    """DER(eSealInfo) and the seal maker's signature: what ``openssl dgst -verify`` checks."""
    seal = SESeal.load(seal_der)
    return seal["e_seal_info"].dump(), bit_bytes(seal["signed_value"])


__all__ = [
    "SESSignature", "SESeal", "SealView", "SignatureView", "make_seal", "make_signature", "new_es_id",
    "read_seal", "read_signature", "seal_info_der",
]
