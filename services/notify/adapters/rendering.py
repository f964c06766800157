"""Jinja2 templates (files under ``templates/``) rendered into SMS texts and notice documents.

- ``templates/sms/<name>.txt.j2``: the text of one SMS, without the signature; whitespace is
  collapsed (templates may wrap lines) and the center's signature 【…】 is put in front.
- ``templates/notices/<kind>.xml.j2``: a notice as a small XML document (title, number,
  addressee, paragraphs, numbered items, signature, notes), autoescaped; ``notice_pdf`` lays it
  out. Keeping the wording in files lets the center's legal office edit it without a release.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from contracts.common import DocumentType

from ..domain import NOTICE_KINDS, NoticeKind, sms_text

TEMPLATE_DIR = Path(__file__).parent.parent / "templates"


def cn_date(value: date | datetime | str | None) -> str:
    """2025年3月5日 (GB/T 9704-2012: the date in Arabic numerals, month and day without zeros)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return f"{value.year}年{value.month}月{value.day}日"


def cn_short_date(value: date | datetime | str | None) -> str:
    """3月5日 — for SMS, where every character counts."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return f"{value.month}月{value.day}日"


_CN_DIGITS = "零一二三四五六七八九"


def cn_number(n: int) -> str:
    """Small counts in Chinese numerals (一 to 九十九), as used in legal text ('十五日')."""
    if n < 0 or n >= 100:
        return str(n)
    if n < 10:
        return _CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _CN_DIGITS[tens]) + "十" + (_CN_DIGITS[ones] if ones else "")


@lru_cache(maxsize=4)
def environment(template_dir: str = str(TEMPLATE_DIR)) -> Environment:
    env = Environment(
        loader=FileSystemLoader(template_dir),
        autoescape=select_autoescape(enabled_extensions=("xml.j2",), default_for_string=False, default=False),
        undefined=StrictUndefined,  # a missing field is a bug, not an empty gap in a legal notice
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["cn_date"] = cn_date
    env.filters["cn_short_date"] = cn_short_date
    env.filters["cn_number"] = cn_number
    return env


# --------------------------------------------------------------------------- SMS


@dataclass(frozen=True)
class RenderedSms:
    template: str
    text: str                  # signature included: exactly what the handset shows
    body: str                  # without the signature (cloud providers add their SignName)
    params: dict[str, str]     # the template variables, for providers with registered templates
    length: sms_text.SmsLength


def sms_template_names(template_dir: str = str(TEMPLATE_DIR)) -> list[str]:
    return sorted(p.name.removesuffix(".txt.j2") for p in Path(template_dir, "sms").glob("*.txt.j2"))


def render_sms(name: str, context: Mapping[str, Any], *, signature: str, max_parts: int,
               reference_bits: int = 8, template_dir: str = str(TEMPLATE_DIR)) -> RenderedSms:
    """Render ``templates/sms/<name>.txt.j2``; raises ``sms_text.MessageTooLong`` past the cap."""
    raw = environment(template_dir).get_template(f"sms/{name}.txt.j2").render(**context)
    body = re.sub(r"\s*\n\s*", "", raw).strip()
    text = f"{signature}{body}"
    length = sms_text.check_cap(text, max_parts, reference_bits=reference_bits)
    params = {k: _param(v) for k, v in context.items() if not k.startswith("_")}
    return RenderedSms(name, text, body, params, length)


def _param(value: Any) -> str:
    if isinstance(value, (date, datetime)):
        return cn_short_date(value)
    if isinstance(value, (list, tuple)):
        return "、".join(_param(v) for v in value)
    return str(value)


def signature_for(center_name: str) -> str:
    return f"【{center_name}】"


# --------------------------------------------------------------------------- notices


@dataclass(frozen=True)
class Block:
    kind: str   # 'p' (indented paragraph), 'plain' (not indented), 'item' (numbered), 'heading'
    text: str


@dataclass(frozen=True)
class NoticeDocument:
    """A notice's content, ready for layout."""

    issuer: str
    title: str
    number: str
    addressee: str
    blocks: list[Block]
    signer: str
    seal_label: str
    date: str
    notes: list[str] = field(default_factory=list)

    def plain_text(self) -> str:
        """The whole notice as text (tests and logs; the PDF is what the applicant gets)."""
        lines = [self.issuer, self.title, self.number, self.addressee]
        for b in self.blocks:
            lines.append(b.text)
        lines += [self.signer, self.date, *self.notes]
        return "\n".join(x for x in lines if x)


def _text(el: ET.Element | None) -> str:
    if el is None:
        return ""
    return re.sub(r"\s*\n\s*", "", "".join(el.itertext())).strip()


def parse_notice_xml(xml: str) -> NoticeDocument:
    root = ET.fromstring(xml)
    if root.tag != "notice":
        raise ValueError("a notice template must render a <notice> document")
    blocks: list[Block] = []
    body = root.find("body")
    for el in (body if body is not None else []):
        if el.tag == "p":
            blocks.append(Block("plain" if el.get("indent") == "no" else "p", _text(el)))
        elif el.tag == "h":
            blocks.append(Block("heading", _text(el)))
        elif el.tag == "list":
            for i, item in enumerate(el.findall("item"), start=1):
                blocks.append(Block("item", f"{i}. {_text(item)}"))
        else:
            raise ValueError(f"unknown notice element <{el.tag}>")
    sig = root.find("signature")
    return NoticeDocument(
        issuer=_text(root.find("issuer")),
        title=_text(root.find("title")),
        number=_text(root.find("number")),
        addressee=_text(root.find("addressee")),
        blocks=blocks,
        signer=_text(sig.find("signer")) if sig is not None else "",
        seal_label=_text(sig.find("seal")) if sig is not None else "",
        date=_text(sig.find("date")) if sig is not None else "",
        notes=[_text(n) for n in root.findall("notes/note")],
    )


def notice_kind(document_type: DocumentType) -> NoticeKind:
    return NOTICE_KINDS[document_type]


COMMON_FIELDS = ("unit_name", "applicant_name", "item_name", "receipt_no", "submitted_on", "issued_on",
                 "document_no", "center_name", "center_phone", "center_address")

#: Per notice: (required fields beyond the common ones, optional fields defaulting to None).
NOTICE_FIELDS: dict[DocumentType, tuple[tuple[str, ...], tuple[str, ...]]] = {
    DocumentType.ACCEPTANCE: ((), ("case_kind", "promised_days", "due_date")),
    DocumentType.SUPPLEMENT: (("materials", "supplement_days"), ()),
    DocumentType.NOT_ACCEPTED: (("reconsideration_body", "court"), ("ground", "reason", "competent_authority")),
    DocumentType.APPROVAL: (("accepted_on", "pickup_place"), ("licence_name", "licence_no", "valid_until", "decision_text")),
    DocumentType.DENIAL: (("accepted_on", "reason", "reconsideration_body", "court"), ()),
    DocumentType.FORWARDED: (("accepted_on", "higher_authority", "forwarded_on"), ()),
    DocumentType.JOINT: (("lead_unit", "partner_units"), ("promised_days", "due_date")),
    DocumentType.EXTENSION: (("accepted_on", "reason", "extension_days", "new_due_date"), ("joint",)),
    DocumentType.SUPERVISION: (("problem", "reply_due"), ("applicant_name",)),
}


class MissingNoticeFields(ValueError):
    def __init__(self, document_type: DocumentType, missing: list[str]) -> None:
        super().__init__(f"{document_type.value} notice needs {', '.join(missing)}")
        self.missing = missing


def notice_context(document_type: DocumentType, context: Mapping[str, Any]) -> dict[str, Any]:
    """The context with optional fields defaulted; raises :class:`MissingNoticeFields`."""
    required, optional = NOTICE_FIELDS[document_type]
    needed = [f for f in (*COMMON_FIELDS, *required) if f not in optional]
    missing = [f for f in needed if context.get(f) in (None, "")]
    if document_type is DocumentType.SUPPLEMENT and not context.get("materials"):
        missing.append("materials (at least one)")
    if missing:
        raise MissingNoticeFields(document_type, sorted(set(missing)))
    return {**{f: None for f in optional}, **context}


def render_notice(document_type: DocumentType, context: Mapping[str, Any], *,
                  template_dir: str = str(TEMPLATE_DIR)) -> NoticeDocument:
    kind = notice_kind(document_type)
    ctx = notice_context(document_type, context)
    xml = environment(template_dir).get_template(f"notices/{kind.template}").render(title=kind.title, **ctx)
    return parse_notice_xml(xml)


#: Fields that choose the wording of a notice (a branch of its template), not text of their own.
WORDING_SWITCHES = frozenset({"case_kind", "ground", "joint", "on_appeal"})
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def stable_text(document_type: DocumentType, context: Mapping[str, Any], *, keep: frozenset[str] = frozenset(),
                template_dir: str = str(TEMPLATE_DIR)) -> str:
    """The wording of this notice, shared by every notice of its kind and branch: the notice
    rendered with each per-notice text field blanked ('x'), but the fields that choose the
    wording (:data:`WORDING_SWITCHES`), dates (digits and 年月日 whatever the day) and ``keep``
    (the center's settings, the same in every notice). ``notice_pdf`` embeds the font of these
    characters once (see its docstring); "" when it cannot be told (any error)."""

    def blank(key: str, value: Any) -> Any:
        if key in WORDING_SWITCHES or key in keep:
            return value
        if isinstance(value, str):
            return value if not value or _ISO_DATE.fullmatch(value[:10]) else "x"
        if isinstance(value, Mapping):
            return {k: blank(k, v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [blank(key, v) for v in value]
        return value

    try:
        return render_notice(document_type, {k: blank(k, v) for k, v in context.items()},
                             template_dir=template_dir).plain_text()
    except Exception:  # noqa: BLE001 - only an optimisation: the notice is laid out all the same
        return ""
