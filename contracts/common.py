"""Types shared by several services' contracts, and the masking rule for public events.

Masking rule (public topics carry no full personal identifiers):
- resident ID number (18 characters): the first 3 and the last 4 kept, the 11 between as ``*``
  (``110***********123X``);
- mobile number (11 digits): the first 3 and the last 4 kept (``138****5678``);
- a person's name: the surname (first character) kept, the rest as ``*`` (``张*``, ``欧**``).
A company's unified social credit code and name are public registry data and are not masked.
The names of public officials acting in office (window staff, whose names are on the window's
nameplate; award winners, whose names the center publishes) are not personal data in this sense:
such fields are typed :data:`StaffName`, which says so explicitly. Staff mobiles and ID numbers are
never public.
Internal topics may carry full identifiers (notify needs the mobile number to send an SMS).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field

_MASKED_ID = re.compile(r"^[0-9]{3}\*{11}[0-9]{3}[0-9X]$")
_MASKED_MOBILE = re.compile(r"^1[0-9]{2}\*{4}[0-9]{4}$")
_MASKED_NAME = re.compile(r"^\S\*+$")


def mask_resident_id(value: str) -> str:
    v = value.strip().upper()
    if len(v) != 18:
        raise ValueError("a resident ID number has 18 characters")
    return f"{v[:3]}{'*' * 11}{v[-4:]}"


def mask_mobile(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if len(digits) != 11:
        raise ValueError("a mainland mobile number has 11 digits")
    return f"{digits[:3]}****{digits[-4:]}"


def mask_name(value: str) -> str:
    v = value.strip()
    if not v:
        raise ValueError("empty name")
    return v[0] + "*" * max(1, len(v) - 1)


def _check(pattern: re.Pattern[str], what: str):
    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"{what} must be masked on a public event")
        return value

    return check


MaskedResidentId = Annotated[str, AfterValidator(_check(_MASKED_ID, "a resident ID number"))]
MaskedMobile = Annotated[str, AfterValidator(_check(_MASKED_MOBILE, "a mobile number"))]
MaskedName = Annotated[str, AfterValidator(_check(_MASKED_NAME, "a person's name"))]


class OfficialInOffice:
    """Marker: the annotated name is a public official's, published in office (not masked)."""

    def __repr__(self) -> str:
        return "OfficialInOffice()"


OFFICIAL_IN_OFFICE = OfficialInOffice()
StaffName = Annotated[str, Field(min_length=1, max_length=50), OFFICIAL_IN_OFFICE]

#: Receipt number (受理编号) of an application: the Kafka key of every case event.
ReceiptNo = Annotated[str, Field(min_length=6, max_length=40, pattern=r"^[A-Z0-9-]+$")]
UnitCode = Annotated[str, Field(min_length=2, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
ItemCode = Annotated[str, Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


class CaseKind(StrEnum):
    """The six kinds of cases (六件管理)."""

    IMMEDIATE = "immediate"      # 即办件
    PROMISED = "promised"        # 承诺件
    JOINT = "joint"              # 联办件
    REPORTED_UP = "reported_up"  # 上报件
    SUPPLEMENT = "supplement"    # 补办件 / 补正件
    RETURNED = "returned"        # 退回件

    @property
    def label(self) -> str:
        return CASE_KIND_LABELS[self]


CASE_KIND_LABELS = {
    CaseKind.IMMEDIATE: "即办件",
    CaseKind.PROMISED: "承诺件",
    CaseKind.JOINT: "联办件",
    CaseKind.REPORTED_UP: "上报件",
    CaseKind.SUPPLEMENT: "补办件",
    CaseKind.RETURNED: "退回件",
}


class ApplicantType(StrEnum):
    PERSON = "person"
    COMPANY = "company"


class Channel(StrEnum):
    WINDOW = "window"
    PHONE = "phone"
    WEBSITE = "website"


class DocumentType(StrEnum):
    """Notices and decisions that bear the unit's No. 2 seal."""

    ACCEPTANCE = "acceptance"              # 受理通知书
    SUPPLEMENT = "supplement"              # 补正材料通知书
    NOT_ACCEPTED = "not_accepted"          # 不予受理通知书
    APPROVAL = "approval"                  # 准予行政许可决定书
    DENIAL = "denial"                      # 不予行政许可决定书
    FORWARDED = "forwarded"                # 上报转送告知书
    JOINT = "joint"                        # 联办告知书
    EXTENSION = "extension"                # 延长审批期限告知书
    SUPERVISION = "supervision"            # 业务督办通知书


class Role(StrEnum):
    CLERK = "clerk"
    UNIT_HEAD = "unit_head"
    SUPERVISOR = "supervisor"
    CENTER_ADMIN = "center_admin"
