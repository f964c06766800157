"""A plain notice (通知书) as a PDF, for stamp requests that send content rather than a PDF:
title, numbers, addressee, body paragraphs, and the issuing unit and date at the bottom right,
where the seal is then placed over them as on a paper notice. Chinese text uses the embedded CJK
TrueType font (see fonts.py); ReportLab's CJK word wrap breaks lines between characters.

Notices of one template (the same title, unit, addressee, paragraphs and number labels) differ
only in their variable fields: the numbers' values, the date and the footer. The page of a
template is laid out and written by ReportLab once (:class:`_Template`, kept per template), with
the font subset holding the characters the variable fields use (ASCII, full-width digits, 年月日
and those of the first notice's fields), and with empty slots where the fields go; a notice is
then that PDF plus a small incremental update: one content stream drawing its fields in the
embedded subset. A notice whose fields need a character the subset lacks, or do not fit their
slots, is laid out by ReportLab in full (:func:`render_notice_full`), as is one whose template
does not fit one page.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date
from io import BytesIO

from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer
from xml.sax.saxutils import escape

from .fonts import cjk_font
from .image import DEFAULT_DIAMETER
from .signing import SealBox

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notice:
    title: str
    unit_name: str
    paragraphs: list[str]
    issued_on: date
    addressee: str | None = None
    numbers: list[tuple[str, str]] = field(default_factory=list)  # (label, value), e.g. 受理编号
    footer: str | None = None


def chinese_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


class _SignatureBlock(Flowable):
    """The issuing unit over the date, right-aligned; remembers where it was drawn so that the
    seal can be centred on it."""

    def __init__(self, unit_name: str, date_text: str, font: str, size: float, right_indent: float) -> None:
        super().__init__()
        self.unit_name, self.date_text = unit_name, date_text
        self.font, self.size, self.right_indent = font, size, right_indent
        self.leading = size * 1.75
        self.placed: tuple[int, float, float] | None = None  # page index, centre x, centre y

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width = avail_width
        self.height = self.leading * 2
        return self.width, self.height

    def draw(self) -> None:
        c = self.canv
        c.setFont(self.font, self.size)
        date_w = c.stringWidth(self.date_text, self.font, self.size)
        unit_w = c.stringWidth(self.unit_name, self.font, self.size)
        block_w = max(date_w, unit_w)
        right = self.width - self.right_indent
        centre = right - block_w / 2
        c.drawCentredString(centre, self.leading, self.unit_name)
        c.drawCentredString(centre, 0, self.date_text)
        ax, ay = c.absolutePosition(centre, self.leading * 0.75)
        self.placed = (c.getPageNumber() - 1, ax, ay)


def render_notice(notice: Notice, *, seal_size: float = DEFAULT_DIAMETER) -> tuple[bytes, SealBox]:
    """The notice's PDF and the box where its seal belongs: from its template's page when it
    can be (see the module's docstring), else laid out in full."""
    pdf, box, _kept = render_notice_kept(notice, seal_size=seal_size)
    return pdf, box


def render_notice_kept(notice: Notice, *, seal_size: float = DEFAULT_DIAMETER) -> tuple[bytes, SealBox, dict | None]:
    """``render_notice``, and when the PDF is its template's page plus the fields, a mapping kept
    with the template for ``seal_pdf(..., kept=)`` (the seal's update of the template's notices,
    replayed); None when it was laid out in full."""
    key = _template_key(notice, seal_size)
    with _TEMPLATES_LOCK:
        template = _TEMPLATES.get(key)
        if template is not None:
            _TEMPLATES.move_to_end(key)
    if template is None:
        template = _Template.make(notice, seal_size)
        with _TEMPLATES_LOCK:
            _TEMPLATES[key] = template
            while len(_TEMPLATES) > _TEMPLATES_MAX:
                _TEMPLATES.popitem(last=False)
    made = template.fill(notice, seal_size) if template.usable else None
    if made is not None:
        return made[0], made[1], template.seal_updates
    return (*render_notice_full(notice, seal_size=seal_size), None)


def render_notice_full(notice: Notice, *, seal_size: float = DEFAULT_DIAMETER) -> tuple[bytes, SealBox]:
    """The notice's PDF laid out by ReportLab in full, and the box where its seal belongs."""
    font = cjk_font()
    body_size = 15.0
    title = ParagraphStyle("title", fontName=font, fontSize=21, leading=34, alignment=TA_CENTER, spaceAfter=10)
    numbers = ParagraphStyle("numbers", fontName=font, fontSize=11, leading=18, alignment=TA_CENTER)
    body = ParagraphStyle(
        "body", fontName=font, fontSize=body_size, leading=body_size * 1.75, alignment=TA_LEFT,
        firstLineIndent=body_size * 2, wordWrap="CJK",
    )
    addressee = ParagraphStyle("addressee", parent=body, firstLineIndent=0)
    footer = ParagraphStyle("footer", fontName=font, fontSize=9, leading=14, alignment=TA_LEFT, wordWrap="CJK")

    story: list[Flowable] = [Paragraph(escape(notice.title), title)]
    if notice.numbers:
        story.append(Paragraph("　　".join(f"{escape(k)}：{escape(v)}" for k, v in notice.numbers), numbers))
    story.append(Spacer(1, 8 * mm))
    if notice.addressee:
        story.append(Paragraph(f"{escape(notice.addressee)}：", addressee))
    for p in notice.paragraphs:
        story.append(Paragraph(escape(p), body))
    story.append(Spacer(1, 18 * mm))
    block = _SignatureBlock(notice.unit_name, chinese_date(notice.issued_on), font, body_size, body_size * 2)
    story.append(block)
    if notice.footer:
        story.append(Spacer(1, 16 * mm))
        story.append(Paragraph(escape(notice.footer), footer))

    buf = BytesIO()
    doc = SimpleDocTemplate(
        buf, pagesize=A4, leftMargin=28 * mm, rightMargin=26 * mm, topMargin=37 * mm, bottomMargin=35 * mm,
        title=notice.title, author=notice.unit_name, subject=notice.title, creator="OneWindow seal",
    )
    doc.build(story)
    assert block.placed is not None
    page, cx, cy = block.placed
    half = seal_size / 2
    box = SealBox(page, cx - half, cy - half, cx + half, cy + half)
    return buf.getvalue(), box


# -- templates: the page laid out once, the variable fields drawn per notice ----------------------

_TEMPLATES: OrderedDict[tuple, "_Template"] = OrderedDict()
_TEMPLATES_LOCK = threading.Lock()
_TEMPLATES_MAX = 64
#: Characters every template's font subset holds for the variable fields (numbers, dates, links).
_FIELD_CHARS = "".join(chr(c) for c in range(32, 127)) + "０１２３４５６７８９年月日：　，。（）－"
_FOOTER_LINES = 3  # the footer's slot: at most this many lines


def _template_key(notice: Notice, seal_size: float) -> tuple:
    return (notice.title, notice.unit_name, notice.addressee, tuple(notice.paragraphs),
            tuple(k for k, _v in notice.numbers), notice.footer is not None, round(seal_size, 3))


def _numbers_text(notice: Notice) -> str:
    return "　　".join(f"{k}：{v}" for k, v in notice.numbers)


class _Slot(Flowable):
    """Room for a variable field: draws nothing, remembers where it was (page, left, bottom)."""

    def __init__(self, height: float) -> None:
        super().__init__()
        self._h = height
        self.placed: tuple[int, float, float, float] | None = None  # page index, x, y (bottom), width

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width = avail_width
        return avail_width, self._h

    def draw(self) -> None:
        x, y = self.canv.absolutePosition(0, 0)
        self.placed = (self.canv.getPageNumber() - 1, x, y, self.width)


class _Seed(_Slot):
    """Puts the variable fields' characters into the document's font subset before anything is
    drawn, and keeps the font's state for this document (its character codes)."""

    def __init__(self, font: str, chars: str) -> None:
        super().__init__(0)
        self.font, self.chars = font, chars
        self.state = None
        self.names: dict[int, str] = {}

    def draw(self) -> None:
        super().draw()
        doc = self.canv._doc
        f = pdfmetrics.getFont(self.font)
        f.splitString(self.chars, doc)
        f.getSubsetInternalName(0, doc)  # names the font in this document
        self.state = f.state[doc]

    def subset_names(self) -> dict[int, str]:
        return {n: "/%s+%d" % (self.state.internalName, n) for n in range(len(self.state.subsets))}


_WIDTHS: dict[tuple[str, float], dict[str, float]] = {}


def _wrap_chars(text: str, font: str, size: float, width: float) -> list[str]:
    """Lines of ``text`` broken between any two characters (as ReportLab's CJK word wrap does).
    Each character's width is looked up once per font and size, not per notice."""
    widths = _WIDTHS.setdefault((font, size), {})
    lines: list[str] = []
    line, used = "", 0.0
    for ch in text:
        w = widths.get(ch)
        if w is None:
            w = widths[ch] = pdfmetrics.stringWidth(ch, font, size)
        if line and used + w > width:
            lines.append(line)
            line, used = "", 0.0
        line += ch
        used += w
    if line:
        lines.append(line)
    return lines


@dataclass
class _Template:
    usable: bool
    font: str = ""
    pdf: bytes = b""
    codes: dict[int, int] = field(default_factory=dict)  # character -> code (subset << 8 | byte)
    names: dict[int, str] = field(default_factory=dict)  # subset -> /F1+0
    numbers: tuple[float, float, float] | None = None  # x, bottom, width
    block: tuple[float, float, float] | None = None    # x, bottom, width of the signature block
    footer: tuple[float, float, float] | None = None   # x, bottom, width
    page_num: int = 0
    page_dict: bytes = b""  # the page's dictionary with /Contents as the placeholder
    contents: bytes = b""   # the page's own content stream(s), as references
    size: int = 0           # the next object number
    root: bytes = b""
    info: bytes = b""
    ids: bytes = b""
    startxref: int = 0
    #: the seal updates of this template's notices (``seal_pdf``'s ``kept``)
    seal_updates: dict = field(default_factory=dict)

    _PLACEHOLDER = "/OneWindowContentsSlot"

    @classmethod
    def make(cls, notice: Notice, seal_size: float) -> "_Template":
        try:
            return cls._make(notice, seal_size)
        except Exception:  # any surprise in the template: notices of it are laid out in full
            log.warning("notice template not made; its notices are laid out in full", exc_info=True)
            return cls(False)

    @classmethod
    def _make(cls, notice: Notice, seal_size: float) -> "_Template":
        from pyhanko.pdf_utils import generic
        from pyhanko.pdf_utils.reader import PdfFileReader

        font = cjk_font()
        body_size = 15.0
        title = ParagraphStyle("title", fontName=font, fontSize=21, leading=34, alignment=TA_CENTER, spaceAfter=10)
        body = ParagraphStyle(
            "body", fontName=font, fontSize=body_size, leading=body_size * 1.75, alignment=TA_LEFT,
            firstLineIndent=body_size * 2, wordWrap="CJK",
        )
        addressee = ParagraphStyle("addressee", parent=body, firstLineIndent=0)
        seed = _Seed(font, _FIELD_CHARS + notice.unit_name + _numbers_text(notice) + (notice.footer or "")
                     + chinese_date(notice.issued_on))
        story: list[Flowable] = [seed, Paragraph(escape(notice.title), title)]
        numbers = _Slot(18) if notice.numbers else None
        if numbers is not None:
            story.append(numbers)
        story.append(Spacer(1, 8 * mm))
        if notice.addressee:
            story.append(Paragraph(f"{escape(notice.addressee)}：", addressee))
        for p in notice.paragraphs:
            story.append(Paragraph(escape(p), body))
        story.append(Spacer(1, 18 * mm))
        block = _Slot(body_size * 1.75 * 2)
        story.append(block)
        footer = None
        if notice.footer is not None:
            story.append(Spacer(1, 16 * mm))
            footer = _Slot(14 * _FOOTER_LINES)
            story.append(footer)
        buf = BytesIO()
        doc = SimpleDocTemplate(
            buf, pagesize=A4, leftMargin=28 * mm, rightMargin=26 * mm, topMargin=37 * mm, bottomMargin=35 * mm,
            title=notice.title, author=notice.unit_name, subject=notice.title, creator="OneWindow seal",
        )
        doc.build(story)
        slots = [s for s in (numbers, block, footer) if s is not None]
        if seed.state is None or any(s.placed is None or s.placed[0] != 0 for s in slots):
            return cls(False)
        pdf = buf.getvalue()
        reader = PdfFileReader(BytesIO(pdf))
        if int(reader.root["/Pages"]["/Count"]) != 1:
            return cls(False)
        page_ref = reader.root["/Pages"]["/Kids"].raw_get(0)
        page = reader.get_object(page_ref.reference)
        contents = page.raw_get("/Contents")
        refs = contents if isinstance(contents, generic.ArrayObject) else [contents]
        page = generic.DictionaryObject(page)
        page[generic.NameObject("/Contents")] = generic.NameObject(cls._PLACEHOLDER)
        out = BytesIO()
        page.write_to_stream(out)

        def ref_bytes(r: generic.IndirectObject) -> bytes:
            return f"{r.idnum} {r.generation} R".encode()

        trailer = reader.trailer
        ids = trailer.raw_get("/ID") if "/ID" in trailer else None
        id_bytes = b""
        if ids is not None:
            b = BytesIO()
            ids.write_to_stream(b)
            id_bytes = b.getvalue()
        return cls(
            True, font=font, pdf=pdf, codes=dict(seed.state.assignments), names=seed.subset_names(),
            numbers=numbers.placed[1:] if numbers is not None and numbers.placed else None,
            block=block.placed[1:] if block.placed else None,
            footer=footer.placed[1:] if footer is not None and footer.placed else None,
            page_num=page_ref.reference.idnum, page_dict=out.getvalue(),
            contents=b" ".join(ref_bytes(r) for r in refs), size=int(trailer["/Size"]),
            root=ref_bytes(trailer.raw_get("/Root")), info=ref_bytes(trailer.raw_get("/Info")),
            ids=id_bytes, startxref=reader.last_startxref,
        )

    def _show(self, text: str, size: float, x: float, y: float) -> bytes | None:
        """Text at (x, y) in the template's subsets; None when a character is not in them."""
        parts = [f"1 0 0 1 {x:.2f} {y:.2f} Tm".encode()]
        current = -1
        run = bytearray()
        for ch in text:
            code = self.codes.get(32 if ord(ch) == 0xA0 else ord(ch))
            if code is None:  # not in the subset (or not in the font)
                return None
            if code >> 8 != current:
                if run:
                    parts.append(b"<" + run.hex().encode() + b"> Tj")
                    run = bytearray()
                current = code >> 8
                parts.append(f"{self.names[current]} {size:g} Tf".encode())
            run.append(code & 0xFF)
        if run:
            parts.append(b"<" + run.hex().encode() + b"> Tj")
        return b"\n".join(parts)

    def fill(self, notice: Notice, seal_size: float = DEFAULT_DIAMETER) -> tuple[bytes, SealBox] | None:
        """The notice from this template, or None when its fields do not fit it."""
        font = self.font
        ops: list[bytes] = []
        if self.numbers is not None:
            text = _numbers_text(notice)
            x, bottom, width = self.numbers
            w = pdfmetrics.stringWidth(text, font, 11)
            if w > width:
                return None
            shown = self._show(text, 11, x + (width - w) / 2, bottom + 18 - 11)
            if shown is None:
                return None
            ops.append(shown)
        # the signature block, as _SignatureBlock draws it
        size = 15.0
        leading = size * 1.75
        assert self.block is not None
        x, bottom, width = self.block
        date_text = chinese_date(notice.issued_on)
        date_w = pdfmetrics.stringWidth(date_text, font, size)
        unit_w = pdfmetrics.stringWidth(notice.unit_name, font, size)
        centre = width - size * 2 - max(date_w, unit_w) / 2
        for text, w, y in ((notice.unit_name, unit_w, leading), (date_text, date_w, 0.0)):
            shown = self._show(text, size, x + centre - w / 2, bottom + y)
            if shown is None:
                return None
            ops.append(shown)
        if self.footer is not None and notice.footer is not None:
            x, bottom, width = self.footer
            lines = _wrap_chars(notice.footer, font, 9, width)
            if len(lines) > _FOOTER_LINES:
                return None
            top = bottom + 14 * _FOOTER_LINES
            for i, line in enumerate(lines):
                shown = self._show(line, 9, x, top - 9 - 14 * i)
                if shown is None:
                    return None
                ops.append(shown)
        half = seal_size / 2
        cx, cy = self.block[0] + centre, self.block[1] + leading * 0.75  # as _SignatureBlock places it
        box = SealBox(0, cx - half, cy - half, cx + half, cy + half)
        return self._update(b"Q\nBT\n" + b"\n".join(ops) + b"\nET\n"), box

    def _update(self, stream: bytes) -> bytes:
        """The template plus an incremental update: the page's content wrapped in q/Q, then the
        fields' stream."""
        base = self.pdf if self.pdf.endswith(b"\n") else self.pdf + b"\n"
        out = bytearray(base)
        n_open, n_fields = self.size, self.size + 1
        offsets: dict[int, int] = {}
        offsets[n_open] = len(out)
        out += b"%d 0 obj\n<< /Length 2 >>\nstream\nq\n\nendstream\nendobj\n" % n_open
        offsets[n_fields] = len(out)
        out += b"%d 0 obj\n<< /Length %d >>\nstream\n" % (n_fields, len(stream)) + stream + b"\nendstream\nendobj\n"
        offsets[self.page_num] = len(out)
        contents = b"[%d 0 R %s %d 0 R]" % (n_open, self.contents, n_fields)
        out += b"%d 0 obj\n" % self.page_num + self.page_dict.replace(self._PLACEHOLDER.encode(), contents) + b"\nendobj\n"
        xref = len(out)
        out += b"xref\n0 1\n0000000000 65535 f \n"
        out += b"%d 1\n%010d 00000 n \n" % (self.page_num, offsets[self.page_num])
        out += b"%d 2\n%010d 00000 n \n%010d 00000 n \n" % (n_open, offsets[n_open], offsets[n_fields])
        out += b"trailer\n<< /Size %d /Root %s /Info %s /Prev %d" % (self.size + 2, self.root, self.info, self.startxref)
        if self.ids:
            out += b" /ID " + self.ids
        out += b" >>\nstartxref\n%d\n%%%%EOF\n" % xref
        return bytes(out)
