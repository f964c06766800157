"""SMS length as carriers count (and bill) it, and splitting into concatenated parts.

Pure functions, no I/O. The rules (3GPP TS 23.038 / 23.040, as Chinese carriers apply them):

- A text made only of GSM 03.38 characters travels in the GSM 7-bit alphabet: 160 septets in a
  single message; characters of the extension table (``^{}\\[~]|€`` and form feed) take two
  septets (escape + code).
- Anything else (Chinese, 【】, emoji) makes the whole message UCS-2: 70 UTF-16 code units in a
  single message. Characters outside the BMP take two code units (a surrogate pair).
- A longer text is split into parts that each carry a User Data Header with the concatenation
  information element; the header eats 6 octets (8-bit reference) or 7 octets (16-bit reference),
  leaving 153/152 septets or 67/66 UCS-2 units per part. An escape sequence or a surrogate pair is
  never cut between two parts.

In SMPP the UDH goes in front of ``short_message`` with ``esm_class`` 0x40 (UDHI); GSM text is
sent unpacked (one septet per octet, ``data_coding`` 0, the SMSC packs it) and UCS-2 as UTF-16BE
(``data_coding`` 8).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# GSM 03.38 default alphabet, indexed by septet value (0x1B is the escape to the extension table).
GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = {"\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C, "~": 0x3D, "]": 0x3E, "|": 0x40, "€": 0x65}
_GSM_INDEX = {ch: i for i, ch in enumerate(GSM_BASIC) if ch != "\x1b"}
_GSM_EXT_REVERSE = {v: k for k, v in GSM_EXTENSION.items()}
_GSM_EXTENSION_CHARS = frozenset(GSM_EXTENSION)
ESCAPE = 0x1B

DATA_CODING_GSM = 0x00   # SMSC default alphabet (GSM 03.38)
DATA_CODING_UCS2 = 0x08
ESM_CLASS_UDHI = 0x40

SINGLE_LIMIT = {"gsm7": 160, "ucs2": 70}
#: Units per part, by alphabet and concatenation reference size in bits.
PART_LIMIT = {("gsm7", 8): 153, ("gsm7", 16): 152, ("ucs2", 8): 67, ("ucs2", 16): 66}
MAX_PARTS = 255  # the UDH counts parts in one octet


class Alphabet(StrEnum):
    GSM7 = "gsm7"
    UCS2 = "ucs2"


def is_gsm7(text: str) -> bool:
    return all(ch in _GSM_INDEX or ch in GSM_EXTENSION for ch in text)


def alphabet_of(text: str) -> Alphabet:
    return Alphabet.GSM7 if is_gsm7(text) else Alphabet.UCS2


def _units(text: str, alphabet: Alphabet) -> list[bytes]:
    """The text as indivisible units, each the bytes it takes (one character each)."""
    if alphabet is Alphabet.GSM7:
        return [bytes([ESCAPE, GSM_EXTENSION[ch]]) if ch in GSM_EXTENSION else bytes([_GSM_INDEX[ch]]) for ch in text]
    return [ch.encode("utf-16-be") for ch in text]


def _unit_size(unit: bytes, alphabet: Alphabet) -> int:
    """Septets (GSM) or UTF-16 code units (UCS-2) a character takes."""
    return len(unit) if alphabet is Alphabet.GSM7 else len(unit) // 2


@dataclass(frozen=True)
class SmsLength:
    alphabet: Alphabet
    units: int          # septets (GSM) or UTF-16 code units (UCS-2): what the carrier counts
    parts: int          # parts the carrier bills
    single_limit: int   # 160 or 70
    part_limit: int     # 153/152 or 67/66

    @property
    def characters_left_in_last_part(self) -> int:
        if self.parts == 1:
            return self.single_limit - self.units
        return self.parts * self.part_limit - self.units  # upper bound (indivisible units may waste a slot)


def _chunks(units: list[bytes], alphabet: Alphabet, limit: int) -> list[list[bytes]]:
    """Greedy split that never cuts a character (escape sequence, surrogate pair)."""
    chunks: list[list[bytes]] = []
    current: list[bytes] = []
    size = 0
    for unit in units:
        n = _unit_size(unit, alphabet)
        if size + n > limit:
            chunks.append(current)
            current, size = [], 0
        current.append(unit)
        size += n
    if current or not chunks:
        chunks.append(current)
    return chunks


def measure(text: str, *, reference_bits: int = 8) -> SmsLength:
    """Count the text as the carrier does."""
    alphabet = alphabet_of(text)
    single = SINGLE_LIMIT[alphabet.value]
    per_part = PART_LIMIT[(alphabet.value, reference_bits)]
    if not text or (max(text) <= "\uffff" if alphabet is Alphabet.UCS2 else not _GSM_EXTENSION_CHARS.intersection(text)):
        # every character one unit (no surrogate pair, no escape sequence): nothing to keep whole
        total = len(text)
        return SmsLength(alphabet, total, 1 if total <= single else -(-total // per_part), single, per_part)
    units = _units(text, alphabet)
    total = sum(_unit_size(u, alphabet) for u in units)
    parts = 1 if total <= single else len(_chunks(units, alphabet, per_part))
    return SmsLength(alphabet, total, parts, single, per_part)


class MessageTooLong(ValueError):
    """The text needs more parts than the configured cap."""

    def __init__(self, parts: int, cap: int) -> None:
        super().__init__(f"message needs {parts} parts, the cap is {cap}")
        self.parts = parts
        self.cap = cap


def check_cap(text: str, max_parts: int, *, reference_bits: int = 8) -> SmsLength:
    length = measure(text, reference_bits=reference_bits)
    if length.parts > min(max_parts, MAX_PARTS):
        raise MessageTooLong(length.parts, max_parts)
    return length


@dataclass(frozen=True)
class EncodedPart:
    """One submit_sm's worth of a message."""

    seq: int             # 1-based part number
    total: int
    udh: bytes           # b"" for a single-part message
    payload: bytes       # the encoded text of this part (without the UDH)
    data_coding: int
    esm_class: int

    @property
    def short_message(self) -> bytes:
        return self.udh + self.payload


def concat_udh(reference: int, total: int, seq: int, *, reference_bits: int = 8) -> bytes:
    """User Data Header with the concatenated-SMS information element (IEI 0x00 or 0x08)."""
    if reference_bits == 8:
        return bytes([0x05, 0x00, 0x03, reference & 0xFF, total, seq])
    if reference_bits == 16:
        return bytes([0x06, 0x08, 0x04, (reference >> 8) & 0xFF, reference & 0xFF, total, seq])
    raise ValueError("reference_bits must be 8 or 16")


def encode_parts(text: str, reference: int, *, reference_bits: int = 8, max_parts: int = MAX_PARTS) -> list[EncodedPart]:
    """Split and encode ``text`` for SMPP. ``reference`` ties the parts together on the handset:
    derive it from the message id so that a resubmitted part carries the same one."""
    alphabet = alphabet_of(text)
    data_coding = DATA_CODING_GSM if alphabet is Alphabet.GSM7 else DATA_CODING_UCS2
    units = _units(text, alphabet)
    total_units = sum(_unit_size(u, alphabet) for u in units)
    if total_units <= SINGLE_LIMIT[alphabet.value]:
        return [EncodedPart(1, 1, b"", b"".join(units), data_coding, 0x00)]
    chunks = _chunks(units, alphabet, PART_LIMIT[(alphabet.value, reference_bits)])
    if len(chunks) > min(max_parts, MAX_PARTS):
        raise MessageTooLong(len(chunks), max_parts)
    total = len(chunks)
    return [
        EncodedPart(i, total, concat_udh(reference, total, i, reference_bits=reference_bits), b"".join(chunk),
                    data_coding, ESM_CLASS_UDHI)
        for i, chunk in enumerate(chunks, start=1)
    ]


def decode_payload(payload: bytes, data_coding: int) -> str:
    """The inverse of the encoding above (used for delivery receipts and tests)."""
    if data_coding & 0x0F == DATA_CODING_UCS2:
        return payload.decode("utf-16-be")
    if data_coding in (DATA_CODING_GSM,):
        out: list[str] = []
        it = iter(payload)
        for b in it:
            if b == ESCAPE:
                out.append(_GSM_EXT_REVERSE.get(next(it, 0), " "))
            else:
                out.append(GSM_BASIC[b] if b < len(GSM_BASIC) else "?")
        return "".join(out)
    return payload.decode("latin-1")


def parse_concat_udh(udh: bytes) -> tuple[int, int, int] | None:
    """(reference, total, seq) from a UDH, or None when it has no concatenation element."""
    if not udh:
        return None
    i, end = 1, 1 + udh[0]
    while i + 1 < end:
        iei, length = udh[i], udh[i + 1]
        data = udh[i + 2 : i + 2 + length]
        if iei == 0x00 and length == 3:
            return data[0], data[1], data[2]
        if iei == 0x08 and length == 4:
            return (data[0] << 8) | data[1], data[2], data[3]
        i += 2 + length
    return None
