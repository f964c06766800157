from datetime import date

import pytest

from services.intake.domain import identifiers
from services.runtime.errors import InvalidInput

from .helpers import VALID_ID, VALID_ID_2, VALID_USCC


class TestResidentId:
    @pytest.mark.parametrize("value", [VALID_ID, VALID_ID.lower(), f" {VALID_ID_2} ", "320583199002151237"])
    def test_valid_numbers_are_normalized(self, value):
        assert identifiers.resident_id(value) == value.strip().upper()

    @pytest.mark.parametrize("value, words", [
        ("110105194912310021", "校验位"),      # check digit should be X
        ("110105198001010017", "校验位"),      # check digit should be 6
        ("11010519491231002", "18位"),
        ("1101051949123100A2", "前17位"),
        ("110105194913310021", "出生日期或地区"),  # month 13, right check digit
        ("999999198001010011", "出生日期或地区"),  # no such division code
        ("", "请填写"),
    ])
    def test_refusals_say_why_in_chinese(self, value, words):
        with pytest.raises(InvalidInput) as exc:
            identifiers.resident_id(value, field="applicant.resident_id")
        assert exc.value.field == "applicant.resident_id"
        assert words in exc.value.reason

    def test_birth_date_in_the_future_is_refused(self):
        with pytest.raises(InvalidInput) as exc:
            identifiers.resident_id(VALID_ID_2, today=date(1979, 12, 31))
        assert "晚于今天" in exc.value.reason


class TestCreditCode:
    @pytest.mark.parametrize("value", [VALID_USCC, "91330106MA2H0K1A7A", "92320583MA1N2B3C4Q"])
    def test_valid_codes(self, value):
        assert identifiers.credit_code(value) == value

    @pytest.mark.parametrize("value, words", [
        ("91110000600037341M", "校验位"),
        ("9111000060003734", "18位"),
        ("9111000O600037341L", "格式"),
        ("", "请填写"),
    ])
    def test_refusals(self, value, words):
        with pytest.raises(InvalidInput) as exc:
            identifiers.credit_code(value)
        assert exc.value.field == "credit_code"
        assert words in exc.value.reason


class TestMobile:
    @pytest.mark.parametrize("value", ["13812345678", "+86 138 1234 5678", "138-1234-5678", "19912345678"])
    def test_valid_mainland_mobiles(self, value):
        assert identifiers.mobile(value) == value.replace("+86", "").replace(" ", "").replace("-", "")

    @pytest.mark.parametrize("value, words", [
        ("1381234567", "不存在"),          # ten digits
        ("12012345678", "不存在"),         # no such prefix
        ("01087654321", "固定电话"),       # a Beijing landline
        ("+85291234567", "中国大陆"),      # Hong Kong
        ("abc", "格式"),
        ("", "请填写"),
    ])
    def test_refusals(self, value, words):
        with pytest.raises(InvalidInput) as exc:
            identifiers.mobile(value)
        assert words in exc.value.reason
