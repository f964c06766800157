"""Checks of the identifiers a window clerk types in, each refusal with a reason in zh-CN.

Resident ID numbers (居民身份证号码) and unified social credit codes (统一社会信用代码) are
checked with python-stdnum (length, format, check digit; for ID numbers also the birth date and
the administrative division code); mobile numbers with phonenumbers (a mainland mobile number).
"""

from __future__ import annotations

from datetime import date

import phonenumbers
from stdnum import exceptions as sx
from stdnum.cn import ric, uscc

from services.runtime import clock
from services.runtime.errors import InvalidInput


def resident_id(value: str, *, field: str = "resident_id", today: date | None = None) -> str:
    """The normalized 18-character resident ID number, or :class:`InvalidInput`."""
    raw = (value or "").strip()
    if not raw:
        raise InvalidInput(field, "请填写居民身份证号码")
    try:
        number = ric.validate(raw)
    except sx.InvalidLength:
        raise InvalidInput(field, "居民身份证号码应为18位") from None
    except sx.InvalidFormat:
        raise InvalidInput(field, "居民身份证号码前17位应为数字，最后一位为数字或X") from None
    except sx.InvalidChecksum:
        raise InvalidInput(field, "居民身份证号码校验位不正确，请核对是否输错") from None
    except sx.InvalidComponent:
        raise InvalidInput(field, "居民身份证号码中的出生日期或地区代码不存在，请核对") from None
    except sx.ValidationError:
        raise InvalidInput(field, "居民身份证号码不正确，请核对") from None
    if ric.get_birth_date(number) > (today or clock.today()):
        raise InvalidInput(field, "居民身份证号码中的出生日期晚于今天，请核对")
    return number


def credit_code(value: str, *, field: str = "credit_code") -> str:
    """The normalized 18-character unified social credit code, or :class:`InvalidInput`."""
    raw = (value or "").strip()
    if not raw:
        raise InvalidInput(field, "请填写统一社会信用代码")
    try:
        return uscc.validate(raw)
    except sx.InvalidLength:
        raise InvalidInput(field, "统一社会信用代码应为18位") from None
    except sx.InvalidFormat:
        raise InvalidInput(
            field, "统一社会信用代码格式不正确（前8位为数字，其余为数字或大写字母，不含I、O、Z、S、V）") from None
    except sx.InvalidChecksum:
        raise InvalidInput(field, "统一社会信用代码校验位不正确，请核对是否输错") from None
    except sx.ValidationError:
        raise InvalidInput(field, "统一社会信用代码不正确，请核对") from None


def mobile(value: str, *, field: str = "mobile") -> str:
    """The 11-digit mainland mobile number (no country code), or :class:`InvalidInput`."""
    raw = (value or "").strip()
    if not raw:
        raise InvalidInput(field, "请填写手机号码")
    try:
        parsed = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException:
        raise InvalidInput(field, "手机号码格式不正确，应为11位数字") from None
    if parsed.country_code != 86:
        raise InvalidInput(field, "请填写中国大陆手机号码")
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidInput(field, "手机号码不存在，请核对（应为11位、以1开头的手机号码）")
    if phonenumbers.number_type(parsed) not in (
        phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE
    ):
        raise InvalidInput(field, "请填写手机号码，固定电话无法接收短信")
    national = str(parsed.national_number)
    if len(national) != 11:
        raise InvalidInput(field, "手机号码应为11位数字")
    return national


def person_name(value: str, *, field: str = "name") -> str:
    name = (value or "").strip()
    if not name:
        raise InvalidInput(field, "请填写姓名")
    if len(name) > 30:
        raise InvalidInput(field, "姓名过长，请核对")
    return name
