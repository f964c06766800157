"""Checks of the identifiers a window clerk types in, each refusal with a reason in zh-CN.

Resident ID numbers (居民身份证号码) and unified social credit codes (统一社会信用代码) are
checked with python-stdnum (length, format, check digit; for ID numbers also the birth date and
the administrative division code); mobile numbers with phonenumbers (a mainland mobile number).
"""

from __future__ import annotations

import re
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


# Names typed by a clerk that travel on public events (an organ's, a company's) may not smuggle
# personal identifiers: no run of digits as long as a mobile, an ID or a bank card number.
_LONG_DIGITS = re.compile(r"[0-9０-９]{7,}")
_ANY_DIGIT = re.compile(r"[0-9０-９]")
#: How the name of a public organ ends (局, 厅, 委员会, 人民政府, 管理机构 ...).
ORGAN_SUFFIXES = ("局", "厅", "部", "委", "委员会", "办", "办公室", "院", "政府", "中心", "署", "处", "所", "站",
                  "会", "机构", "机关", "室", "队", "庭", "馆")


def authority_name(value: str, *, field: str = "authority") -> str:
    """The name of a higher authority (上级机关) typed by a clerk: it travels on a public topic, so
    it must read as an organ's name: at most 50 characters, no digits, an organ's ending."""
    name = re.sub(r"\s+", "", value or "")
    if not name:
        raise InvalidInput(field, "请填写上报的上级机关")
    if len(name) > 50:
        raise InvalidInput(field, "上级机关名称过长（不超过50字）")
    if _ANY_DIGIT.search(name) or not name.endswith(ORGAN_SUFFIXES):
        raise InvalidInput(field, "请填写上级机关的名称（如“市自然资源和规划局”），不要填写人名、电话、证件号码或地址")
    return name


def company_name(value: str, *, field: str = "applicant.company_name") -> str:
    """A company's registered name (public registry data, published in full): no long digit runs."""
    name = (value or "").strip()
    if not name:
        raise InvalidInput(field, "请填写单位（企业）名称")
    if _LONG_DIGITS.search(name):
        raise InvalidInput(field, "单位名称中不能含有电话、证件号码或银行卡号，请填写登记的单位名称")
    return name
