"""The request value checks every service shares (services/runtime/params.py)."""

from __future__ import annotations

import pydantic
import pytest

from services.runtime.params import FreeText, Offset, plausible_key


def test_free_text_keeps_lines_and_tabs_and_refuses_other_controls() -> None:
    text = pydantic.TypeAdapter(FreeText)
    assert text.validate_python("第一行\n第二行\t完") == "第一行\n第二行\t完"
    for bad in ("a\x00b", "\x1b[31m", "半个\ud800代理"):
        with pytest.raises(pydantic.ValidationError, match="不能含有控制字符"):
            text.validate_python(bad)


def test_offsets_stop_at_what_the_database_takes() -> None:
    offset = pydantic.TypeAdapter(Offset)
    assert offset.validate_python(2**63 - 1) == 2**63 - 1
    for bad in (-1, 2**63):
        with pytest.raises(pydantic.ValidationError):
            offset.validate_python(bad)


def test_a_key_that_cannot_name_a_row_is_known_absent() -> None:
    assert plausible_key("2026-LYJ-00001", 40)
    assert not plausible_key("", 40) and not plausible_key("x" * 41, 40) and not plausible_key("A\x00", 40)
