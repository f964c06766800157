"""SMS length as carriers count it, and splitting with UDH."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.notify.domain import sms_text
from services.notify.domain.sms_text import Alphabet, measure


def test_gsm_basic_table_has_128_septets_in_the_standard_places():
    assert len(sms_text.GSM_BASIC) == 128
    assert sms_text.GSM_BASIC[0x00] == "@"
    assert sms_text.GSM_BASIC[0x1B] == "\x1b"
    assert sms_text.GSM_BASIC[0x41] == "A"
    assert sms_text.GSM_BASIC[0x61] == "a"
    assert sms_text.GSM_BASIC[0x7F] == "à"


@pytest.mark.parametrize(("units", "parts"), [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)])
def test_ucs2_counts_70_single_and_67_per_part(units, parts):
    length = measure("审" * units)
    assert length.alphabet is Alphabet.UCS2
    assert (length.units, length.parts) == (units, parts)


@pytest.mark.parametrize(("units", "parts"), [(160, 1), (161, 2), (306, 2), (307, 3)])
def test_gsm7_counts_160_single_and_153_per_part(units, parts):
    length = measure("a" * units)
    assert length.alphabet is Alphabet.GSM7
    assert (length.units, length.parts) == (units, parts)


def test_sixteen_bit_reference_leaves_66_and_152():
    assert measure("审" * 132, reference_bits=16).parts == 2
    assert measure("审" * 133, reference_bits=16).parts == 3
    assert measure("a" * 304, reference_bits=16).parts == 2
    assert measure("a" * 305, reference_bits=16).parts == 3


def test_one_chinese_character_or_the_signature_brackets_make_it_ucs2():
    assert measure("Your code is 1234").alphabet is Alphabet.GSM7
    assert measure("【中心】ok").alphabet is Alphabet.UCS2
    assert measure("OK 好").alphabet is Alphabet.UCS2


def test_extension_characters_take_two_septets():
    assert measure("{}").units == 4
    assert measure("€" * 80).units == 160
    assert measure("€" * 80).parts == 1
    assert measure("€" * 80 + "a").parts == 2


def test_escape_sequence_is_not_cut_between_parts():
    text = "a" * 152 + "€" + "b" * 10  # the euro sign would straddle septets 153/154
    parts = sms_text.encode_parts(text, 7)
    assert len(parts) == 2
    assert parts[0].payload == b"a" * 152  # the escape moved whole to part two
    assert parts[1].payload.startswith(bytes([0x1B, 0x65]))
    assert "".join(sms_text.decode_payload(p.payload, p.data_coding) for p in parts) == text


def test_surrogate_pair_is_not_cut_between_parts():
    text = "审" * 66 + "😀" + "批" * 10  # the emoji would straddle units 67/68
    assert measure(text).units == 78
    parts = sms_text.encode_parts(text, 1)
    assert len(parts[0].payload) == 66 * 2
    assert "".join(sms_text.decode_payload(p.payload, p.data_coding) for p in parts) == text


def test_single_part_has_no_udh_and_plain_esm_class():
    [part] = sms_text.encode_parts("【中心】您好", 9)
    assert part.udh == b""
    assert part.esm_class == 0
    assert part.data_coding == 8
    assert part.short_message == "【中心】您好".encode("utf-16-be")


def test_multipart_udh_8_and_16_bit_reference():
    parts = sms_text.encode_parts("审" * 150, 0xAB)
    assert [p.udh for p in parts] == [bytes([5, 0, 3, 0xAB, 3, i]) for i in (1, 2, 3)]
    assert all(p.esm_class == 0x40 and p.data_coding == 8 for p in parts)
    assert all(len(p.short_message) <= 140 for p in parts)
    parts16 = sms_text.encode_parts("审" * 150, 0x1234, reference_bits=16)
    assert parts16[0].udh == bytes([6, 8, 4, 0x12, 0x34, 3, 1])
    assert sms_text.parse_concat_udh(parts16[2].udh) == (0x1234, 3, 3)


def test_cap_on_parts():
    sms_text.check_cap("审" * 268, 4)
    with pytest.raises(sms_text.MessageTooLong) as exc:
        sms_text.check_cap("审" * 269, 4)
    assert exc.value.parts == 5
    with pytest.raises(sms_text.MessageTooLong):
        sms_text.encode_parts("审" * 269, 1, max_parts=4)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("审批中心ab {}€😀，。") + ["\n"]), min_size=0, max_size=600),
       st.sampled_from([8, 16]))
def test_parts_reassemble_to_the_text_and_fit_140_octets(text, bits):
    length = measure(text, reference_bits=bits)
    parts = sms_text.encode_parts(text, 42, reference_bits=bits)
    assert len(parts) == length.parts
    assert all(len(p.short_message) <= 140 or p.data_coding == sms_text.DATA_CODING_GSM for p in parts)
    assert all(len(p.payload) <= 160 for p in parts)  # unpacked septets or octets
    assert "".join(sms_text.decode_payload(p.payload, p.data_coding) for p in parts) == text
    if len(parts) > 1:
        assert [sms_text.parse_concat_udh(p.udh) for p in parts] == [(42, len(parts), i) for i in range(1, len(parts) + 1)]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("审批中心ab {}€^😀，。【】") + ["\n"]), min_size=0, max_size=400),
       st.sampled_from([8, 16]))
def test_the_length_counted_fast_is_the_count_character_by_character(text, bits):
    """``measure`` counts a text whose characters are one unit each from its length: the same as
    counting every character's units and splitting without cutting one."""
    alphabet = sms_text.alphabet_of(text)
    units = sms_text._units(text, alphabet)
    total = sum(sms_text._unit_size(u, alphabet) for u in units)
    single = sms_text.SINGLE_LIMIT[alphabet.value]
    per_part = sms_text.PART_LIMIT[(alphabet.value, bits)]
    parts = 1 if total <= single else len(sms_text._chunks(units, alphabet, per_part))
    assert measure(text, reference_bits=bits) == sms_text.SmsLength(alphabet, total, parts, single, per_part)
